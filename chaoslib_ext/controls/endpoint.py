"""The run's control endpoint: one HTTP server per run, in the run's own process, for the game day
console, a second screen, a chat bot, ``chaosllm abort`` and a Prometheus scrape.

    GET  /status                      the run now (chaoslib_ext.controls.live)
    GET  /health                      {"ok": true}
    POST /abort                       {reason?, who?}: the one abort (chaoslib_ext.controls.abort)
    POST /note                        {text, who?}: a note on the timeline (drawn in the report)
    POST /observation                 {ok, text?, who?}: steady state OK / not OK, as someone saw it
    POST /steps/next                  {who?}: approve the waiting step, else end the current observe
    POST /steps/skip                  {who?}: skip the waiting step
    POST /steps/pick                  {index, who?}: run that step next, skipping those before it
    POST /steps/hold | /steps/release {who?}: stop the method before its next step / go on
    POST /faults/rollback             {who?}: remove every fault now (the method goes on)
    POST /faults/{id}/rollback        {who?}: remove that fault now
    POST /faults/{id}/extend          {by, who?}: hold it ``by`` longer (where its backend can)

Loopback by default (``chaosllm_control: HOST:PORT`` in the configuration, ``--control-port`` and
``--control-host``); bound anywhere else it needs a bearer token, a credential reference
(``chaosllm_control_token: {env: VAR}`` or ``{secret: NAME}``, ``--control-token-env VAR``), checked on
every request. Where it listens (never the token) is in ``<run>/control.json``. Every answer is JSON;
an error is ``{"error": ..., "accepted"?: ...}`` with 400, 401, 404 or 409.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext._jsonfile import write_json_atomic
from chaoslib_ext.controls.abort import abort
from chaoslib_ext.controls.gate import Gate
from chaoslib_ext.controls.live import LiveStatus
from chaoslib_ext.durations import parse_duration
from chaoslib_ext.exceptions import ChaosLLMError, SpecError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.run.context import RunContext

__all__ = ["CONTROL_KEY", "TOKEN_KEY", "Endpoint", "parse_bind"]

log = logging.getLogger("chaoslib_ext")

CONTROL_KEY = "chaosllm_control"  # HOST:PORT (default 127.0.0.1:0: a free port on loopback)
TOKEN_KEY = "chaosllm_control_token"  # a credential reference: {env: VAR} or {secret: NAME}
_MAX_BODY = 64 * 1024


class _RefusedError(Exception):
    def __init__(self, status: int, message: str, accepted: str | None = None) -> None:
        super().__init__(message)
        self.status, self.accepted = status, accepted


def parse_bind(raw: object) -> tuple[str, int]:
    """``HOST:PORT`` (or a port alone, on loopback); raises SpecError naming what it accepts."""
    text = str(raw or "127.0.0.1:0")
    host, _, port = text.rpartition(":") if ":" in text else ("127.0.0.1", "", text)
    try:
        number = int(port)
        if not 0 <= number <= 65535:
            raise ValueError(port)
        return host.strip("[]") or "127.0.0.1", number
    except ValueError as exc:
        raise SpecError(CONTROL_KEY, f"{text!r} is not HOST:PORT", "HOST:PORT, e.g. 127.0.0.1:8089") from exc


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass
class Endpoint:
    run: RunContext
    gate: Gate
    live: LiveStatus
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    metrics: Callable[[], str] | None = None  # the Prometheus exposition, when an exporter is wired in

    def __post_init__(self) -> None:
        if self.token is None and not _loopback(self.host):
            raise SpecError(TOKEN_KEY, f"the control endpoint binds {self.host}, beyond loopback, without a token",
                            "{env: VAR} or {secret: NAME} (--control-token-env VAR)")  # fmt: skip
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self) -> str:
        """Listen (a thread of its own) and write ``control.json``; the URL."""
        endpoint = self

        class Handler(_Handler):
            owner = endpoint

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        shown = "127.0.0.1" if host == "0.0.0.0" else str(host)
        self.url = f"http://{shown}:{port}"
        threading.Thread(target=self._server.serve_forever, name="chaosllm-control", daemon=True).start()
        write_json_atomic(self.run.run_dir.control, {"url": self.url, "pid": os.getpid(),
                                                     "token": self.token is not None})  # fmt: skip
        log.info("control endpoint: %s (GET /status, POST /abort)", self.url)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- the routes ---------------------------------------------------------------------------------
    def get(self, path: str) -> tuple[int, Any, str]:
        if path == "/status":
            return 200, self.live.snapshot(), "application/json"
        if path == "/health":
            return 200, {"ok": True}, "application/json"
        if path == "/metrics" and self.metrics is not None:
            return 200, self.metrics(), "text/plain; version=0.0.4"
        raise _RefusedError(
            404, f"no route GET {path}", "GET /status, /health" + (", /metrics" if self.metrics else "")
        )

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        who = _text(body, "who", required=False)
        if path == "/abort":
            reason = _text(body, "reason", required=False) or "aborted by the operator"
            return abort(self.run, "POST /abort", reason, who).to_json()
        if path == "/note":
            self.run.timeline.record_note(_text(body, "text"), who=who)
            return {"ok": True}
        if path == "/observation":
            if not isinstance(body.get("ok"), bool):
                raise _RefusedError(400, "observation.ok must be true or false", "true (steady state OK), false")
            self.run.timeline.record_observation(body["ok"], _text(body, "text", required=False), who)
            return {"ok": True}
        steps = _STEPS.get(path)
        if steps is not None:
            return steps(self, body, who)
        match = re.fullmatch(r"/faults/(?:([^/]+)/)?(rollback|extend)", path)
        if match:
            return self._fault(match[1], match[2], body, who)
        routes = ["/abort", "/note", "/observation", *_STEPS, "/faults/rollback", "/faults/{id}/rollback|extend"]
        raise _RefusedError(404, f"no route POST {path}", ", ".join(routes))

    def _next(self, body: Mapping[str, Any], who: str | None) -> Any:
        if self.gate.waiting:
            return {"approved": self.gate.decide("run", who)}
        window = self._open_window()
        if window is None:
            raise _RefusedError(409, "no step waits and the method is not observing: nothing to advance "
                           "(a fault's hold ends when it is rolled back)")  # fmt: skip
        self.run.advance()
        return {"advanced": window}

    def _open_window(self) -> str | None:
        """The label of the observe under way, if one is."""
        import time

        windows = [e for e in self.run.timeline.events() if e["kind"] == "window"]
        last = windows[-1] if windows else None
        return last["label"] if last is not None and last["at"] + last["duration_s"] > time.time() else None

    def _fault(self, fault_id: str | None, verb: str, body: Mapping[str, Any], who: str | None) -> Any:
        if verb == "rollback" and fault_id is None:
            removed, failed = lifecycle.sweep(self.run, at_once=True)
            return {"removed": removed, "failed": failed}
        entry = self.run.ledger.get(str(fault_id))
        if entry is None:
            known = ", ".join(e.id for e in self.run.ledger.entries()) or "none"
            raise _RefusedError(404, f"no fault {fault_id!r} in this run", known)
        if verb == "rollback":
            return {"removed": [lifecycle.remove(self.run, entry).id]}
        try:
            by_s = parse_duration(str(body.get("by", "30s")), "by", allow_zero=False)
        except SpecError as exc:
            raise _RefusedError(400, str(exc), "a duration, e.g. 30s") from exc
        return {"hold_until": lifecycle.extend(self.run, entry.id, by_s).hold_until}


_STEPS: dict[str, Callable[[Endpoint, Mapping[str, Any], str | None], Any]] = {
    "/steps/next": lambda e, body, who: e._next(body, who),
    "/steps/skip": lambda e, body, who: {"skipped": e.gate.decide("skip", who)},
    "/steps/pick": lambda e, body, who: {"picked": e.gate.pick(_index(body), who)},
    "/steps/hold": lambda e, body, who: _held(e.gate.hold, who, True),
    "/steps/release": lambda e, body, who: _held(e.gate.release, who, False),
}


def _held(change: Callable[[str | None], None], who: str | None, held: bool) -> dict[str, bool]:
    change(who)
    return {"held": held}


def _text(body: Mapping[str, Any], key: str, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _RefusedError(400, f"{key} must be a non-empty string")
    return " ".join(value.split())[:2000]


def _index(body: Mapping[str, Any]) -> int:
    value = body.get("index")
    if not isinstance(value, int) or isinstance(value, bool):
        raise _RefusedError(400, "index must be the step's number (0 is the method's first)")
    return value


class _Handler(BaseHTTPRequestHandler):
    owner: Endpoint
    server_version = "chaosllm-control"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("control endpoint: " + format, *args)

    def do_GET(self) -> None:
        self._answer(lambda: self.owner.get(self.path.split("?", 1)[0]))

    def do_POST(self) -> None:
        def post() -> tuple[int, Any, str]:
            return 200, self.owner.post(self.path.split("?", 1)[0], self._body()), "application/json"

        self._answer(post)

    def _body(self) -> Mapping[str, Any]:
        length = int(self.headers.get("content-length") or 0)
        if length > _MAX_BODY:
            raise _RefusedError(400, f"body over {_MAX_BODY} bytes")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise _RefusedError(400, f"body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise _RefusedError(400, "body must be a JSON object")
        return body

    def _answer(self, handle: Callable[[], tuple[int, Any, str]]) -> None:
        try:
            self._authorize()
            status, body, kind = handle()
        except _RefusedError as exc:
            status, kind = exc.status, "application/json"
            body = {"error": str(exc), **({"accepted": exc.accepted} if exc.accepted else {})}
        except SpecError as exc:  # a step or fault decision that does not apply now
            status, kind, body = 409, "application/json", {"error": str(exc)}
        except ChaosLLMError as exc:
            status, kind, body = 409, "application/json", {"error": str(exc)}
        data = (body if isinstance(body, str) else json.dumps(body, default=str)).encode()
        data = secrets.scrub(data.decode()).encode()
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        if status == 401:
            self.send_header("www-authenticate", 'Bearer realm="chaosllm"')
        self.end_headers()
        self.wfile.write(data)

    def _authorize(self) -> None:
        token = self.owner.token
        if token is None:
            return
        given = self.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise _RefusedError(401, "a bearer token is required (Authorization: Bearer <the run's control token>)")
