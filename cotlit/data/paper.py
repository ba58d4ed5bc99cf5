"""``PaperData``: the paper's released teacher CoT, through its LLaMA-Factory ``dataset_info.json``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cotlit.core import CoTExample
from cotlit.data.base import CoTDataModule
from cotlit.data.loaders import Examples, load_examples
from cotlit.data.naming import FileCondition, canonical_teacher, entry_condition, parse_file_name
from cotlit.data.public_test import load_test_set
from cotlit.data.registry import read_registry
from cotlit.errors import CotlitError

DEFAULT_DATASET_DIR = "data/paper/train"
"""Where ``cotlit data`` puts the paper's registry and training files (its ``--dest`` default)."""


@dataclass
class PaperData(CoTDataModule):
    """The paper's data: pick a registry entry (or file) by name, or by task / teacher / granularity / format."""

    dataset_dir: str = DEFAULT_DATASET_DIR
    """Folder holding the paper's ``dataset_info.json`` and data files (``cotlit data --task T`` downloads them)."""
    entry: str | list[str] | None = None
    """Registry entry name or file name, or a list of them to pool (e.g. levels 1-6); None selects the entry whose
    names match task, teacher, granularity and format (teacher and granularity null = answer-only; teacher human
    = human rationales). With an entry, the task and any teacher, granularity or non-plain format set must agree
    with it. Pooled files repeat questions, so the held-out validation split may share questions with training."""
    test_path: str | None = None
    """The task's public test set (e.g. ``data/paper/eval/svamp/SVAMP_test_300.json``; ``cotlit data --task T
    --eval`` fetches it)."""
    allow_outside_paths: bool = False
    """Read registry files that lie outside ``dataset_dir`` (absolute or ``..`` names); off so that a downloaded
    registry cannot point cotlit at arbitrary files."""

    def select_entries(self) -> list[str]:
        """The registry entries this configuration names."""
        if self.entry is None:
            return [self.select_entry()]
        entries = [self.entry] if isinstance(self.entry, str) else list(self.entry)
        for name in entries:
            self._check_entry(name)
        return entries

    def _entry_conditions(self) -> dict[str, tuple[FileCondition, bool]]:
        """Every registry entry's condition (from its file and entry names) and whether its file is present."""
        self._require(Path(self.dataset_dir) / "dataset_info.json")
        return {name: (entry_condition(name, spec.path.name), spec.path.is_file())
                for name, spec in read_registry(self.dataset_dir).items()}

    def matching_entries(self) -> list[str]:
        """Every registry entry whose names match task, teacher, granularity and format, file present or not."""
        return self._matching(self._entry_conditions())

    def _matching(self, conditions: dict[str, tuple[FileCondition, bool]]) -> list[str]:
        teacher = canonical_teacher(self.teacher) if self.teacher else None
        wanted = (self.task, teacher, self.granularity, self.format if teacher else "plain",
                  teacher is None and self.granularity is None)
        return [name for name, (cond, _) in conditions.items()
                if (cond.task, cond.teacher, cond.granularity, cond.format, cond.answer_only) == wanted]

    def select_entry(self) -> str:
        """The one registry entry whose names match task, teacher, granularity and format."""
        conditions = self._entry_conditions()
        matches = self._matching(conditions)
        present = [name for name in matches if conditions[name][1]]
        if len(present) != 1:
            missing = f" (their files are missing: run `{self.download_command()}`)" if matches else ""
            raise CotlitError(
                f"{len(present)} registry entries in {self.dataset_dir} match task={self.task} teacher={self.teacher} "
                f"granularity={self.granularity} format={self.format} (entries named: {matches or 'none'}){missing}; "
                "set `entry` explicitly"
            )
        return present[0]

    def _check_entry(self, name: str) -> None:
        """An explicit entry must be what task, teacher, granularity and format (where set) say it is, and its file
        must be present."""
        known = self._entry_conditions()
        cond = known[name][0] if name in known else parse_file_name(Path(name).name)
        said = {"task": (self.task, cond.task),
                "teacher": (canonical_teacher(self.teacher) if self.teacher else None, cond.teacher),
                "granularity": (self.granularity, cond.granularity),
                "format": (None if self.format == "plain" else self.format, cond.format)}
        clashes = [f"{key}={mine} but the entry is {key}={theirs}" for key, (mine, theirs) in said.items()
                   if mine is not None and theirs is not None and mine != theirs]
        if clashes:
            raise CotlitError(f"entry {name!r} contradicts the configuration: {'; '.join(clashes)}; fix `entry` or "
                              "drop the contradicting settings", path=Path(self.dataset_dir))
        if name in known and not known[name][1]:
            raise CotlitError(f"the file of entry {name!r} is missing: run `{self.download_command()}`",
                              path=Path(self.dataset_dir))

    def load_splits(self) -> dict[str, list[CoTExample]]:
        train = Examples()
        for name in self.select_entries():
            loaded = load_examples(name, task=self.task, dataset_dir=self.dataset_dir,
                                   on_bad_record=self.on_bad_record, allow_outside_paths=self.allow_outside_paths)
            train.extend(loaded)
            train.skipped.extend(loaded.skipped)
        splits: dict[str, list[CoTExample]] = {"train": train}
        if self.test_path is not None:
            self._require(Path(self.test_path))
            splits["test"] = load_test_set(self.test_path, self.task_spec)
        return splits

    def download_command(self) -> str:
        """The ``cotlit data`` command that fetches this configuration's registry, training files and test set."""
        dest = "" if self.dataset_dir == DEFAULT_DATASET_DIR else f" --dest {self.dataset_dir}"
        return f"cotlit data --task {self.task}{dest}" + (" --eval" if self.test_path is not None else "")

    def _require(self, path: Path) -> None:
        if not path.is_file():
            raise CotlitError(f"{path} not found: run `{self.download_command()}`")
