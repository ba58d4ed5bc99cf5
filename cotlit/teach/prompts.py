"""The teacher prompt library: one-shot prompts per granularity level and task family, and format rewrites.

Like the paper, a teacher first writes a *plain* CoT at a level, guided by an instruction and a one-shot
exemplar written at that level; each other format (bsm, rar, sym) is a *rewrite* of that plain CoT, which
keeps its content and changes its presentation. Prompts are per task family: ``math`` (number or LaTeX
answers), ``choice`` (multiple choice, letter answers) and ``boolean`` (yes/no, ``True``/``False``).
Whether the teacher sees the gold answer is a flag (``reveal_answer``); the paper's teachers did.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from cotlit.core import TRIGGER

Family = Literal["math", "choice", "boolean"]
FAMILIES: tuple[str, ...] = ("math", "choice", "boolean")
Message = dict[str, str]

SYSTEM = (
    "You are an expert teacher who writes worked solutions (chains of thought) that students learn from. "
    f"Follow the requested level of detail exactly and always finish with the sentence '{TRIGGER} X', where X is "
    "the final answer and nothing follows it."
)

LEVEL_INSTRUCTIONS: dict[int, str] = {
    1: "Level 1 (minimal): write one terse sentence or a bare equation chain that gives the plan, then the answer.",
    2: "Level 2 (key operation): state the key quantities and the key operation with its numbers, in at most "
    "three or four terse lines, then the answer.",
    3: "Level 3 (concise prose): write three or four short connected sentences: restate the relevant facts, name "
    "the operation or idea needed, carry it out, then give the answer.",
    4: "Level 4 (explanatory): write a short narrative that explains why each step is taken and labels every "
    "number or fact with its role, then restate the conclusion and give the answer.",
    5: "Level 5 (concept, then steps): first explain the concept the problem relies on, then solve it in numbered "
    "steps (identify, identify, compute or decide), then write a conclusion and give the answer.",
    6: "Level 6 (full breakdown with a check): announce a full breakdown, solve in numbered steps with commentary "
    "on each, add an explicit check of the result (for example the reverse operation or re-reading the facts), "
    "restate the conclusion and give the answer.",
}
"""What each granularity level asks for (paper §2: L1 one terse sentence ... L6 numbered steps with a check)."""


@dataclass(frozen=True)
class Exemplar:
    """A worked question shown once in a prompt."""

    question: str
    answer: str
    solutions: dict[int, str]
    """The exemplar's solution at each level, each ending ``The answer is <answer>``."""


_MATH = Exemplar(
    question="There are 87 oranges and 290 bananas in Philip's collection. If the bananas are organized into 2 "
    "groups and oranges are organized into 93 groups How big is each group of bananas?",
    answer="145",
    solutions={
        1: "Divide bananas by groups: 290 / 2 = 145. The answer is 145",
        2: "Bananas: 290. Groups: 2. Each group: 290 / 2 = 145. The answer is 145",
        3: "Philip has 290 bananas, split into 2 equal groups. To find the size of each group, we divide the "
        "number of bananas by the number of groups. 290 / 2 = 145. The answer is 145",
        4: "The question asks how many bananas are in each group, so the oranges do not matter here. Philip has "
        "290 bananas (the total to share) and they are organized into 2 groups (the number of equal parts). "
        "Sharing a total equally into parts is a division, so we divide 290 by 2, which gives 145. Therefore each "
        "group of bananas has 145 bananas. The answer is 145",
        5: "Organizing items into equal groups is division: the total number of items divided by the number of "
        "groups gives the size of one group, and other items in the story do not change it.\n1. Identify the total "
        "number of bananas: 290.\n2. Identify the number of groups the bananas are organized into: 2.\n3. Compute "
        "the size of each group: 290 / 2 = 145.\nSo each of the 2 groups of bananas contains 145 bananas. "
        "The answer is 145",
        6: "Let us break the problem down completely.\n1. The question is about the bananas only; the 87 oranges "
        "and their 93 groups are extra information.\n2. Total number of bananas: 290. This is the amount being "
        "shared.\n3. Number of groups: 2. The bananas are shared equally among them.\n4. Equal sharing means "
        "division: 290 / 2 = 145 bananas per group.\n5. Check: multiplying back, 145 x 2 = 290, which is the "
        "total we started with, so the division is right.\nTherefore each group of bananas has 145 bananas. "
        "The answer is 145",
    },
)

