"""Reasoning models as teachers: ``max_completion_tokens``, no temperature, ``reasoning_content`` kept and usable,
and a refused setting that stops the run at its first request."""

from __future__ import annotations

import io
import json

import pytest
from conftest import FAKE_KEY, make_config, provenance, rows

from cotlit.errors import CotlitError
from cotlit.teach.backends.base import Sampling
from cotlit.teach.runner import run_teach

NO_SAMPLING = Sampling(temperature=None, top_p=None, max_tokens=64)


def test_an_o_series_model_gets_max_completion_tokens_and_no_temperature(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.reject_params = {"max_tokens", "temperature", "top_p"}  # like OpenAI's o-series
    config = make_config(tmp_path, fake_openai.url, n=2, backend={"model": "o3-mini"}, sampling=NO_SAMPLING)
    assert run_teach(config, log=io.StringIO()).files[0].rows == 2
    assert {json.dumps(sorted(body)) for body in fake_openai.bodies} == {
        json.dumps(["max_completion_tokens", "messages", "model"])
    }
    assert {body["max_completion_tokens"] for body in fake_openai.bodies} == {64}


@pytest.mark.parametrize(
    ("refused", "backend", "words"),
    [
        ({"max_tokens"}, {"model": "gpt-4o"}, "Unsupported parameter: 'max_tokens'"),
        ({"max_completion_tokens"}, {"token_param": "max_completion_tokens"}, "'max_completion_tokens'"),
        ({"temperature"}, {}, "'temperature'"),
    ],
)
def test_a_refused_setting_stops_the_run_at_the_first_request(tmp_path, fake_openai, monkeypatch, refused, backend,
                                                              words):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.reject_params = refused
    with pytest.raises(CotlitError, match="HTTP 400") as err:
        run_teach(make_config(tmp_path, fake_openai.url, n=6, backend=backend), log=io.StringIO())
    assert words in str(err.value) and "backend.token_param" in str(err.value)
    assert fake_openai.calls["POST /chat/completions"] == 1


def test_an_unsupported_value_stops_the_run_too(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q0:": ["unsupported"]}
    with pytest.raises(CotlitError, match="Unsupported value: 'temperature' does not support 0.0"):
        run_teach(make_config(tmp_path, fake_openai.url, n=3), log=io.StringIO())
    assert fake_openai.calls["POST /chat/completions"] == 1


def test_reasoning_content_is_kept_and_can_be_the_rationale(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.reasoning = "Hmm, {question} One more makes {answer}."
    config = make_config(tmp_path, fake_openai.url, n=2)
    run_teach(config, log=io.StringIO())
    assert rows(tmp_path)[0]["output"].startswith("We work it out for: q0:")
    kept = provenance(tmp_path)[1]["reasoning"]
    assert kept == "Hmm, q1: Tom has 1 apples and gets 1 more. How many now? One more makes 2."
    cache = [json.loads(line) for line in (tmp_path / "out" / "svamp_tester.cache.jsonl").read_text().splitlines()]
    assert {record["reasoning"] for record in cache} == {provenance(tmp_path)[i]["reasoning"] for i in (0, 1)}

    config.rationale = "reasoning"  # served from the cache: the choice is made when the files are written
    summary = run_teach(config, log=io.StringIO())
    assert summary.tally.requests == 0
    assert rows(tmp_path)[1]["output"] == f"{kept} The answer is 2"


def test_reasoning_as_rationale_without_reasoning_is_a_retried_failure(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    config = make_config(tmp_path, fake_openai.url, n=1, rationale="reasoning", max_attempts=2)
    summary = run_teach(config, log=io.StringIO())
    assert dict(summary.files[0].failed) == {"no-reasoning": 1} and summary.tally.content_retries == 1
