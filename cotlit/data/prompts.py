"""Prompt templates: the one renderer of student prompts, shared by training and evaluation.

The training text is ``prompt + target + end token`` and, by default (``eval_prompt="train"``), the evaluation
prompt is exactly the ``prompt`` part, so what the student is tested on is what it was trained on.
``eval_prompt="paper"`` evaluates with the paper's own evaluation prompts instead, which differ from its training
templates and between its two evaluation scripts: ``Evaluation/reasoning_eval/run_reasoning.py`` (CSQA, OBQA,
StrategyQA) prompts with ``prompt_utils.get_prompt([(q, "")], form)``, and MAmmoTH2's ``math_eval/run_open.py``
(SVAMP, GSM8K, AQuA, MATH, per the paper's README) with ``get_prompt([], form)`` + ``prefix.format(query=q)`` at
0 shots. See :attr:`PromptStyle.paper_eval_form` and :attr:`PromptStyle.paper_math_eval_form`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

from cotlit.errors import CotlitError


EvalPrompt = Literal["train", "paper"]
EVAL_PROMPTS: tuple[str, ...] = ("train", "paper")
PAPER_MATH_TASKS: tuple[str, ...] = ("svamp", "gsm8k", "aqua", "math")
"""Tasks the paper evaluated with MAmmoTH2's ``run_open.py``; the others with its ``run_reasoning.py``."""


class PromptStyle:
    """How a question becomes the text before the student's response, and which token ends the response."""

    name: ClassVar[str]
    end_token: ClassVar[str | None] = None
    """The token that ends a response; None means the tokenizer's EOS token."""
    paper_eval_form: ClassVar[str | None] = None
    """The paper's ``run_reasoning.py`` prompt for students trained with this template (``{question}`` filled in)."""
    paper_math_eval_form: ClassVar[str | None] = None
    """The ``run_open.py`` prompt (0 shots) the paper's README names for the math tasks."""

    def prompt(self, question: str, tokenizer: Any) -> str:
        raise NotImplementedError


class ChatTemplate(PromptStyle):
    """The tokenizer's own chat template (one user turn, then the generation prompt)."""

    name = "chat"

    def prompt(self, question: str, tokenizer: Any) -> str:
        if not getattr(tokenizer, "chat_template", None):
            raise CotlitError(f"template 'chat': the tokenizer has no chat template; choose one of {STYLE_NAMES}")
        messages = [{"role": "user", "content": question}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


class Llama3(PromptStyle):
    """LLaMA-Factory's ``llama3`` template as the paper trained with it: a user turn, no system turn."""

    name = "llama3"
    end_token = "<|eot_id|>"
    paper_eval_form = (
        "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n{question}<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    paper_math_eval_form = paper_eval_form

    def prompt(self, question: str, tokenizer: Any) -> str:
        return (
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
            f"{question}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        )


class Gemma(PromptStyle):
    """LLaMA-Factory's ``gemma`` template: ``<start_of_turn>user`` / ``<start_of_turn>model`` turns."""

    name = "gemma"
    end_token = "<end_of_turn>"
    paper_eval_form = "<start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model\n\n"
    paper_math_eval_form = "\n<start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model\n"

    def prompt(self, question: str, tokenizer: Any) -> str:
        return f"<bos><start_of_turn>user\n{question}<end_of_turn>\n<start_of_turn>model\n"


class Alpaca(PromptStyle):
    """LLaMA-Factory's ``alpaca`` template (the paper's BLOOM students)."""

    name = "alpaca"
    paper_eval_form = (
        "Below is an instruction that describes a task. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{question}\n\n### Response: \n"
    )
    paper_math_eval_form = (
        "Below is an instruction that describes a task. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\n{question}\n\n### Response:"
    )

    def prompt(self, question: str, tokenizer: Any) -> str:
        return (
            "Below is an instruction that describes a task. "
            "Write a response that appropriately completes the request.\n\n"
            f"### Instruction:\n{question}\n\n### Response:\n"
        )


STYLES: dict[str, type[PromptStyle]] = {cls.name: cls for cls in (ChatTemplate, Llama3, Gemma, Alpaca)}
STYLE_NAMES = ", ".join(["auto", *STYLES])


def get_style(template: str, tokenizer: Any) -> PromptStyle:
    """The style called ``template``; ``auto`` picks ``chat`` when the tokenizer has a chat template, else ``alpaca``."""
    if template == "auto":
        template = "chat" if getattr(tokenizer, "chat_template", None) else "alpaca"
    if template not in STYLES:
        raise CotlitError(f"unknown template {template!r}; valid templates: {STYLE_NAMES}")
    return STYLES[template]()


@dataclass(frozen=True)
class RendererSettings:
    """Everything that decides what the student sees; saved with checkpoints and exported adapters."""

    template: str
    """The resolved prompt style name (never ``auto``)."""
    task: str
    end_token: str


class Renderer:
    """Renders questions into prompts and examples into token ids with response-only labels.

    ``eval_prompt="paper"`` renders test prompts as the paper's evaluation did; training is unchanged.
    """

    def __init__(self, tokenizer: Any, template: str, task: str, eval_prompt: EvalPrompt = "train") -> None:
        self.tokenizer = tokenizer
        self.style = get_style(template, tokenizer)
        if eval_prompt not in EVAL_PROMPTS:
            raise CotlitError(f"unknown eval_prompt {eval_prompt!r}; valid: {', '.join(EVAL_PROMPTS)}")
        if eval_prompt == "paper" and self.style.paper_eval_form is None:
            paper = ", ".join(name for name, cls in STYLES.items() if cls.paper_eval_form)
            raise CotlitError(f"eval_prompt 'paper' needs a template the paper evaluated ({paper}), "
                              f"not {self.style.name!r}")
        self.eval_prompt = eval_prompt
        end = self.style.end_token or tokenizer.eos_token
        end_id = tokenizer.convert_tokens_to_ids(end)
        if end_id is None or (end_id == tokenizer.unk_token_id and end != tokenizer.unk_token):
            raise CotlitError(f"template {self.style.name!r} ends responses with {end!r}, unknown to this tokenizer")
        self.end_id: int = end_id
        self.settings = RendererSettings(template=self.style.name, task=task, end_token=end)

    def prompt(self, question: str) -> str:
        return self.style.prompt(question, self.tokenizer)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def eval_prompt_text(self, question: str) -> str:
        """The evaluation prompt: the training prompt, or (``eval_prompt="paper"``) the form of the paper's
        evaluation script for this task: ``run_open.py`` for the math tasks, ``run_reasoning.py`` otherwise."""
        if self.eval_prompt == "train":
            return self.prompt(question)
        math = self.settings.task in PAPER_MATH_TASKS
        form = self.style.paper_math_eval_form if math else self.style.paper_eval_form
        return form.format(question=question)

    def eval_prompt_ids(self, question: str) -> list[int]:
        """Token ids of the evaluation prompt. The paper's forms hold no BOS: vLLM added the tokenizer's special
        tokens when encoding them (``<|begin_of_text|>`` for Llama 3, ``<bos>`` for Gemma, nothing for BLOOM), so
        they are encoded the same way here."""
        if self.eval_prompt == "train":
            return self.encode(self.prompt(question))
        return self.tokenizer(self.eval_prompt_text(question))["input_ids"]

    def stop_token_ids(self) -> list[int]:
        """Token ids that end generation: the response end token and the tokenizer's EOS."""
        return sorted({self.end_id, self.tokenizer.eos_token_id})

    def to_dict(self) -> dict[str, str]:
        return asdict(self.settings)