_CHOICE = Exemplar(
    question="What do people use to absorb extra ink from a fountain pen?\nAnswer Choices: (A) shirt pocket "
    "(B) calligrapher's hand (C) inkwell (D) desk drawer (E) blotter",
    answer="E",
    solutions={
        1: "Extra ink is soaked up with absorbent paper, a blotter. The answer is E",
        2: "Need: something that absorbs ink. Blotter = absorbent paper. Others hold or store things. "
        "The answer is E",
        3: "The question asks what soaks up extra ink from a fountain pen. A blotter is a sheet of absorbent paper "
        "made for exactly this. A pocket, a hand, an inkwell and a drawer do not absorb ink. The answer is E",
        4: "We need an object whose purpose is to absorb ink. A shirt pocket (A) only holds the pen, a "
        "calligrapher's hand (B) would get stained, an inkwell (C) supplies ink rather than removing it, and a desk "
        "drawer (D) stores things. A blotter (E) is absorbent paper pressed on wet ink to soak up the excess. "
        "So the right tool is a blotter. The answer is E",
        5: "Absorbing a liquid needs a porous material that soaks it up; for wet ink, writers traditionally "
        "press a sheet of blotting paper onto the page.\n1. Identify the goal: remove the extra ink from the pen "
        "or page.\n2. Identify which option is absorbent: only the blotter (E).\n3. Decide: the other options "
        "hold the pen (A), get stained (B), supply ink (C) or store things (D).\nSo people use a blotter to absorb "
        "extra ink. The answer is E",
        6: "Let us examine every option.\n1. The goal is to absorb excess ink from a fountain pen.\n2. (A) A shirt "
        "pocket holds a pen; it is not meant to absorb ink.\n3. (B) A calligrapher's hand would be stained, not "
        "used as a tool.\n4. (C) An inkwell is a container that supplies ink.\n5. (D) A desk drawer stores things.\n"
        "6. (E) A blotter is absorbent paper made to soak up wet ink.\nCheck: only (E) has absorbing ink as its "
        "purpose, and none of the others does.\nTherefore people use a blotter. The answer is E",
    },
)

_BOOLEAN = Exemplar(
    question="Could a llama give birth twice during the War in Vietnam (1945-46)?",
    answer="False",
    solutions={
        1: "A llama's pregnancy lasts about 11 months, longer than the whole war. The answer is False",
        2: "War length: about 6 months. Llama gestation: about 11 months. Two births need over 22 months. "
        "The answer is False",
        3: "The War in Vietnam of 1945-46 lasted about six months. A llama's gestation lasts about eleven months. "
        "Two births would need almost two years, far longer than the war. The answer is False",
        4: "To give birth twice, a llama would need two full pregnancies within the war. The war of 1945-46 lasted "
        "only about 6 months (the time available), while one llama pregnancy takes about 11 months (the time "
        "needed per birth). Even one full pregnancy does not fit in the war, let alone two. So a llama could not "
        "give birth twice during it. The answer is False",
        5: "Whether something can happen twice in a period depends on comparing the period with the time each "
        "event needs.\n1. Identify the period: the war lasted about 6 months.\n2. Identify the time per birth: a "
        "llama's gestation is about 11 months.\n3. Decide: two births need about 22 months, more than 6.\n"
        "So a llama could not give birth twice during the war. The answer is False",
        6: "Let us break the question down fully.\n1. The War in Vietnam (1945-46) lasted about 6 months.\n2. A "
        "llama's gestation period is about 11 months.\n3. Two births need two pregnancies, about 22 months.\n"
        "4. Compare: 22 months is far more than the 6 months available.\n5. Check: even a single pregnancy "
        "(11 months) is longer than the war, so the conclusion holds with room to spare.\nTherefore a llama could "
        "not give birth twice during the war. The answer is False",
    },
)

