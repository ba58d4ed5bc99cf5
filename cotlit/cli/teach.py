"""``cotlit teach``: generate teacher CoT datasets (levels x formats) with a resumable cache.

Settings come from ``--config <file.yaml>`` and/or flags (``--backend.model``, ``--data.limit`` ...; later wins);
``--print_config`` shows the merged settings. API keys are never settings: ``backend.api_key_env`` names the
environment variable that holds the key. Backends, reasoning models, the Batch API and retries: docs/teach.md.
"""

from __future__ import annotations

from jsonargparse import ActionConfigFile, ArgumentParser, set_parsing_settings

from cotlit.cli.args import plain_help
from cotlit.tasks import task_names
from cotlit.teach.runner import TeachConfig, run_teach


def build_parser() -> ArgumentParser:
    set_parsing_settings(docstring_parse_attribute_docstrings=True)
    parser = ArgumentParser(
        prog="cotlit teach",
        description="Generate teacher chain-of-thought data at any granularity level and format.",
        default_meta=False,
    )
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file with the settings below")
    parser.add_class_arguments(TeachConfig, as_group=False)
    plain_help(parser)  # the docstrings are reST; the terminal gets plain text
    task = next(action for action in parser._actions if action.dest == "task")
    task.help += f" One of: {', '.join(task_names())}."
    return parser


def parse_config(argv: list[str]) -> TeachConfig:
    """The :class:`~cotlit.teach.runner.TeachConfig` that ``argv`` describes."""
    parser = build_parser()
    settings = parser.instantiate_classes(parser.parse_args(argv)).as_dict()
    settings.pop("config", None)
    return TeachConfig(**settings)


def main(argv: list[str]) -> int:
    summary = run_teach(parse_config(argv))
    return 0 if any(f.rows for f in summary.files) else 1
