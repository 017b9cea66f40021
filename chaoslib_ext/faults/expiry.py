"""When a fault ends by itself, should nothing remove it: the dead-man switch of every backend.

A fault with a ``duration`` expires ``grace`` after it should have been removed; one without a
duration after ``UNBOUNDED_TTL_S``. The backend keeps the clock: the proxy's TTL, Chaos Mesh's
``duration``, a bounded ``CLIENT PAUSE``, the Redis blocker's deadline, and for the faults nothing
else would end (memory pressure, a failover, the mock cluster's faults, a killed process) a watchdog
process of ours (chaoslib_ext.faults.watchdog).

``CHAOSLLM_FAULT_GRACE`` (seconds) replaces every grace: the tests use it to see a fault expire in
seconds, not half a minute.
"""

from __future__ import annotations

import os

__all__ = ["UNBOUNDED_TTL_S", "grace_s", "ttl_s"]

#: A fault without a duration expires after this long, should nothing remove it.
UNBOUNDED_TTL_S = 900.0


def grace_s(default: float) -> float:
    """The grace after a fault's duration: ``default`` (the backend's), or ``CHAOSLLM_FAULT_GRACE``."""
    override = os.environ.get("CHAOSLLM_FAULT_GRACE")
    return float(override) if override else default


def ttl_s(duration_s: float | None, default_grace_s: float) -> float:
    """How long after injection a fault expires by itself."""
    return duration_s + grace_s(default_grace_s) if duration_s else UNBOUNDED_TTL_S
