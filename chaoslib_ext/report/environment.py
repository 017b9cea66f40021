"""What the run ran on: versions of Python, the platform and the packages that measured it.

Captured once, when the run's first report is written, into ``environment.json``; a later
``chaosllm report`` keeps it, so the versions are those of the run, not of the machine re-reporting.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from chaoslib_ext.jsonfile import read_json, write_json_atomic

__all__ = ["PACKAGES", "environment"]

PACKAGES = (
    "chaoslib-ext",
    "chaostoolkit-lib",
    "chaostoolkit",
    "locust",
    "numpy",
    "redis",
    "confluent-kafka",
    "kubernetes",
)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment(path: Path) -> dict[str, Any]:
    """The environment recorded in ``path``, recorded now if it is not there yet."""
    if path.exists():
        recorded: dict[str, Any] = read_json(path)
        return recorded
    found = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "packages": {name: _version(name) for name in PACKAGES},
    }
    write_json_atomic(path, found)
    return found
