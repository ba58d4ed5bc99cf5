"""The teacher cache: one JSON line per finished request, appended and flushed as soon as it finishes.

Records are keyed by a hash of (backend, model, prompt, sampling). A re-run loads the file and skips every
key it holds, so work survives Ctrl-C, ``kill -9`` and crashes. A torn last line (a write cut short by a
kill) is cut off and reported; a broken line anywhere else is an error naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cotlit.io import field, json_lines


def cache_key(backend: str, model: str, prompt_hash: str, sampling: dict[str, Any]) -> str:
    """The key of one request: a hash of backend, model, prompt hash and sampling settings."""
    text = json.dumps([backend, model, prompt_hash, sampling], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class TeachCache:
    """An append-only JSON Lines store of finished requests (``ok`` or ``failed``), by key."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.torn_lines = 0
        """1 when the file ended in a partial line (cut off and ignored), else 0."""
        self._load()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a partial last line from an interrupted write: drop it before appending
            self.torn_lines = 1
            with self.path.open("r+b") as handle:
                handle.truncate(end)
        for number, record in json_lines(data[:end].decode("utf-8"), self.path):
            key = field(record, None, "key", path=self.path, line=number)
            self.records[key] = record  # a later record for a key (a retried failure) replaces the earlier one

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def put(self, record: dict[str, Any]) -> None:
        """Append one record and flush it to the operating system before returning."""
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.records[record["key"]] = record

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TeachCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
