"""What the ``openai`` and ``openai_batch`` backends share: the client (its key checked before anything else), the
request body, reading a reply of any shape, and which HTTP errors end the run, are retried or fail one item."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from cotlit.errors import CotlitError
from cotlit.teach.backends.base import BackendConfig, Completion, Sampling

FATAL_STATUS = (401, 403, 404)
"""Statuses that no retry can fix and that hold for every request: the run stops with a clear error."""
RETRY_STATUS = (408, 409, 425, 429)
"""Statuses worth retrying besides every 5xx; any other 4xx fails the one item."""
REASONING_MODEL = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)
"""Model names that take ``max_completion_tokens`` (OpenAI's reasoning models)."""
REJECTED_SETTING = re.compile(
    r"unsupported.(parameter|value)|unrecognized request argument|not supported with this model", re.IGNORECASE
)
"""A 400 whose message says a request *setting* is refused: every request would fail the same way."""


class MalformedReply(ValueError):
    """A reply that is not a usable chat completion (the message says what is wrong)."""


def api_key(config: BackendConfig) -> str:
    """The key from the environment variable that ``backend.api_key_env`` names; ``EMPTY`` when none is named
    (local servers accept any key)."""
    if not config.api_key_env:
        return "EMPTY"
    key = os.environ.get(config.api_key_env)
    if not key:
        raise CotlitError(
            f"environment variable {config.api_key_env} (named by backend.api_key_env) is not set",
            field="backend.api_key_env",
        )
    return key


def make_client(config: BackendConfig, key: str, max_retries: int) -> Any:
    """The official ``openai`` client for ``config.base_url`` (the library's own retries: ``max_retries``)."""
    import openai

    if not config.model:
        raise CotlitError(f"the {config.name} backend needs a model name", field="backend.model")
    return openai.OpenAI(api_key=key, base_url=config.base_url, timeout=config.timeout_s, max_retries=max_retries)


def token_param(config: BackendConfig) -> str:
    """The body field that carries ``sampling.max_tokens`` for ``config.model``."""
    if config.token_param != "auto":
        return config.token_param
    name = config.model.rsplit("/", 1)[-1]
    return "max_completion_tokens" if REASONING_MODEL.match(name) else "max_tokens"


def chat_body(config: BackendConfig, sampling: Sampling, messages: Sequence[dict[str, str]]) -> dict[str, Any]:
    """The JSON body of one chat-completions request; null sampling settings are not sent."""
    body: dict[str, Any] = {"model": config.model, "messages": list(messages)}
    optional = {"temperature": sampling.temperature, "top_p": sampling.top_p, "seed": sampling.seed}
    body.update({name: value for name, value in optional.items() if value is not None})
    body[token_param(config)] = sampling.max_tokens
    body.update(config.extra)
    return body


def retryable(status: int) -> bool:
    return status in RETRY_STATUS or status >= 500


def read_reply(body: Any) -> Completion:
    """The completion in a chat-completions reply body; :class:`MalformedReply` when it holds none."""
    if not isinstance(body, dict):
        raise MalformedReply(f"the body is a JSON {type(body).__name__}, not an object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise MalformedReply("no choices")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise MalformedReply("no message in the first choice")
    finish_reason = choice.get("finish_reason")
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise MalformedReply(f"finish_reason is a {type(finish_reason).__name__}")
    reasoning = message.get("reasoning_content", message.get("reasoning"))
    if reasoning is not None and not isinstance(reasoning, str):
        raise MalformedReply(f"reasoning_content is a {type(reasoning).__name__}")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    return Completion(
        text=_content(message.get("content")),
        finish_reason=finish_reason,
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        reasoning=reasoning,
    )


def _content(content: Any) -> str | None:
    """Message content: a string, null, or a list of ``{"type": "text", "text": ...}`` parts (joined)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in content):
        return "".join(part["text"] for part in content)
    raise MalformedReply(f"content is a {type(content).__name__}, not text")


def _count(value: Any) -> int:
    """A token count; 0 when the server sent none or not a count (the text is still usable)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _error_object(body: Any) -> dict[str, Any]:
    """The ``error`` object of an error body (the ``openai`` client hands over either the body or that object)."""
    error = body.get("error", body) if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def error_message(body: Any, fallback: str) -> str:
    """The ``error.message`` of an error body, else ``fallback``."""
    message = _error_object(body).get("message")
    return message if isinstance(message, str) else fallback


def rejected_setting(status: int, body: Any, message: str) -> bool:
    """Whether an error reply refuses a request setting (``max_tokens``, ``temperature``...) rather than a prompt."""
    if status not in (400, 422):
        return False
    code = _error_object(body).get("code")
    return code in ("unsupported_parameter", "unsupported_value") or bool(REJECTED_SETTING.search(message))


def setting_error(config: BackendConfig, status: int, message: str) -> CotlitError:
    """The run-ending error for a refused request setting, with the server's own words."""
    return CotlitError(
        f"the server refused the request settings with HTTP {status}: {message} -- every request would fail the "
        f"same way; check backend.token_param (now sending {token_param(config)}), sampling.temperature and "
        "sampling.top_p (null sends none) and backend.extra",
        field="backend",
    )


def fatal_error(config: BackendConfig, status: int, kind: str) -> CotlitError:
    """The run-ending error for a status that holds for every request (bad key, model or URL)."""
    key = f"the key in ${config.api_key_env}" if config.api_key_env else "backend.api_key_env (no key is sent)"
    return CotlitError(
        f"the server at {config.base_url or 'api.openai.com'} refused the request with HTTP {status} ({kind}); "
        f"check backend.model, backend.base_url and {key}",
        field="backend",
    )


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
