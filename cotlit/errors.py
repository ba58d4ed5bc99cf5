"""The one error type cotlit raises for bad input; the CLI prints it without a traceback."""

from __future__ import annotations

from pathlib import Path


class CotlitError(Exception):
    """Bad input or configuration, with where it happened.

    The message names the file, the record index (or line) and the field when they are known, e.g.
    ``data.json: record 12: field 'output': expected a string, got null``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        record: int | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path, self.record, self.line, self.field = path, record, line, field
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(": ".join([*where, message]))
