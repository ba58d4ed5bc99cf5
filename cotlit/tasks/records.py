"""Typed field access for test-set records: bad input raises ``CotlitError`` naming record and field."""

from __future__ import annotations

from typing import Any

from cotlit.core import example_id
from cotlit.errors import CotlitError


def field(record: Any, index: int, name: str, types: type | tuple[type, ...] = str) -> Any:
    """``record[name]``, checked to be of ``types`` (``bool`` never passes as a number)."""
    if not isinstance(record, dict):
        raise CotlitError(f"expected a JSON object, got {type(record).__name__}", record=index)
    if name not in record:
        raise CotlitError("missing field", record=index, field=name)
    value = record[name]
    wanted = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
        names = " or ".join(t.__name__ for t in wanted)
        raise CotlitError(f"expected {names}, got {type(value).__name__}", record=index, field=name)
    if isinstance(value, str) and not value.strip():
        raise CotlitError("empty string", record=index, field=name)
    return value


def record_id(task: str, record: dict[str, Any], index: int, question: str, id_field: str = "id") -> str:
    """The record's own id (``id_field``) when it has one, else :func:`example_id` of the question."""
    if id_field in record:
        value = field(record, index, id_field, (str, int))
        return str(value)
    return example_id(task, question)


def gold(task: Any, value: Any, index: int, name: str) -> str:
    """``task.normalize_gold(value)``, with an error that names the record and field."""
    try:
        return task.normalize_gold(value)
    except CotlitError as error:
        raise CotlitError(str(error), record=index, field=name) from None


def instruction_label(task: Any, record: Any, index: int, label_types: type | tuple[type, ...] = str) -> Any:
    """A record of the paper's commonsense test files, ``{"instruction", "label"}``, as a ``TestItem``."""
    from cotlit.tasks.base import TestItem

    question = field(record, index, "instruction")
    label = field(record, index, "label", label_types)
    return TestItem(record_id(task.name, record, index, question), question, gold(task, label, index, "label"))
