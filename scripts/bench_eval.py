"""Evaluation throughput: cotlit's generation backends against each other and a one-prompt-at-a-time loop.

The same student scores the SVAMP test set (``../shared/data/eval/svamp/SVAMP_test_300.json``; the built-in
arithmetic test split when absent) with greedy decoding, the same prompts (cotlit's renderer), stop tokens and
``max_new_tokens``, four ways:

- ``loop``: ``Trainer.predict`` on ``StudentModule`` + the DataModule with ``decoding.backend: loop``, the way
  ``cotlit test`` runs it: prompts sorted by length, batched (``eval_batch_size``), finished rows leave the batch
  at their stop token;
- ``generate``: the same with ``decoding.backend: generate`` (the default): batched ``model.generate`` on the same
  prompts and batch size (finished rows stay in the batch until the slowest ends);
- ``single``: one prompt at a time through ``model.generate``, like the paper's evaluation scripts (with
  ``--quick`` on an evenly spread sample of 8 problems: its rate per example does not depend on the others);
- ``vllm``: vLLM's offline engine on the same token ids (only when vLLM is importable and a GPU is present).

Timing is wall clock around the generation of all examples (model load and tokenisation excluded). The arms'
accuracies are compared and every example whose extracted answer differs is counted: batching changes the
arithmetic (padding, matrix shapes) and can flip a few greedy choices.

    python scripts/bench_eval.py --quick     # a subset (<= 10 min on a 2-core CPU)
    python scripts/bench_eval.py             # all 300 test problems
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as common  # noqa: E402


def run_backend(student: Any, dm: Any, device: str, backend: str,
                max_new_tokens: int) -> tuple[float, list[dict[str, Any]]]:
    """The student's own evaluation path (``predict_step``: generate and score) with generation ``backend``."""
    import lightning as L

    from cotlit.evaluation.decoding import Decoding
    from cotlit.evaluation.evaluator import Evaluator

    student.evaluator = Evaluator(dm.task_spec, dm.renderer.stop_token_ids(),
                                  Decoding(max_new_tokens=max_new_tokens, backend=backend))
    trainer = L.Trainer(accelerator=device, devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, precision="32-true")
    started = time.perf_counter()
    batches = trainer.predict(student, datamodule=dm)
    return time.perf_counter() - started, [row.to_dict() for batch in batches for row in batch]


def run_single(student: Any, dm: Any, device: str, max_new_tokens: int,
               limit: int | None) -> tuple[float, list[dict[str, Any]]]:
    """One prompt at a time; with ``limit``, an evenly spread sample of the test rows (a per-example rate does not
    depend on which other examples are run)."""
    import torch

    model, tokenizer, task = student.model.to(device).eval(), student.tokenizer, dm.task_spec
    stop_ids = dm.renderer.stop_token_ids()
    test_rows = dm.rows["test"]
    if limit is not None and limit < len(test_rows):
        test_rows = [test_rows[i * len(test_rows) // limit] for i in range(limit)]
    rows = []
    started = time.perf_counter()
    for row in test_rows:
        example = dm.examples["test"][row["index"]]
        prompt = torch.tensor([row["input_ids"][: row["prompt_len"]]], device=device)
        with torch.no_grad():
            output = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                    max_new_tokens=max_new_tokens, eos_token_id=stop_ids,
                                    pad_token_id=tokenizer.pad_token_id)
        new = output[0, prompt.shape[1] :].tolist()
        end = next((i for i, token in enumerate(new) if token in stop_ids), len(new))
        text = tokenizer.decode(new[:end], skip_special_tokens=True)
        gold = example.gold if example.gold is not None else example.answer
        score = task.score(text, gold, example.choices)
        rows.append({"index": row["index"], "generated": text, "extracted": score.extracted, "correct": score.correct,
                     "gen_tokens": end})
    return time.perf_counter() - started, rows


def run_vllm(student: Any, dm: Any, max_new_tokens: int) -> tuple[float, list[dict[str, Any]]]:
    from vllm import LLM, SamplingParams

    from cotlit.model.loading import resolve_student

    llm = LLM(model=resolve_student(student.hparams.name_or_path), dtype="float32", seed=0)
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop_token_ids=dm.renderer.stop_token_ids())
    prompts = [{"prompt_token_ids": r["input_ids"][: r["prompt_len"]]} for r in dm.rows["test"]]
    started = time.perf_counter()
    outputs = llm.generate(prompts, params)
    seconds = time.perf_counter() - started
    rows = []
    for row, out in zip(dm.rows["test"], outputs):
        example = dm.examples["test"][row["index"]]
        text = out.outputs[0].text
        gold = example.gold if example.gold is not None else example.answer
        score = dm.task_spec.score(text, gold, example.choices)
        rows.append({"index": row["index"], "generated": text, "extracted": score.extracted, "correct": score.correct,
                     "gen_tokens": len(out.outputs[0].token_ids)})
    return seconds, rows


