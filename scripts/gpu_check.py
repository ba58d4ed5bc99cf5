"""GPU smoke-and-speed check: a Llama-3.2-1B-shaped student (random weights, no download) through ``cotlit fit``.

For each mode (QLoRA; LoRA on fp32 base weights; LoRA on bf16 base weights, ``lora_bf16``; full fine-tuning) and
each loss path (``full_logits``: the model's own loss over every position, the old path; ``chunked``: the LM head
at label positions only, in chunks; ``liger``, where ``liger-kernel`` is installed and asked for): a fixed number
of training steps on ``ArithmeticData`` (the same batches for every path) and a test pass, then tokens/s, peak GPU
memory and model FLOPs utilisation (6 x parameters x tokens / time / the card's peak dense bf16 FLOP/s).
``--pack`` adds, per mode, a run with packed rows holding about as many tokens per step as the unpacked run just
before it (whether packing should be the GPU default). Full fine-tuning runs through ``configs/trainer/fsdp.yaml``
(one GPU here), so the sharded path and its gathered export are exercised too. ``--fit-search`` then finds the
largest batch that trains within 24 GB and 80 GB cards' memory (the allocator capped with
``torch.cuda.set_per_process_memory_fraction``) for the LoRA and QLoRA modes, by doubling and bisection with
out-of-memory errors caught; ``--fit-search-only`` skips the timed runs. Run it as ``bash scripts/gpu_check.sh``
from the repo root; ``--dry-run`` runs both LoRA modes (and ``--pack``) of a tiny student on the CPU (checks this
script, measures nothing).
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
GPU = ["--config", str(REPO / "configs/trainer/gpu.yaml")]
MODE_FRAGMENTS: dict[str, list[str]] = {
    "qlora": [*GPU, "--config", str(REPO / "configs/trainer/qlora_bf16.yaml")],
    "lora": GPU,
    "lora_bf16": GPU,
    "full": ["--config", str(REPO / "configs/trainer/fsdp.yaml"), "--trainer.devices=1"],
}
"""The shipped trainer and model fragments of each mode, as a user combines them."""
MODE_STUDENT: dict[str, dict[str, Any]] = {
    "qlora": {"finetuning": "qlora"},
    "lora": {"finetuning": "lora"},
    "lora_bf16": {"finetuning": "lora", "dtype": "bfloat16"},
    "full": {"finetuning": "full", "lr": 5e-5},
}
"""``StudentModule`` settings of each mode: ``--model.*`` flags of its timed runs, arguments of its fit search."""
LOSS_PATHS = ("full_logits", "chunked", "liger")
PACK_LENGTH = 1024
"""``data.max_length``: the longest example, and with ``--pack`` the length of a packed row."""
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


def fit_args(mode: str, loss: str, student: Path, run_dir: Path, args: argparse.Namespace,
             pack_rows: int | None = None) -> list[str]:
    """``cotlit fit`` arguments of one timed run; ``pack_rows``: packed rows per step instead of examples."""
    trainer = MODE_FRAGMENTS[mode] + [f"--model.{key}={value}" for key, value in MODE_STUDENT[mode].items()]
    if args.dry_run:
        trainer += ["--trainer.accelerator=cpu", "--trainer.precision=32-true"]
    batch = ["--data.pack=true", f"--data.batch_size={pack_rows}"] if pack_rows else [
        f"--data.batch_size={args.batch_size}"]
    return [
        "fit", "--model=cotlit.model.student.StudentModule", "--data=cotlit.data.arithmetic.ArithmeticData",
        *trainer,
        f"--run_dir={run_dir}", "--seed_everything=0", f"--model.name_or_path={student}", f"--model.loss={loss}",
        f"--model.decoding.max_new_tokens={args.max_new_tokens}", "--model.warmup=0",
        f"--trainer.max_steps={args.steps}", "--trainer.limit_val_batches=0", "--trainer.num_sanity_val_steps=0",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
        "--trainer.log_every_n_steps=5", "--trainer.callbacks+=gpu_check.Throughput",
        f"--data.granularity={args.granularity}", f"--data.train_size={args.steps * args.batch_size}",
        "--data.val_size=16", f"--data.test_size={args.test_size}", *batch,
        f"--data.eval_batch_size={args.test_size}", f"--data.max_length={PACK_LENGTH}",
    ]


def run_mode(mode: str, loss: str, student: Path, work: Path, args: argparse.Namespace,
             pack_rows: int | None = None) -> dict[str, Any]:
    """One timed ``cotlit fit`` (training steps and a test pass) in this process; its figures or its error."""
    import gc

    import torch

    from cotlit.cli import main

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    Throughput.last = None
    run_dir = work / "runs" / f"{mode}-{loss}{'-packed' if pack_rows else ''}"
    row = {"mode": mode, "loss": loss, "packed": bool(pack_rows), "batch_size": pack_rows or args.batch_size}
    start = time.perf_counter()
    code = main(fit_args(mode, loss, student, run_dir, args, pack_rows))
    wall = time.perf_counter() - start
    gc.collect()
    cb = Throughput.last
    if code != 0 or cb is None or not cb.steps or not (run_dir / "metrics.json").is_file():
        return {**row, "error": f"cotlit fit exited {code}"}
    test = json.loads((run_dir / "metrics.json").read_text())
    peak = torch.cuda.max_memory_allocated() if cuda else 0
    if cuda:
        torch.cuda.empty_cache()
    return {**row, "steps": cb.steps, "tokens_per_s": cb.tokens / cb.seconds, "tokens_per_step": cb.tokens / cb.steps,
            "padding_efficiency": cb.tokens / cb.padded, "train_peak_gib": cb.train_peak / 2**30,
            "peak_gib": peak / 2**30, "test_n": test["n"], "test_seconds": cb.test_seconds,
            "test_gen_tokens": test["gen_tokens"], "wall_s": wall, "adapter": (run_dir / "adapter").is_dir()}


def timed_runs(modes: list[str], losses: list[str], student: Path, work: Path,
               args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every mode on every loss path; with ``--pack`` each mode once more, packed, on the last loss path, with
    about as many real tokens per step as that path's unpacked run."""
    results = []
    for mode in modes:
        for loss in losses:
            results.append(run_mode(mode, loss, student, work, args))
        if args.pack:
            unpacked = results[-1]
            if "error" in unpacked:
                results.append({**unpacked, "packed": True, "error": "its unpacked run failed"})
                continue
            rows = max(1, round(unpacked["tokens_per_step"] / PACK_LENGTH))
            results.append(run_mode(mode, losses[-1], student, work, args, pack_rows=rows))
    return results


