"""Download the paper's released data (its LLaMA-Factory registry and the files of chosen entries) and test sets.

Files come from raw file URLs of the paper's GitHub repository, pinned to the commit cotlit was checked against
(``base_url`` is configurable: a mirror, a fork, a local server). Each file is written to ``<name>.part`` and
renamed when complete; an interrupted download continues from the ``.part`` file with an HTTP ``Range`` request.
A file is checked against the SHA-256 that cotlit ships for it (:data:`KNOWN_SHA256`, measured on the vendored
SVAMP files) or, for the others, against the length the server announced; its SHA-256 is then recorded in
``<dest>/.cotlit-sha256.json``, so later runs detect a changed or damaged copy.

SVAMP's 300-problem test split was never published as a file: it is cut from the full ``SVAMP.json`` by
:func:`derive_svamp_test` (the problems that are not among the paper's 700 training questions) and checked
against the SHA-256 of the split the paper's numbers were measured on.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cotlit.data.naming import entry_condition
from cotlit.data.registry import is_inside, read_registry, resolve_entry
from cotlit.errors import CotlitError
from cotlit.io import field, read_json, write_json, write_text

PAPER_REPO = "EIT-NLP/Distilling-CoT-Reasoning"
PAPER_COMMIT = "cc33822e99534615a87841bd6c2e865e0d24d123"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/{PAPER_REPO}/{PAPER_COMMIT}/"
"""Raw files of the paper's repository at the commit whose data cotlit was checked against."""
DATA_FOLDER = "data/"
"""Where the registry and the training files live in the paper's repository."""
RECORD_FILE = ".cotlit-sha256.json"
CHUNK = 1 << 20

SVAMP_URL = "https://raw.githubusercontent.com/arkilpatel/SVAMP/689d7ccac74b9983a2ac7cc3b264f441b99e7c53/SVAMP.json"
"""The full SVAMP (1000 problems) at the commit whose copy cotlit was checked against."""
SVAMP_SHA256 = "5be77703a6d891ae476d7c082787ad361392aa02453b132516cdd5f4e7934e3e"
SVAMP_TEST = "svamp/SVAMP_test_300.json"
"""Where the derived 300-problem test split goes, under the eval folder."""
SVAMP_TEST_SHA256 = "b8494a72d544b4c868e505dcd20de3172596bddb4bd1ebf209f6cf061707bdee"
"""SHA-256 of the derived split (``../shared/data/eval/svamp/SVAMP_test_300.json``)."""
SVAMP_TRAIN_ENTRY = "SVAMP_only_ans"
"""The registry entry whose 700 ``instruction``s are the paper's SVAMP training questions."""

