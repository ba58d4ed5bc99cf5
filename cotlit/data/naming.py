"""Task, teacher, granularity level and format read from the paper's data file names.

The paper's files encode their condition in the name (``SVAMP_ChatGPT_level3_ranked.json``,
``0_SVAMP_chatgpt_level5RaR.json``, ``SVAMP_only_ans.json``, ``svamp_human_annotation.json``...). Explicit
arguments always win over what the name says; a name that says nothing leaves the field unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TEACHER_ALIASES: dict[str, str] = {
    "chatgpt": "gpt4o",
    "gpt4o": "gpt4o",
    "gpt-4o": "gpt4o",
    "gpt_4o": "gpt4o",
    "gemini": "gemini",
    "llama": "llama",
    "human": "human",
    "program": "program",
}
"""File-name tokens and spellings of the canonical teacher names (``ChatGPT`` files are GPT-4o's; ``program`` is cotlit's programmatic teacher)."""

TASK_ALIASES: dict[str, str] = {
    "svamp": "svamp",
    "gsm8k": "gsm8k",
    "gsm": "gsm8k",
    "aqua": "aqua",
    "auqa": "aqua",
    "csqa": "csqa",
    "cqa": "csqa",
    "commonsenseqa": "csqa",
    "ecqa": "csqa",
    "obqa": "obqa",
    "openbookqa": "obqa",
    "stqa": "strategyqa",
    "strategyqa": "strategyqa",
    "math": "math",
    "arithmetic": "arithmetic",
}
"""Dataset tokens of the paper's file names and registry keys, mapped to cotlit task names."""

_ANSWER_ONLY = re.compile(r"only_?ans", re.IGNORECASE)
_HUMAN = re.compile(r"human|^ecqa_train", re.IGNORECASE)
_MATH_MIX = re.compile(r"^math_mix_level", re.IGNORECASE)
_LEVEL = re.compile(r"level_?([1-9])", re.IGNORECASE)
_FORMAT = re.compile(r"(?<![a-z])(bsm|rar|symbolic|sym)(?![a-z])", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.IGNORECASE)
_FORMAT_CODES = {"bsm": "bsm", "rar": "rar", "sym": "sym", "symbolic": "sym"}


@dataclass(frozen=True)
class FileCondition:
    """The experimental condition a data file's name encodes; ``None`` where the name says nothing."""

    teacher: str | None = None
    """Canonical teacher (``gpt4o``, ``gemini``, ``llama``, ``human``), None when unknown or answer-only."""
    granularity: int | None = None
    format: str | None = None
    """``plain``, ``bsm``, ``rar`` or ``sym`` when the name shows a level or a format code, else None."""
    answer_only: bool = False
    """True for the Only-Answer baseline files (``*_only_ans*``, ``*_onlyans*``)."""
    task: str | None = None
    """The cotlit task the dataset token names (``SVAMP`` -> ``svamp``, ``stqa`` -> ``strategyqa``)."""


def canonical_teacher(name: str) -> str:
    """``ChatGPT`` -> ``gpt4o``, ``Gemini`` -> ``gemini``...; unknown names are kept, lower-cased."""
    return TEACHER_ALIASES.get(name.strip().lower(), name.strip().lower())


def parse_file_name(name: str | Path) -> FileCondition:
    """Read task, teacher, level and format from a file name (a path or a bare name; the suffix is ignored).

    >>> parse_file_name("0_SVAMP_chatgpt_level5RaR.json")
    FileCondition(teacher='gpt4o', granularity=5, format='rar', answer_only=False, task='svamp')
    """
    stem = Path(name).name.split(".")[0]
    tokens = [token.lower() for token in _TOKEN.findall(stem.replace("_", " "))]
    task = next((TASK_ALIASES[t] for t in tokens if t in TASK_ALIASES), None)
    if _ANSWER_ONLY.search(stem):
        return FileCondition(format="plain", answer_only=True, task=task)
    if _HUMAN.search(stem):
        return FileCondition(teacher="human", format="plain", task=task)
    teacher = next((TEACHER_ALIASES[t] for t in tokens if t in TEACHER_ALIASES), None)
    if teacher is None and _MATH_MIX.search(stem):
        teacher = "gpt4o"
    level = _LEVEL.search(stem)
    code = _FORMAT.search(stem)
    fmt = _FORMAT_CODES[code.group(1).lower()] if code else ("plain" if level else None)
    return FileCondition(teacher, int(level.group(1)) if level else None, fmt, task=task)


def entry_condition(entry_name: str, file_name: str | Path) -> FileCondition:
    """The condition of a registry entry: its file's name, completed by the entry's name.

    The entry name decides when only it says answer-only: ``math_onlyans`` and ``math_human`` share the file
    ``math_human.json`` (its ``output`` and ``solution`` columns), so the file name alone cannot tell them apart.
    """
    by_file, by_key = parse_file_name(file_name), parse_file_name(entry_name)
    task = by_file.task or by_key.task
    if by_file.answer_only or by_key.answer_only:
        return FileCondition(format="plain", answer_only=True, task=task)
    return FileCondition(by_file.teacher or by_key.teacher, by_file.granularity or by_key.granularity,
                         by_file.format or by_key.format, task=task)
