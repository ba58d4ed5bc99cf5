"""Read a task's public test set (any of the formats the task knows) into examples."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cotlit.core import CoTExample
from cotlit.errors import CotlitError
from cotlit.io import read_records
from cotlit.tasks.base import Task


def test_examples(records: Iterable[Any], task: Task, where: str | Path) -> list[CoTExample]:
    """Public test records as examples with their gold answers (``where`` names the source in errors)."""
    examples = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise CotlitError(f"expected an object, got {type(record).__name__}", path=where, record=index)
        try:
            item = task.read_test_record(record, index)
        except CotlitError as err:
            raise CotlitError(str(err), path=where) from err
        examples.append(CoTExample(id=item.id, task=task.name, question=item.question, rationale="",
                                   answer=item.gold, gold=item.gold, choices=item.choices,
                                   source=f"{Path(str(where)).name}#{index}"))
    return examples


def load_test_set(path: str | Path, task: Task) -> list[CoTExample]:
    """Every record of a public test file (JSON array or JSON Lines)."""
    return test_examples(read_records(path), task, path)
