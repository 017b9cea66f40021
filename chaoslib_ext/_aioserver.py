"""Serve an aiohttp app on loopback until SIGTERM or SIGINT, announcing where in a ready file.

The sandbox's services and the fault proxy bind port 0 and report the port they got, so whoever
started them never races another process for a "free" port.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from chaoslib_ext._jsonfile import write_json_atomic

__all__ = ["serve_app"]


async def serve_app(
    app: web.Application,
    host: str,
    port: int,
    ready_file: Path | None,
    announce: Callable[[str, int], dict[str, Any]],
) -> None:
    """Serve until a stop signal; once listening, write ``announce(host, port)`` to ``ready_file``."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if ready_file is not None:
            write_json_atomic(ready_file, announce(bound[0], bound[1]))
        await stop.wait()
    finally:
        await runner.cleanup()
