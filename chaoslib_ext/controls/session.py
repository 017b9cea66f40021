"""What a run holds open in its own process from its start to its end: the control endpoint, the gate
between the method's steps, and the watch on the abort lock (taken while the run runs: it aborts).

    configuration:
      chaosllm_control: 127.0.0.1:0       # where the endpoint listens (--control-host, --control-port)
      chaosllm_control_token: {env: VAR}  # its bearer token: needed beyond loopback (--control-token-env)
      chaosllm_approve: each              # every step of the method waits for approval (--approve each)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext.controls import lock
from chaoslib_ext.controls.abort import abort
from chaoslib_ext.controls.endpoint import CONTROL_KEY, TOKEN_KEY, Endpoint, parse_bind
from chaoslib_ext.controls.gate import Gate
from chaoslib_ext.controls.live import LiveStatus
from chaoslib_ext.exceptions import ChaosLLMError, SpecError, TargetError
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.verdict.spec import Hypothesis

__all__ = ["APPROVE_KEY", "LOCK_POLL_S", "Session", "close_session", "open_session", "session_of"]

log = logging.getLogger("chaoslib_ext")
APPROVE_KEY = "chaosllm_approve"
LOCK_POLL_S = 2.0


@dataclass
class Session:
    run: RunContext
    gate: Gate
    endpoint: Endpoint
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.endpoint.start()
        threading.Thread(target=self._watch_lock, name="chaosllm-lock-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.endpoint.stop()

    def _watch_lock(self) -> None:
        """The abort lock taken while the run runs (here or on its cluster) aborts it."""
        complained = False
        while not self._stop.wait(LOCK_POLL_S) and not self.run.stopped:
            try:
                found = lock.held(self.run.target())
            except ChaosLLMError as exc:
                if not complained:
                    log.warning("the abort lock cannot be read: %s (will try again)", exc)
                    complained = True
                continue
            if found is not None:
                abort(self.run, "the abort lock", found.reason, found.who)
                return


_SESSIONS: dict[str, Session] = {}


def open_session(
    run: RunContext,
    method: Sequence[Mapping[str, Any]],
    configuration: Mapping[str, Any],
    hypotheses: tuple[Hypothesis, ...],
) -> Session:
    """Start the run's endpoint and lock watch; raises SpecError for a bad bind, token or approval mode."""
    host, port = parse_bind(configuration.get(CONTROL_KEY))
    token = None
    if isinstance(configuration.get(TOKEN_KEY), str):
        raise SpecError(TOKEN_KEY, "a token in clear would be written with the configuration",
                        "{env: VAR} or {secret: NAME}")  # fmt: skip
    if configuration.get(TOKEN_KEY) is not None:
        try:
            token = secrets.resolve(secrets.parse_credential(configuration[TOKEN_KEY], TOKEN_KEY))
        except TargetError as exc:
            raise SpecError(TOKEN_KEY, str(exc), "{env: VAR} or {secret: NAME}") from exc
        secrets.register([token])
    gate = Gate(run, method, str(configuration.get(APPROVE_KEY) or "none"))
    session = Session(run, gate, Endpoint(run, gate, LiveStatus(run, hypotheses, gate), host, port, token))
    session.start()
    _SESSIONS[str(run.run_dir.path)] = session
    return session


def session_of(run: RunContext) -> Session | None:
    return _SESSIONS.get(str(run.run_dir.path))


def close_session(run: RunContext) -> None:
    found = _SESSIONS.pop(str(run.run_dir.path), None)
    if found is not None:
        found.stop()
