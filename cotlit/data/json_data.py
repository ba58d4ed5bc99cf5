"""``JsonData``: any alpaca-style JSON or JSON Lines CoT file with a field mapping."""

from __future__ import annotations

from dataclasses import dataclass

from cotlit.core import CoTExample
from cotlit.data.base import CoTDataModule
from cotlit.data.loaders import load_examples
from cotlit.data.public_test import load_test_set


@dataclass
class JsonData(CoTDataModule):
    """CoT from a JSON array or JSON Lines file; teacher / granularity / format default to the file name."""

    train_path: str = ""
    """Training file (``.json`` array or ``.jsonl``)."""
    val_path: str | None = None
    """Validation file; None holds ``val_size`` examples out of the training file."""
    test_path: str | None = None
    """The task's public test set (read with the task's test-record format)."""
    prompt_field: str = "instruction"
    """Field holding the question."""
    response_field: str = "output"
    """Field holding the target CoT ending in ``The answer is X`` (or a bare answer)."""

    def _load(self, path: str) -> list[CoTExample]:
        return load_examples(path, task=self.task, prompt_field=self.prompt_field,
                             response_field=self.response_field, teacher=self.teacher,
                             granularity=self.granularity, format=self.format,
                             on_bad_record=self.on_bad_record)

    def load_splits(self) -> dict[str, list[CoTExample]]:
        splits = {"train": self._load(self.train_path)}
        if self.val_path is not None:
            splits["val"] = self._load(self.val_path)
        if self.test_path is not None:
            splits["test"] = load_test_set(self.test_path, self.task_spec)
        return splits
