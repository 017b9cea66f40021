"""The sandbox's LLM gateway, the system under test: an OpenAI-compatible streaming endpoint.

A request looks its prompt up in the Redis prompt cache (a hit makes prefill cheap), is queued on Kafka
for the decoder worker, and streams back the tokens the worker publishes on Kafka. Redis and Kafka are
both on every request's path, so their faults show in TTFT, inter-token latency and throughput.

    POST /v1/chat/completions   POST /v1/completions   GET /v1/models   GET /health
    POST /tokenize              (vLLM's: {"prompt"} or {"messages"} -> {"count", "tokens"})

Its tokenizer is whitespace: a prompt's tokens are its words (a chat request's: its messages' contents
joined by spaces), as ``usage.prompt_tokens`` counts them; every request decodes exactly
``max_tokens`` tokens (the decoder has no end-of-sequence), so ``ignore_eos`` and ``min_tokens`` are
accepted and change nothing.

With ``--api-key-env VAR`` every ``/v1/`` request must carry ``Authorization: Bearer <$VAR>`` (401 with
OpenAI's error body otherwise), as a real gateway with keys does; the key is read from the environment,
never from the command line (which the sandbox's state file records).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import sys
import time
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from chaoslib_ext._aioserver import serve_app
from chaoslib_ext._eventloop import run
from chaoslib_ext.sandbox.kafka_io import REQUESTS_TOPIC, TOKENS_TOPIC, ConsumerThread, make_producer, send
from chaoslib_ext.sandbox.kafka_topics import TopicRoller
from chaoslib_ext.sandbox.metrics import RequestClock, ServerMetrics
from chaoslib_ext.sandbox.openai_request import (
    MAX_TOKENS_LIMIT,
    MODEL_PREFIX,
    OpenAIRequest,
    RequestRefused,
    error_response,
    message_text,
    parse_request,
)
from chaoslib_ext.sandbox.releases import RELEASES

__all__ = ["GatewayConfig", "make_app"]

log = logging.getLogger("chaoslib_ext.sandbox.gateway")

_CACHE_TTL_S = 600


@dataclass(frozen=True)
class GatewayConfig:
    redis_url: str
    kafka: str
    default_model: str = "sandbox-v1"
    redis_timeout_s: float = 1.0
    first_token_timeout_s: float = 30.0
    token_timeout_s: float = 10.0
    api_key: str | None = None


class _Gateway:
    """The app's state: clients of Redis and Kafka, and the token queue of every request in flight."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.redis = Redis.from_url(
            config.redis_url,
            socket_timeout=config.redis_timeout_s,
            socket_connect_timeout=config.redis_timeout_s,
            retry=Retry(NoBackoff(), 0),  # a fault must be seen, not retried away
            max_connections=512,
        )
        self.producer = make_producer(config.kafka)
        self.pending: dict[str, asyncio.Queue[tuple[str, bool]]] = {}
        self.counters: Counter[str] = Counter()
        self.consumer: ConsumerThread | None = None
        self.roller = TopicRoller(config.kafka, (REQUESTS_TOPIC, TOKENS_TOPIC))
        self.background: set[asyncio.Task[None]] = set()
        self.metrics = ServerMetrics(config.default_model)  # its own view, under vLLM's names

    def on_tokens(self, batch: list[Any]) -> None:
        for message in batch:
            for rid, text, last in message["t"]:
                queue = self.pending.get(rid)
                if queue is not None:
                    queue.put_nowait((text, last))

    async def cached(self, key: str) -> bool:
        try:
            return await self.redis.get(key) is not None
        except (TimeoutError, RedisError, OSError) as exc:
            self.counters["redis_errors"] += 1
            log.debug("redis get: %s", exc)
            return False

    def remember(self, key: str) -> None:
        async def store() -> None:
            try:
                await self.redis.set(key, b"1", ex=_CACHE_TTL_S)
            except (TimeoutError, RedisError, OSError):
                self.counters["redis_errors"] += 1

        task = asyncio.create_task(store())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def enqueue(self, job: dict[str, Any]) -> None:
        send(self.producer, REQUESTS_TOPIC, job)


_STATE: web.AppKey[_Gateway] = web.AppKey("gateway", _Gateway)


@web.middleware
async def _require_key(request: web.Request, handler: Any) -> web.StreamResponse:
    key = request.app[_STATE].config.api_key
    if key and request.path.startswith("/v1/") and request.headers.get("Authorization") != f"Bearer {key}":
        body = {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}
        return web.json_response({"error": body}, status=401)
    response: web.StreamResponse = await handler(request)
    return response


