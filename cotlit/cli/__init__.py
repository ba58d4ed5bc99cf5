"""The ``cotlit`` entry point: a thin map from sub-command to the module that runs it.

Modules are imported only when their command runs, so ``cotlit --help`` and ``cotlit score`` never
import torch, lightning or transformers. Each command module exposes ``main(argv: list[str]) -> int``.
"""

from __future__ import annotations

import importlib
import sys

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")

COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("cotlit.cli.train", "train a student on teacher CoT (LightningCLI)"),
    "validate": ("cotlit.cli.train", "score a student on the validation split"),
    "test": ("cotlit.cli.train", "score a student on the test set; writes predictions.jsonl and metrics.json"),
    "predict": ("cotlit.cli.train", "generate answers for the predict split; writes predictions.jsonl"),
    "score": ("cotlit.cli.score", "re-score saved predictions or teacher outputs offline"),
    "inspect": ("cotlit.cli.inspect", "profile a CoT file: trigger rate, lengths, steps, diversity, agreement"),
    "render": ("cotlit.cli.render", "print examples exactly as the student sees them, with length statistics"),
    "export": ("cotlit.cli.export", "write a checkpoint as a PEFT adapter or a merged Hugging Face model"),
    "teach": ("cotlit.cli.teach", "generate teacher CoT at any granularity and format, with a resumable cache"),
    "sweep": ("cotlit.cli.sweep", "run a teacher x granularity x format x student grid"),
    "report": ("cotlit.cli.report", "tables, confidence intervals and plots from a sweep's runs"),
    "recommend": ("cotlit.cli.recommend", "best level / format / teacher per student, with significance"),
    "data": ("cotlit.cli.data", "download the paper's data by registry entry or task, checksummed and resumable"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: cotlit COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "'cotlit COMMAND --help' explains a command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from cotlit.errors import CotlitError

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        from cotlit import __version__

        print(f"cotlit {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"cotlit: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    try:
        if command in LIGHTNING_COMMANDS:
            return int(module.main([command, *rest]) or 0)
        return int(module.main(rest) or 0)
    except CotlitError as err:
        print(f"cotlit {command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cotlit {command}: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
