"""Any OpenAI-compatible chat-completions server (OpenAI, Gemini's endpoint, vLLM / TGI / llama.cpp servers)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from cotlit.errors import CotlitError
from cotlit.teach.backends.base import Backend, BackendConfig, Completion, Request, Sampling
from cotlit.teach.limits import RateLimiter, backoff_delay, parse_retry_after

FATAL_STATUS = (401, 403, 404)
"""Statuses that no retry can fix and that hold for every request: the run stops with a clear error."""


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


class OpenAIBackend(Backend):
    """Chat completions through the official ``openai`` client, with bounded concurrency, a request-rate
    limit and retries (exponential backoff with jitter, honouring ``Retry-After``)."""

    name = "openai"

    def __init__(self, config: BackendConfig, sampling: Sampling) -> None:
        super().__init__(config, sampling)
        import openai

        if not config.model:
            raise CotlitError("the openai backend needs a model name", field="backend.model")
        if config.api_key_env:
            self._key = os.environ.get(config.api_key_env)
            if not self._key:
                raise CotlitError(
                    f"environment variable {config.api_key_env} (named by backend.api_key_env) is not set",
                    field="backend.api_key_env",
                )
        else:
            self._key = "EMPTY"  # local servers (vLLM, llama.cpp) accept any key
        self._openai = openai
        self._client = openai.OpenAI(
            api_key=self._key, base_url=config.base_url, timeout=config.timeout_s, max_retries=0
        )
        self._limiter = RateLimiter(config.requests_per_minute)
        self._rng = random.Random()

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Completion]]:
        """Send up to ``concurrency`` requests at once; yield each result as it completes."""
        if not requests:
            return
        pool = ThreadPoolExecutor(max_workers=max(1, self.config.concurrency), thread_name_prefix="cotlit-teach")
        try:
            futures = {pool.submit(self._complete, request): request for request in requests}
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        return [self._complete(request) for request in requests]

    def _complete(self, request: Request) -> Completion:
        """One request with transport retries; returns a failed completion when retries run out."""
        errors = self._openai
        retries, started = 0, time.monotonic()
        while True:
            self._limiter.acquire()
            retry_after = None
            try:
                response = self._client.chat.completions.create(
                    model=self.config.model,
                    messages=list(request.messages),
                    temperature=self.sampling.temperature,
                    top_p=self.sampling.top_p,
                    max_tokens=self.sampling.max_tokens,
                    **({"seed": self.sampling.seed} if self.sampling.seed is not None else {}),
                    **self.config.extra,
                )
                return self._completion(response, retries, started)
            except errors.APIStatusError as err:
                status = err.status_code
                if status in FATAL_STATUS:
                    raise CotlitError(
                        f"the server at {self.config.base_url or 'api.openai.com'} refused the request with HTTP "
                        f"{status} ({type(err).__name__}); check backend.model, backend.base_url and the key in "
                        f"${self.config.api_key_env}",
                        field="backend",
                    ) from None
                reason = f"HTTP {status}"
                if status != 429 and status < 500:
                    return self._failed(f"{reason}: {_redact(err.message, self._key)[:200]}", retries, started)
                retry_after = parse_retry_after(err.response.headers.get("retry-after"))
            except errors.APITimeoutError:
                reason = "timeout"
            except errors.APIConnectionError:
                reason = "connection error"
            except (errors.APIResponseValidationError, ValueError, KeyError, TypeError, AttributeError) as err:
                reason = f"malformed response ({type(err).__name__})"
            if retries >= self.config.max_retries:
                return self._failed(f"{reason} after {retries + 1} attempts", retries, started)
            time.sleep(backoff_delay(retries, self.config.backoff_s, self.config.backoff_max_s, retry_after, self._rng))
            retries += 1

    def _completion(self, response, retries: int, started: float) -> Completion:
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_s=time.monotonic() - started,
            attempts=retries + 1,
            retries=retries,
        )

    def _failed(self, reason: str, retries: int, started: float) -> Completion:
        return Completion(
            text=None, finish_reason=None, latency_s=time.monotonic() - started, attempts=retries + 1,
            retries=retries, error=reason,
        )

    def close(self) -> None:
        self._client.close()


BACKEND = OpenAIBackend
