"""Decoding settings of evaluation, and how unset ones take the task's defaults for the chosen scoring."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from cotlit.core import Scoring
from cotlit.errors import CotlitError
from cotlit.tasks.base import Task

Backend = Literal["loop", "generate", "vllm"]
BACKENDS: tuple[str, ...] = ("loop", "generate", "vllm")


@dataclass(frozen=True)
class Decoding:
    """How the student generates in validation, test and predict (``model.init_args.decoding``)."""

    max_new_tokens: int | None = None
    """Generation budget; None = the task's default for the chosen scoring (cotlit's, or the paper's 1024 for math
    and 640 for commonsense)."""
    num_beams: int | None = None
    """Beam width (1 = greedy); None = the task's default for the chosen scoring (cotlit: 1; paper: 1 for the math
    tasks, 5 for the commonsense tasks, as the paper's two evaluation scripts decoded)."""
    stop_strings: list[str] | None = None
    """String stop sequences, checked on the decoded text and cut from it (the end token always stops too);
    None = none with cotlit scoring, the paper's list with paper scoring."""
    backend: Backend | None = None
    """``loop``: cotlit's batched greedy loop (finished rows leave the batch; greedy only); ``generate``: batched
    ``model.generate`` (greedy or beam search); ``vllm``: vLLM's engine for test and predict on GPUs (the ``vllm``
    extra; validation then runs on ``generate``). None = ``loop`` for greedy decoding, ``generate`` for beams: the
    loop measured 1.03-1.06x faster than ``generate`` on the same prompts with identical texts
    (docs/benchmarks.md)."""

    def __post_init__(self) -> None:
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise CotlitError(f"decoding.max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.num_beams is not None and self.num_beams < 1:
            raise CotlitError(f"decoding.num_beams must be >= 1, got {self.num_beams}")
        if self.backend is not None and self.backend not in BACKENDS:
            raise CotlitError(f"unknown decoding.backend {self.backend!r}; valid backends: {', '.join(BACKENDS)}")
        if self.stop_strings is not None and not all(isinstance(s, str) and s for s in self.stop_strings):
            raise CotlitError(f"decoding.stop_strings must be non-empty strings, got {self.stop_strings!r}")


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding with every setting resolved: what a backend is asked to do."""

    max_new_tokens: int
    num_beams: int
    stop_strings: tuple[str, ...]
    backend: Backend

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["stop_strings"] = list(self.stop_strings)
        return record


def resolve(decoding: Decoding, task: Task, scoring: Scoring) -> GenerationSettings:
    """Fill the unset settings of ``decoding`` from ``task``: its paper defaults with ``scoring="paper"``."""
    paper = scoring == "paper"
    budget = decoding.max_new_tokens or (task.paper_max_new_tokens if paper else task.max_new_tokens)
    beams = decoding.num_beams or (task.paper_num_beams if paper else 1)
    if decoding.stop_strings is not None:
        stops = tuple(decoding.stop_strings)
    else:
        stops = tuple(task.paper_stop_strings) if paper else ()
    backend = decoding.backend or ("generate" if beams > 1 else "loop")
    if beams > 1 and backend == "loop":
        why = " (the task's paper beam width)" if decoding.num_beams is None else ""
        raise CotlitError(f"decoding.backend loop decodes greedily; num_beams={beams}{why} needs the generate or "
                          "vllm backend")
    return GenerationSettings(budget, beams, stops, backend)
