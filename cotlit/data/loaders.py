"""Read CoT data into :class:`CoTExample` lists: alpaca JSON arrays, JSON Lines, LLaMA-Factory registry entries
and Hugging Face datasets.

Every target is split into rationale and answer by :func:`cotlit.core.split_answer` (the last ``The answer is``,
after cutting a runaway continuation). A CoT target without the
trigger is kept whole as the rationale (answer from the task's extraction fallback), flagged with
``meta["trigger"] = False`` and counted in a warning; see :func:`count_no_trigger`. The file's text is kept
verbatim in ``CoTExample.output`` (the paper's training target, ``target_style: paper``).

A bad record (not an object, a missing, empty or mistyped field) is skipped and counted by default, as
LLaMA-Factory skips it (``on_bad_record="skip"``); ``"error"`` stops at the first one. A file whose every record
is bad is always an error. Skipped records are listed on the returned :class:`Examples`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from cotlit.core import FORMATS, LEVELS, TRIGGER, CoTExample, example_id, split_answer, strip_answer
from cotlit.data.naming import FileCondition, canonical_teacher, entry_condition, parse_file_name
from cotlit.data.registry import RegistryEntry, resolve_entry
from cotlit.errors import CotlitError
from cotlit.io import field, kind, read_records
from cotlit.tasks.base import Task, get_task

log = logging.getLogger(__name__)

GOLD_FIELDS = ("gold", "label")
"""Fields read as the dataset's gold answer when no gold field is named."""
OnBadRecord = Literal["skip", "error"]


class Examples(list[CoTExample]):
    """The examples of one source, with the records skipped as bad (one ``CotlitError`` message each)."""

    def __init__(self, examples: Sequence[CoTExample] = (), skipped: Sequence[str] = ()) -> None:
        super().__init__(examples)
        self.skipped: list[str] = list(skipped)


@dataclass(frozen=True)
class Fields:
    """Which record fields hold the question, the target and the gold answer."""

    prompt: str = "instruction"
    response: str = "output"
    query: str | None = None
    """Optional second prompt field, appended to the prompt after a newline (LLaMA-Factory's ``query``)."""
    gold: str | None = None
    """Gold-answer field; None reads ``gold`` or ``label`` when a record has one."""


@dataclass(frozen=True)
class Labels:
    """What the data is; fields left None are read from the file (or registry entry) name."""

    task: str | None = None
    teacher: str | None = None
    granularity: int | None = None
    format: str | None = None
    answer_only: bool | None = None
    """True: targets are bare answers (the Only-Answer baseline); teacher and level are then None."""


def split_target(text: str) -> tuple[str, str] | None:
    """``"... so 145. The answer is 145."`` -> ``("... so 145.", "145")``; None when there is no trigger."""
    split = split_answer(text)
    return None if split is None else (split.rationale, split.answer)


def count_no_trigger(examples: Sequence[CoTExample]) -> int:
    """How many CoT examples had no ``The answer is`` in their target (answer-only targets not counted)."""
    return sum(not ex.meta["trigger"] and not ex.meta["answer_only"] for ex in examples)


def load_file(
    path: str | Path, labels: Labels = Labels(), fields: Fields = Fields(), on_bad_record: OnBadRecord = "skip"
) -> Examples:
    """Examples from an alpaca JSON array or a JSON Lines file; ``source`` is ``<file name>#<index>``."""
    path = Path(path)
    return examples_from_records(read_records(path), labels, fields, where=path, source=path.name, name=path.name,
                                 on_bad_record=on_bad_record)


