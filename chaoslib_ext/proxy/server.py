"""The fault proxy process: start every link and the control API, report the ports, serve until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from chaoslib_ext.jsonfile import write_json_atomic
from chaoslib_ext.proxy.control import make_app
from chaoslib_ext.proxy.link import Link

__all__ = ["LinkPlan", "serve"]

log = logging.getLogger("chaoslib_ext.proxy")


@dataclass(frozen=True)
class LinkPlan:
    """A link to open: ``name`` relays ``listen_port`` (0 = any free port) to the upstream address."""

    name: str
    upstream_host: str
    upstream_port: int
    listen_port: int = 0


async def serve(plans: list[LinkPlan], host: str, control_port: int, ready_file: Path | None) -> None:
    """Serve until SIGTERM or SIGINT; writes ``ready_file`` (ports, pid) once everything listens."""
    links = {p.name: Link(p.name, p.upstream_host, p.upstream_port) for p in plans}
    for plan in plans:
        await links[plan.name].start(host, plan.listen_port)
    runner = web.AppRunner(make_app(links), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, control_port)
    await site.start()
    control_addr = site._server.sockets[0].getsockname()  # type: ignore[union-attr]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready_file is not None:
        write_json_atomic(
            ready_file,
            {
                "pid": os.getpid(),
                "control_url": f"http://{control_addr[0]}:{control_addr[1]}",
                "links": {
                    link.name: {
                        "listen": f"{link.listen_host}:{link.listen_port}",
                        "upstream": f"{link.upstream_host}:{link.upstream_port}",
                    }
                    for link in links.values()
                },
            },
        )
    log.info("proxy ready: control on %s:%d", *control_addr[:2])
    await stop.wait()
    for link in links.values():
        await link.stop()
    await runner.cleanup()
