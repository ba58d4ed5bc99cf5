"""The README's teacher journey: its exact `cotlit teach` command, against a loopback OpenAI-compatible server."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import FAKE_KEY, write_questions

REPO = Path(__file__).resolve().parents[2]


def readme_teach_command() -> tuple[dict[str, str], list[str]]:
    """The environment assignments and arguments of the README's `cotlit teach` line."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Build teacher data with your own teacher"):]
    line = next(l for l in re.search(r"```bash\n(.*?)```", section, re.S).group(1).splitlines() if "teach" in l)
    words = shlex.split(line)
    env = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    return env, words[words.index(".venv/bin/cotlit") + 1:]


def test_the_readme_teach_command_builds_files_from_an_openai_compatible_server(tmp_path, fake_openai):
    env_names, argv = readme_teach_command()
    assert argv[:2] == ["teach", "--config"] and list(env_names) == ["OPENAI_API_KEY"]
    questions = write_questions(tmp_path / "questions.json", 3)
    # the README's command, pointed at the loopback server and cut to three questions at one level
    argv += [f"--backend.base_url={fake_openai.url}", f"--data.source={questions}", "--levels=[1]",
             f"--out_dir={tmp_path / 'out'}", "--progress=false"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OPENAI_API_KEY": FAKE_KEY}
    done = subprocess.run([sys.executable, "-m", "cotlit", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    written = tmp_path / "out" / "svamp_gpt4o_level1.json"
    records = json.loads(written.read_text())
    assert len(records) == 3 and all(r["output"].rstrip(".").endswith(f"The answer is {i + 1}")
                                     for i, r in enumerate(records))
    registry = json.loads((tmp_path / "out" / "dataset_info.json").read_text())
    assert written.name in {entry["file_name"] for entry in registry.values()}
    assert FAKE_KEY not in "".join(p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*") if p.is_file())
