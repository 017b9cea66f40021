"""A streaming server with a known timeline, to measure what the load client itself adds.

Every request gets a role-only chunk at once, its first content event ``--ttft-ms`` after the request
arrived, then one event every ``--itl-ms`` (``max_tokens`` from the request, default 16), a usage chunk
and ``data: [DONE]``. Each content event carries ``x_server_ms``: the time from the request's arrival to
the moment the server wrote that event, so client TTFT minus ``x_server_ms`` of the first event is
the client's own overhead (plus loopback).

    python loadtests/calibration_server.py --port 0 --ttft-ms 50 --itl-ms 10 --ready-file F
        [--tls-cert cert.pem --tls-key key.pem]   # HTTPS (the tests use a self-signed CA)
        [--trickle-every N --trickle-ms M]         # every N-th request sends its tokens M ms apart
        [--echo-host]                              # the role chunk carries the Host header it got

Raw asyncio, HTTP/1.1 with keep-alive and chunked bodies; uvloop when installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
import time
from pathlib import Path

_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _event(obj: object) -> bytes:
    return _chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")


def _role(host: str | None = None) -> bytes:
    chunk: dict[str, object] = {
        "id": "cal",
        "object": "chat.completion.chunk",
        "model": "calibration",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
    }
    return _event({**chunk, "x_host": host} if host is not None else chunk)


_ROLE = _role()
_TOKEN = (
    b'data: {"id":"cal","object":"chat.completion.chunk","model":"calibration","choices":[{"index":0,'
    b'"delta":{"content":" t%d"},"finish_reason":null}],"x_server_ms":%.4f}\n\n'
)


class CalibrationServer:
    def __init__(
        self, ttft_ms: float, itl_ms: float, default_tokens: int, trickle_every: int = 0, trickle_ms: float = 0.0
    ) -> None:
        self.ttft_s = ttft_ms / 1000.0
        self.itl_s = itl_ms / 1000.0
        self.default_tokens = default_tokens
        self.trickle_every = trickle_every
        self.trickle_s = trickle_ms / 1000.0
        self.served = 0
        self.echo_host = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.perf_counter()
                length, host = 0, b""
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                    elif line.lower().startswith(b"host:"):
                        host = line.split(b":", 1)[1].strip()
                body = json.loads(await reader.readexactly(length)) if length else {}
                role = _role(host.decode()) if self.echo_host else _ROLE
                await self.respond(writer, arrived, int(body.get("max_tokens") or self.default_tokens), role)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def respond(self, writer: asyncio.StreamWriter, arrived: float, tokens: int, role: bytes = _ROLE) -> None:
        loop = asyncio.get_running_loop()
        base = {"id": "cal", "object": "chat.completion.chunk", "model": "calibration"}
        self.served += 1
        trickle = self.trickle_every > 0 and self.served % self.trickle_every == 0
        itl_s = self.trickle_s if trickle else self.itl_s
        writer.write(_HEAD + role)
        # Absolute schedule from the arrival time: no drift however long the stream.
        start = loop.time() - (time.perf_counter() - arrived)
        for i in range(tokens):
            due = start + self.ttft_s + i * itl_s
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # Formatted by hand, not json.dumps: the server's own CPU must not crowd the client it measures.
            writer.write(_chunk(_TOKEN % (i, (time.perf_counter() - arrived) * 1000.0)))
            if trickle:
                await writer.drain()  # a client that gave up is noticed here, not after the whole schedule
        usage = {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1}
        writer.write(_event({**base, "choices": [], "usage": usage}) + _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()


async def serve(
    server: CalibrationServer, host: str, port: int, ready_file: Path | None, tls: ssl.SSLContext | None = None
) -> None:
    srv = await asyncio.start_server(server.handle, host, port, backlog=2048, ssl=tls)
    bound = srv.sockets[0].getsockname()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready_file is not None:
        tmp = ready_file.with_suffix(".tmp")
        scheme = "https" if tls is not None else "http"
        tmp.write_text(json.dumps({"pid": os.getpid(), "url": f"{scheme}://{bound[0]}:{bound[1]}"}))
        tmp.replace(ready_file)
    await stop.wait()
    srv.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=16, help="when the request sets no max_tokens")
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--trickle-every", type=int, default=0, help="every N-th request trickles its tokens")
    parser.add_argument("--trickle-ms", type=float, default=1000.0, help="... this many ms apart")
    parser.add_argument("--echo-host", action="store_true", help="the role chunk carries the Host header it got")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM) ...")
    parser.add_argument("--tls-key", help="... and this private key (PEM)")
    args = parser.parse_args()
    server = CalibrationServer(args.ttft_ms, args.itl_ms, args.tokens, args.trickle_every, args.trickle_ms)
    server.echo_host = args.echo_host
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(server, args.host, args.port, args.ready_file, tls))
    else:
        uvloop.run(serve(server, args.host, args.port, args.ready_file, tls))


if __name__ == "__main__":
    main()
