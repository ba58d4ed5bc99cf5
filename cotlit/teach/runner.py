"""``cotlit teach``: questions -> one teacher -> levels x formats -> LLaMA-Factory files, registry and provenance.

Plain CoTs are generated first, one per (question, level); every other format is a rewrite of the plain CoT of
the same question and level (paper §3). Each finished request is appended to the cache at once, so a re-run
only sends what is missing. Output files are rebuilt from the cache at the end of every run:

- ``<task>_<teacher>_level<k>[_<format>].json``: LLaMA-Factory alpaca rows ``{instruction, output, gold}``
  (``gold`` only when known), ``output`` ending exactly ``The answer is X``, in question order;
- ``<stem>.provenance.jsonl``: one line per question (written, failed with its reason, or filtered);
- ``<stem>.profile.json``: the ``cotlit inspect`` profile of the written rows;
- an entry per file in ``dataset_info.json`` (merged into an existing registry).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from cotlit.core import FORMATS, LEVELS, CoTExample
from cotlit.data.profile import profile_examples
from cotlit.errors import CotlitError
from cotlit.io import read_json, write_json, write_text
from cotlit.tasks.base import Task, get_task
from cotlit.teach.backends.base import Backend, BackendConfig, Completion, Request, Sampling, make_backend
from cotlit.teach.cache import TeachCache, cache_key
from cotlit.teach.normalize import Normalised, check, normalise
from cotlit.teach.prompts import level_messages, prompt_hash, rewrite_messages, task_family
from cotlit.teach.questions import DataConfig, Question, load_questions


@dataclass
class TeachConfig:
    """One teacher run: which questions, which teacher, which levels and formats, and where to write."""

    task: str = "svamp"
    """Task name (answer extraction, prompt family and output file names)."""
    teacher: str = "teacher"
    """Teacher name in output file names and provenance (``gpt4o``, ``gemini``, ``llama``, ``program``...)."""
    data: DataConfig = field(default_factory=DataConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    sampling: Sampling = field(default_factory=Sampling)
    levels: list[int] = field(default_factory=lambda: list(LEVELS))
    """Granularity levels to generate, 1 (one terse sentence) to 6 (numbered steps with a check); one file each."""
    formats: list[str] = field(default_factory=lambda: ["plain"])
    """``plain`` and/or ``bsm``, ``rar``, ``sym`` (rewrites of the plain CoT of the same level)."""
    reveal_answer: bool = True
    """Show the gold answer in the prompt, as the paper did."""
    filter: Literal["none", "correct"] = "none"
    """``correct`` keeps only CoTs whose extracted answer matches gold (the paper kept all)."""
    rationale: Literal["content", "reasoning"] = "content"
    """Where the written rationale comes from: ``content`` (the reply text, before its ``The answer is``) or
    ``reasoning`` (the separate ``reasoning_content`` of DeepSeek-R1-style servers, kept verbatim; the answer
    still comes from the reply text). Both are always kept in the cache and provenance."""
    max_attempts: int = 3
    """Requests per item before an empty, cut-off or answer-less completion is recorded as failed."""
    retry_failed: bool = False
    """Send again the items recorded as failed by an earlier run (unusable replies, or transport failures after
    ``backend.max_retries``)."""
    out_dir: str = "teach_out"
    """Folder for the data files, their provenance and profiles, the cache and the saved settings."""
    registry: str | None = None
    """``dataset_info.json`` to merge the entries into; None = ``<out_dir>/dataset_info.json``."""
    cache: str | None = None
    """Cache file; None = ``<out_dir>/<task>_<teacher>.cache.jsonl``."""
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    """US dollars per million tokens by model: ``{gpt-4o: {input: 2.5, output: 10.0}}`` (for the estimate)."""
    progress: bool = True
    """Show a progress bar on stderr."""


@dataclass
class Tally:
    """What one run sent and spent."""

    sent: int = 0
    """Items completed by the backend in this run (``cached`` were skipped)."""
    cached: int = 0
    requests: int = 0
    """Requests sent, retries included."""
    transport_retries: int = 0
    content_retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class FileStats:
    """Counts for one written file."""

    name: str
    rows: int = 0
    failed: Counter = field(default_factory=Counter)
    """Failure reason -> count."""
    filtered: int = 0
    scored: int = 0
    correct: int = 0
    normalised: int = 0
    """Rows whose text was changed to end with ``The answer is X`` (text after the answer dropped)."""
    words: float = 0.0
    """Mean rationale words of the written rows."""


@dataclass
class TeachSummary:
    tally: Tally
    files: list[FileStats]
    cost_usd: float | None
    """Estimated cost of this run's tokens, None when the model has no price in the config."""


