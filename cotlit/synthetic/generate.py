"""Seeded multi-step arithmetic word problems with a distractor, in disjoint train/val/test splits.

A problem is a story about one owner's items: a start (a plain amount, or equal groups: one ×), 0-4 gains and
losses (+, -), and an optional end (share equally or pack into groups: ÷; sell at a price: ×), 2-4 operations
in all, with every intermediate result a positive integer. Splits are a hash partition of the question text,
so no question can be in two splits, whatever the seeds.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from dataclasses import dataclass, replace

from cotlit.errors import CotlitError
from cotlit.synthetic.problem import ArithmeticProblem, Quantity, Step, apply_op
from cotlit.synthetic.themes import GENERIC_DISTRACTORS, NAMES, THEMES, Noun, Theme, Verb

SPLITS: tuple[str, ...] = ("train", "val", "test")
_BUCKETS = {"train": range(0, 16), "val": range(16, 18), "test": range(18, 20)}
"""Shares of the hash space: 80 % train, 10 % val, 10 % test."""
MIN_OPS, MAX_OPS = 2, 4
_CONNECTORS = ("", "Then ", "Later, ", "After that, ", "Next, ")


def split_of(question: str) -> str:
    """The split a question belongs to, from a hash of its whitespace-normalised text."""
    digest = hashlib.sha1(" ".join(question.split()).encode()).hexdigest()
    bucket = int(digest[:8], 16) % 20
    return next(split for split, buckets in _BUCKETS.items() if bucket in buckets)


def generate_problems(n: int, seed: int, split: str) -> list[ArithmeticProblem]:
    """``n`` distinct problems of ``split``, the same ones for the same ``(n, seed, split)``."""
    if split not in SPLITS:
        raise CotlitError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    rng = random.Random(f"arithmetic:{seed}:{split}")
    problems: list[ArithmeticProblem] = []
    seen: set[str] = set()
    for _ in range(100 * n + 1000):
        if len(problems) == n:
            break
        problem = _draw(rng)
        if problem is None or problem.question in seen or split_of(problem.question) != split:
            continue
        seen.add(problem.question)
        problems.append(problem)
    else:
        raise CotlitError(f"could only draw {len(problems)} distinct {split} problems of the {n} asked for")
    return problems


class _Story:
    """Collects a story's sentences, givens and steps while the numbers are drawn."""

    def __init__(self, rng: random.Random, theme: Theme) -> None:
        self.rng, self.theme = rng, theme
        self.item: Noun = rng.choice(theme.items)
        self.name, self.pron = rng.choice(NAMES)
        self.sentences: list[str] = []
        self.givens: list[Quantity] = []
        self.steps: list[Step] = []
        self.current: Quantity | None = None

    def say(self, sentence: str, connect: bool = False) -> None:
        text = (self.rng.choice(_CONNECTORS) if connect else "") + sentence
        self.sentences.append(text[0].upper() + text[1:])

    def given(self, value: int, name: str, role: str, ask: str) -> Quantity:
        quantity = Quantity(string.ascii_uppercase[len(self.givens)], value, name, role, ask)
        self.givens.append(quantity)
        return quantity

    def step(self, op: str, left: Quantity, right: Quantity, name: str, ask: str, reason: str) -> None:
        value = apply_op(op, left.value, right.value)
        assert value is not None and value > 0, (left, op, right)
        result = Quantity(f"x{len(self.steps) + 1}", value, name, "intermediate result", ask)
        self.steps.append(Step(op, left.symbol, right.symbol, result, reason))
        self.current = result


