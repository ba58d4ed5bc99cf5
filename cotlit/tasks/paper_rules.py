"""The paper's answer rules, exactly as its evaluation scripts apply them (the tasks' ``paper_compat`` mode).

Sources, from EIT-NLP/Distilling-CoT-Reasoning (conventions (g)):

- Math (SVAMP, GSM8K, AQuA, MATH): MAmmoTH2's ``math_eval/run_open.py`` (its README's evaluator) with
  ``Evaluation/reasoning_eval/utils.py`` (the paper's copy of MAmmoTH2's ``utils.py``): triggers from
  ``get_seperation_trigger``, then ``answer_clean``, ``delete_extra_zero``, ``extract_math_answer``,
  ``_strip_string`` and ``compare_answer_with_groundtruth``; gold answers as MAmmoTH2's ``data_loader.py``
  reads them.
- Commonsense (CSQA, OBQA, StrategyQA): ``Evaluation/reasoning_eval/run_reasoning.py``:
  ``clean_generated_output``, then ``extract_answer_label``, compared with ``==`` to the label.

Nothing is ever evaluated. Where the original calls ``eval`` (a number such as ``3/4`` in
``delete_extra_zero``), the literal quotient is computed exactly as Python would; where ``run_open.py`` runs an
output containing ``print(`` as a program, cotlit scores the text as it is.
"""

from __future__ import annotations

import re
from fractions import Fraction

PAPER_TRIGGERS: tuple[str, ...] = ("The answer is:", "The answer is", "the answer is")
"""``run_open.py`` ``get_seperation_trigger``: the triggers of every math task (GSM8K adds ``####``)."""
GSM8K_TRIGGERS: tuple[str, ...] = (*PAPER_TRIGGERS, "####")
NUMBER_RE = re.compile(r"-?\d+/?\.?\d*")
"""``answer_clean``'s number pattern (GSM8K, SVAMP)."""
LETTER_RE = re.compile(r"\b(A|B|C|D|E|F|G|H|I|J)\b")
"""``answer_clean``'s option-letter pattern (AQuA), applied to the upper-cased segment."""
MATH_LAST_NUMBER_RE = re.compile(r"-?\d*\.?\d+")
"""``extract_math_answer``'s "desperate search over the last number" when there is no trigger."""
NUMBER_WITH_WORDS_RE = re.compile(r"[\d\.]+\s\D+$")
"""``extract_math_answer``: ``12 inches`` keeps ``12``."""
LITERAL_QUOTIENT_RE = re.compile(r"(-?)(\d+)/(\d+|\.\d+)")
"""The ``a/b`` tokens of :data:`NUMBER_RE` that the original's ``eval`` turns into a value."""
CHOICE_GOLDS = ("(a)", "(b)", "(c)", "(d)", "(e)", "(f)")
COMMONSENSE_LABEL_RE = re.compile(r"[Tt]he answer is ([A-E]|True|False)")
"""``run_reasoning.py`` ``extract_answer_label``: the first match, case-sensitive, no fallback."""
COMMONSENSE_STOPS = ("USER:", "ASSISTANT:", "### Instruction:", "Response:", "<start_of_turn>", "[INST]",
                     "<|eot_id|>", "####")
"""``clean_generated_output``'s stop phrases, removed one after the other (each followed by a strip)."""


# -- math: answer_clean ---------------------------------------------------------------------------------------------
def answer_clean_segment(text: str, triggers: tuple[str, ...] = PAPER_TRIGGERS) -> tuple[str, bool]:
    """``answer_clean``'s front half: ``(segment, answer_flag)``.

    If any trigger occurs more than once, only the text before the first ``\\n\\n`` is kept (anywhere, even
    before the first trigger); the text is split on the triggers and the part after the last split is the
    segment (``answer_flag=True``), else the whole text; then ``\\n``, a trailing ``.``, ``/`` and spaces go.
    """
    pred = text.strip("\n")
    if any(pred.count(trigger) > 1 for trigger in triggers):
        pred = pred.split("\n\n")[0]
    parts = re.split("|".join(map(re.escape, triggers)), pred)
    flag = len(parts) > 1
    if flag:
        pred = parts[-1]
    return pred.strip("\n").rstrip(".").rstrip("/").strip(" "), flag


