"""Test-set record helpers: ids, gold answers and the paper's ``{instruction, label}`` records; fields are read
with :func:`cotlit.io.field`, so bad input raises ``CotlitError`` naming record and field."""

from __future__ import annotations

from typing import Any

from cotlit.core import example_id
from cotlit.errors import CotlitError
from cotlit.io import field
from cotlit.tasks.base import TestItem


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
    question = field(record, index, "instruction")
    label = field(record, index, "label", label_types)
    return TestItem(record_id(task.name, record, index, question), question, gold(task, label, index, "label"))
