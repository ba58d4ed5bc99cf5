"""A fake OpenAI-compatible server on 127.0.0.1 with switchable faults, and small question files for teach tests."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cotlit.teach.backends.base import BackendConfig, Sampling
from cotlit.teach.prompts import prompt_hash
from cotlit.teach.questions import DataConfig
from cotlit.teach.runner import TeachConfig

FAKE_KEY = "sk-test-FAKE-0123456789abcdef"

MALFORMED: dict[str, Any] = {
    "nochoices": {"choices": []},
    "nullchoices": {"choices": None},
    "nomessage": {"choices": [{"index": 0, "finish_reason": "stop"}]},
    "nullcontent": {"choices": [{"index": 0, "message": {"role": "assistant", "content": None},
                                 "finish_reason": "stop"}]},
    "wrongtypes": {"choices": [{"index": 0, "message": {"role": "assistant", "content": 42}, "finish_reason": 7}]},
    "array": [{"choices": []}],
}
"""Reply bodies that are valid JSON but hold no usable completion (served with HTTP 200)."""


class FakeOpenAI:
    """Chat completions, files and batches on ``127.0.0.1``, answering like OpenAI unless scripted otherwise.

    ``script[marker]`` lists the behaviours of successive requests for a prompt whose question contains ``marker``
    (then ``ok``). Behaviours:

    - ``ok``: ``<text> The answer is <gold>`` (the gold shown in the prompt, or the answer of the CoT being
      rewritten); ``wrong`` (answer -1), ``notrigger``, ``length`` (cut off), ``empty``: usable or not;
    - a status code (``408``, ``429``, ``500``...), optionally with a Retry-After: ``429@0.3``; ``unsupported``:
      OpenAI's HTTP 400 for an unsupported parameter;
    - ``hang`` (answers after ``hang_s``, past the client timeout), ``reset`` (TCP reset), ``drop`` (closes the
      connection without answering);
    - ``truncated`` (cut-off JSON), ``html`` (an HTML page with status 200), ``badusage`` (usable text, usage not
      numbers) and every key of :data:`MALFORMED`;
    - in batches only: ``errorline`` (a result line with an ``error`` object).

    Server-wide switches: ``reject_params`` (parameters refused with OpenAI's HTTP 400, like an o-series model),
    ``reasoning`` (a ``reasoning_content`` to add to every reply), ``batch_polls`` (status checks before a batch
    completes) and ``batch_outcome`` (``completed``, ``expired``: half the lines run, or ``failed``).

    Bounded: at most ``max_requests`` requests (then HTTP 503) and 4 MB per body; it shuts itself down after
    ``lifetime_s`` even if a test never closes it.
    """

    def __init__(self, hang_s: float = 1.0, max_requests: int = 2000, lifetime_s: float = 300.0) -> None:
        self.script: dict[str, list[str]] = {}
        self.delay_s, self.hang_s, self.max_requests = 0.0, hang_s, max_requests
        self.reject_params: set[str] = set()
        self.reasoning: str | None = None
        self.batch_polls, self.batch_outcome = 2, "completed"
        self.requests: Counter = Counter()
        """Chat requests received per prompt hash (the hash cotlit records in its cache), batched ones included."""
        self.by_question: Counter = Counter()
        self.bodies: list[dict] = []
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        """Arrival times (monotonic) of the chat requests per question."""
        self.authorization: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.calls: Counter = Counter()
        """HTTP calls by route (``POST /chat/completions``, ``GET /batches``...)."""
        self._lock = threading.Lock()
        self._served: dict[str, int] = defaultdict(int)
        self._closed = False
        self.httpd = _Server(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        self._watchdog = threading.Timer(lifetime_s, self.close)
        self._watchdog.daemon = True
        self._watchdog.start()

    # --- routing ---------------------------------------------------------------------------------------------

    def route(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path.split("?")[0].removeprefix("/v1")
        route = re.sub(r"/(file|batch)-\d+", "", path)
        with self._lock:
            self.calls[f"{method} {route}"] += 1
            self.authorization.add(handler.headers.get("Authorization", ""))
            over = sum(self.calls.values()) > self.max_requests
        length = int(handler.headers.get("Content-Length") or 0)
        if over or length > 4_000_000:
            return _send(handler, 503 if over else 413, {"error": {"message": "fake server limit reached"}})
        data = handler.rfile.read(length) if length else b""
        if method == "POST" and path == "/chat/completions":
            return self._chat(handler, json.loads(data))
        if method == "POST" and path == "/files":
            return _send(handler, 200, self._upload(handler.headers["Content-Type"], data))
        if method == "POST" and path == "/batches":
            return _send(handler, 200, self._create_batch(json.loads(data)))
        if method == "GET" and re.fullmatch(r"/batches/batch-\d+", path):
            return _send(handler, 200, self._poll(path.rsplit("/", 1)[1]))
        if method == "GET" and re.fullmatch(r"/files/file-\d+/content", path):
            return _send_raw(handler, 200, self.files[path.split("/")[2]], "application/octet-stream")
        _send(handler, 404, {"error": {"message": f"no route {method} {path}"}})

    # --- chat completions --------------------------------------------------------------------------------------

    def _chat(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        action = self._next_action(body)
        if self.delay_s:
            time.sleep(self.delay_s)
        if action in ("reset", "drop"):
            handler.close_connection = True
        if action == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            return
        if action == "drop":
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if action == "hang":
            time.sleep(self.hang_s)
        if action == "truncated":
            return _send_raw(handler, 200, b'{"id": "x", "choices": [', "application/json")
        if action == "html":
            return _send_raw(handler, 200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        status, payload, headers = self.answer(body, action)
        _send(handler, status, payload, headers)

    def _next_action(self, body: dict) -> str:
        question = self._question(body)
        digest = prompt_hash(body["messages"])
        with self._lock:
            self.requests[digest] += 1
            self.by_question[question] += 1
            self.bodies.append(body)
            self.arrivals[question].append(time.monotonic())
            marker = next((m for m in self.script if m in question), None)
            step = self._served[f"{marker}|{digest}"]
            self._served[f"{marker}|{digest}"] += 1
        actions = self.script.get(marker, []) if marker else []
        return actions[step] if step < len(actions) else "ok"

    @staticmethod
    def _question(body: dict) -> str:
        return re.findall(r"^Question: (.*)$", body["messages"][-1]["content"], re.MULTILINE)[-1]

    def answer(self, body: dict, action: str) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON payload and headers of the reply to one chat request (``action`` already chosen)."""
        rejected = sorted(self.reject_params & body.keys())
        if rejected:
            message = f"Unsupported parameter: '{rejected[0]}' is not supported with this model."
            error = {"message": message, "type": "invalid_request_error", "param": rejected[0],
                     "code": "unsupported_parameter"}
            return 400, {"error": error}, {}
        code = re.fullmatch(r"(\d{3})(?:@(.+))?", action)
        if code:
            headers = {"Retry-After": code[2]} if code[2] else {}
            message = f"fake {code[1]} for key {FAKE_KEY}"  # servers do echo keys: cotlit must redact them
            return int(code[1]), {"error": {"message": message, "type": "server_error"}}, headers
        if action == "unsupported":
            message = "Unsupported value: 'temperature' does not support 0.0 with this model."
            error = {"message": message, "type": "invalid_request_error", "param": "temperature",
                     "code": "unsupported_value"}
            return 400, {"error": error}, {}
        if action in MALFORMED:
            return 200, MALFORMED[action], {}
        content = body["messages"][-1]["content"]
        question = self._question(body)
        gold = re.findall(r"^Correct answer: (.*)$", content, re.MULTILINE)
        answer = gold[-1] if gold else re.findall(r"The answer is (\S+)", content)[-1]
        text, finish = {
            "notrigger": (f"I believe it is {answer}.", "stop"),
            "length": ("We work it out step by", "length"),
            "empty": ("", "stop"),
            "wrong": (f"We guess for: {question}. The answer is -1", "stop"),
        }.get(action, (f"We work it out for: {question}. The answer is {answer}", "stop"))
        message = {"role": "assistant", "content": text}
        if self.reasoning is not None:
            message["reasoning_content"] = self.reasoning.format(question=question, answer=answer)
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        payload = {
            "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": "ten"} if action == "badusage" else usage,
        }
        return 200, payload, {}

    # --- files and batches -------------------------------------------------------------------------------------

    def _upload(self, content_type: str, data: bytes) -> dict:
        header = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(header + data)
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        with self._lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = parts["file"].get_payload(decode=True)
        purpose = parts["purpose"].get_content().strip()
        return {"id": file_id, "object": "file", "bytes": len(self.files[file_id]), "created_at": 0,
                "filename": parts["file"].get_filename(), "purpose": purpose, "status": "processed"}

    def _create_batch(self, body: dict) -> dict:
        with self._lock:
            batch_id = f"batch-{len(self.batches) + 1}"
            self.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
                "status": "validating", "output_file_id": None, "error_file_id": None, "created_at": 1000,
                "completed_at": None, "metadata": body.get("metadata"), "polls": 0,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
            }
            return _public(self.batches[batch_id])

    def _poll(self, batch_id: str) -> dict:
        batch = self.batches[batch_id]
        batch["polls"] += 1
        if batch["status"] not in ("validating", "in_progress"):
            return _public(batch)
        if batch["polls"] < self.batch_polls:
            batch["status"] = "in_progress"
            return _public(batch)
        lines = [json.loads(line) for line in self.files[batch["input_file_id"]].decode().splitlines()]
        if self.batch_outcome == "failed":
            batch.update(status="failed", errors={"object": "list", "data": [
                {"code": "invalid_request", "message": "line 1: the model does not exist", "line": 1}]})
            return _public(batch)
        ran = lines[: len(lines) // 2] if self.batch_outcome == "expired" else lines
        output, errors = [], []
        for line in ran:
            result = self._batch_line(line)
            (errors if result["error"] else output).append(json.dumps(result))
        batch.update(
            status="expired" if self.batch_outcome == "expired" else "completed", completed_at=1042,
            output_file_id=self._store("\n".join(output) + "\n") if output else None,
            error_file_id=self._store("\n".join(errors) + "\n") if errors else None,
            request_counts={"total": len(lines), "completed": len(output), "failed": len(errors)},
        )
        return _public(batch)

    def _batch_line(self, line: dict) -> dict:
        body = line["body"]
        action = self._next_action(body)
        result = {"id": f"resp-{line['custom_id']}", "custom_id": line["custom_id"], "response": None, "error": None}
        if action == "errorline":
            result["error"] = {"code": "batch_expired", "message": "This request could not be executed."}
            return result
        if action in ("truncated", "html"):
            status, payload = 200, "<html>not json</html>"
        else:
            status, payload, _ = self.answer(body, "ok" if action in ("hang", "reset", "drop") else action)
        result["response"] = {"status_code": status, "request_id": "req-1", "body": payload}
        return result

    def _store(self, text: str) -> str:
        with self._lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = text.encode()
        return file_id

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._watchdog.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # resets and timeouts are the point: stay quiet
        pass


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            server.route(self, "POST")

        def do_GET(self) -> None:
            server.route(self, "GET")

    return Handler


def _public(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k != "polls"}


def _send(handler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    _send_raw(handler, status, json.dumps(payload).encode(), "application/json", headers)


def _send_raw(handler, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:  # the client gave up (timeout tests)
        pass


@pytest.fixture
def fake_openai():
    server = FakeOpenAI()
    yield server
    server.close()


def write_questions(path: Path, n: int) -> Path:
    """``n`` SVAMP-style answer-only records ``q<i>: what is i + 1?`` -> ``i + 1``."""
    records = [
        {"instruction": f"q{i}: Tom has {i} apples and gets 1 more. How many now?", "output": str(i + 1)}
        for i in range(n)
    ]
    path.write_text(json.dumps(records))
    return path


def make_config(tmp_path: Path, url: str, n: int = 4, backend: dict | None = None, **overrides) -> TeachConfig:
    """A level-1 SVAMP run of ``n`` toy questions against ``url`` with fast retries; ``backend`` overrides."""
    settings = dict(
        name="openai", model="test-model", base_url=url, api_key_env="COTLIT_TEST_KEY", timeout_s=0.3,
        max_retries=3, backoff_s=0.01, backoff_max_s=0.2, concurrency=4, poll_s=0.01,
    )
    settings.update(backend or {})
    config = dict(
        task="svamp", teacher="tester", levels=[1], formats=["plain"], out_dir=str(tmp_path / "out"),
        data=DataConfig(source=str(write_questions(tmp_path / "toy_onlyans.json", n))),
        backend=BackendConfig(**settings), sampling=Sampling(max_tokens=64), progress=False,
        prices={"test-model": {"input": 1.0, "output": 2.0}},
    )
    config.update(overrides)
    return TeachConfig(**config)


def rows(tmp_path: Path, stem: str = "svamp_tester_level1") -> list[dict]:
    return json.loads((tmp_path / "out" / f"{stem}.json").read_text())


def provenance(tmp_path: Path, stem: str = "svamp_tester_level1") -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "out" / f"{stem}.provenance.jsonl").read_text().splitlines()]
