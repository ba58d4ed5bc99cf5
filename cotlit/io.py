"""JSON and JSON Lines in and out: reads whose errors name file, line or record and field; atomic writes.

Standard library only (plus :mod:`cotlit.errors`), so light commands such as ``cotlit score`` stay torch-free.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cotlit.errors import CotlitError

KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
"""JSON names of Python types in error messages; other types (``int``, ``float``) go by their Python name."""


def kind(value_or_type: Any) -> str:
    """``{}`` -> ``"an object"``, ``None`` -> ``"null"``, ``str`` -> ``"a string"``, ``3`` -> ``"int"``."""
    cls = value_or_type if isinstance(value_or_type, type) else type(value_or_type)
    return KINDS.get(cls, cls.__name__)


def cache_dir() -> Path:
    """cotlit's cache (tokenised datasets, converted GGUF students): ``$COTLIT_CACHE``, else ``~/.cache/cotlit``."""
    return Path(os.environ.get("COTLIT_CACHE", Path.home() / ".cache" / "cotlit"))


def read_text(path: str | Path) -> str:
    """The UTF-8 text of a file; a missing, non-regular or undecodable file is a :class:`CotlitError`."""
    path = Path(path)
    if not path.is_file():
        raise CotlitError("file not found" if not path.exists() else "not a file", path=path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise CotlitError(f"not UTF-8 text (invalid byte at offset {err.start})", path=path) from None
    except OSError as err:
        raise CotlitError(f"cannot read: {err.strerror}", path=path) from None


def parse_json(text: str, path: str | Path | None = None, line: int | None = None) -> Any:
    """``json.loads(text)``; malformed JSON names the file, the line (``line`` for one line of a file) and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        where = line if line is not None else err.lineno
        raise CotlitError(f"malformed JSON at column {err.colno}: {err.msg}", path=path, line=where) from None
    except RecursionError:
        raise CotlitError("nested too deeply to read as JSON", path=path, line=line) from None


def read_json(path: str | Path, expect: type | None = None) -> Any:
    """The JSON value in a file, checked to be of type ``expect`` (e.g. ``dict``) when given."""
    value = parse_json(read_text(path), path)
    if expect is not None and not isinstance(value, expect):
        raise CotlitError(f"expected {kind(expect)}, got {kind(value)}", path=path)
    return value


def json_lines(text: str, path: str | Path | None = None) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for every non-blank line of JSON Lines text (numbers count from 1)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, parse_json(line, path, number)


def read_records(path: str | Path) -> list[Any]:
    """The records of a JSON array file or a JSON Lines file (``.jsonl``, or a ``.json`` of one object a line)."""
    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise CotlitError("file is empty", path=path)
    if path.suffix.lower() == ".jsonl" or _json_lines_in_json(text):
        records = [record for _, record in json_lines(text, path)]
    else:
        records = parse_json(text, path)
        if not isinstance(records, list):
            raise CotlitError(f"expected a JSON array of records (or JSON Lines), got {kind(records)}", path=path)
    if not records:
        raise CotlitError("contains no records", path=path)
    return records


def field(
    record: Any,
    index: int | None,
    name: str,
    types: type | tuple[type, ...] = str,
    *,
    path: str | Path | None = None,
    line: int | None = None,
    empty_ok: bool = False,
) -> Any:
    """``record[name]``, checked to be one of ``types``; errors name ``path``, record ``index`` or ``line``, field.

    ``bool`` never passes as a number; an empty or blank string is an error unless ``empty_ok``.
    """
    if not isinstance(record, dict):
        raise CotlitError(f"expected a JSON object, got {kind(record)}", path=path, record=index, line=line)
    if name not in record:
        present = ", ".join(map(repr, record)) or "none"
        raise CotlitError(f"missing field (the record has {present})", path=path, record=index, line=line,
                          field=name)
    value = record[name]
    wanted = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
        names = " or ".join(kind(t) for t in wanted)
        raise CotlitError(f"expected {names}, got {kind(value)}", path=path, record=index, line=line, field=name)
    if isinstance(value, str) and not empty_ok and not value.strip():
        raise CotlitError("empty text", path=path, record=index, line=line, field=name)
    return value


def write_text(path: str | Path, text: str) -> Path:
    """Write atomically (a unique temp file beside ``path``, then ``os.replace``): readers and killed writers see
    the old file or the new one, never half of one. Parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # unique per call; mode from the umask
    try:
        with staging.open("x", encoding="utf-8") as out:
            out.write(text)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, value: Any, *, default: Callable[[Any], Any] | None = None) -> Path:
    """Write ``value`` as indented UTF-8 JSON, atomically (see :func:`write_text`); ``default`` as in ``json.dumps``."""
    return write_text(path, json.dumps(value, ensure_ascii=False, indent=2, default=default) + "\n")


def _json_lines_in_json(text: str) -> bool:
    """Whether a ``.json`` file holds one object a line rather than one JSON value."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return False
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        return err.msg == "Extra data"
    return False