def summary(seconds: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    return {"n": n, "seconds": seconds, "examples_per_s": n / seconds, "accuracy": sum(r["correct"] for r in rows) / n,
            "mean_gen_tokens": sum(r["gen_tokens"] for r in rows) / n,
            "generated_tokens_per_s": sum(r["gen_tokens"] for r in rows) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="score a subset (--limit) within ~10 min on a 2-core CPU")
    parser.add_argument("--student", default="smollm2", help="smollm2, tiny, or any student name_or_path")
    parser.add_argument("--limit", type=int, help="score the first N test problems (default: 32 with --quick)")
    parser.add_argument("--max-new-tokens", type=int, help="generation budget (default: 96 with --quick, else the "
                        "task's)")
    parser.add_argument("--single-limit", type=int, help="run the one-at-a-time loop on an evenly spread sample of "
                        "this many problems (default: 8 with --quick, else all)")
    parser.add_argument("--batch-size", type=int, default=32, help="cotlit's eval_batch_size")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    import torch

    from cotlit.evaluation.decoding import Decoding
    from cotlit.model.student import StudentModule

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    limit = args.limit or (32 if args.quick else None)
    facts = common.machine()
    print(f"# bench_eval {'--quick ' if args.quick else ''}on {device}: {json.dumps(facts)}", flush=True)
    student = StudentModule(name_or_path=common.student_path(args.student), finetuning="full",
                            decoding=Decoding(max_new_tokens=args.max_new_tokens or (96 if args.quick else None)))
    student.configure_model()
    dm = common.data_module(student.tokenizer, eval_batch_size=args.batch_size, test_size=limit)
    dm.setup("test")
    max_new_tokens = student.hparams.decoding.max_new_tokens or dm.task_spec.max_new_tokens
    print(f"{len(dm.rows['test'])} test problems ({common.data_name(dm)} test set), greedy, max_new_tokens "
          f"{max_new_tokens}, cotlit batch size {args.batch_size}", flush=True)

    results: dict[str, dict[str, Any]] = {}
    predictions: dict[str, list[dict[str, Any]]] = {}
    for backend in ("loop", "generate"):
        seconds, predictions[backend] = run_backend(student, dm, device, backend, max_new_tokens)
        results[backend] = summary(seconds, predictions[backend])
        print(f"  {backend}: {results[backend]['examples_per_s']:.3f} examples/s", flush=True)
    single_limit = args.single_limit or (8 if args.quick else None)
    seconds, predictions["single"] = run_single(student, dm, device, max_new_tokens, single_limit)
    results["single"] = summary(seconds, predictions["single"])
    print(f"  single: {results['single']['examples_per_s']:.3f} examples/s", flush=True)
    try:
        import vllm  # noqa: F401

        skipped = None if device == "cuda" else "vLLM needs a GPU"
    except ImportError:
        skipped = "vllm not installed"
    if skipped is None:
        seconds, predictions["vllm"] = run_vllm(student, dm, max_new_tokens)
        results["vllm"] = summary(seconds, predictions["vllm"])

    print(f"\n{'arm':<8} {'n':>4} {'ex/s':>8} {'seconds':>8} {'accuracy':>9} {'gen tok':>8} {'gen tok/s':>9}")
    for arm, r in results.items():
        print(f"{arm:<8} {r['n']:>4} {r['examples_per_s']:>8.3f} {r['seconds']:>8.1f} {r['accuracy']:>9.4f} "
              f"{r['mean_gen_tokens']:>8.1f} {r['generated_tokens_per_s']:>9.1f}")
    if skipped:
        print(f"vllm     skipped: {skipped}")
    ratio = results["loop"]["examples_per_s"] / results["single"]["examples_per_s"]
    token_ratio = results["loop"]["generated_tokens_per_s"] / results["single"]["generated_tokens_per_s"]
    batched_ratio = results["loop"]["examples_per_s"] / results["generate"]["examples_per_s"]
    print(f"ratio loop/single: {ratio:.2f}x examples/s (target >= 8x: {'met' if ratio >= 8 else 'MISSED'}); "
          f"{token_ratio:.2f}x generated tokens/s (less sensitive to which problems the single arm ran)")
    print(f"ratio loop/generate (same prompts and batch size): {batched_ratio:.2f}x examples/s")
    agreement: dict[str, Any] = {}
    by_index = {arm: {r["index"]: r for r in rows} for arm, rows in predictions.items()}
    for arm in predictions:
        if arm == "loop":
            continue
        pairs = [(by_index["loop"][i], by_index[arm][i]) for i in by_index[arm]]
        differ = sum(a["extracted"] != b["extracted"] for a, b in pairs)
        texts = sum(a["generated"] != b["generated"] for a, b in pairs)
        agreement[arm] = {"answers_differ": differ, "texts_differ": texts, "n": len(pairs)}
        print(f"loop vs {arm}: accuracy {results['loop']['accuracy']:.4f} vs {results[arm]['accuracy']:.4f} "
              f"(on {results[arm]['n']} problems: loop "
              f"{sum(a['correct'] for a, _ in pairs) / len(pairs):.4f}); "
              f"extracted answers differ on {differ} of {len(pairs)}, generated texts on {texts}")
    if args.json:
        args.json.write_text(json.dumps({"machine": facts, "device": device, "n": len(dm.rows["test"]),
                                         "max_new_tokens": max_new_tokens, "batch_size": args.batch_size,
                                         "results": results, "agreement": agreement,
                                         "ratio_loop_single": ratio, "token_ratio_loop_single": token_ratio,
                                         "ratio_loop_generate": batched_ratio},
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