def make_app(config: GatewayConfig) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024, middlewares=[_require_key])
    app[_STATE] = _Gateway(config)
    app.router.add_post("/v1/chat/completions", _chat_completions)
    app.router.add_post("/v1/completions", _completions)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/health", _health)
    app.router.add_post("/tokenize", _tokenize)
    app.router.add_get("/metrics", _metrics)
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    return app


async def _start(app: web.Application) -> None:
    gw = app[_STATE]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, gw.roller.start)
    gw.consumer = ConsumerThread(gw.config.kafka, TOKENS_TOPIC, loop, gw.on_tokens)
    await loop.run_in_executor(None, gw.consumer.start)


async def _stop(app: web.Application) -> None:
    gw = app[_STATE]
    if gw.consumer is not None:
        await asyncio.get_running_loop().run_in_executor(None, gw.consumer.stop)
    await asyncio.get_running_loop().run_in_executor(None, gw.roller.stop)
    gw.producer.flush(2)
    await gw.redis.aclose()


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[_STATE].metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def _health(request: web.Request) -> web.Response:
    gw = request.app[_STATE]
    return web.json_response({"ok": True, "in_flight": len(gw.pending), **gw.counters})


async def _tokenize(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return error_response(RequestRefused("request body is not valid JSON"))
    if not isinstance(body, dict):
        return error_response(RequestRefused("request body must be a JSON object"))
    if isinstance(body.get("messages"), list):
        text = " ".join(message_text(m.get("content")) for m in body["messages"] if isinstance(m, dict))
    elif isinstance(body.get("prompt"), str):
        text = body["prompt"]
    else:
        return error_response(RequestRefused("prompt must be a string (or messages a list)", "prompt"))
    tokens = [zlib.crc32(word.encode()) % 50257 for word in text.split()]
    return web.json_response({"count": len(tokens), "tokens": tokens, "max_model_len": MAX_TOKENS_LIMIT})


async def _models(request: web.Request) -> web.Response:
    models = [{"id": MODEL_PREFIX + name, "object": "model", "owned_by": "chaosllm-sandbox"} for name in RELEASES]
    return web.json_response({"object": "list", "data": models})


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    return await _serve(request, chat=True)


async def _completions(request: web.Request) -> web.StreamResponse:
    return await _serve(request, chat=False)


async def _serve(request: web.Request, chat: bool) -> web.StreamResponse:
    gw = request.app[_STATE]
    gw.counters["requests"] += 1
    clock = gw.metrics.clock(request.headers.get("traceparent"))
    try:
        return await _answer(request, gw, chat, clock)
    finally:
        clock.done(answered=False)  # (a no-op once the answer ended and said so)


async def _answer(request: web.Request, gw: _Gateway, chat: bool, clock: RequestClock) -> web.StreamResponse:
    try:
        req = parse_request(await request.json(), gw.config.default_model, chat)
    except json.JSONDecodeError:
        return error_response(RequestRefused("request body is not valid JSON"))
    except RequestRefused as exc:
        return error_response(exc)
    prompt_tokens = len(req.prompt.split())
    key = "prompt:" + hashlib.sha1(f"{req.model}\0{req.prompt}".encode()).hexdigest()
    cached = await gw.cached(key)
    rid = uuid.uuid4().hex[:20]
    queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
    gw.pending[rid] = queue
    try:
        try:
            gw.enqueue(
                {
                    "id": rid,
                    "release": req.release,
                    "prompt_tokens": prompt_tokens,
                    "max_tokens": req.max_tokens,
                    "cached": cached,
                }
            )
        except BufferError:
            gw.counters["kafka_errors"] += 1
            return error_response(RequestRefused("request queue is full", status=503))
        stream = _Stream(rid, req, chat, prompt_tokens, clock)
        if req.stream:
            response = await _stream(request, gw, queue, stream)
        else:
            response = await _collect(gw, queue, stream)
        if stream.completed:
            gw.remember(key)
        return response
    finally:
        del gw.pending[rid]


class _Stream:
    """Formats one response's chunks the way OpenAI's API does."""

    def __init__(self, rid: str, req: OpenAIRequest, chat: bool, prompt_tokens: int, clock: RequestClock) -> None:
        self.clock = clock  # the server's own times of this request (its /metrics)
        self.req = req
        self.chat = chat
        self.prompt_tokens = prompt_tokens
        self.tokens: list[str] = []
        self.completed = False
        kind = "chat.completion.chunk" if chat else "text_completion"
        created = int(time.time())
        self._head = (
            f'{{"id":"{"chatcmpl" if chat else "cmpl"}-{rid}","object":"{kind}",'
            f'"created":{created},"model":{json.dumps(req.model)},"choices":['
        ).encode()
        self.base = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{rid}", "created": created, "model": req.model}

    def event(self, choice: str) -> bytes:
        return b"data: " + self._head + choice.encode() + b"]}\n\n"

    def role(self) -> bytes:
        return self.event('{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}')

    def token(self, text: str) -> bytes:
        body = f'"delta":{{"content":{json.dumps(text)}}}' if self.chat else f'"text":{json.dumps(text)}'
        return self.event(f'{{"index":0,{body},"finish_reason":null}}')

    def finish(self) -> bytes:
        body = '"delta":{}' if self.chat else '"text":""'
        return self.event(f'{{"index":0,{body},"finish_reason":"length"}}')

    def usage(self) -> dict[str, int]:
        n = len(self.tokens)
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": n, "total_tokens": self.prompt_tokens + n}

    def usage_event(self) -> bytes:
        return b"data: " + self._head + b'],"usage":' + json.dumps(self.usage()).encode() + b"}\n\n"


async def _next(gw: _Gateway, queue: asyncio.Queue[tuple[str, bool]], first: bool) -> tuple[str, bool]:
    timeout = gw.config.first_token_timeout_s if first else gw.config.token_timeout_s
    return await asyncio.wait_for(queue.get(), timeout)


async def _stream(
    request: web.Request, gw: _Gateway, queue: asyncio.Queue[tuple[str, bool]], s: _Stream
) -> web.StreamResponse:
    try:
        text, last = await _next(gw, queue, first=True)
    except TimeoutError:
        gw.counters["timeouts"] += 1
        return error_response(RequestRefused("no token from the decoder in time", status=504))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    await response.write(s.role())
    while True:
        s.tokens.append(text)
        await response.write(s.token(text))
        s.clock.token()
        if last:
            break
        try:
            text, last = await _next(gw, queue, first=False)
        except TimeoutError:
            gw.counters["timeouts"] += 1
            await response.write(b'data: {"error":{"message":"decoder stalled","type":"server_error"}}\n\n')
            return response
    await response.write(s.finish())
    if s.req.include_usage:
        await response.write(s.usage_event())
    await response.write(b"data: [DONE]\n\n")
    s.completed = True
    s.clock.done(answered=True)
    await response.write_eof()
    return response


async def _collect(gw: _Gateway, queue: asyncio.Queue[tuple[str, bool]], s: _Stream) -> web.Response:
    last = False
    while not last:
        try:
            text, last = await _next(gw, queue, first=not s.tokens)
        except TimeoutError:
            gw.counters["timeouts"] += 1
            return error_response(RequestRefused("no token from the decoder in time", status=504))
        s.tokens.append(text)
        s.clock.token()
    s.completed = True
    s.clock.done(answered=True)
    content = "".join(s.tokens)
    choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
    if s.chat:
        choice["message"] = {"role": "assistant", "content": content}
    else:
        choice["text"] = content
    kind = "chat.completion" if s.chat else "text_completion"
    return web.json_response({**s.base, "object": kind, "choices": [choice], "usage": s.usage()})


async def serve(config: GatewayConfig, host: str, port: int, ready_file: Path | None) -> None:
    """Serve until SIGTERM or SIGINT; writes ``ready_file`` with the bound address once listening."""

    def announce(bound_host: str, bound_port: int) -> dict[str, Any]:
        log.info("gateway ready on %s:%d", bound_host, bound_port)
        return {"pid": os.getpid(), "url": f"http://{bound_host}:{bound_port}"}

    await serve_app(make_app(config), host, port, ready_file, announce)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.sandbox.gateway")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--kafka", required=True, help="bootstrap address host:port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--default-model", default="sandbox-v1")
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--api-key-env", metavar="VAR", help="require Authorization: Bearer <the value of VAR>")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(levelname)s %(message)s")
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    if args.api_key_env and not api_key:
        parser.error(f"--api-key-env: the environment variable {args.api_key_env} is not set")
    config = GatewayConfig(args.redis_url, args.kafka, args.default_model, api_key=api_key)
    run(serve(config, args.host, args.port, args.ready_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
