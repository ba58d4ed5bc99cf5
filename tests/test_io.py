"""cotlit.io: record-level errors (file, line/record, field) and atomic writes."""

from __future__ import annotations

import json
import os
import threading

import pytest

from cotlit.errors import CotlitError
from cotlit.io import field, json_lines, read_json, read_records, write_json, write_text


def test_read_records_reads_arrays_json_lines_and_one_object_a_line_json(tmp_path):
    rows = [{"a": 1}, {"a": 2}]
    (tmp_path / "array.json").write_text(json.dumps(rows))
    (tmp_path / "lines.jsonl").write_text('{"a": 1}\n\n{"a": 2}\n')
    (tmp_path / "lines.json").write_text('{"a": 1}\n{"a": 2}\n')
    for name in ("array.json", "lines.jsonl", "lines.json"):
        assert read_records(tmp_path / name) == rows


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"a": 1}\n\n{"a": 2,}\n', r"bad.jsonl: line 3: malformed JSON at column 9"),
        ("bad.json", '[{"a": 1},\n {"a": }]', r"bad.json: line 2: malformed JSON at column 8"),
        ("obj.json", '{"a": 1}', r"obj.json: expected a JSON array of records \(or JSON Lines\), got an object"),
        ("empty.json", "  \n", r"empty.json: file is empty"),
        ("none.json", "[]", r"none.json: contains no records"),
    ],
)
def test_read_records_errors_name_file_and_line(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(CotlitError, match=message):
        read_records(tmp_path / name)


def test_read_errors_for_missing_folders_and_non_utf8(tmp_path):
    with pytest.raises(CotlitError, match="gone.json: file not found"):
        read_json(tmp_path / "gone.json")
    with pytest.raises(CotlitError, match=": not a file"):
        read_json(tmp_path)
    (tmp_path / "latin.json").write_bytes(b'["caf\xe9"]')
    with pytest.raises(CotlitError, match=r"latin.json: not UTF-8 text \(invalid byte at offset 5\)"):
        read_json(tmp_path / "latin.json")


def test_read_json_checks_the_top_level_type(tmp_path):
    (tmp_path / "a.json").write_text("[1]")
    assert read_json(tmp_path / "a.json", list) == [1]
    with pytest.raises(CotlitError, match="a.json: expected an object, got an array"):
        read_json(tmp_path / "a.json", dict)


def test_json_lines_numbers_lines_from_one_and_skips_blanks():
    assert list(json_lines('1\n\n  \n"x"\n')) == [(1, 1), (4, "x")]


@pytest.mark.parametrize(
    ("record", "types", "message"),
    [
        ({"q": None}, str, "d.json: record 7: field 'q': expected a string, got null"),
        ({"q": True}, (int, float), "d.json: record 7: field 'q': expected int or float, got a boolean"),
        ({"q": " "}, str, "d.json: record 7: field 'q': empty text"),
        ({"x": 1, "y": 2}, str, "d.json: record 7: field 'q': missing field (the record has 'x', 'y')"),
        (["q"], str, "d.json: record 7: expected a JSON object, got an array"),
    ],
)
def test_field_errors_name_file_record_and_field(record, types, message):
    with pytest.raises(CotlitError) as error:
        field(record, 7, "q", types, path="d.json")
    assert str(error.value) == message


def test_field_returns_checked_values_and_names_lines():
    assert field({"q": 3}, 0, "q", (int, str)) == 3
    assert field({"ok": False}, 0, "ok", bool) is False
    assert field({"q": ""}, 0, "q", empty_ok=True) == ""
    with pytest.raises(CotlitError, match="p.jsonl: line 4: field 'id'"):
        field({"id": 1}, None, "id", path="p.jsonl", line=4)


def test_write_json_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = write_json(tmp_path / "deep" / "out.json", {"é": 1, "p": tmp_path}, default=str)
    assert json.loads(path.read_text(encoding="utf-8")) == {"é": 1, "p": str(tmp_path)}
    assert "é" in path.read_text(encoding="utf-8")
    assert os.listdir(path.parent) == ["out.json"]


def test_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path):
    path = write_text(tmp_path / "out.json", "old\n")
    with pytest.raises(TypeError):
        write_json(path, {"x": object()})
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["out.json"]


def test_concurrent_writers_never_leave_a_torn_file(tmp_path):
    path = tmp_path / "status.json"
    bodies = [{"writer": n, "pad": "x" * 5000} for n in range(4)]
    threads = [threading.Thread(target=lambda b=b: [write_json(path, b) for _ in range(25)]) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert json.loads(path.read_text()) in bodies
    assert os.listdir(tmp_path) == ["status.json"]


def test_written_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_text(tmp_path / "metrics.json", "{}\n")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644  # readable by others, as a plain open() would make it


def test_pathologically_nested_json_names_the_file_and_line(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": 1}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(CotlitError, match=r"deep\.jsonl.*2.*nested too deeply"):
        read_records(path)