def _pick(candidates: list[str], flag: bool) -> str | None:
    """``answer_clean``'s tail: the first candidate after a trigger, else the last; ``.`` and ``/`` stripped.

    An empty result (no candidate) is ``None``: the original's ``""`` never equals a gold answer.
    """
    if not candidates:
        return None
    answer = (candidates[0] if flag else candidates[-1]).rstrip(".").rstrip("/")
    return answer or None


def paper_number(text: str, triggers: tuple[str, ...] = PAPER_TRIGGERS) -> tuple[str | None, bool]:
    """GSM8K/SVAMP: the first number after the last trigger split, else the last number of the text.

    Commas are removed first and each number goes through :func:`delete_extra_zero`:
    ``The answer is 12 + 13 = 25`` -> ``12``; ``The answer is 1,000.`` -> ``1000``; ``3/4`` -> ``0.75``.
    """
    segment, flag = answer_clean_segment(text, triggers)
    numbers = [delete_extra_zero(token) for token in NUMBER_RE.findall(segment.replace(",", ""))]
    return _pick(numbers, flag), flag


def paper_letter(text: str) -> tuple[str | None, bool]:
    """AQuA: the first ``\\b[A-J]\\b`` of the upper-cased segment after a trigger, else the last one of the text.

    With no such letter the original keeps the whole segment as its answer; that is what is returned (it only
    equals a gold letter when the segment is that letter).
    """
    segment, flag = answer_clean_segment(text)
    letters = LETTER_RE.findall(segment.upper())
    return _pick(letters or [segment.strip().strip(".")], flag), flag


def paper_math(text: str) -> tuple[str | None, bool]:
    """MATH: :func:`extract_math_answer` of the segment, stripped of a trailing ``.`` and ``/``."""
    segment, flag = answer_clean_segment(text)
    return _pick([extract_math_answer(segment, flag)], flag), flag


# -- math: numbers --------------------------------------------------------------------------------------------------
def delete_extra_zero(text: str) -> str:
    """``delete_extra_zero``: ``145.0`` -> ``145``, ``2.50`` -> ``2.5``, ``3/4`` -> ``0.75``; other text unchanged.

    The original tries ``float``, then ``eval``; here a literal ``a/b`` (the only other form its callers pass) is
    divided exactly as Python's ``eval`` would: integers by exact, correctly rounded division; a ``.5``
    denominator as a float. Forms ``eval`` rejects stay unchanged: ``3/0``, ``3/``, ``3/05`` (a leading zero is
    a syntax error in Python 3). Any other expression the original could evaluate (``2*3``) is left unchanged.
    """
    try:
        value = float(text)
    except ValueError:
        quotient = literal_quotient(text)
        if quotient is None:
            return text
        value = quotient
    short = str(value).rstrip("0")
    return str(int(short.rstrip("."))) if short.endswith(".") else str(float(short))


def literal_quotient(text: str) -> float | None:
    """The value Python's ``eval`` gives a token ``a/b`` or ``a/.b``; ``None`` where it raises."""
    match = LITERAL_QUOTIENT_RE.fullmatch(text.strip())
    if match is None:
        return None
    sign, numerator, denominator = match.groups()
    if not _python_int_literal(numerator) or not (denominator.startswith(".") or _python_int_literal(denominator)):
        return None
    value = -int(numerator) if sign else int(numerator)
    try:
        if denominator.startswith("."):
            return float(value) / float(denominator)
        return float(Fraction(value, int(denominator)))
    except (ZeroDivisionError, OverflowError):
        return None


def _python_int_literal(digits: str) -> bool:
    """Whether ``digits`` is a valid Python 3 integer literal (no leading zero unless all zeros)."""
    return not digits.startswith("0") or set(digits) == {"0"}


# -- math: MATH -----------------------------------------------------------------------------------------------------
def find_box(text: str) -> str:
    """``find_box``: the text after the last ``boxed``, brace-matched when it opens with ``{`` (an unclosed box
    keeps everything after it), else up to the next ``$``."""
    rest = text.split("boxed")[-1]
    if not rest:
        return ""
    if rest[0] != "{":
        return rest.split("$")[0].strip()
    depth = 1
    for index, char in enumerate(rest[1:], start=1):
        depth += (char == "{") - (char == "}")
        if depth == 0:
            return rest[1:index]
    return rest[1:]


