"""Training throughput of cotlit against the loops researchers would write instead.

Same student, data, batch size, LoRA settings (r 16, alpha 32, dropout 0, all linear layers), optimiser (AdamW,
no weight decay, cosine, no warm-up), fp32 and step count in every arm:

- ``cotlit``: ``lightning.Trainer`` + ``StudentModule`` + the CoT DataModule, as ``cotlit fit`` builds them
  (length-grouped batches, CSV logger; validation and checkpoints off, the other arms have neither);
- ``cotlit_full``: the same with ``loss: full_logits``, the model's own loss over every position (the loss path
  before the label-only head; isolates what that head saves);
- ``hand``: a minimal PyTorch + transformers + peft loop, random batches padded to their longest row (what a
  user writes);
- ``hand_same``: that loop over cotlit's own batches (isolates the framework's per-step overhead);
- ``trl``: TRL's ``SFTTrainer`` on the same token ids with a completion mask (only if ``trl`` is importable;
  its defaults gradient checkpointing and bf16 are turned off to match the others).

Each arm runs in its own process, forked from one that has imported the libraries. Timing: wall clock from the
end of the warm-up steps (model load, tokenisation and the first steps are excluded) to the end of the last step,
so the timed window holds batching, collation, forward, backward, optimiser and logging. Tokens/s counts real
(non-padding) tokens. On a shared machine wall clock follows the other users' load, so the process CPU time of
the same window is reported too (tokens per CPU second; ratios of it are steadier). Memory (CPU): the process
RSS when the arm starts (the libraries, imported before forking), when the timed window starts (model, data and
optimiser loaded, first steps done), its 20 ms samples' peak in the window, and the process's high-water mark
(``getrusage``: misses no short peak, includes loading). CUDA: max allocated in the window. Arms run in rounds
(every other round in reverse order) so slow drifts of the load hit every arm alike; results pool the rounds.

    python scripts/bench_train.py --quick          # <= 10 min on a 2-core CPU
    python scripts/bench_train.py                  # longer, 2 rounds
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as common  # noqa: E402

ARMS = ("cotlit", "cotlit_full", "hand", "hand_same", "trl")


@dataclass
class Settings:
    """One student's benchmark settings (identical in every arm)."""

    student: str
    steps: int
    warmup: int
    batch_size: int
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lr: float = 2e-4
    seed: int = 0


def plans(quick: bool, students: list[str]) -> list[Settings]:
    table = {
        "smollm2": Settings("smollm2", steps=6, warmup=1, batch_size=4) if quick
        else Settings("smollm2", steps=12, warmup=2, batch_size=8),
        "tiny": Settings("tiny", steps=16, warmup=3, batch_size=8) if quick
        else Settings("tiny", steps=60, warmup=5, batch_size=8),
    }
    return [table[s] for s in students]


# -- measuring ----------------------------------------------------------------------------------------------------
class StepClock:
    """Counts steps; times the window after ``warmup`` steps and sums the real and padded tokens in it."""

    def __init__(self, warmup: int, device: str) -> None:
        self.warmup, self.device = warmup, device
        self.memory = common.PeakMemory(device)
        self.steps = self.real = self.padded = 0
        self.start = self.end = self.cpu_start = self.cpu_end = self.rss_loaded = 0.0

    def _now(self) -> float:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
        return time.perf_counter()

    def step_end(self, real: int, padded: int, last: bool) -> None:
        self.steps += 1
        if self.steps == self.warmup:
            self.start, self.cpu_start = self._now(), time.process_time()
            self.rss_loaded = common.rss_mib()
            self.memory.start()
        elif self.steps > self.warmup:
            self.real, self.padded = self.real + real, self.padded + padded
            if last:
                self.end, self.cpu_end = self._now(), time.process_time()

    def result(self) -> dict[str, Any]:
        seconds, timed = self.end - self.start, self.steps - self.warmup
        cpu = self.cpu_end - self.cpu_start
        return {"timed_steps": timed, "seconds": seconds, "cpu_seconds": cpu, "real_tokens": self.real,
                "padded_tokens": self.padded, "tokens_per_s": self.real / seconds,
                "tokens_per_cpu_s": self.real / cpu, "s_per_step": seconds / timed,
                "padding_efficiency": self.real / self.padded, "peak_mib": self.memory.stop(),
                "rss_loaded_mib": self.rss_loaded, "rss_high_water_mib": common.rss_high_water_mib()}


