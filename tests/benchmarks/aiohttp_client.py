"""The baseline client of the overhead benchmark: plain asyncio + aiohttp, one task per stream.

Reads the response a line at a time, takes perf_counter before parsing each line, classifies lines
with the same SSE reader as our Locust user and writes the same sample records, so both clients are
measured by the same analysis. Runs for --duration seconds, then stops by itself.

    python tests/benchmarks/aiohttp_client.py --url URL --users 50 --duration 20 --out DIR
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from pathlib import Path

import aiohttp

from chaoslib_ext.samples import SampleWriter
from chaoslib_ext.sse import LineKind, StreamState, feed_line


async def stream_once(session: aiohttp.ClientSession, url: str, body: bytes, writer: SampleWriter) -> None:
    state = StreamState()
    times: list[float] = []
    t0 = time.time()
    start = time.perf_counter()
    status, error = 0, None
    try:
        async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
            status = resp.status
            while True:
                line = await resp.content.readline()
                now = time.perf_counter()
                if not line:
                    break
                if feed_line(line, state) == LineKind.CONTENT:
                    times.append(now)
    except (TimeoutError, aiohttp.ClientError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    end = time.perf_counter()
    writer.write(
        {
            "t0": t0,
            "ttft_ms": (times[0] - start) * 1000 if times else None,
            "itl_ms": [(b - a) * 1000 for a, b in itertools.pairwise(times)],
            "tokens": state.usage_tokens or len(times),
            "events": len(times),
            "status": status,
            "error": error if error or times else "no content",
            "done_ms": (end - start) * 1000,
            "server_ttft_ms": state.server_ttft_ms,
        }
    )


async def user(
    session: aiohttp.ClientSession, url: str, body: bytes, writer: SampleWriter, stop_at: float, delay_s: float
) -> None:
    await asyncio.sleep(delay_s)  # starts are spread like Locust's spawn rate: synchronised starts inflate tails
    while time.monotonic() < stop_at:
        await stream_once(session, url, body, writer)


async def main(url: str, users: int, duration_s: float, out: Path, max_tokens: int) -> None:
    writer = SampleWriter(out)
    body = json.dumps(
        {
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    ).encode()
    connector = aiohttp.TCPConnector(limit=0)
    stop_at = time.monotonic() + duration_s
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(
            *(user(session, f"{url}/v1/chat/completions", body, writer, stop_at, i / users) for i in range(users))
        )
    writer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.users, args.duration, args.out, args.max_tokens))
