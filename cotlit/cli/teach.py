"""``cotlit teach``: generate teacher CoT datasets (levels x formats) with a resumable cache.

Settings come from ``--config <file.yaml>`` and/or flags (``--backend.model``, ``--data.limit`` ...; later wins);
``--print_config`` shows the merged settings. API keys are never settings: ``backend.api_key_env`` names the
environment variable that holds the key.
"""

from __future__ import annotations


def build_parser():
    from jsonargparse import ActionConfigFile, ArgumentParser

    from cotlit.teach.runner import TeachConfig

    parser = ArgumentParser(
        prog="cotlit teach",
        description="Generate teacher chain-of-thought data at any granularity level and format.",
        default_meta=False,
    )
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file with the settings below")
    parser.add_class_arguments(TeachConfig, "teach", as_group=False)
    return parser


def main(argv: list[str]) -> int:
    from cotlit.teach.runner import run_teach

    parser = build_parser()
    args = parser.parse_args(argv)
    config = parser.instantiate_classes(args).teach
    summary = run_teach(config)
    return 0 if any(f.rows for f in summary.files) else 1
