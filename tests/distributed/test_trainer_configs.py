"""The trainer config fragments parse, compose with an experiment config, and build the strategies they name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cotlit.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FRAGMENTS = sorted((CONFIGS / "trainer").glob("*.yaml"))


def strategy_of(fragment: str):
    from jsonargparse import ArgumentParser
    from lightning.pytorch.strategies import Strategy

    parser = ArgumentParser()
    parser.add_argument("--strategy", type=Strategy)
    config = yaml.safe_load((CONFIGS / "trainer" / fragment).read_text())["trainer"]["strategy"]
    return parser.instantiate(parser.parse_object({"strategy": config})).strategy


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda p: p.name)
def test_fragment_composes_after_the_quickstart(fragment, capsys):
    with pytest.raises(SystemExit) as done:
        main(["fit", f"--config={CONFIGS / 'quickstart.yaml'}", f"--config={fragment}", "--print_config"])
    assert done.value.code in (0, None)
    merged = yaml.safe_load(capsys.readouterr().out)
    for group, values in yaml.safe_load(fragment.read_text()).items():
        section = merged[group]["init_args"] if group in ("model", "data") else merged[group]
        for key, value in (values.get("init_args", values)).items():
            if key != "strategy":
                assert section[key] == value, (group, key)


def test_ddp_reduces_without_searching_for_unused_parameters():
    from lightning.pytorch.strategies import DDPStrategy

    for fragment in ("ddp.yaml", "multinode.yaml"):
        strategy = strategy_of(fragment)
        assert isinstance(strategy, DDPStrategy)
        assert strategy._ddp_kwargs["find_unused_parameters"] is False


def test_fsdp_wraps_and_checkpoints_exactly_the_decoder_layers(tiny_llama):
    from lightning.pytorch.strategies import FSDPStrategy
    from transformers import AutoModelForCausalLM

    strategy = strategy_of("fsdp.yaml")
    assert isinstance(strategy, FSDPStrategy)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    layers = [type(m).__name__ for m in model.modules()
              if isinstance(m, tuple(strategy.kwargs["auto_wrap_policy"]._module_classes))]
    assert layers == ["LlamaDecoderLayer"] * model.config.num_hidden_layers
    checkpointed = strategy._activation_checkpointing_kwargs["auto_wrap_policy"]._module_classes
    assert all(isinstance(m, tuple(checkpointed)) == (type(m).__name__ == "LlamaDecoderLayer")
               for m in model.modules())
