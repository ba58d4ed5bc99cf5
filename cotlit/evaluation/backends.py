"""Generation backends behind one small interface: prompts in (left-padded token ids), :class:`Generation` out.

- ``loop``: cotlit's batched greedy loop (:func:`~cotlit.evaluation.generation.generate_batch`);
- ``generate``: batched ``model.generate`` with left padding (greedy or beam search);
- ``vllm``: vLLM's offline engine on the same token ids (test and predict on GPUs; ``pip install cotlit[vllm]``).

Every backend ends a row at the renderer's stop tokens and at the decoding's stop strings, and counts and cuts
the same way (:func:`~cotlit.evaluation.generation.finish`), so they give the same ``PredictionRow`` fields.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Sequence
from typing import Any, Protocol

import torch

from cotlit.errors import CotlitError
from cotlit.evaluation.decoding import GenerationSettings
from cotlit.evaluation.generation import Generation, StopStrings, finish, generate_batch


class GenerationBackend(Protocol):
    """Generates one response per prompt row of a left-padded batch."""

    def generate(self, model: Any, tokenizer: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 settings: GenerationSettings, stop_ids: Sequence[int]) -> list[Generation]: ...

    def release(self) -> None:
        """Free what was built for the current weights (they may change before the next evaluation)."""


class LoopBackend:
    """cotlit's greedy loop: a row leaves the batch at its stop, so finished rows cost nothing."""

    def generate(self, model: Any, tokenizer: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 settings: GenerationSettings, stop_ids: Sequence[int]) -> list[Generation]:
        if settings.num_beams != 1:
            raise CotlitError(f"the loop backend decodes greedily; num_beams={settings.num_beams} needs the "
                              "generate or vllm backend")
        return generate_batch(model, tokenizer, input_ids, attention_mask, max_new_tokens=settings.max_new_tokens,
                              stop_ids=stop_ids, stop_strings=settings.stop_strings)

    def release(self) -> None:
        pass


class GenerateBackend:
    """Batched ``model.generate`` (left padding), greedy or beam search, stop strings passed to it and re-checked."""

    @torch.no_grad()
    def generate(self, model: Any, tokenizer: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 settings: GenerationSettings, stop_ids: Sequence[int]) -> list[Generation]:
        stops = StopStrings(tokenizer, settings.stop_strings)
        extra = {"stop_strings": list(stops.strings), "tokenizer": tokenizer} if stops else {}
        output = model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                max_new_tokens=settings.max_new_tokens, do_sample=False,
                                num_beams=settings.num_beams, eos_token_id=list(stop_ids),
                                pad_token_id=tokenizer.pad_token_id, **extra)
        new = output[:, input_ids.shape[1] :].tolist()
        return [finish(row, tokenizer, stop_ids, stops) for row in new]

    def release(self) -> None:
        pass


class VLLMBackend:
    """vLLM's offline engine, built on the student's current weights (LoRA merged into a copy) per evaluation."""

    gpu_memory_utilization = 0.5
    """Share of GPU memory vLLM may take; the student being trained holds its own copy beside it."""

    def __init__(self) -> None:
        self._engine: Any = None
        self._folder: tempfile.TemporaryDirectory | None = None

    def generate(self, model: Any, tokenizer: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 settings: GenerationSettings, stop_ids: Sequence[int]) -> list[Generation]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import BeamSearchParams

        engine = self._engine_for(model, tokenizer)
        prompts = [TokensPrompt(prompt_token_ids=row[mask.bool()].tolist())
                   for row, mask in zip(input_ids.cpu(), attention_mask.cpu())]
        stops = StopStrings(tokenizer, settings.stop_strings)
        if settings.num_beams == 1:
            params = SamplingParams(temperature=0.0, max_tokens=settings.max_new_tokens,
                                    stop=list(stops.strings) or None, stop_token_ids=list(stop_ids))
            outputs = engine.generate(prompts, params, use_tqdm=False)
            sequences = [list(out.outputs[0].token_ids) for out in outputs]
        else:
            params = BeamSearchParams(beam_width=settings.num_beams, max_tokens=settings.max_new_tokens)
            outputs = engine.beam_search(prompts, params)
            sequences = [list(out.sequences[0].tokens[len(prompt["prompt_token_ids"]) :])
                         for out, prompt in zip(outputs, prompts)]
        return [finish(tokens, tokenizer, stop_ids, stops) for tokens in sequences]

    def _engine_for(self, model: Any, tokenizer: Any) -> Any:
        if self._engine is None:
            if torch.distributed.is_available() and torch.distributed.is_initialized() \
                    and torch.distributed.get_world_size() > 1:
                raise CotlitError("decoding.backend: vllm runs in one process: test or predict with "
                                  "trainer.devices=1 and a large data.eval_batch_size (vLLM schedules each "
                                  "batch itself)")
            try:
                from vllm import LLM
            except ImportError as err:
                raise CotlitError("decoding.backend: vllm needs vLLM (`pip install cotlit[vllm]`) and a GPU") from err
            self._folder = tempfile.TemporaryDirectory(prefix="cotlit-vllm-")
            weights = copy.deepcopy(model).cpu()
            if hasattr(weights, "merge_and_unload"):  # a PEFT model: vLLM loads plain weights
                weights = weights.merge_and_unload()
            weights.save_pretrained(self._folder.name)
            tokenizer.save_pretrained(self._folder.name)
            dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
            self._engine = LLM(model=self._folder.name, dtype=dtype, seed=0,
                               gpu_memory_utilization=self.gpu_memory_utilization)
        return self._engine

    def release(self) -> None:
        self._engine = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


BACKEND_TYPES: dict[str, type] = {"loop": LoopBackend, "generate": GenerateBackend, "vllm": VLLMBackend}


def make_backend(name: str) -> GenerationBackend:
    """A new backend called ``name`` (``loop``, ``generate`` or ``vllm``)."""
    try:
        return BACKEND_TYPES[name]()
    except KeyError:
        raise CotlitError(f"unknown generation backend {name!r}; valid backends: {', '.join(BACKEND_TYPES)}") from None