def validate(config: TeachConfig) -> None:
    """Reject settings that cannot run, naming the field."""
    bad_levels = [level for level in config.levels if level not in LEVELS]
    if bad_levels or not config.levels:
        raise CotlitError(f"levels must be a non-empty subset of {list(LEVELS)}, got {config.levels}", field="levels")
    bad_formats = [fmt for fmt in config.formats if fmt not in FORMATS]
    if bad_formats or not config.formats:
        raise CotlitError(
            f"formats must be a non-empty subset of {list(FORMATS)}, got {config.formats}", field="formats"
        )
    if config.filter not in ("none", "correct"):
        raise CotlitError(f"filter must be 'none' or 'correct', got {config.filter!r}", field="filter")
    if config.rationale not in ("content", "reasoning"):
        raise CotlitError(f"rationale must be 'content' or 'reasoning', got {config.rationale!r}", field="rationale")
    if config.max_attempts < 1:
        raise CotlitError("max_attempts must be at least 1", field="max_attempts")
    if not config.teacher or any(ch in config.teacher for ch in "/\\ ."):
        raise CotlitError(
            f"teacher must be a plain name usable in file names, got {config.teacher!r}", field="teacher"
        )


def run_teach(config: TeachConfig, log: TextIO = sys.stderr) -> TeachSummary:
    """Generate, cache and write the (level x format) files of one teacher; print a summary to ``log``."""
    validate(config)
    task = get_task(config.task)
    questions = load_questions(config.data, task)
    out = Path(config.out_dir)
    cache_path = Path(config.cache) if config.cache else out / f"{task.name}_{config.teacher}.cache.jsonl"
    state_path = cache_path.with_name(cache_path.name.removesuffix(".jsonl") + ".batches.jsonl")
    backend = make_backend(config.backend, config.sampling, state_path=state_path, log=log)  # checks the key first
    tally = Tally()
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / f"{task.name}_{config.teacher}.teach_config.json", asdict(config))
        with TeachCache(cache_path) as cache:
            if cache.torn_lines:
                print(f"cotlit teach: {cache_path}: dropped a partial last line from an interrupted write", file=log)
            slots = _generate(_Generator(config, task, backend, cache, tally, log), questions)
            files = _write_outputs(config, task, questions, slots, cache, backend, out)
    finally:
        backend.close()
    cost = _cost(config.prices, backend.model_id, tally)
    summary = TeachSummary(tally, files, cost)
    print_summary(summary, log)
    return summary


def _generate(generator: _Generator, questions: Sequence[Question]) -> dict[tuple[int, int, str], Request | str]:
    """Plain CoTs for every (question, level), then the format rewrites of the usable ones; the request behind
    each (question index, level, format), or why there is none."""
    config = generator.config
    family = task_family(generator.task.answer_kind)
    plain = {
        (i, level): generator.request(
            q, level, "plain", level_messages(q.question, level, family, q.gold, config.reveal_answer)
        )
        for i, q in enumerate(questions)
        for level in config.levels
    }
    generator.run(list(plain.values()), "plain")
    slots: dict[tuple[int, int, str], Request | str] = {
        (i, level, "plain"): request for (i, level), request in plain.items()
    }
    rewrites = [fmt for fmt in config.formats if fmt != "plain"]
    for (i, level), request in plain.items():
        base = generator.usable(request, questions[i])
        for fmt in rewrites:
            if isinstance(base, Normalised):
                messages = rewrite_messages(questions[i].question, base.target, fmt)
                slots[(i, level, fmt)] = generator.request(questions[i], level, fmt, messages)
            else:
                slots[(i, level, fmt)] = f"plain CoT failed ({base})"
    generator.run([r for r in slots.values() if isinstance(r, Request) and r.format != "plain"], "rewrite")
    return slots


