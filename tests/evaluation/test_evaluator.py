"""The evaluator end to end with a stub generation backend whose answers are right for a known subset: exact
accuracy, per-row correctness in predictions.jsonl, and a student driven by a plain DataLoader."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from cotlit.cli import main
from cotlit.core import PredictionRow, RunMetrics
from cotlit.data.arithmetic import ArithmeticData
from cotlit.data.prompts import Renderer
from cotlit.errors import CotlitError
from cotlit.evaluation import backends
from cotlit.evaluation.decoding import Decoding, GenerationSettings
from cotlit.evaluation.generation import Generation
from cotlit.model.student import StudentModule

TEST_SIZE = 7


def arithmetic_test_examples() -> list:
    """The arithmetic test examples the CLI tests on (same seed and sizes as the command line below)."""
    dm = ArithmeticData(granularity=1, train_size=8, val_size=4, test_size=TEST_SIZE)
    return dm._split_examples()["test"]


class KnownAnswers:
    """A generation backend that answers the questions in ``right`` correctly and every other one wrongly."""

    def __init__(self, answers: dict[str, str], right: set[str]) -> None:
        self.answers, self.right = answers, right

    def generate(self, model, tokenizer, input_ids, attention_mask, settings: GenerationSettings, stop_ids):
        out = []
        for row, mask in zip(input_ids, attention_mask):
            prompt = tokenizer.decode(row[mask.bool()], skip_special_tokens=True)
            (question,) = [q for q in self.answers if q in prompt]
            answer = self.answers[question] if question in self.right else "123456789"
            text = f"Some steps. The answer is {answer}." if len(question) % 2 else f"so {answer}"
            out.append(Generation(text=text, tokens=len(text.split()), truncated=False))
        return out

    def release(self) -> None:
        pass


@pytest.fixture
def known(monkeypatch):
    """The stub in place of the default backend, right on the examples at even positions of the test split."""
    examples = arithmetic_test_examples()
    right = {ex.question for i, ex in enumerate(examples) if i % 2 == 0}
    stub = KnownAnswers({ex.question: ex.gold for ex in examples}, right)
    monkeypatch.setitem(backends.BACKEND_TYPES, "loop", lambda: stub)
    return examples, right


def test_cli_test_scores_exactly_the_known_subset(tiny_llama, tmp_path, known):
    examples, right = known
    run = tmp_path / "run"
    assert main(["test", f"--run_dir={run}", "--trainer.accelerator=cpu", "--trainer.devices=1",
                 "--trainer.enable_progress_bar=false", "--model=cotlit.model.student.StudentModule",
                 f"--model.name_or_path={tiny_llama}", "--data=cotlit.data.arithmetic.ArithmeticData",
                 "--data.granularity=1", "--data.train_size=8", "--data.val_size=4", f"--data.test_size={TEST_SIZE}",
                 "--data.eval_batch_size=3"]) == 0
    rows = [PredictionRow.from_dict(json.loads(line)) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert [row.id for row in rows] == [ex.id for ex in examples]  # dataset order, one row each
    assert {row.id: row.correct for row in rows} == {ex.id: ex.question in right for ex in examples}
    assert {row.id: row.format_ok for row in rows} == {ex.id: len(ex.question) % 2 == 1 for ex in examples}
    metrics = RunMetrics.from_dict(json.loads((run / "metrics.json").read_text()))
    assert metrics.scores.n == TEST_SIZE and metrics.scores.answer_accuracy == 4 / 7  # positions 0, 2, 4, 6
    assert metrics.scores.format_ok_rate == sum(len(ex.question) % 2 for ex in examples) / TEST_SIZE
    assert metrics.task == "arithmetic" and metrics.scoring == "cotlit" and metrics.decoding["max_new_tokens"] == 768


def plain_loader(tokenizer, examples, batch_size: int) -> DataLoader:
    """Prompt batches built here, without any cotlit DataModule."""
    renderer = Renderer(tokenizer, "auto", "arithmetic")
    prompts = [renderer.encode(renderer.prompt(ex.question)) for ex in examples]

    def collate(indices: list[int]) -> dict:
        width = max(len(prompts[i]) for i in indices)
        ids = torch.full((len(indices), width), tokenizer.pad_token_id)
        mask = torch.zeros((len(indices), width), dtype=torch.long)
        for row, i in enumerate(indices):
            ids[row, width - len(prompts[i]) :] = torch.tensor(prompts[i])
            mask[row, width - len(prompts[i]) :] = 1
        return {"prompt_input_ids": ids, "prompt_attention_mask": mask, "index": torch.tensor(indices),
                "ids": [examples[i].id for i in indices], "questions": [examples[i].question for i in indices],
                "golds": [examples[i].gold for i in indices], "choices": [None] * len(indices)}

    return DataLoader(list(range(len(examples))), batch_size=batch_size, collate_fn=collate)


def test_student_tests_and_predicts_from_a_plain_dataloader(tiny_llama, known):
    examples, right = known
    student = StudentModule(name_or_path=tiny_llama, task="arithmetic", decoding=Decoding(max_new_tokens=8))
    loader = plain_loader(student.tokenizer, examples, batch_size=3)
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False)
    (logged,) = trainer.test(student, dataloaders=loader, verbose=False)
    assert logged["test/answer_accuracy"] == pytest.approx(4 / 7) and logged["test/format_ok_rate"] < 1
    rows = [row for batch in trainer.predict(student, dataloaders=loader) for row in batch]
    assert [row.correct for row in rows] == [ex.question in right for ex in examples]
    assert [row.gold for row in rows] == [ex.gold for ex in examples]


def test_paper_scoring_takes_the_tasks_paper_decoding(tiny_llama):
    student = StudentModule(name_or_path=tiny_llama, task="csqa", scoring="paper")
    assert student.evaluator.task.paper_compat
    settings = student.evaluator.settings
    assert (settings.max_new_tokens, settings.num_beams, settings.backend) == (640, 5, "generate")
    assert "### Instruction:" in settings.stop_strings
    explicit = StudentModule(name_or_path=tiny_llama, task="gsm8k", scoring="paper",
                             decoding=Decoding(max_new_tokens=99, num_beams=2, stop_strings=["Q:"]))
    assert explicit.evaluator.settings == GenerationSettings(99, 2, ("Q:",), "generate")
    assert StudentModule(name_or_path=tiny_llama, task="gsm8k").evaluator.settings == GenerationSettings(
        512, 1, (), "loop")  # greedy decodes on the loop unless a backend is named
    with pytest.raises(CotlitError, match=r"loop decodes greedily; num_beams=5 \(the task's paper beam width"):
        StudentModule(name_or_path=tiny_llama, task="csqa", scoring="paper", decoding=Decoding(backend="loop"))
    # the math tasks were decoded greedily by the paper (MAmmoTH2 run_open.py), without the `####` stop
    math = StudentModule(name_or_path=tiny_llama, task="gsm8k", scoring="paper").evaluator.settings
    assert (math.max_new_tokens, math.num_beams) == (1024, 1) and "####" not in math.stop_strings
    assert "####" in settings.stop_strings
    greedy = StudentModule(name_or_path=tiny_llama, task="csqa", scoring="paper", decoding=Decoding(num_beams=1))
    assert greedy.evaluator.settings.num_beams == 1


def test_the_old_max_new_tokens_key_still_works_with_a_deprecation_warning(tiny_llama):
    with pytest.deprecated_call(match="decoding.max_new_tokens"):
        student = StudentModule(name_or_path=tiny_llama, task="arithmetic", max_new_tokens=7)
    assert student.evaluator.settings.max_new_tokens == 7 and student.hparams.decoding.max_new_tokens == 7
    assert "max_new_tokens" not in student.hparams
    with pytest.deprecated_call():
        both = StudentModule(name_or_path=tiny_llama, task="arithmetic", max_new_tokens=7,
                             decoding=Decoding(max_new_tokens=9))
    assert both.evaluator.settings.max_new_tokens == 9


def test_a_fit_without_a_budget_fails_clearly(tiny_llama, tmp_path, capsys):
    args = ["fit", f"--run_dir={tmp_path / 'run'}", "--trainer.max_epochs=null", "--model.name_or_path=x",
            "--data=cotlit.data.arithmetic.ArithmeticData"]
    assert main(args) == 2
    assert "set trainer.max_epochs or trainer.max_steps" in capsys.readouterr().err
    assert not Path(tmp_path / "run" / "checkpoints").exists()