def load_registry_entry(
    dataset_dir: str | Path,
    name: str,
    labels: Labels = Labels(),
    gold_field: str | None = None,
    on_bad_record: OnBadRecord = "skip",
    allow_outside_paths: bool = False,
) -> Examples:
    """Examples of a LLaMA-Factory ``dataset_info.json`` entry, read with its prompt/response columns.

    The condition comes from ``labels``, then the entry's file name, then the entry name (so ``math_onlyans``,
    which points at ``math_human.json``'s ``output`` column, is answer-only). ``source`` is
    ``dataset_info:<name>#<index>``. ``allow_outside_paths`` lets an entry's file lie outside ``dataset_dir``.
    """
    entry = resolve_entry(dataset_dir, name, allow_outside_paths=allow_outside_paths)
    fields = Fields(prompt=entry.prompt, response=entry.response, query=entry.query, gold=gold_field)
    labels = _with_entry_name(labels, entry)
    if entry.hf_hub_url is not None:
        return load_hf(entry.hf_hub_url, labels, fields, source=f"dataset_info:{name}", on_bad_record=on_bad_record)
    records = read_records(entry.path)
    source = f"dataset_info:{name}"
    return examples_from_records(records, labels, fields, where=entry.path, source=source, name=entry.path.name,
                                 on_bad_record=on_bad_record)


def load_hf(
    name: str | Path,
    labels: Labels = Labels(),
    fields: Fields = Fields(),
    split: str = "train",
    source: str | None = None,
    on_bad_record: OnBadRecord = "skip",
) -> Examples:
    """Examples from a Hugging Face dataset (hub id or local folder) via ``datasets.load_dataset``."""
    import datasets

    try:
        rows = datasets.load_dataset(str(name), split=split)
    except (datasets.exceptions.DatasetsError, FileNotFoundError, ValueError, ConnectionError) as err:
        raise CotlitError(f"cannot load Hugging Face dataset (split {split!r}): {err}", path=name) from None
    return examples_from_records(list(rows), labels, fields, where=name, source=source or f"hf:{name}:{split}",
                                 name=Path(str(name)).name, on_bad_record=on_bad_record)


def load_examples(
    source: str | Path,
    *,
    task: str | None = None,
    dataset_dir: str | Path | None = None,
    prompt_field: str | None = None,
    response_field: str | None = None,
    gold_field: str | None = None,
    teacher: str | None = None,
    granularity: int | None = None,
    format: str | None = None,
    answer_only: bool | None = None,
    split: str = "train",
    on_bad_record: OnBadRecord = "skip",
    allow_outside_paths: bool = False,
) -> Examples:
    """Load CoT examples from any supported source.

    ``source`` is a registry entry name when ``dataset_dir`` is given and no such file exists, a ``.json`` /
    ``.jsonl`` file, or else a Hugging Face dataset (hub id or local folder, with ``split``). Field names default
    to alpaca's ``instruction``/``output`` (registry entries use their own ``columns``; explicit fields are not
    allowed with them). Task, teacher, level and format default to what the file name says. Bad records are
    skipped and counted (``on_bad_record="skip"``) or stop the load (``"error"``).
    """
    labels = Labels(task, teacher, granularity, format, answer_only)
    fields = Fields(prompt_field or "instruction", response_field or "output", gold=gold_field)
    path = Path(source)
    if dataset_dir is not None and not path.is_file():
        if prompt_field or response_field:
            raise CotlitError(f"registry entry {source!r} defines its own columns; drop prompt/response fields")
        return load_registry_entry(dataset_dir, str(source), labels, gold_field, on_bad_record, allow_outside_paths)
    if path.is_file() or path.suffix.lower() in (".json", ".jsonl"):
        return load_file(path, labels, fields, on_bad_record)
    return load_hf(source, labels, fields, split, on_bad_record=on_bad_record)


