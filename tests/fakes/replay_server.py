"""Replays a recorded server response over real HTTP: a stream transcript (``*.sse``, one event per
write, ``--gap-ms`` apart, chunked as servers send it) or an error (``*.json``: status and body).

It checks what the load sent as the real server would: the path, ``Authorization: Bearer $KEY`` when
``--key-env`` is given (401 otherwise), a JSON body with ``stream: true`` and the expected ``model``;
a request that breaks one gets a 400 saying which.

    python -m tests.fakes.replay_server --transcript vllm-chat.sse --path /v1/chat/completions \
        --model M --key-env VAR --ready-file F
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from aiohttp import web

from chaoslib_ext._aioserver import serve_app
from chaoslib_ext._eventloop import run


def make_app(transcript: Path, path: str, model: str | None, key: str | None, gap_s: float) -> web.Application:
    events = [] if transcript.suffix == ".json" else [e + "\n\n" for e in transcript.read_text().split("\n\n") if e]
    error = json.loads(transcript.read_text()) if transcript.suffix == ".json" else None

    async def handle(request: web.Request) -> web.StreamResponse:
        if key is not None and request.headers.get("Authorization") != f"Bearer {key}":
            return web.json_response({"error": {"message": "replay: missing or wrong key"}}, status=401)
        body = await request.json()
        problems = []
        if body.get("stream") is not True:
            problems.append("stream is not true")
        if model is not None and body.get("model") != model:
            problems.append(f"model is not {model!r}")
        if problems:
            return web.json_response({"error": {"message": "replay: " + "; ".join(problems)}}, status=400)
        if error is not None:
            return web.json_response(error["body"], status=int(error["status"]))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for event in events:
            await response.write(event.encode())
            await asyncio.sleep(gap_s)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post(path, handle)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transcript", type=Path, required=True)
    parser.add_argument("--path", default="/v1/chat/completions")
    parser.add_argument("--model")
    parser.add_argument("--key-env")
    parser.add_argument("--gap-ms", type=float, default=5.0)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args()
    key = os.environ[args.key_env] if args.key_env else None
    app = make_app(args.transcript, args.path, args.model, key, args.gap_ms / 1000.0)
    run(serve_app(app, "127.0.0.1", 0, args.ready_file, lambda h, p: {"pid": os.getpid(), "url": f"http://{h}:{p}"}))


if __name__ == "__main__":
    main()
