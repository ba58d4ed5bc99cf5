"""``cotlit data`` against a loopback HTTP server: registry and entries, checksums, resume with Range, refusals,
and SVAMP's test split cut from SVAMP.json."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cotlit.cli import main
from cotlit.data import download
from cotlit.data.download import RemoteFile, derive_svamp_test, fetch

ROWS = [{"instruction": f"Tom has {n} apples and eats 1. How many are left?", "output": f"The answer is {n - 1}"}
        for n in range(2, 40)]
SVAMP = [{"ID": f"chal-{n}", "Body": f"Tom has {n} apples and eats 1.", "Question": "How many are left?",
          "Equation": f"( {n}.0 - 1.0 )", "Answer": n - 1.0, "Type": "Subtraction"} for n in range(2, 45)]
"""The first 38 problems are the training questions of ROWS; the last 5 are the test split."""
REGISTRY = {
    "SVAMP_ChatGPT_level1": {"file_name": "SVAMP_ChatGPT_level1_ranked.json"},
    "SVAMP_only_ans": {"file_name": "SVAMP_only_ans.json"},
    "GSM8k_human": {"file_name": "gsm8k_human.json"},
    "evil": {"file_name": "../../escaped.json"},
}


class Server(http.server.SimpleHTTPRequestHandler):
    """Static files of a folder, with single ``bytes=N-`` ranges, counting requests and the ranges asked for."""

    requests: list[str] = []
    ranges: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if header is None or not path.is_file():
            return super().do_GET()
        type(self).ranges.append(header)
        data = path.read_bytes()
        start = int(header.removeprefix("bytes=").rstrip("-"))
        if start >= len(data):
            self.send_error(416)
            return
        self.send_response(206)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback server over a fake copy of the paper's repository; yields its base URL and root folder."""
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    (root / "data" / "dataset_info.json").write_text(json.dumps(REGISTRY))
    for name in ("SVAMP_ChatGPT_level1_ranked.json", "SVAMP_only_ans.json", "gsm8k_human.json"):
        (root / "data" / name).write_text(json.dumps(ROWS, indent=1))
    (root / "SVAMP").mkdir()
    (root / "SVAMP" / "SVAMP.json").write_text(json.dumps(SVAMP, indent=4))
    (root / "Evaluation" / "reasoning_eval").mkdir(parents=True)
    test_set = root / "Evaluation" / "reasoning_eval" / "strategyQA_test.json"
    test_set.write_text('[{"instruction": "q", "label": "True"}]')
    Server.requests, Server.ranges = [], []
    handler = lambda *a, **k: Server(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def no_known_checksums(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake repository's files are not the paper's: start with no shipped checksums."""
    monkeypatch.setattr(download, "KNOWN_SHA256", {})


def test_downloads_the_registry_and_the_entries_of_a_task(repo, tmp_path: Path, capsys) -> None:
    base, root = repo
    dest = tmp_path / "train"
    assert main(["data", "--task", "svamp", "--dest", str(dest), "--base_url", base, "--timeout", "5"]) == 0
    assert sorted(p.name for p in dest.iterdir()) == [".cotlit-sha256.json", "SVAMP_ChatGPT_level1_ranked.json",
                                                      "SVAMP_only_ans.json", "dataset_info.json"]
    assert (dest / "SVAMP_only_ans.json").read_bytes() == (root / "data" / "SVAMP_only_ans.json").read_bytes()
    recorded = json.loads((dest / ".cotlit-sha256.json").read_text())
    assert recorded["SVAMP_only_ans.json"] == hashlib.sha256((dest / "SVAMP_only_ans.json").read_bytes()).hexdigest()
    assert "3 files (3 downloaded, 0 resumed, 0 present, 0 derived)" in capsys.readouterr().out
    assert main(["data", "--entry", "SVAMP_only_ans", "--dest", str(dest), "--base_url", base]) == 0
    assert "2 files (0 downloaded, 0 resumed, 2 present, 0 derived)" in capsys.readouterr().out


def test_an_interrupted_download_resumes_with_a_range_request(repo, tmp_path: Path) -> None:
    base, root = repo
    full = (root / "data" / "gsm8k_human.json").read_bytes()
    dest = tmp_path / "train" / "gsm8k_human.json"
    dest.parent.mkdir()
    (dest.parent / "gsm8k_human.json.part").write_bytes(full[:100])
    done = fetch(RemoteFile("data/gsm8k_human.json", dest), base, timeout=5)
    assert (done.status, dest.read_bytes()) == ("resumed", full)
    assert Server.ranges == ["bytes=100-"] and not (dest.parent / "gsm8k_human.json.part").exists()


def test_a_wrong_checksum_is_refused_and_a_damaged_copy_fetched_again(repo, tmp_path: Path, monkeypatch) -> None:
    base, root = repo
    dest = tmp_path / "SVAMP_only_ans.json"
    monkeypatch.setattr(download, "KNOWN_SHA256", {"data/SVAMP_only_ans.json": "0" * 64})
    with pytest.raises(download.CotlitError, match="does not match the expected 0000"):
        fetch(RemoteFile("data/SVAMP_only_ans.json", dest), base, timeout=5)
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()
    monkeypatch.setattr(download, "KNOWN_SHA256", {})
    fetch(RemoteFile("data/SVAMP_only_ans.json", dest), base, timeout=5)
    dest.write_text("damaged")
    assert fetch(RemoteFile("data/SVAMP_only_ans.json", dest), base, timeout=5).status == "downloaded"
    assert dest.read_bytes() == (root / "data" / "SVAMP_only_ans.json").read_bytes()


def test_refusals_are_one_clear_line(repo, tmp_path: Path, capsys) -> None:
    base, _ = repo
    dest = tmp_path / "train"
    assert main(["data", "--entry", "evil", "--dest", str(dest), "--base_url", base]) == 2
    err = capsys.readouterr().err
    assert "entry 'evil' names a file outside" in err and err.count("\n") == 1
    assert not (tmp_path.parent / "escaped.json").exists()
    assert main(["data", "--entry", "SVAMP_ChatGPT_level9", "--dest", str(dest), "--base_url", base]) == 2
    assert "unknown dataset entry 'SVAMP_ChatGPT_level9'" in capsys.readouterr().err
    assert main(["data", "--entry", "x", "--dest", str(tmp_path / "new"), "--base_url", base + "missing/"]) == 2
    assert "HTTP 404" in capsys.readouterr().err
    assert main(["data", "--dest", str(dest)]) == 2


def test_test_sets_of_the_chosen_tasks(repo, tmp_path: Path) -> None:
    base, _ = repo
    dest, eval_dest = tmp_path / "train", tmp_path / "eval"
    assert main(["data", "--task", "strategyqa", "--eval", "--dest", str(dest), "--eval_dest", str(eval_dest),
                 "--base_url", base]) == 0
    assert json.loads((eval_dest / "strategyQA_test.json").read_text()) == [{"instruction": "q", "label": "True"}]


@pytest.fixture
def svamp_from(repo, monkeypatch: pytest.MonkeyPatch) -> str:
    """SVAMP.json served by the loopback server; the expected split is the fake one's last 5 problems."""
    base, _ = repo
    monkeypatch.setitem(download.TEST_SETS, "svamp", (base + "SVAMP/SVAMP.json", "svamp/SVAMP.json"))
    monkeypatch.setattr(download, "SVAMP_TEST_SHA256", sha256(json.dumps(SVAMP[-5:], indent=4).encode()))
    return base


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_svamp_test_split_is_cut_from_svamp_json(svamp_from: str, tmp_path: Path, capsys) -> None:
    dest, eval_dest = tmp_path / "train", tmp_path / "eval"
    argv = ["data", "--task", "svamp", "--eval", "--dest", str(dest), "--eval_dest", str(eval_dest),
            "--base_url", svamp_from]
    assert main(argv) == 0
    split = eval_dest / "svamp" / "SVAMP_test_300.json"
    assert split.read_text() == json.dumps(SVAMP[-5:], indent=4)
    assert json.loads((eval_dest / "svamp" / ".cotlit-sha256.json").read_text())["SVAMP_test_300.json"] == \
        sha256(split.read_bytes())
    out = capsys.readouterr().out
    assert any(line.startswith("derived ") and line.endswith(str(split)) for line in out.splitlines())
    assert "5 files (4 downloaded, 0 resumed, 0 present, 1 derived)" in out
    assert main(argv) == 0
    assert "5 files (0 downloaded, 0 resumed, 5 present, 0 derived)" in capsys.readouterr().out


def test_a_split_that_is_not_the_papers_is_refused(svamp_from: str, tmp_path: Path, monkeypatch, capsys) -> None:
    dest, eval_dest = tmp_path / "train", tmp_path / "eval"
    split = eval_dest / "svamp" / "SVAMP_test_300.json"
    monkeypatch.setattr(download, "SVAMP_TEST_SHA256", "0" * 64)
    assert main(["data", "--task", "svamp", "--eval", "--dest", str(dest), "--eval_dest", str(eval_dest),
                 "--base_url", svamp_from]) == 2
    err = capsys.readouterr().err
    assert "has 5 records and SHA-256" in err and "not the expected 300 records" in err and err.count("\n") == 1
    assert not split.exists()
    (dest / "SVAMP_only_ans.json").write_text(json.dumps([*ROWS, {"output": "5"}]))
    with pytest.raises(download.CotlitError, match=r"SVAMP_only_ans.json: record 38: field 'instruction': missing field"):
        derive_svamp_test(eval_dest, dest)


def test_the_derivation_reproduces_the_shared_split(shared_data: Path, tmp_path: Path) -> None:
    svamp = shared_data / "eval" / "svamp"
    assert sha256((svamp / "SVAMP.json").read_bytes()) == download.SVAMP_SHA256
    (tmp_path / "svamp").mkdir()
    (tmp_path / "svamp" / "SVAMP.json").write_bytes((svamp / "SVAMP.json").read_bytes())
    derived = derive_svamp_test(tmp_path, shared_data / "train")
    assert derived.status == "derived"
    assert derived.dest.read_bytes() == (svamp / "SVAMP_test_300.json").read_bytes()
