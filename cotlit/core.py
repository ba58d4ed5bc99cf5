"""cotlit's core types and rules, with no dependency beyond the standard library (and cotlit's own errors and io).

Everything else imports down to this module: the example every loader produces (:class:`CoTExample`), the answer
trigger and the one rule that splits a text into rationale and answer (:func:`split_answer`), the one rule that
composes a training target (:func:`compose_target`), and the two result files of a run: a row of
``predictions.jsonl`` (:class:`PredictionRow`) and ``metrics.json`` (:class:`RunMetrics`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from cotlit.errors import CotlitError
from cotlit.io import field as record_field

# -- examples -------------------------------------------------------------------------------------------------------
Format = Literal["plain", "bsm", "rar", "sym"]
FORMATS: tuple[str, ...] = ("plain", "bsm", "rar", "sym")
"""plain CoT; bsm = sub-questions each answered; rar = rephrase then answer; sym = symbolic."""
LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
"""Granularity levels, from one terse sentence (1) to numbered steps with a check (6)."""
TargetStyle = Literal["cotlit", "paper"]
"""How a training target is composed: ``cotlit`` = rationale + ``The answer is X``; ``paper`` = the source's
``output`` verbatim, as the paper trained (answer-only files then hold the bare answer)."""
TARGET_STYLES: tuple[str, ...] = ("cotlit", "paper")

# -- the answer trigger ---------------------------------------------------------------------------------------------
TRIGGER = "The answer is"
"""The sentence every cotlit training target ends with: ``... The answer is X``."""
TRIGGER_RE = re.compile(r"[Tt]he answer is:?")
"""The trigger as found in texts: ``The answer is`` with a case-insensitive first letter and an optional colon."""
BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")


def strip_answer(text: str) -> str:
    """Strip spaces and a trailing ``.`` or ``/`` from an answer segment."""
    return text.strip().rstrip("./").strip()


@dataclass(frozen=True)
class AnswerSplit:
    """A text split at the trigger that introduces its final answer."""

    rationale: str
    """The stripped text before that trigger (it may hold earlier triggers: ``The answer is 3. Check: ...``)."""
    answer: str
    """The answer segment: the stripped text after that trigger (see :func:`strip_answer`)."""
    lead: str
    """The stripped text before the *first* trigger: a rationale that holds no trigger at all."""


def split_answer(text: str, trigger: re.Pattern[str] = TRIGGER_RE) -> AnswerSplit | None:
    """Split ``text`` into rationale and answer at its answer trigger; None when it has no trigger.

    The one rule for generated texts, teacher outputs and training files alike (conventions (a), rule 3): with
    several triggers the text is first cut at the first blank line after the first trigger's answer (a runaway
    continuation usually starts a new paragraph), then the **last** remaining trigger introduces the answer:
    ``The answer is 15.\\n\\nQ: ... The answer is 7`` -> ``15``; ``The answer is 3. Check: The answer is 4`` -> ``4``.
    """
    matches = list(trigger.finditer(text))
    if not matches:
        return None
    lead = text[: matches[0].start()].strip()
    if len(matches) > 1:
        start = matches[0].end()
        start += len(text[start:]) - len(text[start:].lstrip())
        blank = BLANK_LINE_RE.search(text, start)
        if blank is not None:
            text = text[: blank.start()]
            matches = [match for match in matches if match.end() <= blank.start()]
    last = matches[-1]
    return AnswerSplit(text[: last.start()].strip(), strip_answer(text[last.end() :]), lead)


def compose_target(rationale: str, answer: str, style: TargetStyle = "cotlit", *, output: str | None = None) -> str:
    """The training target of an example.

    ``cotlit``: the rationale, then ``The answer is X`` (just ``The answer is X`` without a rationale).
    ``paper``: ``output``, the source's target text verbatim (required for this style).
    """
    if style == "paper":
        if output is None:
            raise ValueError("paper targets are the source's output verbatim, and this example has none")
        return output
    if style != "cotlit":
        raise ValueError(f"unknown target style {style!r}; valid styles: {', '.join(TARGET_STYLES)}")
    final = f"{TRIGGER} {answer}"
    return f"{rationale} {final}" if rationale else final


@dataclass(frozen=True)
class CoTExample:
    """A question with a teacher's rationale and final answer, and where it came from."""

    id: str
    """Stable id: the same question of the same task gets the same id in every file (see :func:`example_id`)."""
    task: str
    question: str
    """The question text as the student sees it (choices included where the source embeds them)."""
    rationale: str
    """The chain of thought without the final ``The answer is X`` sentence; empty for answer-only targets."""
    answer: str
    """The final answer as written by the teacher (or the gold answer for answer-only/human data)."""
    teacher: str | None = None
    """Canonical teacher name (``gpt4o``, ``gemini``, ``llama``, ``human``, ``program``...); None = answer-only."""
    granularity: int | None = None
    """Level 1-6, or None for answer-only and human rationales."""
    format: Format = "plain"
    source: str = ""
    """Where it came from: ``file.json#17``, ``dataset_info:SVAMP_ChatGPT_level3#17``, ``arithmetic:seed=0``."""
    choices: tuple[str, ...] | None = None
    """Option texts of a multiple-choice question when known separately (letters A, B, ... implied)."""
    gold: str | None = None
    """The dataset's gold answer when known (may differ from the teacher's ``answer``)."""
    output: str | None = None
    """The source's target text verbatim (the ``paper`` target style); None when the example was built from parts."""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def target(self) -> str:
        """The cotlit training target: the rationale followed by ``The answer is X``."""
        return compose_target(self.rationale, self.answer)

    def target_for(self, style: TargetStyle) -> str:
        """The training target in ``style`` (see :func:`compose_target`)."""
        return compose_target(self.rationale, self.answer, style, output=self.output)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["choices"] = list(self.choices) if self.choices is not None else None
        return record