class _Generator:
    """Sends the requests that the cache lacks, retries unusable completions, and records every result."""

    def __init__(self, config: TeachConfig, task: Task, backend: Backend, cache: TeachCache, tally: Tally, log: TextIO):
        self.config, self.task, self.backend, self.cache, self.tally = config, task, backend, cache, tally
        self.log = log
        self.choices: dict[str, tuple[str, ...] | None] = {}

    def request(self, question: Question, level: int, fmt: str, messages: list[dict[str, str]]) -> Request:
        digest = prompt_hash(messages)
        key = cache_key(self.backend.name, self.backend.model_id, digest, self.config.sampling.to_dict())
        self.choices[key] = question.choices
        meta = {**question.meta, "id": question.id, "gold": question.gold}
        return Request(key=key, prompt_hash=digest, messages=tuple(messages), level=level, format=fmt, meta=meta)

    def usable(self, request: Request, question: Question) -> Normalised | str:
        """The normalised CoT of a finished request, or why there is none."""
        record = self.cache.get(request.key)
        if record is None:
            return "not generated"
        if record["status"] != "ok":
            return record["reason"]
        return usable_cot(record["text"], record.get("reasoning"), self.task, question.choices, self.config.rationale)

    def run(self, requests: Sequence[Request], stage: str) -> None:
        unique = {r.key: r for r in requests}
        pending = [r for r in unique.values() if self._needs(r.key)]
        self.tally.cached += len(unique) - len(pending)
        if not pending:
            return
        bar = _progress(len(pending), f"teach {stage}", self.config.progress, self.log)
        counts = Counter()
        spent: dict[str, Counter] = {r.key: Counter() for r in pending}
        try:
            for attempt in range(1, self.config.max_attempts + 1):
                again = []
                for request, completion in self.backend.generate(pending):
                    used = spent[request.key]
                    self._spend(used, completion)
                    reason = completion.error or self._unusable(request, completion)
                    if reason and not completion.error and attempt < self.config.max_attempts:
                        again.append(request)
                        self.tally.content_retries += 1
                        counts["retried"] += 1
                        continue
                    self.cache.put(self._record(request, completion, reason, used))
                    self.tally.sent += 1
                    counts["failed" if reason else "ok"] += 1
                    bar.update(1)
                    bar.set_postfix(
                        ok=counts["ok"], failed=counts["failed"], retried=counts["retried"],
                        tokens=self.tally.prompt_tokens + self.tally.completion_tokens, refresh=False,
                    )
                pending = again
                if not pending:
                    break
        finally:
            bar.close()

    def _unusable(self, request: Request, completion: Completion) -> str | None:
        """Why a completion must be retried (``empty``, ``cut-off``, ``no-trigger``, ``no-reasoning``...), or None."""
        choices = self.choices[request.key]
        reason = check(completion.text, completion.finish_reason, self.task, choices)
        if reason is None and self.config.rationale == "reasoning":
            cot = usable_cot(completion.text, completion.reasoning, self.task, choices, "reasoning")
            reason = cot if isinstance(cot, str) else None
        return reason

    def _needs(self, key: str) -> bool:
        record = self.cache.get(key)
        return record is None or (self.config.retry_failed and record["status"] != "ok")

    def _spend(self, used: Counter, completion: Completion) -> None:
        used["attempts"] += completion.attempts
        used["prompt_tokens"] += completion.prompt_tokens
        used["completion_tokens"] += completion.completion_tokens
        used["latency_ms"] += round(completion.latency_s * 1000)
        used["transport_retries"] += completion.retries
        self.tally.requests += completion.attempts
        self.tally.transport_retries += completion.retries
        self.tally.prompt_tokens += completion.prompt_tokens
        self.tally.completion_tokens += completion.completion_tokens

    def _record(self, request: Request, completion: Completion, reason: str | None, used: Counter) -> dict[str, Any]:
        return {
            "key": request.key,
            "backend": self.backend.name,
            "model": self.backend.model_id,
            "prompt_hash": request.prompt_hash,
            "sampling": self.config.sampling.to_dict(),
            "item_id": request.meta["id"],
            "level": request.level,
            "format": request.format,
            "status": "failed" if reason else "ok",
            "reason": reason,
            "text": completion.text,
            **({"reasoning": completion.reasoning} if completion.reasoning is not None else {}),
            "finish_reason": completion.finish_reason,
            "prompt_tokens": used["prompt_tokens"],
            "completion_tokens": used["completion_tokens"],
            "latency_s": used["latency_ms"] / 1000,
            "attempts": used["attempts"],
            "transport_retries": used["transport_retries"],
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }


