"""The teach cache survives torn writes, refuses corrupt files and keys requests by what they send."""

from __future__ import annotations

import pytest

from cotlit.errors import CotlitError
from cotlit.teach.cache import TeachCache, cache_key


def test_torn_last_line_is_dropped_and_appending_continues_cleanly(tmp_path):
    path = tmp_path / "c.jsonl"
    with TeachCache(path) as cache:
        cache.put({"key": "a", "status": "ok"})
    with path.open("a") as handle:
        handle.write('{"key": "b", "sta')  # a write cut short by kill -9
    with TeachCache(path) as cache:
        assert cache.torn_lines == 1 and "a" in cache and "b" not in cache
        cache.put({"key": "b", "status": "ok"})
    with TeachCache(path) as cache:
        assert cache.torn_lines == 0 and set(cache.records) == {"a", "b"}
    assert path.read_text().count("\n") == 2


def test_a_later_record_replaces_an_earlier_one(tmp_path):
    path = tmp_path / "c.jsonl"
    with TeachCache(path) as cache:
        cache.put({"key": "a", "status": "failed"})
        cache.put({"key": "a", "status": "ok"})
    assert TeachCache(path).get("a")["status"] == "ok"


def test_a_broken_line_inside_the_file_names_file_and_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(CotlitError, match=r"c\.jsonl: line 2"):
        TeachCache(path)


def test_key_depends_on_backend_model_prompt_and_sampling():
    base = cache_key("openai", "gpt-4o", "abc", {"temperature": 0.0})
    assert base == cache_key("openai", "gpt-4o", "abc", {"temperature": 0.0})
    assert len({base, cache_key("vllm", "gpt-4o", "abc", {"temperature": 0.0}),
                cache_key("openai", "gpt-4o-mini", "abc", {"temperature": 0.0}),
                cache_key("openai", "gpt-4o", "abd", {"temperature": 0.0}),
                cache_key("openai", "gpt-4o", "abc", {"temperature": 0.7})}) == 5
