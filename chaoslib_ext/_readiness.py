"""Waiting for a freshly started service, with its log tail in the error when it never comes up."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext._processes import ProcessRecord, alive, log_tail
from chaoslib_ext.exceptions import ServiceStartError

__all__ = ["ServiceStartError", "free_port", "wait_for", "wait_port", "wait_ready_file"]

T = TypeVar("T")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a server that binds it itself a moment later. Taken below the kernel's
    ephemeral range when it can be: the kernel hands ports of that range to every outgoing connection
    and every ``bind(0)``, which could take it in between (a broker once failed with "Address in use")."""
    low = _ephemeral_low()
    rng = random.SystemRandom()
    for _ in range(50):
        port = rng.randrange(10000, low) if low > 10100 else 0
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for(record: ProcessRecord, what: str, check: Callable[[], T | None], timeout_s: float) -> T:
    """Poll ``check`` until it returns a value; raise ServiceStartError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        if not alive(record):
            raise ServiceStartError(f"{record.name} exited before {what}; log {record.log}:\n{log_tail(record.log)}")
        time.sleep(0.05)
    raise ServiceStartError(f"{record.name}: no {what} after {timeout_s:g}s; log {record.log}:\n{log_tail(record.log)}")


def wait_ready_file(record: ProcessRecord, path: Path, timeout_s: float = 30.0) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        return read_json(path) if path.exists() else None

    return wait_for(record, "ready file", check, timeout_s)


def wait_port(record: ProcessRecord, host: str, port: int, timeout_s: float = 30.0) -> None:
    def check() -> bool | None:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
        except OSError:
            return None
        return True

    wait_for(record, f"listener on {host}:{port}", check, timeout_s)