def example_id(task: str, question: str) -> str:
    """A stable id from the task and the whitespace-normalised question text."""
    text = " ".join(question.split())
    return hashlib.sha1(f"{task}\x00{text}".encode()).hexdigest()[:16]


# -- run results ----------------------------------------------------------------------------------------------------
PREDICTIONS_FILE = "predictions.jsonl"
"""One :class:`PredictionRow` per test example, in dataset order."""
METRICS_FILE = "metrics.json"
"""One :class:`RunMetrics` object."""
Scoring = Literal["cotlit", "paper"]
"""Which answer rules score generations: cotlit's own, or the paper's evaluation scripts' (``paper_compat``)."""


def _check(record: dict[str, Any], key: str, kinds: tuple[type, ...], where: dict[str, Any], *,
           nullable: bool = False, required: bool = True) -> Any:
    """``record[key]`` checked by :func:`cotlit.io.field`; ``nullable``: None is valid; ``required=False``: an
    absent key (or None) reads as None."""
    if not required and record.get(key) is None:
        return None
    return record_field(record, None, key, kinds + ((type(None),) if nullable else ()), empty_ok=True, **where)


@dataclass
class PredictionRow:
    """One scored generation: a line of ``predictions.jsonl``.

    Not frozen: Lightning copies step outputs field by field (``apply_to_collection``), which frozen ones refuse.
    """

    id: str
    question: str
    gold: str | None
    """The normalised gold answer; None (left out of the record) for a question without one (``predict --input``)."""
    generated: str
    """The generated text, cut at the first stop (token or string)."""
    extracted: str | None
    """The normalised answer found in ``generated``; None when none was found."""
    format_ok: bool
    """True when the answer came after the task's trigger, not from a fallback."""
    correct: bool | None
    """None (left out of the record) when there is no gold answer to compare with."""
    gen_tokens: int
    """Generated tokens before the stop."""
    truncated: bool
    """True when the generation budget ran out before a stop."""
    index: int | None = None
    """The example's position in its dataset (rows of several ranks are de-duplicated by it)."""
    choices: list[str] | None = None
    """The option texts of a multiple-choice question, when known separately."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON record; optional fields that are None are left out."""
        record = asdict(self)
        return {key: value for key, value in record.items() if value is not None or key in _ROW_REQUIRED}

    @classmethod
    def from_dict(cls, record: Any, *, path: str | Path | None = None, line: int | None = None) -> PredictionRow:
        """Read a record, naming the file, line and field of anything missing or mistyped."""
        where: dict[str, Any] = {"path": path, "line": line}
        if not isinstance(record, dict):
            raise CotlitError(f"expected a JSON object, got {type(record).__name__}", **where)
        kinds: dict[str, tuple[type, ...]] = {"id": (str,), "question": (str,), "gold": (str,), "generated": (str,),
                                              "format_ok": (bool,), "correct": (bool,), "gen_tokens": (int,),
                                              "truncated": (bool,)}
        values = {key: _check(record, key, kind, where) for key, kind in kinds.items()}
        values["extracted"] = _check(record, "extracted", (str,), where, nullable=True)
        values["index"] = _check(record, "index", (int,), where, required=False)
        values["choices"] = _check(record, "choices", (list,), where, required=False)
        return cls(**values)


_ROW_REQUIRED = frozenset(f.name for f in fields(PredictionRow)
                          if f.name not in ("index", "choices", "gold", "correct"))