EXEMPLARS: dict[str, Exemplar] = {"math": _MATH, "choice": _CHOICE, "boolean": _BOOLEAN}

FORMAT_INSTRUCTIONS: dict[str, str] = {
    "bsm": "Rewrite the solution as a sequence of sub-questions, each immediately followed by its answer "
    "(sub-question, answer, sub-question, answer...). Keep every fact and computation of the original.",
    "rar": "Rewrite the solution so that it first rephrases and expands the question in your own words "
    "(making the given facts and what is asked explicit), then gives the original reasoning.",
    "sym": "Rewrite the solution in symbolic notation: define variables for the quantities or facts "
    "(\"Let B = ...\"), then reason with equations and logic symbols (=, ÷, ×, ∴, ∧, ¬) instead of prose.",
}
"""Rewrite instructions for the non-plain formats (paper §3)."""

_FORMAT_EXAMPLES: dict[str, str] = {
    "bsm": "How many bananas are there in total? 290. How many groups are the bananas organized into? 2. "
    "What must be computed to get the size of one group? The total divided by the number of groups. "
    "What is 290 / 2? 145. The answer is 145",
    "rar": "Philip has a collection with 87 oranges and 290 bananas. The bananas are put into 2 groups of equal "
    "size and the oranges into 93 groups; we are asked for the number of bananas in each banana group. "
    "Philip has 290 bananas, split into 2 equal groups. To find the size of each group, we divide the number "
    "of bananas by the number of groups. 290 / 2 = 145. The answer is 145",
    "sym": "Let B = 290 (bananas), G = 2 (groups). x = B ÷ G = 290 ÷ 2 ∴ x = 145. The answer is 145",
}


def task_family(answer_kind: str) -> Family:
    """The prompt family for a task's answer kind (``number``/``latex`` -> math, ``choice``, ``boolean``)."""
    families: dict[str, Family] = {"number": "math", "latex": "math", "choice": "choice", "boolean": "boolean"}
    return families[answer_kind]


def _ask(question: str, answer: str | None) -> str:
    return f"Question: {question}" + (f"\nCorrect answer: {answer}" if answer is not None else "")


def level_messages(question: str, level: int, family: str, gold: str | None, reveal_answer: bool) -> list[Message]:
    """The chat messages asking a teacher for a plain CoT at ``level``: the instruction, then the exemplar as one
    user/assistant exchange written at that level, then the question (with its gold answer when revealed)."""
    example = EXEMPLARS[family]
    shown = reveal_answer and gold is not None
    return [
        {"role": "system", "content": f"{SYSTEM}\n\n{LEVEL_INSTRUCTIONS[level]}"},
        {"role": "user", "content": _ask(example.question, example.answer if shown else None)},
        {"role": "assistant", "content": example.solutions[level]},
        {"role": "user", "content": _ask(question, gold if shown else None)},
    ]


def rewrite_messages(question: str, plain_cot: str, fmt: str) -> list[Message]:
    """The chat messages asking a teacher to rewrite a plain CoT into ``fmt`` (same level, same answer): the
    instruction, one worked rewrite as a user/assistant exchange, then the question with its plain CoT."""
    instruction = (
        f"{SYSTEM}\n\n{FORMAT_INSTRUCTIONS[fmt]} Keep the level of detail and the final answer unchanged. "
        "Reply with the rewritten solution only."
    )
    return [
        {"role": "system", "content": instruction},
        {"role": "user", "content": f"{_ask(_MATH.question, None)}\nSolution: {_MATH.solutions[3]}"},
        {"role": "assistant", "content": _FORMAT_EXAMPLES[fmt]},
        {"role": "user", "content": f"{_ask(question, None)}\nSolution: {plain_cot}"},
    ]


def prompt_hash(messages: list[Message]) -> str:
    """A stable short hash of a prompt (the messages as canonical JSON)."""
    text = json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
