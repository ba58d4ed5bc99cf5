"""``PaperData``: the paper's released teacher CoT, through its LLaMA-Factory ``dataset_info.json``."""

from __future__ import annotations

from dataclasses import dataclass

from cotlit.data.base import CoTDataModule
from cotlit.core import CoTExample
from cotlit.errors import CotlitError


@dataclass
class PaperData(CoTDataModule):
    """The paper's data: pick a registry entry (or file) by name, or by task / teacher / granularity / format."""

    dataset_dir: str = "../shared/data/train"
    """Folder holding the paper's ``dataset_info.json`` and data files."""
    entry: str | list[str] | None = None
    """Registry entry name or file name, or a list of them to pool (e.g. levels 1-6); None selects the file whose
    name matches task, teacher, granularity and format (teacher and granularity null = answer-only; teacher human
    = human rationales). Pooled files repeat questions, so the held-out validation split may share questions with
    training."""
    test_path: str | None = None
    """The task's public test set (e.g. ``../shared/data/eval/svamp/SVAMP_test_300.json``)."""

    def select_entries(self) -> list[str]:
        """The registry entries this configuration names."""
        if self.entry is not None:
            return [self.entry] if isinstance(self.entry, str) else list(self.entry)
        return [self.select_entry()]

    def select_entry(self) -> str:
        """The one registry entry whose file name matches task, teacher, granularity and format."""
        from cotlit.data.naming import parse_file_name
        from cotlit.data.registry import read_registry

        wanted = (self.task, self.teacher, self.granularity, self.format if self.teacher else "plain",
                  self.teacher is None and self.granularity is None)
        registry = read_registry(self.dataset_dir)
        matches = []
        for name, spec in registry.items():
            cond = parse_file_name(spec.path.name)
            if (cond.task, cond.teacher, cond.granularity, cond.format, cond.answer_only) == wanted:
                matches.append(name)
        present = [m for m in matches if registry[m].path.is_file()]
        if len(present) != 1:
            raise CotlitError(
                f"{len(present)} registry entries in {self.dataset_dir} match task={self.task} teacher={self.teacher} "
                f"granularity={self.granularity} format={self.format} (entries named: {matches or 'none'}); "
                "set `entry` explicitly"
            )
        return present[0]

    def load_splits(self) -> dict[str, list[CoTExample]]:
        from cotlit.data.loaders import load_examples
        from cotlit.data.public_test import load_test_set

        train = [example for entry in self.select_entries()
                 for example in load_examples(entry, task=self.task, dataset_dir=self.dataset_dir)]
        splits = {"train": train}
        if self.test_path is not None:
            splits["test"] = load_test_set(self.test_path, self.task_spec)
        return splits
