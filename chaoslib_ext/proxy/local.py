"""A fault proxy a run starts for itself, in front of services that are not the sandbox's.

A target asks for one by naming links without a running proxy::

    services:
      gateway: {address: "https://llm.example.com/v1", link: gateway, endpoint: {...}}
    proxy:
      links:
        gateway: {upstream: "https://llm.example.com:443"}   # default: the linked service's address

The run starts ``python -m chaoslib_ext.proxy`` on loopback (TLS upstream for ``https``, verified with
the system's CAs or the endpoint's ``ca_bundle``, SNI = the upstream host; plain HTTP to its clients),
records it in ``<run>/proxy/`` and sees the target through it: each linked service's address becomes
the proxy's (its path kept), its ``real`` the upstream, and an HTTP endpoint gets the upstream's
``Host`` header. The target file itself is never rewritten (its credentials stay where they are).
The proxy exits when the run's process is gone, and the run stops it at its end.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext._processes import ProcessRecord, alive, spawn_detached, stop
from chaoslib_ext._readiness import ServiceStartError, wait_ready_file
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.run.proxied import PROCESS, READY
from chaoslib_ext.target import Target

__all__ = ["gone", "proxy_argv", "start_local_proxy", "stop_local_proxy"]


def _upstream(target: Target, link: str) -> str:
    upstream = target.links[link].get("upstream")
    if upstream:
        return str(upstream)
    linked = [s for s in target.services.values() if s.link == link]
    if not linked:
        raise TargetError(f"target {target.name!r}: proxy link {link!r} has no upstream and no service uses it")
    return linked[0].address


def _link_arg(name: str, upstream: str) -> str:
    """The proxy's ``--link`` for ``upstream``: ``https://host:port``, ``http://host:port`` or ``host:port``."""
    if "://" not in upstream:
        return f"{name}={upstream}"
    parts = urlsplit(upstream)
    if parts.scheme in ("http", "https"):
        default = 443 if parts.scheme == "https" else 80
        return f"{name}={parts.scheme}://{parts.hostname}:{parts.port or default}"
    return f"{name}={parts.hostname}:{parts.port}"  # redis://, rediss:// is refused below


def proxy_argv(target: Target, ready_file: Path, parent_pid: int) -> list[str]:
    """The command line of the proxy ``target`` asks for; raises TargetError for what it cannot relay."""
    argv = [sys.executable, "-m", "chaoslib_ext.proxy", "--ready-file", str(ready_file)]
    for name in sorted(target.links):
        upstream = _upstream(target, name)
        if upstream.startswith("rediss://"):
            raise TargetError(f"proxy link {name!r}: a TLS Redis upstream cannot be faulted by the local proxy")
        argv += ["--link", _link_arg(name, upstream)]
    gateway = target.services.get("gateway")
    ca = gateway.endpoint.ca_bundle if gateway is not None and gateway.endpoint is not None else None
    return [*argv, *(["--ca-file", ca] if ca else []), "--parent-pid", str(parent_pid)]


def start_local_proxy(target: Target, folder: Path, parent_pid: int, timeout_s: float = 20.0) -> dict[str, Any]:
    """Start the proxy ``target`` asks for, recorded in ``folder``; returns its ready record."""
    folder.mkdir(parents=True, exist_ok=True)
    record = spawn_detached("fault-proxy", proxy_argv(target, folder / READY, parent_pid), folder / "proxy.log")
    write_json_atomic(folder / PROCESS, record.to_json())
    try:
        ready: dict[str, Any] = wait_ready_file(record, folder / READY, timeout_s)
    except ServiceStartError as exc:
        stop(record, grace_s=5)
        raise TargetError(f"the run's fault proxy did not start: {exc}") from exc
    return ready


def gone(process_file: str) -> bool:
    """True when the proxy recorded in ``process_file`` runs no more: its faults went with it."""
    path = Path(process_file)
    return not path.exists() or not alive(ProcessRecord.from_json(read_json(path)))


def stop_local_proxy(folder: Path) -> bool:
    """Stop the run's proxy if it runs; True if it did."""
    path = folder / PROCESS
    if not path.exists():
        return False
    record = ProcessRecord.from_json(read_json(path))
    return alive(record) and stop(record, grace_s=5)
