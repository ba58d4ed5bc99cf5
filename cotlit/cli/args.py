"""Command-line parsing shared by cotlit's argparse commands: one spelling per flag, help that reads as plain text.

Multi-word options are spelled with underscores, as the LightningCLI commands spell theirs (``--run_dir``). The
hyphen spelling of each (``--dry-run``) is still read, for one release, with a one-line deprecation note on
stderr; ``--help`` shows only the underscore spelling. Torch-free: ``cotlit score`` uses it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def plain(text: str) -> str:
    """Docstring text for a terminal: reST ``literals`` lose their backticks."""
    return text.replace("``", "")


def plain_help(parser: argparse.ArgumentParser) -> None:
    """Make every help text, the description and the epilog of ``parser`` (argparse or jsonargparse) plain."""
    for action in parser._actions:
        if action.help and action.help != argparse.SUPPRESS:
            action.help = plain(action.help)
    parser.description = parser.description and plain(parser.description)
    parser.epilog = parser.epilog and plain(parser.epilog)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` for a cotlit command: every argument has help text, long options are spelled
    with underscores, and the hyphen spelling of a multi-word option is a hidden, deprecated alias."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.deprecated: dict[str, str] = {}  # old hyphen spelling -> option; set before argparse adds --help
        super().__init__(*args, **kwargs)
        plain_help(self)

    def add_argument(self, *names: Any, **kwargs: Any) -> argparse.Action:
        if not kwargs.get("help"):
            raise ValueError(f"{self.prog} {names[0]}: every argument needs help text")
        for name in names:
            if name.startswith("--") and "-" in name[2:]:
                raise ValueError(f"{self.prog} {name}: spell multi-word options with underscores")
            if name.startswith("--") and "_" in name:
                self.deprecated["--" + name[2:].replace("_", "-")] = name
        kwargs["help"] = plain(kwargs["help"])
        return super().add_argument(*names, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        return super().parse_known_args(self._respell(sys.argv[1:] if args is None else list(args)), namespace)

    def _respell(self, argv: list[str]) -> list[str]:
        """``argv`` with each deprecated hyphen spelling (also as ``--old=value``) replaced by the option's own."""
        respelled = []
        for i, arg in enumerate(argv):
            if arg == "--":
                return respelled + argv[i:]
            old, equals, value = arg.partition("=")
            if old in self.deprecated:
                new = self.deprecated[old]
                print(f"{self.prog}: {old} is deprecated and goes away in the next release; use {new}",
                      file=sys.stderr)
                arg = new + equals + value
            respelled.append(arg)
        return respelled
