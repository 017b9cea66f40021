"""The target as a run sees it: through the fault proxy the run started for itself, if it did
(``chaoslib_ext.proxy.local`` starts and stops that proxy; its ready record is in ``<run>/proxy/``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext.access import Endpoint
from chaoslib_ext.target import Service, Target

__all__ = ["PROCESS", "READY", "local_proxy", "through_local_proxy"]

READY = "ready.json"
PROCESS = "process.json"


def local_proxy(folder: Path) -> dict[str, Any] | None:
    """The ready record of the run's proxy, if it started one."""
    path = folder / READY
    return dict(read_json(path)) if path.exists() else None


def through_local_proxy(target: Target, ready: dict[str, Any], folder: Path) -> Target:
    """``target`` as its clients see it through the running proxy ``ready`` describes (started in ``folder``)."""
    links: dict[str, dict[str, str]] = {name: dict(info) for name, info in ready["links"].items()}
    services = {
        name: _through(svc, links[svc.link]["listen"]) if svc.link in links else svc
        for name, svc in target.services.items()
    }
    control = str(ready["control_url"])
    return replace(
        target, services=services, proxy_control_url=control, links=links, proxy_process=str(folder / PROCESS)
    )


def _through(service: Service, listen: str) -> Service:
    original = service.address
    if "://" not in original:
        return replace(service, address=listen, real=original)
    parts = urlsplit(original)
    scheme = "http" if parts.scheme in ("http", "https") else parts.scheme
    address = urlunsplit((scheme, listen, parts.path, parts.query, parts.fragment))
    endpoint = service.endpoint
    if endpoint is not None or parts.scheme in ("http", "https"):
        endpoint = endpoint or Endpoint()
        host = parts.netloc.rsplit("@", 1)[-1]
        if not any(k.lower() == "host" for k in endpoint.headers):
            endpoint = replace(endpoint, headers={**endpoint.headers, "Host": host})
    return replace(service, address=address, real=original, endpoint=endpoint)