def usable_cot(
    text: str | None, reasoning: str | None, task: Task, choices: tuple[str, ...] | None, rationale: str
) -> Normalised | str:
    """The CoT to write from a reply: its text normalised, with the rationale taken from ``reasoning`` when
    ``rationale`` is ``reasoning`` (``no-reasoning`` when the reply has none); a failure reason otherwise."""
    result = normalise(text, task, choices)
    if isinstance(result, str) or rationale == "content":
        return result
    if not reasoning or not reasoning.strip():
        return "no-reasoning"
    return Normalised(reasoning.strip(), result.answer)


def output_stem(task: str, teacher: str, level: int, fmt: str) -> str:
    """``svamp_gpt4o_level3`` for plain CoT, ``svamp_gpt4o_level3_bsm`` for a format (parsed back by the loaders)."""
    return f"{task}_{teacher}_level{level}" + ("" if fmt == "plain" else f"_{fmt}")


def _write_outputs(
    config: TeachConfig,
    task: Task,
    questions: Sequence[Question],
    slots: dict[tuple[int, int, str], Request | str],
    cache: TeachCache,
    backend: Backend,
    out: Path,
) -> list[FileStats]:
    """Per (level, format): the LLaMA-Factory file, its provenance and profile; then the registry entries."""
    registry = Path(config.registry) if config.registry else out / "dataset_info.json"
    gold = {q.id: q.gold for q in questions if q.gold is not None}
    entries, files = {}, []
    for level in config.levels:
        for fmt in config.formats:
            stem = output_stem(task.name, config.teacher, level, fmt)
            stats = FileStats(stem)
            rows, provenance, examples = [], [], []
            for i, question in enumerate(questions):
                slot = slots[(i, level, fmt)]
                record = cache.get(slot.key) if isinstance(slot, Request) else None
                line = _provenance(config, backend, question, level, fmt, slot, record)
                kept = _judge(config, task, question, slot, record, line, stats)
                if kept is not None:
                    line.update(status="ok", row=len(rows), words=len(kept.rationale.split()))
                    row = {"instruction": question.question, "output": kept.target}
                    rows.append(row if question.gold is None else {**row, "gold": question.gold})
                    source = f"{stem}.json#{len(rows) - 1}"
                    examples.append(_example(task, config.teacher, question, level, fmt, kept, source))
                provenance.append(line)
            stats.rows = len(rows)
            stats.words = sum(len(ex.rationale.split()) for ex in examples) / len(examples) if examples else 0.0
            data_file = out / f"{stem}.json"
            write_json(data_file, rows)
            lines = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in provenance)
            write_text(out / f"{stem}.provenance.jsonl", lines)
            write_json(out / f"{stem}.profile.json", profile_examples(examples, task, gold))
            entries[stem] = {
                "file_name": os.path.relpath(data_file, registry.parent),
                "columns": {"prompt": "instruction", "response": "output"},
            }
            files.append(stats)
    merge_registry(registry, entries)
    return files


