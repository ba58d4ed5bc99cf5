"""The teacher-backend interface: requests in, completions out, as each one finishes."""

from __future__ import annotations

import importlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TextIO

from cotlit.errors import CotlitError


@dataclass(frozen=True)
class Sampling:
    """Decoding settings sent with every request (part of the cache key)."""

    temperature: float | None = 0.0
    """Sampling temperature (0 = greedy); null sends none, for models that accept no temperature (o-series:
    the server's default applies; transformers: the model's generation config)."""
    top_p: float | None = 1.0
    """Nucleus-sampling mass; null sends none (reasoning models reject it like ``temperature``)."""
    max_tokens: int = 512
    """Most new tokens per completion; a completion that hits it is *cut off* and retried. Sent as
    ``max_tokens`` or ``max_completion_tokens`` (``backend.token_param``); reasoning tokens count against it."""
    seed: int | None = None
    """Sampling seed sent with every request (servers that support it); null sends none."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BackendConfig:
    """Which teacher to call and how; fields a backend does not use are ignored by it."""

    name: Literal["openai", "openai_batch", "transformers", "vllm", "program"] = "openai"
    """``openai``: any OpenAI-compatible chat-completions server; ``openai_batch``: OpenAI's Batch API (half the
    price, results within 24 h, resumable by batch id); ``transformers`` or ``vllm``: a local model; ``program``:
    the exact teacher of the arithmetic task."""
    model: str = ""
    """Model id sent to the server, or a local model (hub id, folder, or what the model loader resolves)."""
    base_url: str | None = None
    """OpenAI-compatible endpoint, e.g. ``http://localhost:8000/v1``; None = OpenAI's default."""
    api_key_env: str | None = None
    """*Name* of the environment variable that holds the API key (the key itself is never configured)."""
    timeout_s: float = 60.0
    """Per-request timeout in seconds (openai, openai_batch)."""
    max_retries: int = 6
    """Retries of one request after HTTP 408/409/425/429/5xx, timeouts, connection errors or malformed replies
    (openai, openai_batch); then the item is recorded as failed (``retry_failed`` sends it again)."""
    backoff_s: float = 1.0
    """First retry delay; doubles per retry, with jitter, capped by ``backoff_max_s`` (Retry-After wins)."""
    backoff_max_s: float = 60.0
    """Longest wait between two retries, in seconds (also caps a server's Retry-After)."""
    token_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    """How ``sampling.max_tokens`` is sent (openai, openai_batch): ``max_completion_tokens`` is what OpenAI's
    reasoning models require; ``auto`` = ``max_completion_tokens`` for o-series and gpt-5 model names, else
    ``max_tokens`` (what most OpenAI-compatible servers read)."""
    poll_s: float = 30.0
    """Seconds between two status checks of a submitted batch (openai_batch)."""
    concurrency: int = 8
    """Requests in flight at once (openai)."""
    requests_per_minute: float | None = None
    """Client-side request-rate limit (openai); None = unlimited."""
    batch_size: int = 8
    """Prompts per generation batch (transformers, vllm, program)."""
    device: str | None = None
    """Torch device for ``transformers`` (None = cuda when available, else cpu)."""
    dtype: str = "auto"
    """Weights dtype for ``transformers`` and ``vllm``: ``auto`` = the dtype the model was saved in (float32 when
    its config names none), or ``bfloat16``, ``float16``, ``float32``."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for the backend's client or engine (e.g. vLLM ``tensor_parallel_size``)."""


@dataclass(frozen=True)
class Request:
    """One prompt to complete, and what it is for."""

    key: str
    """Cache key: a hash of (backend, model, prompt, sampling)."""
    prompt_hash: str
    messages: tuple[dict[str, str], ...]
    level: int
    format: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """The question's metadata (the ``program`` backend reads ``meta["problem"]``)."""


@dataclass(frozen=True)
class Completion:
    """What a backend returned for one request (after its own transport retries)."""

    text: str | None
    finish_reason: str | None = "stop"
    """``stop``, or ``length`` when the completion hit ``max_tokens``."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    attempts: int = 1
    """Requests sent, transport retries included."""
    retries: int = 0
    """Transport retries (429, 5xx, timeouts...)."""
    error: str | None = None
    """Why no text came back after all retries (never contains the API key)."""
    reasoning: str | None = None
    """The model's separate reasoning text (``reasoning_content`` of DeepSeek-R1-style servers), if any."""


class Backend(ABC):
    """A teacher: completes chat requests, yielding each result as soon as it is done."""

    name: ClassVar[str]

    def __init__(
        self, config: BackendConfig, sampling: Sampling, *, state_path: Path | None = None, log: TextIO | None = None
    ) -> None:
        """``state_path``: a file for the backend's own resumable state (the Batch API's batch ids); ``log``: where
        it reports progress that the runner cannot see (batch status; None = stderr)."""
        self.config, self.sampling, self.state_path = config, sampling, state_path
        self.log = log or sys.stderr

    @property
    def model_id(self) -> str:
        """The model name recorded in the cache key and provenance."""
        return self.config.model

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Completion]]:
        """Complete ``requests``; the default runs them in batches of ``config.batch_size``."""
        size = max(1, self.config.batch_size)
        for start in range(0, len(requests), size):
            chunk = requests[start : start + size]
            yield from zip(chunk, self.generate_batch(chunk))

    @abstractmethod
    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Complete one batch of requests, in order."""

    def close(self) -> None:
        """Release clients or engines."""


BACKENDS: dict[str, str] = {
    "openai": "cotlit.teach.backends.openai_backend",
    "openai_batch": "cotlit.teach.backends.openai_batch",
    "transformers": "cotlit.teach.backends.transformers_backend",
    "vllm": "cotlit.teach.backends.vllm_backend",
    "program": "cotlit.teach.backends.program_backend",
}
"""Backend name -> module; a module is imported only when its backend is chosen."""


def make_backend(
    config: BackendConfig, sampling: Sampling, *, state_path: Path | None = None, log: TextIO | None = None
) -> Backend:
    """Build the backend ``config.name`` (imports its module only now); it checks its credentials at once."""
    if config.name not in BACKENDS:
        raise CotlitError(f"unknown backend {config.name!r}; valid: {', '.join(BACKENDS)}", field="backend.name")
    module = importlib.import_module(BACKENDS[config.name])
    return module.BACKEND(config, sampling, state_path=state_path, log=log)