def trains_within(module: Any, batch_size: int, args: argparse.Namespace) -> bool:
    """Whether ``module`` trains 3 steps of ``batch_size`` examples without running out of GPU memory."""
    import gc

    import torch

    from cotlit.data.arithmetic import ArithmeticData

    data = ArithmeticData(granularity=args.granularity, train_size=3 * batch_size, val_size=16, test_size=16,
                          batch_size=batch_size, max_length=PACK_LENGTH, tokenizer=module.tokenizer)
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


def largest_batch(mode: str, loss: str, student: Path, args: argparse.Namespace) -> dict[str, int]:
    """The largest batch (within 1/8) that trains under each of ``CARDS_GIB``'s caps on loss path ``loss``."""
    import torch

    from cotlit.model.student import StudentModule

    module = StudentModule(name_or_path=str(student), loss=loss, warmup=0, qlora_compute_dtype="bfloat16",
                           **MODE_STUDENT[mode])
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


def print_table(results: list[dict[str, Any]], name: str, peak: float | None, params: int,
                args: argparse.Namespace) -> bool:
    """Print the timed runs (adding each one's MFU to it); whether every run passed."""
    print(f"\ngpu_check results on {name} (peak dense bf16 {peak or '?'} TFLOP/s; MFU = 6 x {params / 1e9:.2f}B "
          "x real tokens/s / peak; LoRA/QLoRA do ~4/6 of that work)")
    print(f"{'mode':9} {'loss':11} {'batch':>10} {'steps':>5} {'tokens/s':>9} {'pad eff':>7} {'MFU':>6} "
          f"{'train peak GiB':>14} {'peak GiB':>8} {'test n':>6} {'test s':>6} {'wall s':>6}")
    passed = True
    for r in results:
        batch = f"{r['batch_size']} {'rows' if r['packed'] else 'ex.'}"
        if "error" in r or not r["adapter"] or r["test_n"] != args.test_size:
            print(f"{r['mode']:9} {r['loss']:11} {batch:>10} FAILED: {r.get('error', 'missing adapter or test rows')}")
            passed = False
            continue
        r["mfu"] = 6 * params * r["tokens_per_s"] / (peak * 1e12) if peak else None
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "?"
        print(f"{r['mode']:9} {r['loss']:11} {batch:>10} {r['steps']:>5} {r['tokens_per_s']:>9.0f} "
              f"{r['padding_efficiency']:>7.3f} {mfu:>6} {r['train_peak_gib']:>14.1f} {r['peak_gib']:>8.1f} "
              f"{r['test_n']:>6} {r['test_seconds']:>6.1f} {r['wall_s']:>6.0f}")
    return passed