KNOWN_SHA256: dict[str, str] = {
    "data/dataset_info.json": "34ebb0921ba4c47d27586414d3c77625ede791f861f362f67caee5aad9efb922",
    "data/0_SVAMP_chatgpt_level3BSM.json": "973d7472878822c8a1eba076c9935d3ebae0a2b3eef79e3c39a70e15e52b5f58",
    "data/0_SVAMP_chatgpt_level3RaR.json": "fb0d2b40a4ee447d14e681dd963230aabef8d44dabdbb6d7a9593ca1fb63edf2",
    "data/0_SVAMP_chatgpt_level3SYM.json": "599ad897bd050f33a178d94ef4d66393bdf109bc0d769e75a009bf272d1d481e",
    "data/0_SVAMP_chatgpt_level5BSM.json": "7e0167739f31aa1ae08c9a2f7e4317187dde8b227600ff2a5ff08b61364c2fbd",
    "data/0_SVAMP_chatgpt_level5RaR.json": "b0d8757105e6c478f6b486ff1d471909100fad225af03d39d8f148bdecdfba1e",
    "data/0_SVAMP_chatgpt_level5SYM.json": "292434876a9dc1f2acfc85515d77bafdc42d9da25517e2461daa22a55341d2cb",
    "data/SVAMP_ChatGPT_level1_ranked.json": "6235699150f86e77b919634dde91f95fab83d6dbc619ad8e9e224547f75c467a",
    "data/SVAMP_ChatGPT_level2_ranked.json": "cdbb0f3bfa0f67470afe27fa4fea9512a762c5d533acb7999cf9d828da4a027e",
    "data/SVAMP_ChatGPT_level3_ranked.json": "88975bb57408f28f388977f42e0b4526244b7086ae5952a8b215fbf60ae64720",
    "data/SVAMP_ChatGPT_level4_ranked.json": "93f2b70fb2bb38b65585851ba4f19e03d548cb408ef8505438b78d3c47e43663",
    "data/SVAMP_ChatGPT_level5_ranked.json": "b41fa7091b7e634777ce21b58603800cf494d707f8befd660088ca379b2aa0df",
    "data/SVAMP_ChatGPT_level6_ranked.json": "c913c4f88de724726e0796aef839b5aeb13a7a2428f276d1d24b72d7ec89f742",
    "data/SVAMP_gemini_level1_ranked.json": "b58179808bb84b13f210b8b5d545d1c8ed5d74deff6bc4b3eab19479fbe839c0",
    "data/SVAMP_gemini_level2_ranked.json": "ee4a2fc0f4cef47b73620e562387585a019c9829cce29a62ed9b1d35f65ab527",
    "data/SVAMP_gemini_level3_ranked.json": "9e4223ee1a3baeefd201b7dea74d1f67910cb018e5bb294b896430aedbd03a9e",
    "data/SVAMP_gemini_level4_ranked.json": "3603a5da8da1bfeb8592807628493f23af99cce05a12677af3718ef408b7c384",
    "data/SVAMP_gemini_level5_ranked.json": "661c3060d1bdf72bf11607b8e65a2ddf3fa54270f5c41f792ffc7b99cd250861",
    "data/SVAMP_gemini_level6_ranked.json": "c0dfcd2b619e2039b23fe2f645d0b882de777b8e1f6f7bc9feed655485d3de4c",
    "data/SVAMP_llama_level1_ranked.json": "41f2e136a188ed14c60a344ca1521682c1e6bcfb08b9298b94cc0ed050101464",
    "data/SVAMP_llama_level2_ranked.json": "1b80f732feff01f29f8c07a379659dba2526d460198de2e694e5331c37d29c90",
    "data/SVAMP_llama_level3_ranked.json": "bff5121be6874f9affe67e29ad669a1e5c7d0ca06972517b7d14093e141496d6",
    "data/SVAMP_llama_level4_ranked.json": "f45fc34ddc95d2197f0717339a1db688c874e973e4ffd531fb48fbc7327a4cca",
    "data/SVAMP_only_ans.json": "1a49c3de4989e98849fecfa396c6a6b85694a06cedeeee1b21f1518e1aa30bc2",
    "data/svamp_human_annotation.json": "5a74adf6a0f6dcabfdda3ff4994ec3a263303007b25ef10a1a21ef1a3288e8d3",
    "https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/test.jsonl":
        "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
    SVAMP_URL: SVAMP_SHA256,
}
"""SHA-256 of files whose content cotlit knows (the vendored copies in ``../shared/data``), by repository path
under the base URL or by absolute URL."""

TEST_SETS: dict[str, tuple[str, str]] = {
    "svamp": (SVAMP_URL, "svamp/SVAMP.json"),
    "gsm8k": ("https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/test.jsonl",
              "gsm8k/test.jsonl"),
    "aqua": ("https://raw.githubusercontent.com/google-deepmind/AQuA/master/test.json", "aqua/test.json"),
    "math": ("https://raw.githubusercontent.com/openai/prm800k/main/prm800k/math_splits/test.jsonl",
             "math/test.jsonl"),
    "csqa": ("Evaluation/reasoning_eval/csqa_test.json", "csqa_test.json"),
    "obqa": ("Evaluation/reasoning_eval/openbookQA_test.json", "openbookQA_test.json"),
    "strategyqa": ("Evaluation/reasoning_eval/strategyQA_test.json", "strategyQA_test.json"),
}
"""Task -> (source, path under the eval folder): a path under the base URL (the paper's own test files) or an
absolute URL. SVAMP's is the full SVAMP.json, from which :func:`derive_svamp_test` cuts the 300-problem split."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: its source (a path under the base URL, or an absolute URL) and where it goes."""

    source: str
    dest: Path

    def url(self, base_url: str) -> str:
        return self.source if "://" in self.source else base_url.rstrip("/") + "/" + self.source


@dataclass(frozen=True)
class Fetched:
    """What happened to one file: ``present`` (checked, kept), ``downloaded``, ``resumed`` or ``derived``."""

    dest: Path
    status: str
    size: int
    sha256: str


def registry_file() -> str:
    return DATA_FOLDER + "dataset_info.json"


def fetch(file: RemoteFile, base_url: str = DEFAULT_BASE_URL, *, timeout: float = 60.0) -> Fetched:
    """Make ``file.dest`` a verified copy of the file: keep a good copy, else download it, continuing a ``.part``."""
    expected = KNOWN_SHA256.get(file.source) or _recorded(file.dest)
    if file.dest.is_file():
        digest = _sha256(file.dest)
        if expected is None or digest == expected:
            _record(file.dest, digest)
            return Fetched(file.dest, "present", file.dest.stat().st_size, digest)
        file.dest.unlink()  # a damaged or changed copy: fetch it again
    file.dest.parent.mkdir(parents=True, exist_ok=True)
    part = file.dest.with_name(file.dest.name + ".part")
    status = _download(file.url(base_url), part, timeout)
    digest = _sha256(part)
    if expected is not None and digest != expected:
        part.unlink()
        raise CotlitError(f"SHA-256 {digest} does not match the expected {expected}; the partial file was removed, "
                          "run again to download it afresh", path=file.dest)
    part.replace(file.dest)
    _record(file.dest, digest)
    return Fetched(file.dest, status, file.dest.stat().st_size, digest)