def peft_student(path: str, s: Settings, device: str) -> Any:
    import torch
    from peft import LoraConfig, get_peft_model

    from cotlit.model.loading import load_causal_lm

    model = load_causal_lm(path).to(device)
    torch.manual_seed(s.seed)
    config = LoraConfig(r=s.lora_r, lora_alpha=s.lora_alpha, lora_dropout=s.lora_dropout,
                        target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, config).train()


# -- the arms -----------------------------------------------------------------------------------------------------
def run_cotlit(path: str, s: Settings, device: str, workdir: Path, loss: str = "chunked") -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    from cotlit.model.student import StudentModule

    clock = StepClock(s.warmup, device)

    class Timer(L.Callback):
        def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            mask = batch["attention_mask"]
            clock.step_end(int(mask.sum()), mask.numel(), last=trainer.global_step >= s.steps)

    L.seed_everything(s.seed, verbose=False)
    student = StudentModule(name_or_path=path, finetuning="lora", lora_r=s.lora_r, lora_alpha=s.lora_alpha,
                            lora_dropout=s.lora_dropout, lr=s.lr, warmup=0, schedule="cosine", loss=loss)
    dm = common.data_module(student.tokenizer, batch_size=s.batch_size, seed=s.seed)
    dm.setup("fit")
    trainer = L.Trainer(accelerator=device, devices=1, max_steps=s.steps, precision="32-true",
                        logger=CSVLogger(str(workdir), name="", version=""), callbacks=[Timer()],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, num_sanity_val_steps=0, use_distributed_sampler=False)
    trainer.fit(student, datamodule=dm)
    return clock.result() | {"data": common.data_name(dm), "train_examples": len(dm.rows["train"])}


