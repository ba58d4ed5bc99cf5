"""The ``cotlit`` entry point: a thin map from sub-command to the module that runs it.

Modules are imported only when their command runs, so ``cotlit --help`` and ``cotlit score`` never
import torch, lightning or transformers. Each command module exposes ``main(argv: list[str]) -> int``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from typing import NoReturn

from cotlit import __version__
from cotlit.errors import CotlitError

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
JSONARGPARSE_COMMANDS = (*LIGHTNING_COMMANDS, "teach")

COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("cotlit.cli.train", "train a student on teacher CoT (LightningCLI)"),
    "validate": ("cotlit.cli.train", "score a student on the validation split"),
    "test": ("cotlit.cli.train", "score a student on the test set; writes predictions.jsonl and metrics.json"),
    "predict": ("cotlit.cli.train", "generate answers for the test split or an --input file; writes predictions.jsonl"),
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
    lines = ["usage: cotlit [--debug] COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "'cotlit COMMAND --help' explains a command; --debug shows the traceback of an error."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = bool(argv) and argv[0] == "--debug"
    argv = argv[debug:]
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"cotlit {__version__}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"cotlit: unknown command {command!r} (commands: {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    try:
        with _usage_errors_raise(command):
            _check_config_files(rest)
            module = importlib.import_module(COMMANDS[command][0])
            return int(module.main([command, *rest] if command in LIGHTNING_COMMANDS else rest) or 0)
    except KeyboardInterrupt:
        print(f"cotlit {command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            raise
        print(f"cotlit {command}: error: {user_message(err)}", file=sys.stderr)
        return 2 if _is_user_error(err) else 1


def user_message(err: BaseException) -> str:
    """One line for an error: cotlit's own message, a file error with its path, or the exception in brief."""
    if isinstance(err, CotlitError):
        text = str(err)
    elif isinstance(err, OSError) and err.filename is not None:
        text = f"{err.filename}: {_OS_ERRORS.get(type(err), err.strerror or str(err))}"
    elif isinstance(err, RecursionError):
        text = f"{_file_being_read(err) or 'input'}: nested too deeply to read (e.g. JSON with thousands of levels)"
    else:
        text = f"{type(err).__name__}: {err} (an unexpected error; 'cotlit --debug ...' shows where it happened)"
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()).replace(":; ", ": ")


_OS_ERRORS = {
    FileExistsError: "a file is in the way where a folder is needed; remove it or choose another path",
    NotADirectoryError: "a file is in the way where a folder is needed; remove it or choose another path",
    IsADirectoryError: "a folder is in the way where a file is needed; choose another path",
    PermissionError: "permission denied",
    FileNotFoundError: "not found",
}


def _file_being_read(err: BaseException) -> str | None:
    """The ``path`` of the innermost call that had one when ``err`` was raised (the file a reader was reading)."""
    found, tb = None, err.__traceback__
    while tb is not None:
        path = tb.tb_frame.f_locals.get("path")
        if isinstance(path, (str, os.PathLike)):
            found = os.fspath(path)
        tb = tb.tb_next
    return found


def _check_config_files(args: list[str]) -> None:
    """``--config`` files must be readable UTF-8 text (parsers otherwise fail with no file name)."""
    for i, arg in enumerate(args):
        path = arg.split("=", 1)[1] if arg.startswith("--config=") else None
        if arg in ("--config", "-c") and i + 1 < len(args):
            path = args[i + 1]
        if path is None or not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as config:
                config.read()
        except UnicodeDecodeError as err:
            raise CotlitError(f"config file is not UTF-8 text (invalid byte at offset {err.start}); save it as "
                              "UTF-8", path=path) from None


def _is_user_error(err: BaseException) -> bool:
    return isinstance(err, (CotlitError, OSError, RecursionError))


@contextlib.contextmanager
def _usage_errors_raise(command: str) -> Iterator[None]:
    """argparse and jsonargparse print a whole usage (30-50 lines for LightningCLI) before the one line that
    matters; here a usage error raises, as with ``exit_on_error=False`` (which nested parsers rely on), and
    :func:`main` prints its message alone."""
    def error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
        raise CotlitError(f"{message} (see 'cotlit {command} --help')")

    def json_error(parser: argparse.ArgumentParser, message: str, ex: Exception | None = None) -> NoReturn:
        raise argparse.ArgumentError(None, message) from ex

    patched = [(argparse.ArgumentParser, error)]
    if command in JSONARGPARSE_COMMANDS:
        import jsonargparse

        patched.append((jsonargparse.ArgumentParser, json_error))
    originals = [(cls, cls.__dict__["error"]) for cls, _ in patched]
    for cls, replacement in patched:
        cls.error = replacement  # type: ignore[method-assign]
    try:
        yield
    except argparse.ArgumentError as err:
        raise CotlitError(f"{err} (see 'cotlit {command} --help')") from None
    finally:
        for cls, original in originals:
            cls.error = original  # type: ignore[method-assign]


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
