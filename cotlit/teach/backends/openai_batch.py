"""OpenAI's Batch API: the requests go up as one JSON Lines file, one batch is created and polled, and its output
file is mapped back to the requests by ``custom_id``. Half the price of live requests; results come within 24 h.

Each submitted batch id is appended to the state file (``<cache>.batches.jsonl``) at once, so a run killed while
it waits resumes by polling the same batch instead of paying for a new one. A batch's ids are marked closed only
after every result in it has reached the cache.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cotlit.errors import CotlitError
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
    setting_error,
)
from cotlit.teach.cache import TeachCache

ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000
"""OpenAI's limit of requests per batch; more are split over several batches."""
FINAL = ("completed", "failed", "expired", "cancelled")
"""Batch states after which no more results will come."""


class OpenAIBatchBackend(Backend):
    """Submits the run's requests as batches, waits for them (``backend.poll_s``) and yields every result."""

    name = "openai_batch"

    def __init__(self, config: BackendConfig, sampling: Sampling, **context: Any) -> None:
        super().__init__(config, sampling, **context)
        import openai

        if self.state_path is None:
            raise CotlitError("the openai_batch backend needs a state file for its batch ids", field="backend.name")
        self._key = api_key(config)
        self._client = make_client(config, self._key, max_retries=config.max_retries)
        self._errors = openai

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Completion]]:
        """Resume the open batches that hold some of ``requests``, submit the rest, and yield each result."""
        if not requests:
            return
        with TeachCache(self.state_path) as state:
            waiting = self._resume(state, requests)
            covered = {request.key for chunk in waiting.values() for request in chunk}
            new = [request for request in requests if request.key not in covered]
            for start in range(0, len(new), MAX_REQUESTS):
                chunk = new[start : start + MAX_REQUESTS]
                waiting[self._submit(chunk, state)] = chunk
            yield from self._wait(waiting, state)

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        results = {request.key: completion for request, completion in self.generate(requests)}
        return [results[request.key] for request in requests]

    def _resume(self, state: TeachCache, requests: Sequence[Request]) -> dict[str, list[Request]]:
        """Open batch id -> the requests it holds (a key in several open batches goes to the newest)."""
        by_key = {request.key: request for request in requests}
        owner = {}
        for record in state.records.values():  # in submission order
            if record["status"] == "open":
                owner.update({key: record["key"] for key in record["keys"] if key in by_key})
        groups: dict[str, list[Request]] = {}
        for key, batch_id in owner.items():
            groups.setdefault(batch_id, []).append(by_key[key])
        for batch_id, chunk in groups.items():
            print(f"cotlit teach: resuming batch {batch_id} ({len(chunk)} requests)", file=self.log)
        return groups

    def _submit(self, chunk: Sequence[Request], state: TeachCache) -> str:
        lines = "".join(
            json.dumps({"custom_id": r.key, "method": "POST", "url": ENDPOINT, "body": self._body(r)}) + "\n"
            for r in chunk
        )
        with self._api("upload the batch input", state):
            uploaded = self._client.files.create(file=("cotlit-teach.jsonl", lines.encode()), purpose="batch")
            batch = self._client.batches.create(
                input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h",
                metadata={"source": "cotlit teach"},
            )
        state.put({"key": batch.id, "status": "open", "input_file_id": uploaded.id, "keys": [r.key for r in chunk]})
        print(f"cotlit teach: submitted batch {batch.id} ({len(chunk)} requests); a re-run resumes it", file=self.log)
        return batch.id

    def _body(self, request: Request) -> dict[str, Any]:
        return chat_body(self.config, self.sampling, request.messages)

    def _wait(self, waiting: dict[str, list[Request]], state: TeachCache) -> Iterator[tuple[Request, Completion]]:
        seen: dict[str, str] = {}
        while waiting:
            for batch_id in list(waiting):
                with self._api(f"check batch {batch_id}", state):
                    batch = self._client.batches.retrieve(batch_id)
                self._report(batch, seen)
                if batch.status not in FINAL:
                    continue
                chunk = waiting.pop(batch_id)
                results, refusal = self._results(batch, chunk, state)
                if refusal is not None:  # a resumed run would meet the same refusal: this batch is done
                    state.put({"key": batch_id, "status": "closed", "batch_status": batch.status})
                    raise refusal
                yield from ((request, results[request.key]) for request in chunk)
                state.put({"key": batch_id, "status": "closed", "batch_status": batch.status})
            if waiting:
                time.sleep(self.config.poll_s)

    def _report(self, batch: Any, seen: dict[str, str]) -> None:
        counts = batch.request_counts
        done = f", {counts.completed}/{counts.total} done, {counts.failed} failed" if counts and counts.total else ""
        status = f"{batch.status}{done}"
        if seen.get(batch.id) != status:
            seen[batch.id] = status
            print(f"cotlit teach: batch {batch.id}: {status}", file=self.log)

    def _results(
        self, batch: Any, chunk: Sequence[Request], state: TeachCache
    ) -> tuple[dict[str, Completion], CotlitError | None]:
        """A completion for every request of ``chunk`` (failed ones say why), and the run-ending refusal of a
        request setting when the batch reported one."""
        wanted = {request.key for request in chunk}
        latency = float(batch.completed_at - batch.created_at) if batch.completed_at and batch.created_at else 0.0
        results: dict[str, Completion] = {}
        refusal, unreadable = None, 0
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            with self._api(f"download the results of batch {batch.id}", state):
                text = self._client.files.content(file_id).text
            for line in text.splitlines():
                if not line.strip():
                    continue
                custom_id, completion, refused = self._read_line(line, latency)
                if custom_id is None:
                    unreadable += 1
                elif custom_id in wanted:
                    results[custom_id] = completion
                    refusal = refusal or refused
        if unreadable:
            print(f"cotlit teach: batch {batch.id}: {unreadable} unreadable result lines", file=self.log)
        if batch.status == "failed":
            missing = f"batch failed: {_batch_errors(batch)}"
        else:
            missing = f"no result (batch {batch.status})"
        for key in wanted - results.keys():
            results[key] = Completion(text=None, finish_reason=None, latency_s=latency, error=missing)
        return results, refusal

    def _read_line(self, line: str, latency: float) -> tuple[str | None, Completion, CotlitError | None]:
        """One output or error line: its ``custom_id``, its completion, and a refusal of a request setting."""
        def failed(reason: str) -> Completion:
            return Completion(text=None, finish_reason=None, latency_s=latency, error=reason)

        try:
            record = json.loads(line)
        except ValueError:
            return None, failed("unreadable result line"), None
        custom_id = record.get("custom_id") if isinstance(record, dict) else None
        if not isinstance(custom_id, str):
            return None, failed("unreadable result line"), None
        if record.get("error"):
            message = redact(error_message({"error": record["error"]}, "no message"), self._key)
            return custom_id, failed(f"batch error: {message[:200]}"), None
        response = record.get("response")
        if not isinstance(response, dict):
            return custom_id, failed("malformed reply (no response in the result line)"), None
        status, body = response.get("status_code"), response.get("body")
        if status != 200:
            message = redact(error_message(body, "no message"), self._key)
            refusal = rejected_setting(status, body, message)
            refused = setting_error(self.config, status, message[:500]) if refusal else None
            return custom_id, failed(f"HTTP {status}: {message[:200]}"), refused
        try:
            completion = read_reply(body)
        except MalformedReply as err:
            return custom_id, failed(f"malformed reply ({err})"), None
        return custom_id, dataclasses.replace(completion, latency_s=latency), None

    @contextmanager
    def _api(self, doing: str, state: TeachCache) -> Iterator[None]:
        """Turn a failed Batch/Files API call (after the client's retries) into one clear error."""
        errors = self._errors
        resume = f"submitted batches are saved in {state.path}: a re-run resumes them"
        try:
            yield
        except errors.APIStatusError as err:
            if err.status_code in FATAL_STATUS:
                raise fatal_error(self.config, err.status_code, type(err).__name__) from None
            message = f"HTTP {err.status_code}: {redact(error_message(err.body, err.message), self._key)[:300]}"
            raise CotlitError(f"could not {doing}: {message}; {resume}", field="backend") from None
        except errors.APIConnectionError as err:
            raise CotlitError(f"could not {doing}: {type(err).__name__}; {resume}", field="backend") from None

    def close(self) -> None:
        self._client.close()


def _batch_errors(batch: Any) -> str:
    errors = getattr(batch.errors, "data", None) or []
    return "; ".join(f"{e.code}: {e.message}" for e in errors[:3]) or "no reason given"


BACKEND = OpenAIBatchBackend