def pad_batch(pad_id: int) -> Any:
    """The collate function a user writes: pad to the longest row, loss on the response only."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [torch.tensor(r["input_ids"]) for r in rows]
        labels = [torch.tensor([-100] * r["prompt_len"] + r["input_ids"][r["prompt_len"] :]) for r in rows]
        return {"input_ids": pad_sequence(ids, batch_first=True, padding_value=pad_id),
                "attention_mask": pad_sequence([torch.ones_like(i) for i in ids], batch_first=True),
                "labels": pad_sequence(labels, batch_first=True, padding_value=-100)}

    return collate


def run_hand(path: str, s: Settings, device: str, workdir: Path, same_batches: bool = False) -> dict[str, Any]:
    import torch
    from torch.utils.data import DataLoader
    from transformers import get_cosine_schedule_with_warmup

    from cotlit.model.loading import load_tokenizer

    torch.manual_seed(s.seed)
    tokenizer = load_tokenizer(path)
    dm = common.data_module(tokenizer, batch_size=s.batch_size, seed=s.seed)
    dm.setup("fit")
    model = peft_student(path, s, device)
    if same_batches:
        loader = dm.train_dataloader()
    else:
        loader = DataLoader(dm.rows["train"], batch_size=s.batch_size, shuffle=True,
                            collate_fn=pad_batch(tokenizer.pad_token_id),
                            generator=torch.Generator().manual_seed(s.seed))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=s.lr, weight_decay=0.0)
    scheduler = get_cosine_schedule_with_warmup(optimizer, 0, s.steps)
    clock, step = StepClock(s.warmup, device), 0
    while step < s.steps:
        for batch in loader:
            mask = batch["attention_mask"]
            loss = model(input_ids=batch["input_ids"].to(device), attention_mask=mask.to(device),
                         labels=batch["labels"].to(device)).loss
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            clock.step_end(int(mask.sum()), mask.numel(), last=step == s.steps)
            if step == s.steps:
                break
    return clock.result()


def run_trl(path: str, s: Settings, device: str, workdir: Path) -> dict[str, Any]:
    import datasets
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from cotlit.model.loading import load_tokenizer

    tokenizer = load_tokenizer(path)
    dm = common.data_module(tokenizer, batch_size=s.batch_size, seed=s.seed)
    dm.setup("fit")
    rows = dm.rows["train"]
    table = datasets.Dataset.from_dict({
        "input_ids": [r["input_ids"] for r in rows],
        "completion_mask": [[0] * r["prompt_len"] + [1] * (len(r["input_ids"]) - r["prompt_len"]) for r in rows],
    })
    config = SFTConfig(output_dir=str(workdir), per_device_train_batch_size=s.batch_size, max_steps=s.steps,
                       learning_rate=s.lr, lr_scheduler_type="cosine", warmup_steps=0, weight_decay=0.0,
                       logging_steps=10, save_strategy="no", report_to="none", use_cpu=device == "cpu",
                       bf16=False, fp16=False, gradient_checkpointing=False, max_length=None,
                       completion_only_loss=True, packing=False, seed=s.seed, disable_tqdm=True)
    trainer = SFTTrainer(model=peft_student(path, s, device), args=config, train_dataset=table,
                         processing_class=tokenizer)
    clock, collated = StepClock(s.warmup, device), []
    inner = trainer.data_collator

    def counting_collator(examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = inner(examples)
        collated.append((int(batch["attention_mask"].sum()), batch["attention_mask"].numel()))
        return batch

    class Timer(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            real, padded = collated[state.global_step - 1]
            clock.step_end(real, padded, last=state.global_step >= s.steps)

    trainer.data_collator = counting_collator
    trainer.add_callback(Timer())
    trainer.train()
    return clock.result()


RUNNERS = {"cotlit": run_cotlit, "cotlit_full": partial(run_cotlit, loss="full_logits"), "hand": run_hand,
           "hand_same": partial(run_hand, same_batches=True), "trl": run_trl}


def _child(arm: str, settings: Settings, device: str, conn: Any) -> None:
    try:
        start_rss = common.rss_mib()
        with tempfile.TemporaryDirectory(prefix=f"bench-{arm}-") as workdir:
            result = RUNNERS[arm](common.student_path(settings.student), settings, device, Path(workdir))
        conn.send(result | {"rss_start_mib": start_rss})
    except BaseException:  # noqa: BLE001 - the parent reports it
        conn.send(traceback.format_exc())
    finally:
        conn.close()


def run_arm(arm: str, settings: Settings, device: str) -> dict[str, Any]:
    """One arm in a forked process (its own memory peak and CPU time, nothing shared with the other arms)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(arm, settings, device, send))
    process.start()
    result = receive.recv()
    process.join()
    if isinstance(result, str):
        raise SystemExit(f"arm {arm} ({settings.student}) failed:\n{result}")
    return result


def preload(arms: list[str]) -> None:
    """Import the libraries once, before forking (no torch work is done here, so forking stays safe)."""
    import lightning  # noqa: F401
    import peft  # noqa: F401
    import transformers  # noqa: F401

    import cotlit.data.paper  # noqa: F401
    import cotlit.model.student  # noqa: F401

    if "trl" in arms:
        import trl  # noqa: F401