def _draw(rng: random.Random) -> ArithmeticProblem | None:
    """One random problem, or ``None`` when the drawn numbers do not fit (the caller draws again)."""
    theme = rng.choice(THEMES)
    story = _Story(rng, theme)
    n_ops = rng.randint(MIN_OPS, MAX_OPS)
    grouped = rng.random() < 0.4
    end = rng.choice(("none", "share", "pack", "sell") if theme.sells else ("none", "share", "pack"))
    kinds = [rng.choice(("gain", "loss")) for _ in range(n_ops - grouped - (end != "none"))]
    if kinds.count("gain") > len(theme.gains) or kinds.count("loss") > len(theme.losses):
        return None
    container = _start(story, grouped)
    gains = rng.sample(theme.gains, kinds.count("gain"))
    losses = rng.sample(theme.losses, kinds.count("loss"))
    for kind in kinds:
        if kind == "gain":
            _gain(story, gains.pop())
        elif not _loss(story, losses.pop()):
            return None
    goal = _end(story, end, container)
    if goal is None:
        return None
    values = [q.value for q in story.givens]
    if len(set(values)) != len(values):
        return None
    drawn = _distractor(story, set(values) | {s.result.value for s in story.steps})
    if drawn is None:
        return None
    sentence, distractor = drawn
    last = story.steps[-1]
    answer = replace(last.result, symbol="x", name=goal.name, role="answer", ask=goal.ask)
    return ArithmeticProblem(
        question=" ".join(_insert([*story.sentences, goal.question], sentence, rng, story.name, story.pron)),
        givens=tuple(story.givens),
        steps=(*story.steps[:-1], replace(last, result=answer)),
        distractor=distractor,
        conclusion=goal.conclusion.format(v=answer.value),
        theme=theme.name,
    )


def _start(story: _Story, grouped: bool) -> Noun | None:
    """The opening amount: a plain number, or equal groups multiplied out. Returns the groups' container."""
    rng, items, name = story.rng, story.item.plural, story.name
    verb = rng.choice(story.theme.start)
    if not grouped:
        value = rng.randint(12, 90)
        template = rng.choice(("{name} {verb} {n} {items}.", "At first, {name} {verb} {n} {items}."))
        story.say(template.format(name=name, verb=verb.past, n=value, items=items))
        story.current = story.given(
            value, f"number of {items} {name} {verb.past} at first", "starting amount",
            f"How many {items} did {name} {verb.base} at first?",
        )
        return None
    box = rng.choice(story.theme.containers)
    groups, size = rng.randint(2, 9), rng.randint(3, 12)
    template = rng.choice((
        "{name} {verb} {g} {boxes} of {items}, with {s} {items} in each {box}.",
        "{name} {verb} {g} {boxes} of {items}. Each {box} held {s} {items}.",
    ))
    fill = {"name": name, "verb": verb.past, "g": groups, "boxes": box.plural, "items": items, "s": size}
    story.say(template.format(box=box.singular, **fill))
    left = story.given(
        groups, f"number of {box.plural} of {items}", "number of groups",
        f"How many {box.plural} of {items} did {name} {verb.base}?",
    )
    right = story.given(size, f"number of {items} in each {box.singular}", "size of each group",
                        f"How many {items} were in each {box.singular}?")
    story.step(
        "×", left, right, f"number of {items} {name} {verb.past} in total",
        f"How many {items} did {name} {verb.base} in total?",
        f"there are {groups} {box.plural} with {size} {items} in each, so we multiply",
    )
    return box


def _gain(story: _Story, verb: Verb) -> None:
    rng, items, name = story.rng, story.item.plural, story.name
    n = rng.randint(3, 40)
    template = rng.choice(("{pron} {verb} {n} more {items}.", "{name} {verb} another {n} {items}."))
    story.say(template.format(pron=story.pron, name=name, verb=verb.past, n=n, items=items), connect=True)
    added = story.given(n, f"number of extra {items} {name} {verb.past}", "amount added",
                        f"How many extra {items} did {name} {verb.base}?")
    story.step(
        "+", story.current, added, f"number of {items} after {verb.ing} {n} more",
        f"How many {items} did {name} have after {verb.ing} {n} more?",
        f"{verb.ing} more {items} makes the amount bigger, so we add",
    )


def _loss(story: _Story, verb: Verb) -> bool:
    """Subtract a drawn amount; False when too little is left to take some away."""
    rng, items, name = story.rng, story.item.plural, story.name
    if story.current.value < 5:
        return False
    n = rng.randint(2, min(40, story.current.value - 2))
    template = rng.choice(("{pron} {verb} {n} {items}.", "{pron} {verb} {n} of the {items}."))
    story.say(template.format(pron=story.pron, verb=verb.past, n=n, items=items), connect=True)
    taken = story.given(n, f"number of {items} {name} {verb.past}", "amount taken away",
                        f"How many {items} did {name} {verb.base}?")
    story.step(
        "-", story.current, taken, f"number of {items} left after {verb.ing} {n}",
        f"How many {items} were left after {name} {verb.past} {n}?",
        f"{verb.ing} {items} makes the amount smaller, so we subtract",
    )
    return True


