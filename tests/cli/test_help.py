"""Every command's --help: each argument has help text, multi-word options are spelled with underscores, the text
is plain (no reST), ``--task`` lists the tasks; the hyphen spellings of the last release still work, with a note."""

from __future__ import annotations

import importlib
import json
import re

import pytest

from cotlit.cli import COMMANDS, JSONARGPARSE_COMMANDS, LIGHTNING_COMMANDS, main
from cotlit.cli.args import ArgumentParser
from cotlit.tasks.base import task_names

ARGPARSE_COMMANDS = [name for name in COMMANDS if name not in JSONARGPARSE_COMMANDS]
HELP_COMMANDS = [*ARGPARSE_COMMANDS, "teach", LIGHTNING_COMMANDS[0]]  # one LightningCLI command stands for all four
LIGHTNING_OWN = ("--trainer.", "--ckpt_path", "--weights_only")  # help from Lightning's reST docstrings

OLD_SPELLINGS = {  # what the last release read, still read for one more
    "score": {"--pred-field", "--gold-field"},
    "inspect": {"--dataset-dir", "--prompt-field", "--response-field", "--gold-field"},
    "sweep": {"--runs-dir", "--dry-run", "--only-index", "--retry-failed", "--stale-after"},
    "report": {"--n-boot", "--no-plots"},
    "recommend": {"--n-boot"},
    "data": {"--eval-dest", "--base-url"},
}
ENTRY = re.compile(r"^  (\S.*?)(?: {2,}(\S.*))?$")


def help_entries(text: str) -> dict[str, str]:
    """The arguments listed in a --help text: invocation (``--n_boot N_BOOT``) -> its help, lines joined."""
    entries: dict[str, str] = {}
    invocation = None
    for line in text.splitlines():
        match = ENTRY.match(line)
        if match:
            invocation = match[1]
            entries[invocation] = match[2] or ""
        elif invocation is not None and line.startswith("   "):
            entries[invocation] = f"{entries[invocation]} {line.strip()}".strip()
        else:
            invocation = None
    return entries


def names(invocation: str) -> list[str]:
    """``--levels [ITEM,...], --levels+ [ITEM,...]`` -> ``['--levels', '--levels+']``."""
    return [part.split(" ")[0] for part in invocation.split(", ")]


def test_help_entries_reads_inline_and_wrapped_help():
    text = ("usage: x [-h]\n           [--a_b A_B]\n\noptions:\n  -h, --help  show help\n  --a_b A_B\n"
            "                 first\n                 second\n  --bare\n\nepilog text\n")
    assert help_entries(text) == {"-h, --help": "show help", "--a_b A_B": "first second", "--bare": ""}


@pytest.fixture(params=HELP_COMMANDS)
def command_help(request, capsys) -> tuple[str, str]:
    with pytest.raises(SystemExit) as exit_:
        main([request.param, "--help"])
    assert exit_.value.code in (0, None)
    return request.param, capsys.readouterr().out


def test_every_argument_has_plain_help_and_one_spelling(command_help):
    command, text = command_help
    entries = help_entries(text)
    assert "-h, --help" in entries, f"{command}: no argument list found in its help"
    assert not [invocation for invocation, help_ in entries.items() if not help_], f"{command}: without help text"
    hyphenated = [name for invocation in entries for name in names(invocation) if "-" in name.lstrip("-")]
    assert not hyphenated, f"{command}: multi-word options spelled with a hyphen"
    own = [line for invocation, help_ in entries.items() if not invocation.startswith(LIGHTNING_OWN)
           for line in (invocation, help_)]
    assert "``" not in "\n".join(own) and "``" not in text.split("\n  -", 1)[0], f"{command}: raw reST"
    for invocation, help_ in entries.items():
        if names(invocation)[0] == "--task":
            assert "{" in invocation or all(task in help_ for task in task_names()), f"{command} --task: {help_}"


@pytest.mark.parametrize("command", OLD_SPELLINGS)
def test_old_hyphen_spellings_still_work_with_a_deprecation_note(command, capsys):
    parser = importlib.import_module(COMMANDS[command][0]).build_parser()
    assert set(parser.deprecated) == OLD_SPELLINGS[command]
    required = [action for action in parser._actions if action.required]
    base = [arg for action in required for arg in (*action.option_strings[:1], "7")]
    for old, new in parser.deprecated.items():
        action = next(action for action in parser._actions if new in action.option_strings)
        spellings = [([old], [new])] if action.nargs == 0 else [([old, "7"], [new, "7"]), ([f"{old}=7"], [f"{new}=7"])]
        for old_args, new_args in spellings:
            wanted = vars(parser.parse_args([*base, *new_args]))
            assert wanted != vars(parser.parse_args(base)), f"{new}: the value given is its default"
            capsys.readouterr()
            assert vars(parser.parse_args([*base, *old_args])) == wanted
            note = capsys.readouterr().err.splitlines()
            assert note == [f"cotlit {command}: {old} is deprecated and goes away in the next release; use {new}"]


def test_old_spelling_through_the_cli(tmp_path, capsys):
    path = tmp_path / "cot.jsonl"
    path.write_text(json.dumps({"id": "a", "output": "2 + 3 = 5. The answer is 5", "gold": "5"}) + "\n")
    assert main(["score", "--task", "svamp", "--input", str(path), "--pred-field", "output"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["accuracy"] == 1.0
    assert "--pred-field is deprecated" in err and "use --pred_field" in err


def test_a_new_option_needs_help_and_underscores():
    parser = ArgumentParser(prog="cotlit x")
    with pytest.raises(ValueError, match="help text"):
        parser.add_argument("--quiet", action="store_true")
    with pytest.raises(ValueError, match="underscores"):
        parser.add_argument("--max-tokens", type=int, help="most tokens")
    parser.add_argument("--max_tokens", type=int, help="most ``new`` tokens")
    parser.add_argument("rest", nargs="*", help="words")
    assert parser.deprecated == {"--max-tokens": "--max_tokens"}
    assert "most new tokens" in parser.format_help()
    assert vars(parser.parse_args(["--", "--max-tokens"])) == {"max_tokens": None, "rest": ["--max-tokens"]}
