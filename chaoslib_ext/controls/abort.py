"""The one abort: every fault in the ledger removed at once, each checked gone on its own backend, the
method stopped, the load left running for the recovery window; the run exits 3 (``operator_abort``).

Every way in leads here, in the run's own process: a game day's key and ``POST /abort`` (the run's
control endpoint, chaoslib_ext.controls.endpoint), SIGUSR1 (chaoslib_ext.controls.signals), ``chaosllm
abort`` from another terminal (the endpoint, else SIGUSR1), and the abort lock taken while the run runs
(chaoslib_ext.controls.lock). A second abort changes nothing and answers with the first one's record.

"Checked gone" is the driver contract's second removal: a backend that finds nothing left to remove
says so (False); one that found the fault still there has removed it now, and the record says which.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chaoslib_ext.faults import lifecycle
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.timeline import Aborted

__all__ = ["AbortResult", "abort", "earlier_abort"]

log = logging.getLogger("chaoslib_ext")
_ONE_AT_A_TIME = threading.Lock()  # the key and a SIGUSR1 at the same moment make one abort


@dataclass(frozen=True)
class AbortResult:
    at: float
    via: str
    reason: str
    who: str | None
    removed: tuple[str, ...]
    verified: tuple[str, ...]
    unverified: dict[str, str] = field(default_factory=dict)
    earlier: bool = False  # the run had been aborted already: this is that abort

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "via": self.via,
            "reason": self.reason,
            "who": self.who,
            "removed": list(self.removed),
            "verified": list(self.verified),
            "unverified": dict(self.unverified),
            "earlier": self.earlier,
        }

    @classmethod
    def from_event(cls, e: Aborted, earlier: bool = False) -> AbortResult:
        return cls(e["at"], e["via"], e["reason"], e.get("who"), tuple(e["removed"]), tuple(e["verified"]),
                   dict(e["unverified"]), earlier)  # fmt: skip


def earlier_abort(run: RunContext) -> AbortResult | None:
    """The run's abort, if it was aborted."""
    for e in run.timeline.events():
        if e["kind"] == "aborted":
            return AbortResult.from_event(e, earlier=True)
    return None


def abort(run: RunContext, via: str, reason: str, who: str | None = None) -> AbortResult:
    """Abort the run now (see the module's docstring); the record of what was removed and verified."""
    with _ONE_AT_A_TIME:
        found = earlier_abort(run)
        if found is not None:
            return found
        at = time.time()
        run.stop("abort", reason, via=via, who=who)  # the method ends at its next step; no new fault goes in
        log.error("aborted (%s%s): %s; removing every fault", via, f" by {who}" if who else "", reason)
        removed, _ = lifecycle.sweep(run, at_once=True)  # what could not be removed is in the timeline
        verified, unverified = _verify(run)
        run.timeline.record_aborted(at, via, reason, who, removed, verified, unverified)
        if unverified:
            log.error("after the abort, NOT verified gone: %s", "; ".join(f"{k}: {v}" for k, v in unverified.items()))
        return AbortResult(at, via, reason, who, tuple(removed), tuple(verified), unverified)


def _verify(run: RunContext) -> tuple[list[str], dict[str, str]]:
    """Every fault the run injected, asked of its backend at the same time: (gone, {id: why not}). One the
    sweep could not remove is not asked: it is still listed, with the removal's error."""
    entries = [e for e in run.ledger.entries() if e.injected_at is not None]
    unverified = {e.id: f"could not be removed: {e.error}" for e in entries if e.state != "removed"}
    removed = [e for e in entries if e.state == "removed"]
    if not removed:
        return [], unverified
    with ThreadPoolExecutor(len(removed), thread_name_prefix="chaosllm-verify") as pool:
        found = list(pool.map(lifecycle.verify_gone, removed))
    unverified |= {e.id: why for e, why in zip(removed, found, strict=True) if why is not None}
    return [e.id for e, why in zip(removed, found, strict=True) if why is None], unverified
