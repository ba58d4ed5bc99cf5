"""``ArithmeticData``: seeded multi-step word problems whose programmatic teacher writes every level and format.

Needs no download; granularity is exact rather than prompted, which makes it a controlled testbed.
"""

from __future__ import annotations

from dataclasses import dataclass

from cotlit.core import CoTExample
from cotlit.data.base import CoTDataModule
from cotlit.synthetic import generate_problems, teacher_example


@dataclass
class ArithmeticData(CoTDataModule):
    """Synthetic arithmetic word problems (2-4 operations, distractor quantities) with exact teacher CoT."""

    task: str = "arithmetic"
    """Task name (keep ``arithmetic``)."""
    teacher: str | None = "program"
    """Teacher (the programmatic teacher; set granularity to null for answer-only targets)."""
    granularity: int | None = 3
    """CoT granularity level 1-6, or null for answer-only targets."""
    train_size: int | None = 2000
    """Training problems to generate."""
    val_size: int = 64
    """Validation problems to generate."""
    test_size: int | None = 200
    """Test problems to generate."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.granularity is None:
            self.teacher = None  # answer-only targets have no teacher

    def load_splits(self) -> dict[str, list[CoTExample]]:
        def split(name: str, size: int) -> list[CoTExample]:
            source = f"arithmetic:seed={self.seed}:{name}"
            problems = generate_problems(size, seed=self.seed, split=name)
            if name == "test":
                return [teacher_example(p, None, "plain", source=source) for p in problems]
            return [teacher_example(p, self.granularity, self.format, source=source) for p in problems]

        return {"train": split("train", self.train_size or 0), "val": split("val", self.val_size),
                "test": split("test", self.test_size or 0)}
