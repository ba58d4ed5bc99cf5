"""LLaMA-Factory ``dataset_info.json`` registries: entry name -> data file and its prompt/response columns."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from cotlit.errors import CotlitError

REGISTRY_FILE = "dataset_info.json"
SUPPORTED_COLUMNS = ("prompt", "query", "response")
"""Alpaca columns cotlit reads; ``query`` is appended to the prompt after a newline, as LLaMA-Factory does."""


@dataclass(frozen=True)
class RegistryEntry:
    """One ``dataset_info.json`` entry of the alpaca kind, resolved against its folder."""

    name: str
    path: Path
    """The data file (``dataset_dir / file_name``); it may not exist, see :func:`resolve_entry`."""
    prompt: str = "instruction"
    response: str = "output"
    query: str | None = None
    hf_hub_url: str | None = None
    """Set instead of a file for entries that live on the Hugging Face hub."""


def read_registry(dataset_dir: str | Path) -> dict[str, RegistryEntry]:
    """Every entry of ``dataset_dir/dataset_info.json``, files present or not."""
    path = Path(dataset_dir) / REGISTRY_FILE
    if not path.is_file():
        raise CotlitError(f"no {REGISTRY_FILE} in this folder", path=Path(dataset_dir))
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CotlitError(f"malformed JSON at column {err.colno}: {err.msg}", path=path, line=err.lineno) from None
    except UnicodeDecodeError as err:
        raise CotlitError(f"not UTF-8 text (byte {err.start})", path=path) from None
    if not isinstance(info, dict):
        raise CotlitError(f"expected a JSON object of entries, got {type(info).__name__}", path=path)
    return {name: _entry(name, spec, path) for name, spec in info.items()}


def resolve_entry(dataset_dir: str | Path, name: str) -> RegistryEntry:
    """The entry called ``name``; an unknown name lists close names, a missing file names entry and path."""
    registry = read_registry(dataset_dir)
    if name not in registry:
        close = difflib.get_close_matches(name, registry, n=5, cutoff=0.6)
        hint = f"; close names: {', '.join(close)}" if close else f"; it has {len(registry)} entries"
        raise CotlitError(f"unknown dataset entry {name!r}{hint}", path=Path(dataset_dir) / REGISTRY_FILE)
    entry = registry[name]
    if entry.hf_hub_url is None and not entry.path.is_file():
        raise CotlitError(f"dataset entry {name!r} names a file that does not exist", path=entry.path)
    return entry


def _entry(name: str, spec: object, path: Path) -> RegistryEntry:
    if not isinstance(spec, dict):
        raise CotlitError(f"entry {name!r}: expected an object, got {type(spec).__name__}", path=path)
    formatting = spec.get("formatting", "alpaca")
    if formatting != "alpaca":
        raise CotlitError(f"entry {name!r}: formatting {formatting!r} is not supported (only alpaca)", path=path)
    columns = spec.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise CotlitError(f"entry {name!r}: 'columns' must map column names to field names", path=path)
    unsupported = sorted(set(columns) - set(SUPPORTED_COLUMNS))
    if unsupported:
        raise CotlitError(
            f"entry {name!r}: columns {unsupported} are not supported (cotlit reads {', '.join(SUPPORTED_COLUMNS)})",
            path=path,
        )
    file_name, hub = spec.get("file_name"), spec.get("hf_hub_url")
    if not isinstance(file_name, str) and not isinstance(hub, str):
        raise CotlitError(f"entry {name!r}: needs a 'file_name' (or 'hf_hub_url')", path=path)
    return RegistryEntry(
        name=name,
        path=path.parent / file_name if isinstance(file_name, str) else path.parent,
        prompt=columns.get("prompt", "instruction"),
        response=columns.get("response", "output"),
        query=columns.get("query"),
        hf_hub_url=hub if not isinstance(file_name, str) else None,
    )
