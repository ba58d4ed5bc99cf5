"""Every fault an OpenAI-compatible server can throw at ``cotlit teach``: retried when it may pass, counted as a
failed item when it does not, never a crash; the run always finishes and ``retry_failed`` recovers the items."""

from __future__ import annotations

import io

import pytest
from conftest import FAKE_KEY, make_config, provenance, rows

from cotlit.errors import CotlitError
from cotlit.teach.runner import run_teach

BAD_REPLIES = ["truncated", "html", "nochoices", "nullchoices", "nomessage", "wrongtypes", "array"]


def test_a_prompt_answered_badly_forever_fails_alone_and_the_run_finishes(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {f"q{i}:": [shape] * 10 for i, shape in enumerate(BAD_REPLIES)}
    n = len(BAD_REPLIES) + 1
    config = make_config(tmp_path, fake_openai.url, n=n, backend={"max_retries": 1})
    summary = run_teach(config, log=io.StringIO())

    lines = provenance(tmp_path)
    assert [p["status"] for p in lines] == ["failed"] * (n - 1) + ["ok"]
    assert all(p["reason"].startswith("malformed reply (") and p["attempts"] == 2 for p in lines[:-1])
    assert "not JSON" in lines[0]["reason"] and "no choices" in lines[2]["reason"]
    assert summary.files[0].rows == 1 and sum(summary.files[0].failed.values()) == n - 1
    assert summary.tally.transport_retries == n - 1

    fake_openai.script = {}
    config.retry_failed = True
    again = run_teach(config, log=io.StringIO())
    assert (again.tally.sent, again.tally.cached, again.files[0].rows) == (n - 1, 1, n)


def test_a_null_content_and_a_usage_that_is_not_numbers_are_read_not_crashed_on(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q0:": ["nullcontent"] * 3, "q1:": ["badusage"]}
    summary = run_teach(make_config(tmp_path, fake_openai.url, n=2), log=io.StringIO())
    lines = provenance(tmp_path)
    assert (lines[0]["status"], lines[0]["reason"], lines[0]["attempts"]) == ("failed", "empty", 3)
    assert lines[1]["status"] == "ok" and lines[1]["prompt_tokens"] == 0  # usable text; unreadable usage is 0
    assert summary.tally.content_retries == 2


@pytest.mark.parametrize("fault", ["408", "409", "425", "429", "500", "502", "503", "reset", "drop", "hang"])
def test_transient_faults_are_retried(tmp_path, fake_openai, monkeypatch, fault):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q0:": [fault, fault]}
    summary = run_teach(make_config(tmp_path, fake_openai.url, n=1), log=io.StringIO())
    assert rows(tmp_path)[0]["output"].endswith("The answer is 1")
    assert (summary.tally.requests, summary.tally.transport_retries) == (3, 2)


@pytest.mark.parametrize("status", ["400", "422", "413"])
def test_other_client_errors_fail_the_item_at_once_with_the_servers_words(tmp_path, fake_openai, monkeypatch, status):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q0:": [status]}
    summary = run_teach(make_config(tmp_path, fake_openai.url, n=2), log=io.StringIO())
    line = provenance(tmp_path)[0]
    assert line["status"] == "failed" and line["attempts"] == 1
    assert line["reason"] == f"HTTP {status}: fake {status} for key ***"  # the echoed key is redacted
    assert summary.files[0].rows == 1 and fake_openai.by_question.total() == 2


def test_retries_run_out_and_the_item_is_counted_as_failed(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q1:": ["reset"] * 4}
    summary = run_teach(make_config(tmp_path, fake_openai.url, n=2), log=io.StringIO())
    assert dict(summary.files[0].failed) == {"connection error after 4 attempts": 1}
    assert summary.files[0].rows == 1


def test_retry_after_is_honoured(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q0:": ["429@0.4", "503@0.2"]}
    config = make_config(tmp_path, fake_openai.url, n=1, backend={"backoff_s": 0.001, "backoff_max_s": 5.0})
    run_teach(config, log=io.StringIO())
    first, second, third = next(iter(fake_openai.arrivals.values()))
    assert second - first >= 0.38 and third - second >= 0.18


def test_a_missing_key_is_reported_before_anything_is_written(tmp_path, fake_openai, monkeypatch):
    monkeypatch.delenv("COTLIT_TEST_KEY", raising=False)
    config = make_config(tmp_path, fake_openai.url)
    with pytest.raises(CotlitError, match="COTLIT_TEST_KEY"):
        run_teach(config, log=io.StringIO())
    assert not (tmp_path / "out").exists() and fake_openai.calls.total() == 0
