from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from cotlit.cli import main as cotlit
from cotlit.errors import CotlitError
from cotlit.sweep.report import ReportOptions, build_report, format_ok_rate
from cotlit.sweep.results import collect, pool
from cotlit.sweep.stats import clopper_pearson, mcnemar_p_value

N = 40


def beta_quantile(q: float, a: float, b: float) -> float:
    """The Beta(a, b) quantile by integrating its density on a fine grid (a, b >= 1: the density is bounded)."""
    x = np.linspace(0.0, 1.0, 1_000_001)
    density = np.exp((a - 1) * np.log(np.maximum(x, 1e-300)) + (b - 1) * np.log(np.maximum(1 - x, 1e-300))
                     + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b))
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(x))])
    return float(np.interp(q, cdf, x))


def vector(k: int) -> list[bool]:
    """k correct of N, correct ones first."""
    return [i < k for i in range(N)]


@pytest.fixture
def runs_dir(tmp_path, make_run):
    root = tmp_path / "runs"
    for student, accs in {"alpha": (20, 30, 10, 24), "beta": (12, 8, 4, 6)}.items():
        for level, k, words in ((1, accs[0], 35.0), (3, accs[1], 50.0)):
            make_run(root, f"{student}-L{level}", student=student, granularity=level, correct=vector(k),
                     cot_words=words, baseline=0.05)
        make_run(root, f"{student}-none", student=student, teacher=None, granularity=None, correct=vector(accs[2]),
                 cot_words=0.0)
        make_run(root, f"{student}-human", student=student, teacher="human", granularity=None,
                 correct=vector(accs[3]), cot_words=10.0)
    make_run(root, "alpha-L3-bsm", student="alpha", granularity=3, fmt="bsm", correct=vector(28), cot_words=83.0)
    make_run(root, "beta-L6-failed", student="beta", granularity=6, correct=vector(40), state="failed")
    return root


def ci_text(k: int, n: int = N) -> str:
    interval = clopper_pearson(k, n)
    return f"{100 * k / n:.1f} [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"


