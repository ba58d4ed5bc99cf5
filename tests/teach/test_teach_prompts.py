"""The prompt library: one-shot level prompts per task family, rewrite prompts, answer normalisation."""

from __future__ import annotations

import random

import pytest

from cotlit.core import LEVELS
from cotlit.tasks.base import get_task
from cotlit.teach.limits import RateLimiter, backoff_delay, parse_retry_after, retry_after
from cotlit.teach.normalize import Normalised, check, normalise
from cotlit.teach.prompts import EXEMPLARS, FAMILIES, level_messages, prompt_hash, rewrite_messages, task_family

FAMILY_TASK = {"math": "svamp", "choice": "csqa", "boolean": "strategyqa"}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_exemplar_ends_with_its_answer_and_grows_with_the_level(family):
    task = get_task(FAMILY_TASK[family])
    assert task_family(task.answer_kind) == family
    example = EXEMPLARS[family]
    words = []
    for level in LEVELS:
        text = example.solutions[level]
        assert text.endswith(f"The answer is {example.answer}")
        assert task.score(text, example.answer).correct
        words.append(len(text.split()))
    assert words == sorted(words) and words[0] < words[-1] / 3


def test_level_prompt_is_a_one_shot_exchange_showing_gold_only_when_revealed():
    shown = level_messages("How many?", 6, "math", "7", reveal_answer=True)
    hidden = level_messages("How many?", 6, "math", "7", reveal_answer=False)
    assert [m["role"] for m in shown] == ["system", "user", "assistant", "user"]
    assert "Level 6" in shown[0]["content"] and shown[2]["content"] == EXEMPLARS["math"].solutions[6]
    assert shown[1]["content"].endswith("Correct answer: 145")
    assert shown[3]["content"] == "Question: How many?\nCorrect answer: 7"
    assert all("Correct answer" not in m["content"] for m in hidden)


def test_rewrite_prompt_carries_the_plain_cot_and_hashes_differ():
    messages = rewrite_messages("How many?", "3 + 4 = 7. The answer is 7", "sym")
    assert messages[-1]["content"] == "Question: How many?\nSolution: 3 + 4 = 7. The answer is 7"
    assert "symbolic" in messages[0]["content"] and "Let B = 290" in messages[2]["content"]
    hashes = {prompt_hash(rewrite_messages("How many?", "x", fmt)) for fmt in ("bsm", "rar", "sym")}
    hashes.add(prompt_hash(level_messages("How many?", 3, "math", "7", True)))
    assert len(hashes) == 4


def test_normalise_ends_with_the_answer_and_reports_failures():
    svamp = get_task("svamp")
    assert normalise("So 290 / 2 = 145. The answer is 145.0 bananas.\n\nQ: next", svamp) == Normalised(
        "So 290 / 2 = 145.", "145"
    )
    assert normalise("The answer is 3 + 4 = 7. Hope this helps!", svamp).target == "The answer is 7"
    assert normalise("So 5. The answer is 5. The answer is 5.", svamp).target == "So 5. The answer is 5"
    assert normalise("It is 7.", svamp) == "no-trigger"
    assert normalise("The answer is unknown.", svamp) == "no-answer"
    assert normalise("  ", svamp) == "empty"
    assert check("So 7. The answer is 7", "length", svamp) == "cut-off"
    assert check("So 7. The answer is 7", "stop", svamp) is None
    csqa = get_task("csqa")
    assert normalise("A blotter absorbs ink. The answer is (E) blotter", csqa).target == (
        "A blotter absorbs ink. The answer is E"
    )


def test_backoff_honours_retry_after_and_grows_with_jitter():
    rng = random.Random(0)
    assert backoff_delay(0, 1.0, 60.0, retry_after_s=7.0) == 7.0
    assert backoff_delay(0, 1.0, 5.0, retry_after_s=70.0) == 5.0
    delays = [backoff_delay(k, 1.0, 10.0, rng=rng) for k in range(6)]
    assert all(0.5 * min(10, 2**k) <= d <= min(10, 2**k) for k, d in enumerate(delays))
    assert parse_retry_after("3") == 3.0 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25  # OpenAI's header first
    assert retry_after({"retry-after": "9"}) == 9.0 and retry_after({}) is None


def test_rate_limiter_spaces_requests():
    now, slept = [0.0], []
    limiter = RateLimiter(120, clock=lambda: now[0], sleep=slept.append)  # one request per 0.5 s
    for _ in range(3):
        limiter.acquire()
    assert slept == [0.5, 1.0]
    RateLimiter(None, sleep=slept.append).acquire()
    assert slept == [0.5, 1.0]
