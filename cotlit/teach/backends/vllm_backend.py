"""Offline batched generation with vLLM (GPU machines); imported only when this backend is chosen."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from cotlit.errors import CotlitError
from cotlit.teach.backends.base import Backend, BackendConfig, Completion, Request, Sampling


class VLLMBackend(Backend):
    """``vllm.LLM.chat`` over batches of requests; ``backend.extra`` goes to ``vllm.LLM``."""

    name = "vllm"

    def __init__(self, config: BackendConfig, sampling: Sampling, **context: Any) -> None:
        super().__init__(config, sampling, **context)
        try:
            import vllm
        except ImportError:
            message = "the vllm backend needs the `vllm` package (pip install vllm)"
            raise CotlitError(message, field="backend.name") from None
        self._llm = vllm.LLM(model=config.model, dtype=config.dtype, **config.extra)
        settings = {"temperature": sampling.temperature, "top_p": sampling.top_p, "seed": sampling.seed}
        self._params = vllm.SamplingParams(
            max_tokens=sampling.max_tokens, **{name: value for name, value in settings.items() if value is not None}
        )

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        started = time.monotonic()
        outputs = self._llm.chat([list(r.messages) for r in requests], self._params, use_tqdm=False)
        latency = (time.monotonic() - started) / len(requests)
        return [
            Completion(
                text=out.outputs[0].text,
                finish_reason=out.outputs[0].finish_reason,
                prompt_tokens=len(out.prompt_token_ids or ()),
                completion_tokens=len(out.outputs[0].token_ids),
                latency_s=latency,
            )
            for out in outputs
        ]


BACKEND = VLLMBackend