def examples_from_records(
    records: Sequence[Any],
    labels: Labels,
    fields: Fields,
    *,
    where: str | Path,
    source: str,
    name: str,
    on_bad_record: OnBadRecord = "skip",
) -> Examples:
    """Turn raw records into examples; ``where`` names the input in errors, ``name`` is parsed for the condition."""
    condition = _resolve(labels, parse_file_name(name), where)
    task = get_task(condition.task) if condition.task else None
    task_name = task.name if task else ""
    examples, seen = Examples(), Counter()
    for index, record in enumerate(records):
        try:
            question, target, gold = _read_record(record, fields, task, index, where)
        except CotlitError as err:
            if on_bad_record == "error":
                raise
            examples.skipped.append(str(err))
            continue
        split = split_target(target)
        if split is not None:
            rationale, answer = split
        elif condition.answer_only:
            rationale, answer = "", strip_answer(target)
        else:
            extracted = task.extract(target).answer if task else None
            rationale, answer = target.strip(), extracted or ""
        base = example_id(task_name, question)
        seen[base] += 1
        examples.append(
            CoTExample(
                id=base if seen[base] == 1 else f"{base}#{seen[base]}",
                task=task_name,
                question=question,
                rationale=rationale,
                answer=answer,
                teacher=condition.teacher,
                granularity=condition.granularity,
                format=condition.format or "plain",
                source=f"{source}#{index}",
                gold=gold,
                output=target,
                meta={"trigger": split is not None, "answer_only": condition.answer_only},
            )
        )
    _report_skipped(examples, len(records), where)
    missing = count_no_trigger(examples)
    if missing:
        log.warning(
            "%s: %d of %d CoT targets have no %r; kept whole as rationales", where, missing, len(examples), TRIGGER
        )
    return examples


def _read_record(
    record: Any, fields: Fields, task: Task | None, index: int, where: str | Path
) -> tuple[str, str, str | None]:
    """Question, verbatim target and gold answer of one record; a bad record raises :class:`CotlitError`."""
    if not isinstance(record, dict):
        raise CotlitError(f"expected an object, got {kind(record)}", path=where, record=index)
    question = field(record, index, fields.prompt, path=where)
    if fields.query and record.get(fields.query):
        question = f"{question}\n{field(record, index, fields.query, path=where)}"
    return question, field(record, index, fields.response, path=where), _gold(record, fields.gold, task, index, where)


def _report_skipped(examples: Examples, total: int, where: str | Path) -> None:
    """Warn with the count and the first reason; a source with no good record at all is an error."""
    if not examples.skipped:
        return
    first = examples.skipped[0]
    if not examples:
        raise CotlitError(f"all {total} records are bad; the first: {first}")
    log.warning("%s: skipped %d of %d bad records (on_bad_record: skip); the first: %s", where,
                len(examples.skipped), total, first)


def _resolve(labels: Labels, hint: FileCondition, where: str | Path) -> FileCondition:
    """Explicit labels win over the file name; check the result."""
    answer_only = hint.answer_only if labels.answer_only is None else labels.answer_only
    teacher = canonical_teacher(labels.teacher) if labels.teacher else hint.teacher
    granularity = labels.granularity if labels.granularity is not None else hint.granularity
    fmt = (labels.format or hint.format or "plain").lower()
    if answer_only and (labels.teacher or labels.granularity is not None):
        raise CotlitError("answer-only data has no teacher or granularity level", path=where)
    if answer_only:
        teacher, granularity = None, None
    if granularity is not None and granularity not in LEVELS:
        raise CotlitError(f"granularity level {granularity!r} is not one of {list(LEVELS)}", path=where)
    if fmt not in FORMATS:
        raise CotlitError(f"format {fmt!r} is not one of {list(FORMATS)}", path=where)
    return FileCondition(teacher, granularity, fmt, answer_only, (labels.task or hint.task or "").lower() or None)


def _with_entry_name(labels: Labels, entry: RegistryEntry) -> Labels:
    """Complete labels from the entry's file name, then its entry name (``math_onlyans`` -> answer-only)."""
    named = entry_condition(entry.name, entry.path.name)
    if labels.answer_only is None and named.answer_only:
        return replace(labels, answer_only=True, task=labels.task or named.task)
    if labels.answer_only:
        return labels
    return Labels(
        task=labels.task or named.task,
        teacher=labels.teacher or named.teacher,
        granularity=labels.granularity if labels.granularity is not None else named.granularity,
        format=labels.format or named.format,
        answer_only=False,
    )


def _gold(record: dict[str, Any], name: str | None, task: Task | None, index: int, where: str | Path) -> str | None:
    if name is None:
        name = next((gold for gold in GOLD_FIELDS if gold in record), None)
        if name is None:
            return None
    value = field(record, index, name, (str, int, float, bool), path=where, empty_ok=True)
    return task.normalize_gold(value) if task else str(value)