# -- the report ---------------------------------------------------------------------------------------------------
def pool(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds, real = sum(r["seconds"] for r in runs), sum(r["real_tokens"] for r in runs)
    steps, padded = sum(r["timed_steps"] for r in runs), sum(r["padded_tokens"] for r in runs)
    cpu = sum(r["cpu_seconds"] for r in runs)
    return {"tokens_per_s": real / seconds, "tokens_per_cpu_s": real / cpu, "s_per_step": seconds / steps,
            "padding_efficiency": real / padded,
            "peak_mib": max(r["peak_mib"] for r in runs), "timed_steps": steps, "rounds": len(runs),
            **{key: max(r[key] for r in runs) for key in ("rss_start_mib", "rss_loaded_mib", "rss_high_water_mib")},
            "per_round_tokens_per_s": [round(r["tokens_per_s"], 1) for r in runs]}


def per_round(ours: list[float], theirs: list[float]) -> str:
    """Each round's ratio (its arms ran next to each other, so a slow spell of the machine hits both) and their
    geometric mean; empty for one round."""
    if len(ours) < 2:
        return ""
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    mean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    return f"; per round {', '.join(f'{r:.2f}' for r in ratios)} (geometric mean {mean:.2f}x)"


def report(settings: Settings, results: dict[str, dict[str, Any]], skipped: dict[str, str]) -> list[str]:
    lines = [f"\n## {settings.student}: batch {settings.batch_size}, {settings.steps} steps "
             f"({settings.warmup} warm-up, not timed), LoRA r={settings.lora_r} alpha={settings.lora_alpha} "
             f"dropout={settings.lora_dropout}, fp32",
             f"{'arm':<11} {'tokens/s':>9} {'tok/cpu-s':>9} {'s/step':>8} {'pad eff':>7} {'peak MiB':>8}"
             f" {'RSS libs':>8} {'loaded':>7} {'high-water':>10}  tokens/s per round"]
    for arm, r in results.items():
        lines.append(f"{arm:<11} {r['tokens_per_s']:>9.1f} {r['tokens_per_cpu_s']:>9.1f} {r['s_per_step']:>8.3f} "
                     f"{r['padding_efficiency']:>7.3f} {r['peak_mib']:>8.0f} {r['rss_start_mib']:>8.0f} "
                     f"{r['rss_loaded_mib']:>7.0f} {r['rss_high_water_mib']:>10.0f}  {r['per_round_tokens_per_s']}")
    lines += [f"{arm:<11} skipped: {why}" for arm, why in skipped.items()]
    cotlit = results.get("cotlit")
    for other, target in (("hand", 0.97), ("hand_same", 1.10), ("cotlit_full", None), ("trl", 1.3)):
        if cotlit and other in results:
            ratio = cotlit["tokens_per_s"] / results[other]["tokens_per_s"]
            cpu_ratio = cotlit["tokens_per_cpu_s"] / results[other]["tokens_per_cpu_s"]
            goal = f" (target >= {target}x: {'met' if ratio >= target else 'MISSED'})" if target else ""
            lines.append(f"ratio cotlit/{other}: {ratio:.2f}x tokens/s{goal}; {cpu_ratio:.2f}x tokens per CPU second"
                         + per_round(cotlit["per_round_tokens_per_s"], results[other]["per_round_tokens_per_s"]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (<= 10 min on a 2-core CPU), one round")
    parser.add_argument("--students", default="smollm2,tiny", help="comma-separated: smollm2, tiny")
    parser.add_argument("--arms", help=f"comma-separated subset of {', '.join(ARMS)} (default: all)")
    parser.add_argument("--rounds", type=int, help="rounds per arm (default: 1 with --quick, else 2)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    if args.device is None:
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.perf_counter()
    arms = [a for a in (args.arms or ",".join(ARMS)).split(",") if a]
    skipped: dict[str, str] = {}
    try:
        import trl  # noqa: F401
    except ImportError:
        if "trl" in arms:
            arms.remove("trl")
            skipped["trl"] = "trl not installed"
    rounds = args.rounds or (1 if args.quick else 2)
    preload(arms)
    facts = common.machine()
    print(f"# bench_train {'--quick ' if args.quick else ''}on {args.device}: {json.dumps(facts)}", flush=True)
    everything: dict[str, Any] = {"machine": facts, "device": args.device, "students": {}}
    for settings in plans(args.quick, [s for s in args.students.split(",") if s]):
        runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
        for round_ in range(rounds):
            for arm in arms if round_ % 2 == 0 else arms[::-1]:
                result = run_arm(arm, settings, args.device)
                runs[arm].append(result)
                print(f"  {settings.student} round {round_ + 1} {arm}: {result['tokens_per_s']:.1f} tokens/s, "
                      f"{result['s_per_step']:.3f} s/step", flush=True)
        pooled = {arm: pool(r) for arm, r in runs.items()}
        data = next((r[0]["data"] for r in runs.values() if r and "data" in r[0]), "")
        print("\n".join(report(settings, pooled, skipped)) + f"\ndata: {data}", flush=True)
        everything["students"][settings.student] = {"settings": asdict(settings), "data": data, "arms": pooled,
                                                    "skipped": skipped}
    everything["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\ntotal {time.perf_counter() - started:.0f} s; load average at the end {everything['load_average_end']}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2) + "\n")


if __name__ == "__main__":
    main()