@dataclass(frozen=True)
class _Goal:
    """What the question asks for."""

    question: str
    name: str
    ask: str
    conclusion: str
    """With ``{v}`` for the answer: ``each friend got {v} apples``."""


def _end(story: _Story, end: str, container: Noun | None) -> _Goal | None:
    """Add the closing operation (if any) and say what is asked, or ``None`` if no number fits."""
    rng, item, items, name, pron = story.rng, story.item.singular, story.item.plural, story.name, story.pron
    total = story.current.value
    if end == "none":
        ask = f"How many {items} does {name} have {rng.choice(('now', 'in the end'))}?"
        return _Goal(ask, f"number of {items} {name} has now", ask, f"{name} has {{v}} {items} now")
    if end == "share":
        people = rng.choice(story.theme.sharers)
        options = [d for d in range(2, 10) if total % d == 0 and total // d >= 2]
        if not options:
            return None
        d = rng.choice(options)
        share = f"{pron} shared the {items} equally among {d} {people.plural}"
        ask = f"How many {items} did each {people.singular} get?"
        each = f"each {people.singular}"
        goal = _Goal(ask, f"number of {items} {each} got", ask, f"{each} got {{v}} {items}")
        if rng.random() < 0.5:
            story.say(share + ".", connect=True)
        else:
            goal = replace(goal, question=f"If {share}, {ask[0].lower()}{ask[1:]}")
        shares = story.given(d, f"number of {people.plural}", "number of equal shares",
                             f"Among how many {people.plural} were the {items} shared?")
        reason = f"sharing equally among {d} {people.plural} splits the total into {d} equal parts, so we divide"
        story.step("÷", story.current, shares, goal.name, goal.ask, reason)
        return goal
    if end == "pack":
        box = rng.choice([c for c in story.theme.containers if c != container])
        options = [g for g in range(2, 13) if total % g == 0 and total // g >= 2]
        if not options:
            return None
        g = rng.choice(options)
        story.say(f"{pron} put the {items} into {box.plural}, with {g} {items} in each {box.singular}.", connect=True)
        ask = f"How many {box.plural} did {pron} fill?"
        goal = _Goal(ask, f"number of {box.plural} {name} filled", ask, f"{name} filled {{v}} {box.plural}")
        size = story.given(g, f"number of {items} in each {box.singular}", "size of each group",
                           f"How many {items} went into each {box.singular}?")
        reason = f"each {box.singular} holds {g} {items}, so we divide the total by {g} to count the {box.plural}"
        story.step("÷", story.current, size, goal.name, goal.ask, reason)
        return goal
    p = rng.randint(2, 9)
    story.say(f"{pron} sold all the {items} for {p} dollars each.", connect=True)
    ask = rng.choice((f"How many dollars did {pron} earn?", f"How much money, in dollars, did {name} make?"))
    goal = _Goal(ask, f"number of dollars {name} earned", ask, f"{name} earned {{v}} dollars")
    price = story.given(
        p, f"price of one {item} in dollars", "price per item", f"How many dollars did one {item} sell for?"
    )
    reason = f"each {item} sold for {p} dollars, so we multiply the number of {items} by the price"
    story.step("×", story.current, price, goal.name, goal.ask, reason)
    return goal


def _distractor(story: _Story, used: set[int]) -> tuple[str, Quantity] | None:
    """A sentence with a number the solution does not use (never one of ``used``), and that number."""
    rng = story.rng
    template = rng.choice(story.theme.distractors + GENERIC_DISTRACTORS)
    value = rng.randint(template.low, template.high)
    if value in used:
        return None
    fill = {"name": story.name, "pron": story.pron, "items": story.item.plural, "d": value}
    sentence = template.sentence.format(**fill)
    name = template.name.format(**fill)
    symbol = string.ascii_uppercase[len(story.givens)]
    return sentence[0].upper() + sentence[1:], Quantity(symbol, value, name, "not needed", f"What is the {name}?")


def _insert(sentences: list[str], sentence: str, rng: random.Random, name: str, pron: str) -> list[str]:
    """Put ``sentence`` after the first one; the sentence after it names the owner instead of a pronoun."""
    at = rng.randint(1, len(sentences) - 1)
    after = re.sub(rf"\b{pron}\b", name, sentences[at], count=1, flags=re.IGNORECASE)
    return [*sentences[:at], sentence, after, *sentences[at + 1 :]]
