"""The openai backend against a scripted chat-completions server on 127.0.0.1, through the real client."""

from __future__ import annotations

import io
import json
import time

import pytest
from conftest import FAKE_KEY, make_config, provenance, rows

from cotlit.errors import CotlitError
from cotlit.teach.backends.base import BackendConfig, Request, Sampling, make_backend
from cotlit.teach.runner import run_teach


def test_scripted_failures_are_retried_and_counted(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {
        "q0:": ["429", "500"],  # two transport retries, then ok
        "q1:": ["hang"],  # a timeout, then ok
        "q2:": ["truncated", "notrigger"],  # a transport retry, then a content retry
        "q3:": ["notrigger", "notrigger", "notrigger"],  # out of content attempts: failed
        "q4:": ["length", "empty"],  # cut off, empty, then ok
    }
    log = io.StringIO()
    summary = run_teach(make_config(tmp_path, fake_openai.url, n=6), log=log)

    assert fake_openai.authorization == {f"Bearer {FAKE_KEY}"}
    assert [fake_openai.by_question[q] for q in sorted(fake_openai.by_question)] == [3, 2, 3, 3, 3, 1]
    out = rows(tmp_path)
    assert [r["instruction"][:3] for r in out] == ["q0:", "q1:", "q2:", "q4:", "q5:"]
    assert all(r["output"].startswith("We work it out") for r in out)
    assert out[0]["output"].endswith("The answer is 1")
    lines = provenance(tmp_path)
    assert [p["status"] for p in lines] == ["ok", "ok", "ok", "failed", "ok", "ok"]
    assert lines[3]["reason"] == "no-trigger" and lines[3]["attempts"] == 3
    assert [p["attempts"] for p in lines] == [3, 2, 3, 3, 3, 1]
    assert all(p["correct"] for p in lines if p["status"] == "ok")

    t = summary.tally
    assert (t.sent, t.cached, t.requests, t.transport_retries, t.content_retries) == (6, 0, 15, 4, 5)
    answered = 15 - 4  # the 429, 500, timeout and malformed responses reported no usage
    assert (t.prompt_tokens, t.completion_tokens) == (10 * answered, 5 * answered)
    assert summary.cost_usd == pytest.approx((10 * answered * 1.0 + 5 * answered * 2.0) / 1e6)
    assert summary.files[0].rows == 5 and dict(summary.files[0].failed) == {"no-trigger": 1}
    text = log.getvalue()
    assert "svamp_tester_level1: 5 rows, failed no-trigger: 1" in text and "estimated cost $0.000220" in text

    info = json.loads((tmp_path / "out" / "dataset_info.json").read_text())
    assert info["svamp_tester_level1"] == {
        "file_name": "svamp_tester_level1.json", "columns": {"prompt": "instruction", "response": "output"}
    }
    profile = json.loads((tmp_path / "out" / "svamp_tester_level1.profile.json").read_text())
    assert profile["n"] == 5 and profile["agreement"]["rate"] == 1.0


def test_rerun_sends_nothing_and_retry_failed_resends_only_failures(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q1:": ["500", "500", "500", "500"]}  # 1 + 3 retries: transport failure recorded
    config = make_config(tmp_path, fake_openai.url, n=3)
    first = run_teach(config, log=io.StringIO())
    assert dict(first.files[0].failed) == {"HTTP 500 after 4 attempts": 1}
    again = run_teach(config, log=io.StringIO())
    assert (again.tally.sent, again.tally.cached, again.tally.requests) == (0, 3, 0)
    config.retry_failed = True
    third = run_teach(config, log=io.StringIO())
    assert (third.tally.sent, third.tally.cached) == (1, 2)
    assert third.files[0].rows == 3
    assert [fake_openai.by_question[q] for q in sorted(fake_openai.by_question)] == [1, 4 + 1, 1]
    cache_lines = (tmp_path / "out" / "svamp_tester.cache.jsonl").read_text().splitlines()
    assert len(cache_lines) == 4  # the retried failure appended once; the later record wins


def test_formats_rewrite_the_plain_cot_of_the_same_level(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q1:": ["notrigger"] * 3}
    config = make_config(tmp_path, fake_openai.url, n=3, levels=[1, 2], formats=["plain", "bsm"])
    summary = run_teach(config, log=io.StringIO())
    by_name = {f.name: f for f in summary.files}
    assert set(by_name) == {f"svamp_tester_level{k}{suffix}" for k in (1, 2) for suffix in ("", "_bsm")}
    assert by_name["svamp_tester_level1_bsm"].rows == 2
    assert dict(by_name["svamp_tester_level1_bsm"].failed) == {"plain CoT failed (no-trigger)": 1}
    # the rewrite prompt carries the plain CoT, whose answer the server echoes
    bsm = rows(tmp_path, "svamp_tester_level2_bsm")
    assert bsm[0]["output"].endswith("The answer is 1")
    prompts = provenance(tmp_path, "svamp_tester_level2_bsm")
    assert prompts[0]["prompt_hash"] != provenance(tmp_path, "svamp_tester_level2")[0]["prompt_hash"]


def test_filter_correct_drops_wrong_answers_and_counts_them(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q2:": ["wrong"]}
    for name, expected_rows in (("none", 3), ("correct", 2)):  # the second run filters the cached CoTs
        summary = run_teach(make_config(tmp_path, fake_openai.url, n=3, filter=name), log=io.StringIO())
        stats = summary.files[0]
        assert (stats.rows, stats.scored, stats.correct, stats.filtered) == (expected_rows, 3, 2, 3 - expected_rows)
        assert [p["correct"] for p in provenance(tmp_path)] == [True, True, False]
    assert provenance(tmp_path)[2]["status"] == "filtered" and summary.tally.cached == 3
    assert sum(fake_openai.by_question.values()) == 3


def test_a_rejected_key_names_the_variable_not_the_key(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q0:": ["401"]}
    with pytest.raises(CotlitError, match="HTTP 401") as err:
        run_teach(make_config(tmp_path, fake_openai.url, n=1), log=io.StringIO())
    assert FAKE_KEY not in str(err.value) and "COTLIT_TEST_KEY" in str(err.value)


def test_a_busy_consumer_holds_back_new_requests(fake_openai, monkeypatch):
    """While the runner is still saving results, the workers wait: at most ``concurrency`` requests are ever sent
    and not yet taken, so a kill costs at most that many paid requests."""
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.delay_s = 0.01
    config = BackendConfig(name="openai", model="m", base_url=fake_openai.url, api_key_env="COTLIT_TEST_KEY",
                           concurrency=3, timeout_s=5, max_retries=1, backoff_s=0.01)
    backend = make_backend(config, Sampling(max_tokens=16))
    requests = [Request(key=str(i), prompt_hash=str(i), level=1, format="plain",
                        messages=({"role": "user", "content": f"Question: q{i}: Tom has {i} apples.\nCorrect answer: {i + 1}"},))
                for i in range(12)]
    results = backend.generate(requests)
    taken = [next(results) for _ in range(4)]
    time.sleep(0.3)  # ample time for three workers to send all twelve at 10 ms each
    assert sum(fake_openai.requests.values()) <= len(taken) + config.concurrency
    taken += list(results)
    assert sorted(int(request.key) for request, _ in taken) == list(range(12))
    assert all(completion.error is None for _, completion in taken)
    assert sum(fake_openai.requests.values()) == 12
