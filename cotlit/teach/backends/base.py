"""The teacher-backend interface: requests in, completions out, as each one finishes."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from cotlit.errors import CotlitError


@dataclass(frozen=True)
class Sampling:
    """Decoding settings sent with every request (part of the cache key)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    """Most new tokens per completion; a completion that hits it is *cut off* and retried."""
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BackendConfig:
    """Which teacher to call and how; fields a backend does not use are ignored by it."""

    name: str = "openai"
    """``openai`` (any OpenAI-compatible server), ``transformers``, ``vllm`` or ``program``."""
    model: str = ""
    """Model id sent to the server, or a local model (hub id, folder, or what the model loader resolves)."""
    base_url: str | None = None
    """OpenAI-compatible endpoint, e.g. ``http://localhost:8000/v1``; None = OpenAI's default."""
    api_key_env: str | None = None
    """*Name* of the environment variable that holds the API key (the key itself is never configured)."""
    timeout_s: float = 60.0
    """Per-request timeout (openai)."""
    max_retries: int = 6
    """Retries of one request after 429, 5xx, timeouts, connection errors or malformed responses (openai)."""
    backoff_s: float = 1.0
    """First retry delay; doubles per retry, with jitter, capped by ``backoff_max_s`` (Retry-After wins)."""
    backoff_max_s: float = 60.0
    concurrency: int = 8
    """Requests in flight at once (openai)."""
    requests_per_minute: float | None = None
    """Client-side request-rate limit (openai); None = unlimited."""
    batch_size: int = 8
    """Prompts per generation batch (transformers, vllm, program)."""
    device: str | None = None
    """Torch device for ``transformers`` (None = cuda when available, else cpu)."""
    dtype: str | None = None
    """Torch dtype name for ``transformers`` (``bfloat16``, ``float32``...); None = the model's default."""
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


class Backend(ABC):
    """A teacher: completes chat requests, yielding each result as soon as it is done."""

    name: ClassVar[str]

    def __init__(self, config: BackendConfig, sampling: Sampling) -> None:
        self.config, self.sampling = config, sampling

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
    "transformers": "cotlit.teach.backends.transformers_backend",
    "vllm": "cotlit.teach.backends.vllm_backend",
    "program": "cotlit.teach.backends.program_backend",
}
"""Backend name -> module; a module is imported only when its backend is chosen."""


def make_backend(config: BackendConfig, sampling: Sampling) -> Backend:
    """Build the backend ``config.name`` (imports its module only now)."""
    if config.name not in BACKENDS:
        raise CotlitError(f"unknown backend {config.name!r}; valid: {', '.join(BACKENDS)}", field="backend.name")
    module = importlib.import_module(BACKENDS[config.name])
    return module.BACKEND(config, sampling)