def available(modes: list[str], losses: list[str], cuda: bool) -> None:
    """Drop (with a note) the modes and loss paths that cannot run here: QLoRA without bitsandbytes, liger without
    liger-kernel or without CUDA (its kernels are Triton's)."""
    import importlib.util

    def drop(chosen: list[str], choice: str, option: str, why: str) -> None:
        print(f"gpu_check: {option} {choice} skipped: {why}", file=sys.stderr)
        chosen.remove(choice)

    if "qlora" in modes and importlib.util.find_spec("bitsandbytes") is None:
        drop(modes, "qlora", "mode", "bitsandbytes is not installed")
    if "liger" in losses:
        if importlib.util.find_spec("liger_kernel") is None:
            drop(losses, "liger", "loss path", "liger_kernel is not installed")
        elif not cuda:
            drop(losses, "liger", "loss path", "it runs on CUDA only")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODE_STUDENT),
                        help=f"comma-separated subset of {','.join(MODE_STUDENT)}")
    parser.add_argument("--losses", default="full_logits,chunked",
                        help="comma-separated loss paths to time, each on the same batches: full_logits (old), "
                             "chunked, liger (with liger-kernel); --pack and --fit-search use the last one")
    parser.add_argument("--pack", action="store_true",
                        help="per mode, one more run with packed rows of about the same tokens per step")
    parser.add_argument("--steps", type=int, default=30, help="training steps per run (the first 3 untimed)")
    parser.add_argument("--batch-size", type=int, default=32, help="training examples per step")
    parser.add_argument("--granularity", type=int, default=6, help="CoT level of the arithmetic targets")
    parser.add_argument("--test-size", type=int, default=64, help="test examples (one generation batch)")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="generation budget of the test pass")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the card's dense bf16 peak, TFLOP/s")
    parser.add_argument("--fit-search", action="store_true",
                        help="also find the largest batch of the (Q)LoRA modes within 24 GB and 80 GB (minutes each)")
    parser.add_argument("--fit-search-only", action="store_true", help="--fit-search without the timed runs")
    parser.add_argument("--dry-run", action="store_true",
                        help="CPU, a tiny student, the LoRA modes, 4 steps: checks this script, measures nothing")
    parser.add_argument("--workdir", type=Path, default=None, help="model, cache and runs (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    losses = [p for p in args.losses.split(",") if p]
    if not modes or any(m not in MODE_STUDENT for m in modes):
        parser.error(f"--modes: choose from {', '.join(MODE_STUDENT)}")
    if not losses or any(p not in LOSS_PATHS for p in losses):
        parser.error(f"--losses: choose from {', '.join(LOSS_PATHS)}")

    import torch

    if args.dry_run:
        modes = [m for m in ("lora", "lora_bf16") if m in modes] or ["lora"]
        args.steps, args.batch_size, args.test_size, args.max_new_tokens = 4, 4, 4, 4
    elif not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU is visible to PyTorch (torch.cuda.is_available() is False); run it on a "
              "machine with an NVIDIA GPU and a CUDA build of PyTorch", file=sys.stderr)
        return 1
    available(modes, losses, cuda=not args.dry_run)
    if not modes or not losses:
        print("gpu_check: nothing left to run", file=sys.stderr)
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
    results = [] if args.fit_search_only else timed_runs(modes, losses, work / "student", work, args)
    passed = print_table(results, name, peak, params, args) if results else True
    largest = {}
    if args.dry_run:
        from cotlit.model.student import StudentModule

        module = StudentModule(name_or_path=str(work / "student"), loss=losses[-1], warmup=0, **MODE_STUDENT[modes[0]])
        print(f"gpu_check: a fit-search probe (3 steps of 8) {'ran' if trains_within(module, 8, args) else 'FAILED'}")
    elif args.fit_search or args.fit_search_only:
        largest = {mode: largest_batch(mode, losses[-1], work / "student", args) for mode in modes if mode != "full"}
        for mode, found in largest.items():
            print(f"{mode:9} largest batch (loss {losses[-1]}, level-{args.granularity} arithmetic rows): "
                  + ", ".join(f"{batch} in {card}" for card, batch in found.items()))
    if args.json:
        args.json.write_text(json.dumps({"device": name, "peak_tflops": peak, "params": params,
                                         "results": results, "largest_batch": largest}, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