def test_report_tables_csv_and_plots(runs_dir, tmp_path):
    options = ReportOptions(n_boot=500, seed=7)
    written = build_report(runs_dir, tmp_path / "out", options)
    report = (tmp_path / "out" / "report.md").read_text()

    assert "## arithmetic (test), teacher: gpt4o" in report
    assert "| student | L1 plain | L3 plain | L3 bsm |" in report
    alpha = ci_text(30).replace("75.0", "**75.0**")
    assert f"| alpha | {ci_text(20)} | {alpha} | {ci_text(28)} |" in report
    beta = ci_text(12).replace("30.0", "**30.0**")
    assert f"| beta | {beta} | {ci_text(8)} | – |" in report
    assert "| *training CoT words* | 35 | 50 | 83 |" in report
    assert "## arithmetic (test), teacher: human" in report and "| student | human CoT |" in report
    assert "## arithmetic (test), teacher: answer-only" in report and "| student | answer only |" in report
    assert "beta-L6-failed: status.json says failed" in report
    assert "| arithmetic | alpha | 5.0 |" in report  # untrained student

    with (tmp_path / "out" / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 9
    row = next(r for r in rows if r["run_dir"].endswith("alpha-L3"))
    interval = clopper_pearson(30, N)
    assert (float(row["answer_accuracy"]), float(row["ci_low"]), float(row["ci_high"])) == pytest.approx(
        (0.75, interval.low, interval.high), abs=1e-6)
    assert row["teacher"] == "gpt4o" and row["granularity"] == "3" and row["baseline_accuracy"] == "0.05"
    # alpha-L3 is right on the first 30 problems, answer-only on the first 10: 20 discordant, all for L3
    assert float(row["p_vs_answer_only"]) == pytest.approx(mcnemar_p_value(20, 0))
    assert row["format_ok_rate"] == "1.0" and row["scoring"] == "cotlit"

    for kind in ("granularity", "format", "teacher", "length"):
        path = written[f"arithmetic_test_{kind}"]
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
        assert f"(plots/arithmetic_test_{kind}.png)" in report


def test_seeds_are_pooled_per_example(tmp_path, make_run):
    make_run(tmp_path, "s0", seed=0, correct=[True, True, False, False])
    make_run(tmp_path, "s1", seed=1, correct=[True, False, False, False])
    (cell,) = pool(collect(tmp_path).runs)
    assert cell.scores == {"q0": 1.0, "q1": 0.5, "q2": 0.0, "q3": 0.0}
    assert cell.accuracy == 0.375 and cell.seeds == [0, 1]
    # exact Clopper-Pearson at the pooled k = 1.5 of n = 4: Beta(k, n - k + 1) and Beta(k + 1, n - k) quantiles
    assert cell.interval.mean == 0.375
    assert cell.interval.low == pytest.approx(beta_quantile(0.025, 1.5, 3.5), abs=1e-6)
    assert cell.interval.high == pytest.approx(beta_quantile(0.975, 2.5, 2.5), abs=1e-6)


def test_bad_run_files_name_the_problem(tmp_path, make_run):
    run = make_run(tmp_path, "r", correct=[True])
    (run / "predictions.jsonl").write_text('{"id": "q0", "correct": true}\n{"id": "q0", "correct": false}\n')
    with pytest.raises(CotlitError, match=r"predictions.jsonl: line 2: .*field 'id'"):
        collect(tmp_path)
    (run / "predictions.jsonl").write_text('{"id": "q0", "correct": "yes"}\n')
    with pytest.raises(CotlitError, match=r"line 1: field 'correct'"):
        collect(tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["train_cot_words"]
    (run / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(CotlitError, match="metrics.json: field 'train_cot_words': missing"):
        collect(tmp_path)


def test_report_and_recommend_cli(runs_dir, tmp_path, capsys):
    assert cotlit(["report", str(runs_dir), "--out", str(tmp_path / "o"), "--no_plots", "--n_boot", "200"]) == 0
    assert (tmp_path / "o" / "report.md").is_file() and not (tmp_path / "o" / "plots").exists()
    capsys.readouterr()
    assert cotlit(["recommend", str(runs_dir), "--n_boot", "200", "--json"]) == 0
    result = {r["student"]: r for r in json.loads(capsys.readouterr().out)}
    assert result["alpha"]["best"]["granularity"] == 3 and result["alpha"]["best"]["format"] == "plain"
    assert result["alpha"]["runner_up"]["format"] == "bsm"
    assert cotlit(["recommend", str(runs_dir), "--task", "gsm8k"]) == 2
    # per teacher: human (alpha 24/40, beta 6/40) is out, so alpha's best GPT-4o condition is L3 plain again and
    # beta's is L1 (12) over L3 (8); answer-only alone with --teacher none
    assert cotlit(["recommend", str(runs_dir), "--teacher", "gpt4o", "--n_boot", "100", "--json"]) == 0
    result = {r["student"]: r for r in json.loads(capsys.readouterr().out)}
    assert {r["best"]["teacher"] for r in result.values()} | {r["runner_up"]["teacher"] for r in result.values()} == {
        "gpt4o"}
    assert result["beta"]["best"]["granularity"] == 1 and result["beta"]["runner_up"]["granularity"] == 3
    assert cotlit(["recommend", str(runs_dir), "--teacher", "none", "--n_boot", "100", "--json"]) == 0
    assert [r["verdict"] for r in json.loads(capsys.readouterr().out)] == ["only condition"] * 2
    assert cotlit(["recommend", str(runs_dir), "--teacher", "gemini"]) == 2


def _rewrite_predictions(run_dir, generated: list[str], gold: str = "1") -> None:
    """Predictions whose texts score as ``generated`` says under each rule set (SVAMP, gold 1)."""
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    for row, text in zip(rows, generated):
        row["generated"], row["gold"] = text, gold
    (run_dir / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_conditions_table_against_answer_only(tmp_path, make_run):
    root = tmp_path / "runs"
    right, wrong, cotlit_only = "The answer is 1", "The answer is 2", "The answer is 0 + 1 = 1"  # paper reads 0
    answer_only = make_run(root, "none", task="svamp", teacher=None, granularity=None, correct=vector(10),
                           cot_words=0.0)
    _rewrite_predictions(answer_only, [right] * 10 + [wrong] * 30)
    level = make_run(root, "L2", task="svamp", granularity=2, correct=vector(24), cot_words=42.0)
    _rewrite_predictions(level, [right] * 20 + [cotlit_only] * 4 + [wrong] * 16)
    for seed, k in ((0, 0), (1, 8)):  # L5 with two seeds: answer-only ran seed 0 only
        run = make_run(root, f"L5-s{seed}", task="svamp", granularity=5, seed=seed, correct=vector(k), cot_words=90.0)
        _rewrite_predictions(run, [right] * k + [wrong] * (N - k))
    metrics = json.loads((level / "metrics.json").read_text())
    metrics |= {"gen_tokens": 31.5, "gen_truncated": 0.25, "answer_found": 0.75}
    (level / "metrics.json").write_text(json.dumps(metrics))
    new_style = json.loads((root / "L5-s1" / "metrics.json").read_text())
    new_style["format_ok_rate"] = new_style.pop("answer_found") / 2  # metrics.json as written from cotlit 0.2
    (root / "L5-s1" / "metrics.json").write_text(json.dumps(new_style))

    build_report(root, tmp_path / "out", ReportOptions(n_boot=300, seed=1, plots=False))
    report = (tmp_path / "out" / "report.md").read_text()

    assert "### svamp (test), tiny" in report
    assert ("| condition | seeds | n | accuracy % [95% CI] | paper rules % | Δ vs answer-only [95% CI] | p | tokens "
            "| truncated % | format ok % | training CoT words |") in report
    lines = [line for line in report.splitlines() if line.startswith("| answer-only |") or line.startswith("| gpt4o")]
    assert lines[0] == f"| answer-only | 0 | 40 | {ci_text(10)} | 25.0 | – | – | 20.0 | 0.0 | 100.0 | 0 |"
    l2 = lines[1]
    assert l2.startswith(f"| gpt4o L2 | 0 | 40 | {ci_text(24)} | 50.0 | +35.0 [") and l2.count("|") == 12
    assert f"| {mcnemar_p_value(14, 0):.1e} (14:0) | 31.5 | 25.0 | 75.0 | 42 |" in l2  # 1.2e-04
    # L5: seeds 0 (0%) and 1 (20%) pooled; compared with answer-only on seed 0 alone (0 vs 10 right)
    l5 = lines[2]
    assert l5.startswith(f"| gpt4o L5 | 0: 0.0, 1: 20.0 | 40 | {ci_text(4)} | 10.0 | -25.0 [")
    assert f"| 0.002 (0:10) |" in l5
    with (tmp_path / "out" / "results.csv").open() as handle:
        rows = {row["run_dir"].rsplit("/", 1)[1]: row for row in csv.DictReader(handle)}
    assert float(rows["L5-s0"]["ci_high"]) == pytest.approx(clopper_pearson(0, N).high, abs=1e-6)  # not [0, 0]
    assert rows["L5-s0"]["p_vs_answer_only"] == str(mcnemar_p_value(0, 10)) and rows["L5-s1"]["p_vs_answer_only"] == ""
    assert (rows["L2"]["paper_accuracy"], rows["L2"]["format_ok_rate"]) == ("0.5", "0.75")
    assert rows["L5-s1"]["format_ok_rate"] == "0.5" and "| 75.0 | 90 |" in l5  # old and new key, averaged


def test_seed_against_seed_table(tmp_path, make_run):
    root = tmp_path / "runs"
    # seed 0 right on problems 0-9, seed 1 on problems 4-19: 4 only seed 0, 10 only seed 1 got right
    make_run(root, "L2-s0", granularity=2, seed=0, correct=vector(10))
    make_run(root, "L2-s1", granularity=2, seed=1, correct=[4 <= i < 20 for i in range(N)])
    make_run(root, "L3-s0", granularity=3, seed=0, correct=vector(30))  # one seed: no row
    build_report(root, tmp_path / "out", ReportOptions(n_boot=400, seed=3, plots=False))
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Seed against seed" in report
    (row,) = [line for line in report.splitlines() if line.startswith("| tiny | gpt4o L")]
    assert row.startswith("| tiny | gpt4o L2 | 1 vs 0 | 40.0 vs 25.0 | +15.0 [")
    assert row.endswith(f"| {mcnemar_p_value(10, 4):.3f} (10:4) |")  # 0.180
    low, high = (float(x) for x in row.split("[")[1].split("]")[0].split(", "))
    assert -15 < low < 15 < high < 40


def test_no_seed_table_with_one_seed_each(runs_dir, tmp_path):
    build_report(runs_dir, tmp_path / "out", ReportOptions(n_boot=100, plots=False))
    assert "Seed against seed" not in (tmp_path / "out" / "report.md").read_text()


def test_format_ok_rate_accepts_old_and_new_names():
    assert format_ok_rate({"answer_found": 0.5}) == 0.5
    assert format_ok_rate({"format_ok_rate": 0.25}) == 0.25
    assert format_ok_rate({}) is None