@dataclass(frozen=True)
class AnswerScores:
    """Answer metrics over the unique examples of a split."""

    n: int
    answer_accuracy: float
    format_ok_rate: float
    """Share of generations whose answer followed the trigger (was ``answer_found`` before cotlit 0.2)."""
    gen_tokens: float
    """Mean generated tokens."""
    gen_truncated: float
    """Share of generations that ran out of budget."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, rows: list[PredictionRow]) -> AnswerScores:
        """The scores of ``rows``, one per example (de-duplicate them first)."""
        n = len(rows)
        if not n:
            raise ValueError("no prediction rows to score")
        return cls(n=n, answer_accuracy=sum(r.correct for r in rows) / n,
                   format_ok_rate=sum(r.format_ok for r in rows) / n, gen_tokens=sum(r.gen_tokens for r in rows) / n,
                   gen_truncated=sum(r.truncated for r in rows) / n)


SCORE_KEYS: tuple[str, ...] = tuple(f.name for f in fields(AnswerScores))
OLD_KEYS = {"answer_found": "format_ok_rate"}
"""Keys of metrics written by earlier versions, read under their new names."""


@dataclass(frozen=True)
class RunMetrics:
    """What a run was trained on and how its student scored: ``metrics.json``."""

    task: str
    split: str
    scores: AnswerScores
    student: str
    """The student's short name (folder or package name)."""
    finetuning: str
    teacher: str | None
    granularity: int | None
    format: str
    seed: int | None
    train_cot_words: float
    name_or_path: str | None = None
    train_examples: int | None = None
    global_step: int | None = None
    renderer: dict[str, Any] | None = None
    scoring: str = "cotlit"
    """The answer rules that scored this run (``cotlit`` or ``paper``)."""
    decoding: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    """The untrained student's scores, measured the same way (``fit --baseline true``)."""
    data_report: dict[str, Any] | None = None
    """What the data module left out or changed: skipped bad records, over-long drops, test/train overlap, target
    style counts (``CoTDataModule.data_report``)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know, kept as read."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: the scores flattened beside the run's description, then the unknown keys."""
        record: dict[str, Any] = {"task": self.task, "split": self.split, **self.scores.to_dict()}
        for item in fields(self):
            if item.name not in ("task", "split", "scores", "extra"):
                record[item.name] = getattr(self, item.name)
        return record | self.extra

    @classmethod
    def from_dict(cls, record: Any, *, path: str | Path | None = None) -> RunMetrics:
        """Read a ``metrics.json`` object, also as written by earlier versions (``answer_found``)."""
        where: dict[str, Any] = {"path": path}
        if not isinstance(record, dict):
            raise CotlitError(f"expected a JSON object, got {type(record).__name__}", **where)
        record = _renamed(record)
        number = (int, float)
        accuracy = _check(record, "answer_accuracy", number, where)
        if not 0 <= accuracy <= 1:
            raise CotlitError(f"expected a fraction in [0, 1], got {accuracy!r}", field="answer_accuracy", **where)
        scores = AnswerScores(n=_check(record, "n", (int,), where), answer_accuracy=float(accuracy),
                              format_ok_rate=float(_check(record, "format_ok_rate", number, where)),
                              gen_tokens=float(_check(record, "gen_tokens", number, where)),
                              gen_truncated=float(_check(record, "gen_truncated", number, where)))
        known = {item.name for item in fields(cls)} | set(SCORE_KEYS)
        return cls(
            task=_check(record, "task", (str,), where), split=_check(record, "split", (str,), where), scores=scores,
            student=_check(record, "student", (str,), where), finetuning=_check(record, "finetuning", (str,), where),
            teacher=_check(record, "teacher", (str,), where, nullable=True),
            granularity=_check(record, "granularity", (int,), where, nullable=True),
            format=_check(record, "format", (str,), where), seed=_check(record, "seed", (int,), where, nullable=True),
            train_cot_words=float(_check(record, "train_cot_words", number, where)),
            name_or_path=_check(record, "name_or_path", (str,), where, required=False),
            train_examples=_check(record, "train_examples", (int,), where, required=False),
            global_step=_check(record, "global_step", (int,), where, required=False),
            renderer=_check(record, "renderer", (dict,), where, required=False),
            scoring=_check(record, "scoring", (str,), where, required=False) or "cotlit",
            decoding=_check(record, "decoding", (dict,), where, required=False),
            baseline=_renamed(_check(record, "baseline", (dict,), where, required=False)),
            data_report=_check(record, "data_report", (dict,), where, required=False),
            extra={key: value for key, value in record.items() if key not in known},
        )


def _renamed(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """``record`` with the keys of earlier versions under their new names."""
    return None if record is None else {OLD_KEYS.get(key, key): value for key, value in record.items()}
