"""A scripted chat-completions server on 127.0.0.1, and small question files for teach tests."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cotlit.teach.prompts import prompt_hash

FAKE_KEY = "sk-test-FAKE-0123456789abcdef"


class ChatServer:
    """Answers ``POST /v1/chat/completions``; ``script[marker]`` lists the behaviours of successive requests
    for a prompt whose question contains ``marker`` (then ``ok``).

    Behaviours: ``ok``, ``429`` (with Retry-After), ``500``, ``hang`` (past the client timeout), ``malformed``
    (invalid JSON), ``notrigger`` (no "The answer is"), ``length`` (cut off), ``empty``, ``wrong`` (answer -1),
    ``401``.
    An ``ok`` answer ends with the gold answer shown in the prompt, or the answer of the CoT being rewritten.
    """

    def __init__(self, delay_s: float = 0.0, hang_s: float = 1.0) -> None:
        self.script: dict[str, list[str]] = {}
        self.delay_s, self.hang_s = delay_s, hang_s
        self.requests: Counter = Counter()
        """Requests received per prompt hash (the hash cotlit records in its cache)."""
        self.by_question: Counter = Counter()
        self.authorization: set[str] = set()
        self._lock = threading.Lock()
        self._served: dict[str, int] = defaultdict(int)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.handle(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        messages = body["messages"]
        content = messages[-1]["content"]
        question = re.findall(r"^Question: (.*)$", content, re.MULTILINE)[-1]
        digest = prompt_hash(messages)
        with self._lock:
            self.requests[digest] += 1
            self.by_question[question] += 1
            self.authorization.add(handler.headers.get("Authorization", ""))
            marker = next((m for m in self.script if m in question), None)
            step = self._served[f"{marker}|{digest}"]
            self._served[f"{marker}|{digest}"] += 1
        actions = self.script.get(marker, []) if marker else []
        action = actions[step] if step < len(actions) else "ok"
        if self.delay_s:
            time.sleep(self.delay_s)
        gold = re.findall(r"^Correct answer: (.*)$", content, re.MULTILINE)
        answer = gold[-1] if gold else re.findall(r"The answer is (\S+)", content)[-1]
        text, finish = f"We work it out for: {question}. The answer is {answer}", "stop"
        if action == "429":
            return self._send(handler, 429, {"error": {"message": "slow down"}}, {"Retry-After": "0.05"})
        if action == "500":
            return self._send(handler, 500, {"error": {"message": "boom"}})
        if action == "401":
            return self._send(handler, 401, {"error": {"message": f"bad key {handler.headers.get('Authorization')}"}})
        if action == "hang":
            time.sleep(self.hang_s)
        if action == "malformed":
            return self._send_raw(handler, 200, b'{"id": "x", "choices": [', "application/json")
        if action == "notrigger":
            text = f"I believe it is {answer}."
        if action == "length":
            text, finish = "We work it out step by", "length"
        if action == "empty":
            text = ""
        if action == "wrong":
            text = f"We guess for: {question}. The answer is -1"
        payload = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        self._send(handler, 200, payload)

    def _send(self, handler, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._send_raw(handler, status, json.dumps(payload).encode(), "application/json", headers)

    def _send_raw(self, handler, status, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server():
    server = ChatServer()
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
