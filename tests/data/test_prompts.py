"""Golden prompt strings: LLaMA-Factory's training templates and the paper's evaluation prompts, which differ by
script: ``run_reasoning.py`` (commonsense) uses ``get_prompt([(q, "")], form)[0]``, MAmmoTH2's ``run_open.py``
(math) uses ``get_prompt([], form)[0] + get_prompt([], form)[1].format(query=q)`` at 0 shots."""

from __future__ import annotations

import pytest

from cotlit.data.arithmetic import ArithmeticData
from cotlit.data.prompts import Renderer
from cotlit.errors import CotlitError

Q = "What is $\\frac{1}{2}$ of {x}?"
"""A question with braces, as MATH problems have: they must come through untouched."""

TRAIN = {
    "llama3": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n" + Q
              + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "gemma": "<bos><start_of_turn>user\n" + Q + "<end_of_turn>\n<start_of_turn>model\n",
    "alpaca": "Below is an instruction that describes a task. Write a response that appropriately completes the "
              "request.\n\n### Instruction:\n" + Q + "\n\n### Response:\n",
}
PAPER_REASONING_EVAL = {
    "llama3": "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\n" + Q
              + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "gemma": "<start_of_turn>user\n" + Q + "<end_of_turn>\n<start_of_turn>model\n\n",
    "alpaca": "Below is an instruction that describes a task. Write a response that appropriately completes the "
              "request.\n\n### Instruction:\n" + Q + "\n\n### Response: \n",
}
PAPER_MATH_EVAL = {
    "llama3": PAPER_REASONING_EVAL["llama3"],
    "gemma": "\n<start_of_turn>user\n" + Q + "<end_of_turn>\n<start_of_turn>model\n",
    "alpaca": "Below is an instruction that describes a task. Write a response that appropriately completes the "
              "request.\n\n### Instruction:\n" + Q + "\n\n### Response:",
}


@pytest.mark.parametrize("template", sorted(TRAIN))
def test_training_prompts_are_llama_factory_templates(tokenizer, template: str) -> None:
    for eval_prompt in ("train", "paper"):
        assert Renderer(tokenizer, template, "math", eval_prompt).prompt(Q) == TRAIN[template]
    assert Renderer(tokenizer, template, "math").eval_prompt_text(Q) == TRAIN[template]


@pytest.mark.parametrize("template", sorted(PAPER_REASONING_EVAL))
@pytest.mark.parametrize(("task", "forms"), [("strategyqa", PAPER_REASONING_EVAL), ("csqa", PAPER_REASONING_EVAL),
                                             ("math", PAPER_MATH_EVAL), ("svamp", PAPER_MATH_EVAL)])
def test_paper_eval_prompts_are_the_papers_evaluation_scripts(tokenizer, template: str, task: str, forms) -> None:
    renderer = Renderer(tokenizer, template, task, "paper")
    assert renderer.eval_prompt_text(Q) == forms[template]
    assert renderer.eval_prompt_ids(Q) == tokenizer(forms[template])["input_ids"]


def test_paper_eval_prompts_need_a_template_the_paper_used(tokenizer) -> None:
    with pytest.raises(CotlitError, match="eval_prompt 'paper' needs a template the paper evaluated"):
        Renderer(tokenizer, "chat", "svamp", "paper")
    with pytest.raises(CotlitError, match="unknown eval_prompt 'vllm'"):
        Renderer(tokenizer, "alpaca", "svamp", "vllm")


def test_only_test_prompts_change_with_eval_prompt_paper(tokenizer) -> None:
    settings = dict(train_size=6, val_size=2, test_size=3, template="alpaca", tokenizer=tokenizer)
    train_dm, paper_dm = ArithmeticData(**settings), ArithmeticData(**settings, eval_prompt="paper")
    train_dm.setup("fit")
    paper_dm.setup("fit")
    assert [r["input_ids"] for r in paper_dm.rows["train"]] == [r["input_ids"] for r in train_dm.rows["train"]]
    renderer = paper_dm.renderer
    for example, row in zip(paper_dm.examples["test"], paper_dm.rows["test"]):
        question = paper_dm.question_text(example)
        assert row["input_ids"] == renderer.eval_prompt_ids(question) != renderer.encode(renderer.prompt(question))
    assert paper_dm.describe()["eval_prompt"] == "paper"
