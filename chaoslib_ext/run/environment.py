"""What the run ran on: versions of Python, the platform and the packages that measured it.

Captured once, when the run's first report is written, into ``environment.json``; a later
``chaosllm report`` keeps it, so the versions are those of the run, not of the machine re-reporting.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypedDict

from chaoslib_ext._jsonfile import read_json, write_json_atomic

__all__ = ["PACKAGES", "Environment", "EnvironmentJson", "environment"]

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


class EnvironmentJson(TypedDict):
    python: str
    implementation: str | None
    platform: str
    machine: str | None
    cpus: int | None
    packages: dict[str, str | None]


@dataclass(frozen=True)
class Environment:
    """What measured the run: Python, the platform, the CPUs and the versions of :data:`PACKAGES`."""

    python: str
    implementation: str | None
    platform: str
    machine: str | None
    cpus: int | None
    packages: dict[str, str | None]

    def to_json(self) -> EnvironmentJson:
        return {
            "python": self.python,
            "implementation": self.implementation,
            "platform": self.platform,
            "machine": self.machine,
            "cpus": self.cpus,
            "packages": dict(self.packages),
        }

    @classmethod
    def from_json(cls, raw: EnvironmentJson) -> Environment:
        return cls(
            str(raw["python"]),
            raw.get("implementation"),
            str(raw["platform"]),
            raw.get("machine"),
            raw.get("cpus"),
            dict(raw.get("packages") or {}),
        )


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment(path: Path) -> Environment:
    """The environment recorded in ``path``, recorded now if it is not there yet."""
    if path.exists():
        recorded: EnvironmentJson = read_json(path)
        return Environment.from_json(recorded)
    found = Environment(
        python=sys.version.split()[0],
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        machine=platform.machine(),
        cpus=os.cpu_count(),
        packages={name: _version(name) for name in PACKAGES},
    )
    write_json_atomic(path, found.to_json())
    return found
