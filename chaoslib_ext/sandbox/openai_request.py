"""What the sandbox gateway accepts of an OpenAI completion request, and OpenAI's error body for the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from chaoslib_ext.sandbox.releases import RELEASES

__all__ = [
    "MAX_TOKENS_LIMIT",
    "MODEL_PREFIX",
    "OpenAIRequest",
    "RequestRefused",
    "error_response",
    "message_text",
    "parse_request",
]  # fmt: skip

MODEL_PREFIX = "sandbox-"
MAX_TOKENS_LIMIT = 4096


class RequestRefused(Exception):  # noqa: N818 - the gateway's own flow, answered as OpenAI's error body
    """A request the gateway answers with ``status`` and OpenAI's error body (never leaves the sandbox)."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.param = param
        self.status = status


def error_response(exc: RequestRefused) -> web.Response:
    kind = "invalid_request_error" if exc.status < 500 else "server_error"
    body = {"error": {"message": str(exc), "type": kind, "param": exc.param, "code": None}}
    return web.json_response(body, status=exc.status)


@dataclass(frozen=True)
class OpenAIRequest:
    """The fields of a completion request the gateway acts on."""

    model: str
    release: str
    prompt: str
    max_tokens: int
    stream: bool
    include_usage: bool


def parse_request(body: Any, default_model: str, chat: bool) -> OpenAIRequest:
    if not isinstance(body, dict):
        raise RequestRefused("request body must be a JSON object")
    model = body.get("model") or default_model
    release = model.removeprefix(MODEL_PREFIX) if isinstance(model, str) else ""
    if release not in RELEASES:
        accepted = ", ".join(MODEL_PREFIX + r for r in RELEASES)
        raise RequestRefused(f"model {model!r} does not exist (accepted: {accepted})", "model", 404)
    if chat:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RequestRefused("messages must be a non-empty list", "messages")
        prompt = " ".join(message_text(m.get("content")) for m in messages if isinstance(m, dict))
    else:
        raw_prompt = body.get("prompt")
        if not isinstance(raw_prompt, str):
            raise RequestRefused("prompt must be a string", "prompt")
        prompt = raw_prompt
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens", 64))
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise RequestRefused(f"max_tokens must be an integer from 1 to {MAX_TOKENS_LIMIT}", "max_tokens")
    options = body.get("stream_options") or {}
    return OpenAIRequest(
        model,
        release,
        prompt,
        max_tokens,
        bool(body.get("stream")),
        bool(options.get("include_usage")) if isinstance(options, dict) else False,
    )


def message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""