def _judge(
    config: TeachConfig,
    task: Task,
    question: Question,
    slot: Request | str,
    record: dict[str, Any] | None,
    line: dict[str, Any],
    stats: FileStats,
) -> Normalised | None:
    """The CoT to write for one question, or None (failed or filtered); updates its provenance line and counts."""
    if isinstance(slot, str):
        result: Normalised | str = slot
    elif record is None:
        result = "not generated"
    elif record["status"] != "ok":
        result = record["reason"]
    else:
        result = usable_cot(record["text"], record.get("reasoning"), task, question.choices, config.rationale)
    if isinstance(result, str):
        line.update(status="failed", reason=result)
        stats.failed[result] += 1
        return None
    score = task.score(result.target, question.gold, question.choices) if question.gold is not None else None
    changed = config.rationale == "content" and result.target != record["text"].strip()
    line.update(extracted=result.answer, correct=score.correct if score else None, normalised=changed)
    stats.scored += score is not None
    stats.correct += bool(score and score.correct)
    stats.normalised += changed
    if config.filter == "correct" and not (score and score.correct):
        line.update(status="filtered")
        stats.filtered += 1
        return None
    return result


def _provenance(
    config: TeachConfig,
    backend: Backend,
    question: Question,
    level: int,
    fmt: str,
    slot: Request | str,
    record: dict[str, Any] | None,
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "id": question.id,
        "teacher": config.teacher,
        "backend": backend.name,
        "model": backend.model_id,
        "level": level,
        "format": fmt,
        "prompt_hash": slot.prompt_hash if isinstance(slot, Request) else None,
        "sampling": config.sampling.to_dict(),
        "gold": question.gold,
        "reveal_answer": config.reveal_answer,
    }
    if record:
        spent = ("prompt_tokens", "completion_tokens", "latency_s", "attempts", "finish_reason")
        line.update({k: record[k] for k in spent})
        if record.get("reasoning") is not None:
            line["reasoning"] = record["reasoning"]
    return line


def _example(
    task: Task, teacher: str, question: Question, level: int, fmt: str, result: Normalised, source: str
) -> CoTExample:
    return CoTExample(
        id=question.id, task=task.name, question=question.question, rationale=result.rationale, answer=result.answer,
        teacher=teacher, granularity=level, format=fmt, source=source, choices=question.choices, gold=question.gold,
        meta={"trigger": True, "answer_only": False},
    )


def merge_registry(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Add or replace ``entries`` in the ``dataset_info.json`` at ``path`` (created when missing)."""
    registry: dict[str, Any] = read_json(path, dict) if path.exists() else {}
    registry.update(entries)
    write_json(path, registry)


def _cost(prices: dict[str, dict[str, float]], model: str, tally: Tally) -> float | None:
    price = prices.get(model)
    if price is None:
        return None
    return (tally.prompt_tokens * price.get("input", 0.0) + tally.completion_tokens * price.get("output", 0.0)) / 1e6


def _progress(total: int, desc: str, enabled: bool, log: TextIO):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=log, disable=not enabled, dynamic_ncols=True, mininterval=0.5)


def print_summary(summary: TeachSummary, log: TextIO) -> None:
    """Counts per file, then requests, retries, tokens and the cost estimate of this run."""
    t = summary.tally
    print("cotlit teach: summary", file=log)
    for f in summary.files:
        failed = ", ".join(f"{reason}: {n}" for reason, n in f.failed.most_common()) or "0"
        agree = f"{f.correct}/{f.scored}" if f.scored else "n/a"
        print(
            f"  {f.name}: {f.rows} rows, failed {failed}, filtered {f.filtered}, correct {agree}, "
            f"endings normalised {f.normalised}, mean words {f.words:.1f}",
            file=log,
        )
    cost = f"${summary.cost_usd:.6f}" if summary.cost_usd is not None else "n/a (no price for this model)"
    print(
        f"  this run: {t.sent} items generated, {t.cached} from cache, {t.requests} requests "
        f"({t.transport_retries} transport retries, {t.content_retries} content retries), "
        f"tokens {t.prompt_tokens} in / {t.completion_tokens} out, estimated cost {cost}",
        file=log,
    )