def extract_math_answer(segment: str, answer_flag: bool) -> str:
    """``extract_math_answer``: the boxed content; else after a trigger the text after the last ``=`` (``12
    inches`` -> ``12``); else the last number; then :func:`strip_string`."""
    if "boxed" in segment:
        answer = find_box(segment)
    elif answer_flag:
        answer = segment.split("=")[-1].strip()
        if NUMBER_WITH_WORDS_RE.match(answer):
            answer = answer.split(" ")[0]
    else:
        numbers = MATH_LAST_NUMBER_RE.findall(segment)
        answer = numbers[-1] if numbers else ""
    return strip_string(answer)


def strip_string(string: str) -> str:
    """``_strip_string`` of the paper's ``utils.py`` (Hendrycks' MATH normalisation as MAmmoTH2 ships it).

    Unlike Hendrycks' original it strips ``$`` at both ends, cuts at the first ``\\text{ `` however many there
    are, keeps a plain ``%`` and no longer maps ``0.5`` to ``\\frac{1}{2}``.
    """
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "")
    string = string.strip("$").replace("\\$", "")
    string = string.split("\\text{ ")[0]
    string = string.replace("\\%", "")
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if not string:
        return string
    if string[0] == ".":
        string = "0" + string
    sides = string.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        string = sides[1]
    string = _fix_sqrt(string).replace(" ", "")
    return _fix_a_slash_b(_fix_fracs(string))


def _fix_sqrt(string: str) -> str:
    """``\\sqrt3`` -> ``\\sqrt{3}``."""
    parts = string.split("\\sqrt")
    out = parts[0]
    for part in parts[1:]:
        out += "\\sqrt{" + part[0] + "}" + part[1:] if part and part[0] != "{" else "\\sqrt" + part
    return out


def _fix_fracs(string: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{72}`` -> ``\\frac{1}{72}``; a one-character rest gives up."""
    parts = string.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if not part or part[0] == "{":
            out += part
        elif len(part) < 2:
            return string
        elif part[1] != "{":
            out += "{" + part[0] + "}{" + part[1] + "}" + part[2:]
        else:
            out += "{" + part[0] + "}" + part[1:]
    return out


def _fix_a_slash_b(string: str) -> str:
    """``3/4`` -> ``\\frac{3}{4}`` when both sides are integers written plainly (as the original's ``int``)."""
    parts = string.split("/")
    if len(parts) != 2:
        return string
    try:
        numerator, denominator = int(parts[0]), int(parts[1])
    except ValueError:
        return string
    if string != f"{numerator}/{denominator}":
        return string
    return f"\\frac{{{numerator}}}{{{denominator}}}"


# -- math: comparison -----------------------------------------------------------------------------------------------
def paper_equal(answer: str, gold: str) -> bool:
    """``compare_answer_with_groundtruth`` without a numeric gold (as ``run_open.py`` calls it for these tasks).

    Both sides containing ``\\text{`` lose every ``\\text{`` and their trailing ``}``; a gold ``(a)``-``(f)`` is
    found anywhere in the answer; otherwise the two are compared as case-insensitive strings.
    """
    answer, gold = _drop_text(answer), _drop_text(gold)
    if gold.lower() in CHOICE_GOLDS:
        return gold.lower() in answer.lower()
    return answer.lower() == gold.lower()


def _drop_text(string: str) -> str:
    return string.replace("\\text{", "").rstrip("}") if "\\text{" in string else string


# -- commonsense ----------------------------------------------------------------------------------------------------
def clean_generated_output(text: str) -> str:
    """``clean_generated_output``: drop ``<start_of_turn>...<end_of_turn>`` spans, collapse newlines, remove the
    words ``model`` and ``edReader``, then each stop phrase (:data:`COMMONSENSE_STOPS`)."""
    text = re.sub(r"<start_of_turn>.*?<end_of_turn>", "", text, flags=re.DOTALL)
    text = re.sub(r"\n+", "\n", text).strip()
    text = re.sub(r"(?:\bedReader\b|\bmodel\b)+", "", text).strip()
    for stop in COMMONSENSE_STOPS:
        text = text.replace(stop, "").strip()
    return text


def commonsense_label(text: str) -> str | None:
    """The paper's commonsense prediction: the first ``[Tt]he answer is ([A-E]|True|False)`` of the cleaned text.

    No fallback: ``The answer is (B)``, ``The answer is: B``, ``the correct answer is D`` and ``yes`` give None.
    """
    match = COMMONSENSE_LABEL_RE.search(clean_generated_output(text))
    return match.group(1) if match else None
