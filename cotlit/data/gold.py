"""Gold answers kept in a separate file, joined to predictions or CoT records by a key field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cotlit.errors import CotlitError
from cotlit.io import field as checked_field
from cotlit.io import read_records

GoldValue = str | int | float | bool
GOLD_TYPES = (str, int, float, bool)


def join_key(value: Any) -> str:
    """The join form of a key value: its text with whitespace runs collapsed (``145`` and ``"145"`` match)."""
    return " ".join(str(value).split())


def read_gold(path: str | Path, *, key: str, field: str) -> dict[str, GoldValue]:
    """``join_key(record[key]) -> record[field]`` for every record of a JSON/JSONL file.

    A key that repeats with a different gold answer is an error; repeats with the same answer are fine.
    """
    gold: dict[str, GoldValue] = {}
    first: dict[str, int] = {}
    for index, record in enumerate(read_records(path)):
        if not isinstance(record, dict):
            raise CotlitError("expected an object", path=path, record=index)
        name = join_key(field_value(record, key, index, path))
        value = field_value(record, field, index, path)
        if name in gold and gold[name] != value:
            raise CotlitError(
                f"key repeats record {first[name]}'s key with a different gold ({gold[name]!r} vs {value!r})",
                path=path, record=index, field=key,
            )
        gold.setdefault(name, value)
        first.setdefault(name, index)
    return gold


def lookup(
    gold: dict[str, GoldValue], key_value: Any, *, gold_path: str | Path, where: str | Path, record: int
) -> GoldValue:
    """The gold answer for one record's key; no match is an error naming the record."""
    try:
        return gold[join_key(key_value)]
    except KeyError:
        shown = join_key(key_value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise CotlitError(f"no gold answer in {gold_path} for key {shown!r}", path=where, record=record) from None


def field_value(record: dict[str, Any], field: str, index: int, where: str | Path) -> GoldValue:
    """A scalar (string, number or boolean) field of a record; missing or mistyped fields are errors."""
    return checked_field(record, index, field, GOLD_TYPES, path=where, empty_ok=True)