def _download(url: str, part: Path, timeout: float) -> str:
    """Fetch ``url`` into ``part``, continuing after the bytes it already holds when the server allows ranges."""
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "cotlit"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # nothing left to fetch: the part file is already complete
            return "resumed"
        raise CotlitError(f"HTTP {err.code} {err.reason} for {url}") from None
    except (urllib.error.URLError, OSError) as err:
        raise CotlitError(f"cannot download {url}: {getattr(err, 'reason', err)}") from None
    with response:
        resumed = have > 0 and response.status == 206
        length = response.headers.get("Content-Length")
        received = 0
        with part.open("ab" if resumed else "wb") as out:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                received += len(chunk)
    if length is not None and received != int(length):
        raise CotlitError(f"{url}: received {received} of {length} bytes; run again to continue", path=part)
    return "resumed" if resumed else "downloaded"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _records(folder: Path) -> dict[str, str]:
    path = folder / RECORD_FILE
    if not path.is_file():
        return {}
    return read_json(path, dict)


def _recorded(dest: Path) -> str | None:
    return _records(dest.parent).get(dest.name)


def _record(dest: Path, digest: str) -> None:
    records = _records(dest.parent)
    if records.get(dest.name) != digest:
        records[dest.name] = digest
        write_json(dest.parent / RECORD_FILE, dict(sorted(records.items())))


def training_files(dest: Path, entries: Iterable[str]) -> list[RemoteFile]:
    """The data files of registry entries (each once), from the registry already in ``dest``.

    An entry whose ``file_name`` is absolute or leads out of ``dest`` is refused: a registry fetched from the
    network must not choose where cotlit writes.
    """
    registry = read_registry(dest)
    files: dict[Path, RemoteFile] = {}
    for name in entries:
        if name not in registry:
            raise CotlitError(f"unknown dataset entry {name!r}", path=dest / "dataset_info.json")
        entry = registry[name]
        if entry.hf_hub_url is not None:
            continue
        if not is_inside(entry.path, dest):
            raise CotlitError(f"entry {name!r} names a file outside {dest} ({entry.path}); refusing to write it",
                              path=dest / "dataset_info.json")
        relative = entry.path.resolve().relative_to(dest.resolve()).as_posix()
        files.setdefault(entry.path, RemoteFile(DATA_FOLDER + relative, entry.path))
    return list(files.values())


def entries_of(dest: Path, tasks: Iterable[str]) -> list[str]:
    """The registry entries whose names say they belong to one of ``tasks``."""
    wanted = set(tasks)
    return [name for name, entry in read_registry(dest).items()
            if entry_condition(name, entry.path.name).task in wanted]


def eval_files(eval_dest: Path, tasks: Iterable[str]) -> list[RemoteFile]:
    """The public test sets of ``tasks`` (for SVAMP, the full SVAMP.json its split is cut from)."""
    return [RemoteFile(TEST_SETS[task][0], eval_dest / TEST_SETS[task][1]) for task in tasks]


def derive_svamp_test(eval_dest: Path, train_dest: Path) -> Fetched:
    """Write SVAMP's 300-problem test split: the records of ``svamp/SVAMP.json`` whose ``Body + " " + Question``
    is not one of the paper's training questions (the ``instruction``s of ``SVAMP_only_ans.json``), laid out as
    the original (``indent=4``). The result must have :data:`SVAMP_TEST_SHA256`, else nothing is written."""
    dest = eval_dest / SVAMP_TEST
    if dest.is_file() and _sha256(dest) == SVAMP_TEST_SHA256:
        _record(dest, SVAMP_TEST_SHA256)
        return Fetched(dest, "present", dest.stat().st_size, SVAMP_TEST_SHA256)
    source, only_ans = eval_dest / TEST_SETS["svamp"][1], resolve_entry(train_dest, SVAMP_TRAIN_ENTRY).path
    train = {field(row, i, "instruction", path=only_ans, empty_ok=True)
             for i, row in enumerate(read_json(only_ans, list))}
    test = [record for i, record in enumerate(read_json(source, list))
            if " ".join(field(record, i, name, path=source, empty_ok=True) for name in ("Body", "Question"))
            not in train]
    text = json.dumps(test, indent=4)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if digest != SVAMP_TEST_SHA256:
        raise CotlitError(f"the split derived from {source} and {only_ans} has {len(test)} records and SHA-256 "
                          f"{digest}, not the expected 300 records with SHA-256 {SVAMP_TEST_SHA256}; not written",
                          path=dest)
    write_text(dest, text)
    _record(dest, digest)
    return Fetched(dest, "derived", dest.stat().st_size, digest)

