"""Output paths checked before any work: never an input, never the wrong kind of thing already there."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cotlit.errors import CotlitError


def check_output(path: str | Path, *, folder: bool, inputs: Iterable[str | Path] = (), flag: str = "--out") -> Path:
    """``path`` as an output folder (``folder=True``) or file; refused when it is (or, for a folder, holds) one of
    ``inputs``, or exists as the other kind (or one of its parents is a file)."""
    path = Path(path)
    resolved = path.resolve()
    for source in inputs:
        source = Path(source).resolve()
        if resolved == source or (folder and resolved in source.parents):
            raise CotlitError(f"{flag} would overwrite the input {source}; choose another path", path=path)
    if folder and path.exists() and not path.is_dir():
        raise CotlitError(f"{flag} must be a folder but a file is in the way; remove it or choose another path",
                          path=path)
    if not folder and path.is_dir():
        raise CotlitError(f"{flag} must be a file but a folder is in the way; choose another path", path=path)
    blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise CotlitError(f"{flag}: {blocking} is a file, so nothing can be written below it", path=path)
    return path

