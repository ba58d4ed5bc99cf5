"""LaTeX answers (MATH): brace-matched ``\\boxed{}`` and cotlit's string normalisation.

Comparison is exact string equality after :func:`normalize_latex` (the paper's metric). Nothing here parses
or evaluates the text symbolically.
"""

from __future__ import annotations

import re

BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
TEXT_COMMANDS = ("text", "textbf", "textit", "mbox", "mathrm")
TEXT_RE = re.compile(r"\\(?:%s)\s*\{" % "|".join(TEXT_COMMANDS))
TRAILING_UNIT_POWER_RE = re.compile(r"\^\{?\d\}?")
SPACING_RE = re.compile(r"(?<!\\)\\[!,;: ]")
LEFT_RIGHT_RE = re.compile(r"\\(?:left|right)(?![A-Za-z])")
THOUSANDS_RE = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
LEADING_POINT_RE = re.compile(r"(?<![\d}])\.(?=\d)")
SIMPLE_FRACTION_RE = re.compile(r"(-?\d+)/(\d+)")
NUMBER_WORDS_RE = re.compile(r"(-?[\d.,]+)\s+[A-Za-z][A-Za-z\s.]*")
MATH_DELIMITERS_RE = re.compile(r"\$+(.+?)\$+|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
LAST_NUMBER_RE = re.compile(r"-?\d*\.?\d+")


def matching_brace(text: str, start: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``start``, or ``None``; escaped ``\\{`` and ``\\}`` are skipped."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}``/``\\fbox{...}`` (brace-matched) or ``\\boxed 5``; ``None`` if none.

    An unclosed last box (a truncated output) gives ``None``.
    """
    matches = list(BOX_RE.finditer(text))
    if not matches:
        return None
    rest = text[matches[-1].end() :]
    stripped = rest.lstrip()
    if stripped.startswith("{"):
        offset = len(rest) - len(stripped)
        end = matching_brace(rest, offset)
        return rest[offset + 1 : end] if end is not None else None
    token = re.match(r"\s*([^\s${}]+)", rest)
    return token.group(1) if token else None


def _text_groups(text: str) -> list[tuple[int, int, int]]:
    """``(start, content_start, end)`` of each top-level ``\\text{...}``-like group, ``end`` past its ``}``."""
    groups, pos = [], 0
    while (match := TEXT_RE.search(text, pos)) is not None:
        close = matching_brace(text, match.end() - 1)
        if close is None:
            break
        groups.append((match.start(), match.end(), close + 1))
        pos = close + 1
    return groups


def _drop_units_and_unwrap_text(text: str) -> str:
    """Drop a trailing ``\\text{ unit}`` after a value (``5\\text{ cm}^2`` -> ``5``); unwrap other text."""
    groups = _text_groups(text)
    if groups:
        start, _, end = groups[-1]
        tail = text[end:].strip()
        if text[:start].strip() and (not tail or TRAILING_UNIT_POWER_RE.fullmatch(tail)):
            text, groups = text[:start], groups[:-1]
    for start, content, end in reversed(groups):
        text = text[:start] + text[content : end - 1] + text[end:]
    return text


def brace_arguments(text: str, command: str, count: int) -> str:
    """Brace single-token arguments: ``\\frac12`` -> ``\\frac{1}{2}``, ``\\sqrt3`` -> ``\\sqrt{3}``."""
    out, pos = [], 0
    while (found := text.find(command, pos)) >= 0:
        out.append(text[pos : found + len(command)])
        pos = found + len(command)
        for _ in range(count):
            if pos < len(text) and text[pos] == "{":
                close = matching_brace(text, pos)
                if close is None:
                    break
                out.append("{" + brace_arguments(text[pos + 1 : close], command, count) + "}")
                pos = close + 1
            elif pos < len(text) and text[pos] not in "\\[{}^_":
                out.append("{" + text[pos] + "}")
                pos += 1
            else:
                break
    out.append(text[pos:])
    return "".join(out)


def normalize_latex(answer: str) -> str:
    """cotlit's MATH normalisation (Hendrycks/MAmmoTH style, see ``conventions.md`` (a)).

    ``\\dfrac{3}{4}`` and ``\\frac34`` -> ``\\frac{3}{4}``; ``5\\%``, ``10^\\circ``, ``5\\text{ cm}`` -> the
    number; ``x = 7`` -> ``7``; ``.5`` -> ``0.5``; ``1,000`` -> ``1000`` (a tuple ``(1,0)`` is kept); ``3/4`` ->
    ``\\frac{3}{4}``; spaces, ``$``, ``\\left``/``\\right`` and spacing commands are dropped.
    """
    text = answer.replace("\n", " ")
    text = SPACING_RE.sub("", text)
    text = re.sub(r"\\[dt]frac(?![A-Za-z])", r"\\frac", text)
    text = LEFT_RIGHT_RE.sub("", text)
    for token in ("^{\\circ}", "^\\circ", "\u00b0", "\\$", "$", "\\%", "%"):
        text = text.replace(token, "")
    text = _drop_units_and_unwrap_text(text)
    text = text.replace(" ", "").rstrip(".")
    if THOUSANDS_RE.fullmatch(text):
        text = text.replace(",", "")
    if text.count("=") == 1 and len(text.split("=")[0]) <= 2:
        text = text.split("=")[1]
    text = brace_arguments(brace_arguments(text, "\\sqrt", 1), "\\frac", 2)
    text = LEADING_POINT_RE.sub("0.", text)
    if fraction := SIMPLE_FRACTION_RE.fullmatch(text):
        text = "\\frac{%s}{%s}" % fraction.groups()
    return text


def segment_answer(segment: str) -> str:
    """The answer in the text after the trigger: its first math span (``$...$``, ``\\(...\\)``) or first line,
    after the last ``=``; from ``<number> <words>`` only the number (``12 inches`` -> ``12``)."""
    line = segment.lstrip().split("\n", 1)[0]
    span = MATH_DELIMITERS_RE.search(line)
    if span is not None:
        line = next(group for group in span.groups() if group is not None)
    line = line.rsplit("=", 1)[-1].strip().rstrip(".").strip()
    if words := NUMBER_WORDS_RE.fullmatch(line):
        line = words.group(1)
    return line


def last_number(text: str) -> str | None:
    """The last number of the text (the fallback when there is neither trigger nor box)."""
    numbers = LAST_NUMBER_RE.findall(re.sub(r"(?<=\d),(?=\d{3}\b)", "", text))
    return numbers[-1] if numbers else None
