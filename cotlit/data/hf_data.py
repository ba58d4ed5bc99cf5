"""``HFData``: CoT from a Hugging Face ``datasets`` source (hub id or local path) with a field mapping."""

from __future__ import annotations

from dataclasses import dataclass

from cotlit.core import CoTExample
from cotlit.data.base import CoTDataModule
from cotlit.data.loaders import load_examples
from cotlit.data.public_test import test_examples


@dataclass
class HFData(CoTDataModule):
    """A ``datasets`` source: hub id or local folder/file, split names and the fields to read."""

    path: str = ""
    """Hub id (e.g. ``user/svamp-cot``) or local dataset folder."""
    train_split: str = "train"
    """Split holding the training CoT."""
    val_split: str | None = None
    """Validation split; None holds ``val_size`` examples out of the training split."""
    test_split: str | None = "test"
    """Test split, read with the task's public test-record format; None for no test set."""
    prompt_field: str = "instruction"
    """Field holding the question."""
    response_field: str = "output"
    """Field holding the target CoT."""

    def _load(self, split: str) -> list[CoTExample]:
        return load_examples(self.path, task=self.task, prompt_field=self.prompt_field,
                             response_field=self.response_field, teacher=self.teacher,
                             granularity=self.granularity, format=self.format,
                             on_bad_record=self.on_bad_record, split=split)

    def load_splits(self) -> dict[str, list[CoTExample]]:
        splits = {"train": self._load(self.train_split)}
        if self.val_split is not None:
            splits["val"] = self._load(self.val_split)
        if self.test_split is not None:
            splits["test"] = self._test(self.test_split)
        return splits

    def _test(self, split: str) -> list[CoTExample]:
        import datasets

        table = datasets.load_dataset(self.path, split=split)
        return test_examples(map(dict, table), self.task_spec, f"{self.path}:{split}")
