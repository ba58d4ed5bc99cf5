"""GPU smoke-and-speed check: a Llama-3.2-1B-shaped student (random weights, no download) through ``cotlit fit``.

For QLoRA, LoRA and full fine-tuning, and for each loss path (``full_logits``: the model's own loss over every
position, the old path; ``chunked``: the LM head at label positions only, in chunks): a fixed number of training
steps on ``ArithmeticData`` (the same batches for both paths) and a test pass, then tokens/s, peak GPU memory and
model FLOPs utilisation (6 x parameters x tokens / time / the card's peak dense bf16 FLOP/s). Full fine-tuning
runs through ``configs/trainer/fsdp.yaml`` (one GPU here), so the sharded path and its gathered export are
exercised too. ``--fit-search`` then finds the largest batch that trains within 24 GB and 80 GB cards' memory
(the allocator capped with ``torch.cuda.set_per_process_memory_fraction``) for QLoRA and LoRA, by doubling and
bisection with out-of-memory errors caught. Run it as ``bash scripts/gpu_check.sh`` from the repo root;
``--dry-run`` runs the LoRA pass of a tiny student on the CPU (checks this script, measures nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L

REPO = Path(__file__).resolve().parent.parent
LLAMA_3_2_1B = dict(
    vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
    num_key_value_heads=8, head_dim=64, rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=131072,
    tie_word_embeddings=True, hidden_act="silu",
)
"""The Llama-3.2-1B architecture (1.24B parameters with the tied embedding)."""
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 70.0}
"""Dense bf16 peak of common cards (SXM where there are several), matched against the device name in order."""
TINY = dict(vocab_size=2048, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, max_position_embeddings=2048, tie_word_embeddings=True)
"""The ``--dry-run`` student."""
MODES = ("qlora", "lora", "full")
LOSS_PATHS = ("full_logits", "chunked")
CARDS_GIB = {"24 GB": 22.5, "80 GB": 79.0}
"""Allocator caps standing for cards: what an L4/A10G and an H100 80GB leave PyTorch after the CUDA context."""
MAX_BATCH = 1024


class Throughput(L.Callback):
    """Callback: time and tokens of the training steps after ``skip`` warm-up steps, and of the test pass."""

    last: Throughput | None = None
    """The most recently created instance (the CLI creates it from its class path)."""

    def __init__(self, skip: int = 3) -> None:
        Throughput.last = self
        self.skip = skip
        self.seconds = self.tokens = self.padded = self.steps = 0
        self.test_seconds = 0.0
        self._start = 0.0

    def _sync_time(self) -> float:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def on_train_batch_start(self, trainer: Any, module: Any, batch: dict[str, Any], batch_idx: int) -> None:
        if trainer.global_step >= self.skip:
            self._start = self._sync_time()

    def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, batch: dict[str, Any], idx: int) -> None:
        if self._start:
            self.seconds += self._sync_time() - self._start
            self.tokens += batch["real_tokens"] * trainer.world_size
            self.padded += batch["input_ids"].numel() * trainer.world_size
            self.steps += 1
            self._start = 0.0

    def on_train_end(self, trainer: Any, module: Any) -> None:
        import torch

        self.train_peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0

    def on_test_start(self, trainer: Any, module: Any) -> None:
        self._test_start = self._sync_time()

    def on_test_end(self, trainer: Any, module: Any) -> None:
        self.test_seconds = self._sync_time() - self._test_start


def peak_tflops(name: str, given: float | None) -> float | None:
    if given is not None:
        return given
    return next((value for key, value in PEAK_BF16_TFLOPS.items() if key in name), None)


def build_student(folder: Path, device: str = "cuda", shape: dict[str, Any] = LLAMA_3_2_1B) -> int:
    """Random-weight Llama (the 1B shape by default) in bf16 and a byte-level BPE trained here; returns the
    parameter count."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from cotlit.synthetic import generate_problems, teacher_example

    corpus = [f"{ex.question} {ex.target}" for p in generate_problems(300, seed=1, split="train")
              for ex in (teacher_example(p, level, "plain") for level in (1, 3, 6))]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=2048, special_tokens=["<unk>", "<pad>", "</s>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="</s>")
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(**shape, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=None)
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    params = sum(p.numel() for p in model.parameters())
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return params


def fit_args(mode: str, loss: str, student: Path, run_dir: Path, args: argparse.Namespace) -> list[str]:
    trainer = ["--config", str(REPO / "configs/trainer/gpu.yaml")]
    if mode == "qlora":
        trainer += ["--config", str(REPO / "configs/trainer/qlora_bf16.yaml")]
    if mode == "full":
        trainer = ["--config", str(REPO / "configs/trainer/fsdp.yaml"), "--trainer.devices=1", "--model.lr=5e-5"]
    if args.dry_run:
        trainer += ["--trainer.accelerator=cpu", "--trainer.precision=32-true"]
    return [
        "fit", "--model=cotlit.model.student.StudentModule", "--data=cotlit.data.arithmetic.ArithmeticData",
        *trainer,
        f"--run_dir={run_dir}", "--seed_everything=0", f"--model.name_or_path={student}",
        f"--model.finetuning={mode}", f"--model.loss={loss}",
        f"--model.decoding.max_new_tokens={args.max_new_tokens}", "--model.warmup=0",
        f"--trainer.max_steps={args.steps}", "--trainer.limit_val_batches=0", "--trainer.num_sanity_val_steps=0",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
        "--trainer.log_every_n_steps=5", "--trainer.callbacks+=gpu_check.Throughput",
        f"--data.granularity={args.granularity}", f"--data.train_size={args.steps * args.batch_size}",
        "--data.val_size=16", f"--data.test_size={args.test_size}", f"--data.batch_size={args.batch_size}",
        f"--data.eval_batch_size={args.test_size}", "--data.max_length=1024",
    ]


def run_mode(mode: str, loss: str, student: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    import gc

    import torch

    from cotlit.cli import main

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    Throughput.last = None
    run_dir = work / "runs" / f"{mode}-{loss}"
    start = time.perf_counter()
    code = main(fit_args(mode, loss, student, run_dir, args))
    wall = time.perf_counter() - start
    gc.collect()
    cb = Throughput.last
    if code != 0 or cb is None or not cb.steps or not (run_dir / "metrics.json").is_file():
        return {"mode": mode, "loss": loss, "error": f"cotlit fit exited {code}"}
    test = json.loads((run_dir / "metrics.json").read_text())
    peak = torch.cuda.max_memory_allocated() if cuda else 0
    if cuda:
        torch.cuda.empty_cache()
    return {"mode": mode, "loss": loss, "steps": cb.steps, "tokens_per_s": cb.tokens / cb.seconds,
            "padded_tokens_per_s": cb.padded / cb.seconds, "train_peak_gib": cb.train_peak / 2**30,
            "peak_gib": peak / 2**30, "test_n": test["n"], "test_seconds": cb.test_seconds,
            "test_gen_tokens": test["gen_tokens"], "wall_s": wall, "adapter": (run_dir / "adapter").is_dir()}


def trains_within(module: Any, batch_size: int, args: argparse.Namespace) -> bool:
    """Whether ``module`` trains 3 steps of ``batch_size`` examples without running out of GPU memory."""
    import gc

    import torch

    from cotlit.data.arithmetic import ArithmeticData

    data = ArithmeticData(granularity=args.granularity, train_size=3 * batch_size, val_size=16, test_size=16,
                          batch_size=batch_size, max_length=1024, tokenizer=module.tokenizer)
    trainer = L.Trainer(accelerator="cpu" if args.dry_run else "gpu", devices=1, max_steps=3, logger=False,
                        precision="32-true" if args.dry_run else "bf16-mixed", enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        num_sanity_val_steps=0)
    fits = True
    try:
        trainer.fit(module, datamodule=data)
    except torch.OutOfMemoryError:
        fits = False
    module.model.zero_grad(set_to_none=True)
    del trainer
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return fits


def largest_batch(mode: str, student: Path, args: argparse.Namespace) -> dict[str, int]:
    """The largest batch (within 1/8) that trains under each of ``CARDS_GIB``'s caps, the new loss path."""
    import torch

    from cotlit.model.student import StudentModule

    module = StudentModule(name_or_path=str(student), finetuning=mode, loss="chunked", warmup=0,
                           qlora_compute_dtype="bfloat16")
    total = torch.cuda.get_device_properties(0).total_memory
    found = {}
    for card, cap in CARDS_GIB.items():
        torch.cuda.set_per_process_memory_fraction(min(cap * 2**30 / total, 1.0))
        low, high = 0, 8
        while high <= MAX_BATCH and trains_within(module, high, args):
            low, high = high, high * 2
        while high <= MAX_BATCH and high - low > max(1, low // 8):
            middle = (low + high) // 2
            low, high = (middle, high) if trains_within(module, middle, args) else (low, middle)
        found[card] = low
        print(f"gpu_check: {mode} trains batch {low}{'+' if low == MAX_BATCH else ''} in {card} ({cap} GiB "
              "allocator cap)", flush=True)
    torch.cuda.set_per_process_memory_fraction(1.0)
    del module
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of qlora,lora,full")
    parser.add_argument("--losses", default=",".join(LOSS_PATHS),
                        help="comma-separated loss paths to time, each on the same batches: full_logits (old), chunked")
    parser.add_argument("--steps", type=int, default=30, help="training steps per run (the first 3 untimed)")
    parser.add_argument("--batch-size", type=int, default=32, help="training examples per step")
    parser.add_argument("--granularity", type=int, default=6, help="CoT level of the arithmetic targets")
    parser.add_argument("--test-size", type=int, default=64, help="test examples (one generation batch)")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="generation budget of the test pass")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the card's dense bf16 peak, TFLOP/s")
    parser.add_argument("--fit-search", action="store_true",
                        help="also find the largest QLoRA and LoRA batch within 24 GB and 80 GB (minutes per mode)")
    parser.add_argument("--dry-run", action="store_true",
                        help="CPU, a tiny student, LoRA only, 4 steps: checks this script, measures nothing")
    parser.add_argument("--workdir", type=Path, default=None, help="model, cache and runs (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    losses = [p for p in args.losses.split(",") if p]
    if any(m not in MODES for m in modes):
        parser.error(f"--modes: choose from {', '.join(MODES)}")
    if any(p not in LOSS_PATHS for p in losses):
        parser.error(f"--losses: choose from {', '.join(LOSS_PATHS)}")

    import torch

    if args.dry_run:
        modes, args.steps, args.batch_size, args.test_size, args.max_new_tokens = ["lora"], 4, 4, 4, 4
    elif not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU is visible to PyTorch (torch.cuda.is_available() is False); run it on a "
              "machine with an NVIDIA GPU and a CUDA build of PyTorch", file=sys.stderr)
        return 1
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cotlit-gpu-check-"))
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["COTLIT_CACHE"] = str(work / "cache")
    sys.modules.setdefault("gpu_check", sys.modules[__name__])  # the CLI names the callback gpu_check.Throughput

    name = "CPU (dry run)" if args.dry_run else torch.cuda.get_device_name()
    peak = peak_tflops(name, args.peak_tflops)
    start = time.perf_counter()
    shape = "tiny Llama" if args.dry_run else "Llama-3.2-1B architecture"
    params = build_student(work / "student", *(("cpu", TINY) if args.dry_run else ()))
    print(f"gpu_check: {name}; student: {shape}, {params / 1e9:.3f}B parameters, random weights (built in "
          f"{time.perf_counter() - start:.0f} s); {args.steps} steps x {args.batch_size} examples per run")
    if "qlora" in modes:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            print("gpu_check: qlora skipped: bitsandbytes is not installed", file=sys.stderr)
            modes.remove("qlora")
    results = [run_mode(mode, loss, work / "student", work, args) for mode in modes for loss in losses]

    print(f"\ngpu_check results on {name} (peak dense bf16 {peak or '?'} TFLOP/s; MFU = 6 x {params / 1e9:.2f}B "
          "x real tokens/s / peak; LoRA/QLoRA do ~4/6 of that work)")
    print(f"{'mode':6} {'loss':11} {'steps':>5} {'tokens/s':>9} {'MFU':>6} {'train peak GiB':>14} {'peak GiB':>8} "
          f"{'test n':>6} {'test s':>6} {'wall s':>6}")
    failed = False
    for r in results:
        if "error" in r or not r["adapter"] or r["test_n"] != args.test_size:
            print(f"{r['mode']:6} {r['loss']:11} FAILED: {r.get('error', 'missing adapter or test rows')}")
            failed = True
            continue
        r["mfu"] = 6 * params * r["tokens_per_s"] / (peak * 1e12) if peak else None
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "?"
        print(f"{r['mode']:6} {r['loss']:11} {r['steps']:>5} {r['tokens_per_s']:>9.0f} {mfu:>6} "
              f"{r['train_peak_gib']:>14.1f} {r['peak_gib']:>8.1f} {r['test_n']:>6} {r['test_seconds']:>6.1f} "
              f"{r['wall_s']:>6.0f}")
    largest = {}
    if args.dry_run:
        from cotlit.model.student import StudentModule

        module = StudentModule(name_or_path=str(work / "student"), finetuning="lora", loss="chunked", warmup=0)
        print(f"gpu_check: a fit-search probe (3 steps of 8) {'ran' if trains_within(module, 8, args) else 'FAILED'}")
    elif args.fit_search:
        largest = {mode: largest_batch(mode, work / "student", args) for mode in modes if mode != "full"}
        for mode, found in largest.items():
            print(f"{mode:6} largest batch (loss chunked, level-{args.granularity} arithmetic rows): "
                  + ", ".join(f"{batch} in {card}" for card, batch in found.items()))
    if args.json:
        args.json.write_text(json.dumps({"device": name, "peak_tflops": peak, "params": params,
                                         "results": results, "largest_batch": largest}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
