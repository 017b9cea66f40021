"""The fault proxy process: start every link and the control API, report the ports, serve until SIGTERM."""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib_ext._aioserver import serve_app
from chaoslib_ext.proxy.control import make_app
from chaoslib_ext.proxy.link import Link

__all__ = ["LinkPlan", "serve"]

log = logging.getLogger("chaoslib_ext.proxy")


@dataclass(frozen=True)
class LinkPlan:
    """A link to open: ``name`` relays ``listen_port`` (0 = any free port) to the upstream address,
    over TLS when ``tls`` (verified against the system's CAs or ``ca_file``; SNI = the upstream host);
    an ``http`` link frames its connections and takes stream faults."""

    name: str
    upstream_host: str
    upstream_port: int
    listen_port: int = 0
    tls: bool = False
    ca_file: str | None = None
    http: bool = False

    def tls_context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=self.ca_file) if self.tls else None


async def serve(plans: list[LinkPlan], host: str, control_port: int, ready_file: Path | None) -> None:
    """Serve until SIGTERM or SIGINT; writes ``ready_file`` (ports, pid) once everything listens."""
    links = {
        p.name: Link(p.name, p.upstream_host, p.upstream_port, upstream_tls=p.tls_context(), http=p.http) for p in plans
    }
    for plan in plans:
        await links[plan.name].start(host, plan.listen_port)

    def announce(bound_host: str, bound_port: int) -> dict[str, Any]:
        log.info("proxy ready: control on %s:%d", bound_host, bound_port)
        return {
            "pid": os.getpid(),
            "control_url": f"http://{bound_host}:{bound_port}",
            "links": {
                link.name: {
                    "listen": f"{link.listen_host}:{link.listen_port}",
                    "upstream": f"{link.upstream_host}:{link.upstream_port}",
                    **({"tls": True} if link.upstream_tls else {}),
                    **({"http": True} if link.http else {}),
                }
                for link in links.values()
            },
        }

    try:
        await serve_app(make_app(links), host, control_port, ready_file, announce)
    finally:
        for link in links.values():
            await link.stop()
