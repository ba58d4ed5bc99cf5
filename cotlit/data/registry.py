"""LLaMA-Factory ``dataset_info.json`` registries: entry name -> data file and its prompt/response columns."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from cotlit.errors import CotlitError
from cotlit.io import read_json

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
        raise CotlitError(f"not found (for the paper's registry, run `cotlit data --task TASK --dest {dataset_dir}`)",
                          path=path)
    return {name: _entry(name, spec, path) for name, spec in read_json(path, dict).items()}


def resolve_entry(dataset_dir: str | Path, name: str, *, allow_outside_paths: bool = False) -> RegistryEntry:
    """The entry called ``name``; an unknown name lists close names, a missing file names entry and path.

    A ``file_name`` that is absolute or leads out of ``dataset_dir`` (``..``, a symbolic link) is refused unless
    ``allow_outside_paths`` is set: a downloaded registry must not make cotlit read arbitrary files.
    """
    registry = read_registry(dataset_dir)
    if name not in registry:
        close = difflib.get_close_matches(name, registry, n=5, cutoff=0.6)
        hint = f"; close names: {', '.join(close)}" if close else f"; it has {len(registry)} entries"
        raise CotlitError(f"unknown dataset entry {name!r}{hint}", path=Path(dataset_dir) / REGISTRY_FILE)
    entry = registry[name]
    if entry.hf_hub_url is None and not allow_outside_paths and not is_inside(entry.path, dataset_dir):
        raise CotlitError(f"dataset entry {name!r} names a file outside {dataset_dir} ({entry.path}); set "
                          "data.init_args.allow_outside_paths: true if you trust this registry",
                          path=Path(dataset_dir) / REGISTRY_FILE)
    if entry.hf_hub_url is None and not entry.path.is_file():
        raise CotlitError(f"dataset entry {name!r} names a file that does not exist", path=entry.path)
    return entry


def is_inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` (symbolic links resolved) lies inside ``folder``."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


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
