"""LaTeX answers (MATH): brace-matched ``\\boxed{}``, string normalisation, and the paper's MAmmoTH rules.

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


def matching_brace(text: str, start: int, escapes: bool = True) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``start``, or ``None``; ``escapes`` skips ``\\{`` and ``\\}``."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if escapes and char == "\\":
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


def mammoth_math_answer(segment: str, answer_flag: bool) -> str:
    """MAmmoTH's ``extract_math_answer``: text after the last ``boxed`` (brace-matched, or up to ``$``),
    else after the last ``=`` when there was a trigger, else the last number; then :func:`hendrycks_strip`."""
    if "boxed" in segment:
        rest = segment.split("boxed")[-1]
        if not rest:
            return ""
        if rest[0] == "{":
            end = matching_brace(rest, 0, escapes=False)
            answer = rest[1:end] if end is not None else rest[1:]
        else:
            answer = rest.split("$")[0].strip()
    elif answer_flag:
        answer = segment.split("=")[-1].strip()
        if re.match(r"[\d\.]+\s\D+$", answer):
            answer = answer.split(" ")[0]
    else:
        numbers = LAST_NUMBER_RE.findall(segment)
        answer = numbers[-1] if numbers else ""
    return hendrycks_strip(answer)


def _hendrycks_fix_fracs(string: str) -> str:
    parts = string.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part[:1] == "{":
            out += part
        elif len(part) < 2:
            return string
        elif part[1] == "{":
            out += "{" + part[0] + "}" + part[1:]
        else:
            out += "{" + part[0] + "}{" + part[1] + "}" + part[2:]
    return out


def _hendrycks_fix_sqrt(string: str) -> str:
    parts = string.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        out += "\\sqrt" + (part if part[:1] == "{" or not part else "{" + part[0] + "}" + part[1:])
    return out


def hendrycks_strip(string: str) -> str:
    """Hendrycks' ``_strip_string`` as MAmmoTH uses it (the paper's MATH normalisation), step by step.

    Where the original raises (two ``\\text{ `` units, a non-integer ``a/b``), that step leaves the string
    unchanged, as the callers' ``try``/``except`` does.
    """
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "")
    units = string.split("\\text{ ")
    if len(units) == 2:
        string = units[0]
    string = string.replace("\\%", "").replace("%", "")
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if not string:
        return string
    if string[0] == ".":
        string = "0" + string
    sides = string.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        string = sides[1]
    string = _hendrycks_fix_sqrt(string).replace(" ", "")
    string = _hendrycks_fix_fracs(string)
    if string == "0.5":
        string = "\\frac{1}{2}"
    parts = string.split("/")
    if len(parts) == 2 and all(re.fullmatch(r"-?\d+", part) for part in parts):
        numerator, denominator = int(parts[0]), int(parts[1])
        if string == f"{numerator}/{denominator}":
            string = f"\\frac{{{numerator}}}{{{denominator}}}"
    return string
