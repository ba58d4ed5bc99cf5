"""Any OpenAI-compatible chat-completions server (OpenAI, Gemini's endpoint, vLLM / TGI / llama.cpp servers)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from cotlit.teach.backends.base import Backend, BackendConfig, Completion, Request, Sampling
from cotlit.teach.backends.openai_wire import (
    FATAL_STATUS,
    MalformedReply,
    api_key,
    chat_body,
    error_message,
    fatal_error,
    make_client,
    read_reply,
    redact,
    rejected_setting,
    retryable,
    setting_error,
)
from cotlit.teach.limits import RateLimiter, backoff_delay, retry_after


class OpenAIBackend(Backend):
    """Chat completions through the official ``openai`` client, with bounded concurrency, a request-rate
    limit and retries (exponential backoff with jitter, honouring ``Retry-After``).

    Every reply is read by hand, so no reply shape can crash a run: a malformed one is retried like a 5xx and,
    when retries run out, the item is recorded as failed. The first request is sent alone, so a bad key or a
    setting the model refuses (HTTP 400 for ``max_tokens`` or ``temperature``) stops the run after one request.
    """

    name = "openai"

    def __init__(self, config: BackendConfig, sampling: Sampling, **context: Any) -> None:
        super().__init__(config, sampling, **context)
        import openai

        self._key = api_key(config)
        self._client = make_client(config, self._key, max_retries=0)  # retries are ours: counted per item
        self._errors = openai
        self._limiter = RateLimiter(config.requests_per_minute)
        self._rng = random.Random()
        self._first_done = False

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Completion]]:
        """Send the run's first request alone, then up to ``concurrency`` at once; yield each result as it
        completes.

        A request is sent only once an earlier result has been taken (the runner caches it before asking for
        the next), so at any moment at most ``concurrency`` requests are sent and not yet saved: all a kill can
        cost.
        """
        queue = iter(requests)
        if not self._first_done:
            first = next(queue, None)
            if first is None:
                return
            completion = self._complete(first)
            self._first_done = True
            yield first, completion
        pool = ThreadPoolExecutor(max_workers=max(1, self.config.concurrency), thread_name_prefix="cotlit-teach")
        try:
            running: dict[Future, Request] = {
                pool.submit(self._complete, request): request
                for request in itertools.islice(queue, max(1, self.config.concurrency))
            }
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield running.pop(future), future.result()
                    following = next(queue, None)
                    if following is not None:
                        running[pool.submit(self._complete, following)] = following
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        return [self._complete(request) for request in requests]

    def _complete(self, request: Request) -> Completion:
        """One request with transport retries; a failed completion when retries run out or the status is a
        permanent 4xx; a :class:`~cotlit.errors.CotlitError` when no request of the run can succeed."""
        errors = self._errors
        body = chat_body(self.config, self.sampling, request.messages)
        rest = {name: value for name, value in body.items() if name not in ("model", "messages")}
        retries, started = 0, time.monotonic()
        while True:
            self._limiter.acquire()
            wait = None
            try:
                raw = self._client.chat.completions.with_raw_response.create(
                    model=body["model"], messages=body["messages"], extra_body=rest
                )
                completion = read_reply(_json(raw.text))
                return dataclasses.replace(
                    completion, latency_s=time.monotonic() - started, attempts=retries + 1, retries=retries
                )
            except errors.APIStatusError as err:
                status = err.status_code
                message = redact(error_message(err.body, err.message), self._key)
                if status in FATAL_STATUS:
                    raise fatal_error(self.config, status, type(err).__name__) from None
                if rejected_setting(status, err.body, message):
                    raise setting_error(self.config, status, message[:500]) from None
                reason = f"HTTP {status}"
                if not retryable(status):
                    return self._failed(f"{reason}: {message[:200]}", retries, started)
                wait = retry_after(err.response.headers)
            except errors.APITimeoutError:
                reason = "timeout"
            except errors.APIConnectionError:
                reason = "connection error"
            except errors.APIError as err:  # anything else the client raises about a reply
                reason = f"API error ({type(err).__name__})"
            except MalformedReply as err:
                reason = f"malformed reply ({err})"
            if retries >= self.config.max_retries:
                return self._failed(f"{reason} after {retries + 1} attempts", retries, started)
            time.sleep(backoff_delay(retries, self.config.backoff_s, self.config.backoff_max_s, wait, self._rng))
            retries += 1

    def _failed(self, reason: str, retries: int, started: float) -> Completion:
        return Completion(
            text=None, finish_reason=None, latency_s=time.monotonic() - started, attempts=retries + 1,
            retries=retries, error=reason,
        )

    def close(self) -> None:
        self._client.close()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise MalformedReply("the body is not JSON") from None


BACKEND = OpenAIBackend
