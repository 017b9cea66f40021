"""A Locust user streaming from an OpenAI-compatible endpoint, and the shape that paces it.

Configured by environment variables set by ``chaoslib_ext.load.runner``: ``CHAOSLLM_LOAD_SPEC``
(the load spec as JSON, secrets scrubbed), ``CHAOSLLM_LOAD_HEADERS`` (the request headers in clear)
and ``CHAOSLLM_SAMPLES_DIR`` (where samples go).

Measurement rules (docs/design.md): the response is read one line at a time with ``readline(b"\\n")``
(``iter_lines()`` reads 1 KB chunks and adds ~40 ms to TTFT); each line is timestamped with
``perf_counter`` *before* it is parsed; only events with non-empty generated text count as tokens.

Closed loop (``users``): each user sends its next request when the last one is done. Open loop
(``rate``): one sender per load process sends its share of the run's seeded schedule at the scheduled
times (``chaoslib_ext.load.arrivals``), each request in its own greenlet, recording its scheduled
time beside the actual one; the schedule (unix seconds) is the one the runner wrote in
``samples/schedule.f64``, the same for every process.

Two bounds end a request as an error of its own class: ``idle_timeout`` (the socket's: no byte for
that long) and ``timeout``, the deadline of the whole request, enforced by a gevent timer whatever the
server sends (a stream trickling a byte every few seconds never trips a socket timeout). TLS is
verified unless the spec says ``insecure`` (Locust's own default is not to verify).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import gevent.ssl
from gevent import getcurrent
from gevent.pywsgi import WSGIServer
from locust import FastHttpUser, LoadTestShape, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from chaoslib_ext import secrets
from chaoslib_ext._processes import start_ticks
from chaoslib_ext.exceptions import HttpProtocolError
from chaoslib_ext.load.arrivals import LEAD_S, SPIN_S, Dispatcher, concurrency_share, process_share, wait_until
from chaoslib_ext.load.health import HEARTBEATS, HeartbeatWriter
from chaoslib_ext.load.http1 import Connection, ConnectionPool, Endpoint
from chaoslib_ext.load.prompts import Prompts
from chaoslib_ext.load.remote import (
    CLOCK_EVERY_S,
    JOIN_PATH,
    SHIP_EVERY_S,
    Receiver,
    RemoteWorker,
    Shipper,
    exchange,
    join_port,
)
from chaoslib_ext.load.runner import STOP_TIMEOUT_S
from chaoslib_ext.load.spec import CONNECT_BUDGET_S, LoadSpec
from chaoslib_ext.load.traceparent import TraceSampler
from chaoslib_ext.samples import SampleWriter
from chaoslib_ext.samples.errors import error_class
from chaoslib_ext.samples.host import HostRecorder
from chaoslib_ext.samples.lag import LagProbe
from chaoslib_ext.samples.reader import schedule_times
from chaoslib_ext.sse import FAULT_HEADER, LineKind, StreamState, fault_mask, feed_line


def _load_spec() -> LoadSpec:
    path = os.environ.get("CHAOSLLM_LOAD_SPEC")
    if not path:
        raise SystemExit("CHAOSLLM_LOAD_SPEC is not set: run this locustfile through `chaosllm load`")
    return LoadSpec.from_json(json.loads(Path(path).read_text()))


SPEC = _load_spec()
PROFILE = SPEC.profile()
SAMPLES_DIR = Path(os.environ.get("CHAOSLLM_SAMPLES_DIR", "samples"))
WRITER = SampleWriter(SAMPLES_DIR)
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "text/event-stream",
    "Accept-Encoding": "identity",  # a compressed stream cannot be read line by line as it arrives
    **json.loads(os.environ.get("CHAOSLLM_LOAD_HEADERS") or "{}"),  # every header, in clear, only here
}
for _name, _value in HEADERS.items():
    secrets.register_header(_name, _value)  # an error body that echoes a key is scrubbed before any write
#: a share of the requests carry a traceparent in the run's trace (chaoslib_ext.controls.tracing)
TRACES = TraceSampler.from_env(os.environ.get("CHAOSLLM_TRACE"), SAMPLES_DIR)
_CONTENT = LineKind.CONTENT
_ORPHAN_GRACE_S = 20.0
#: a remote worker (chaoslib_ext.load.remote) ships its samples to the master instead of sharing its disk
REMOTE = bool(os.environ.get("CHAOSLLM_REMOTE_WORKER"))
#: for the tests of clock correction only: a remote worker's wall clock this far off, its clock
#: exchanges answered this late (a real worker has its host's clock and answers at once)
_SKEW_S = float(os.environ.get("CHAOSLLM_TEST_CLOCK_SKEW_S") or 0.0) if REMOTE else 0.0
_SYNC_DELAY_S = float(os.environ.get("CHAOSLLM_TEST_SYNC_DELAY_S") or 0.0) if REMOTE else 0.0


def _now() -> float:
    """This process's wall clock (unix seconds) for every time it records."""
    return time.time() + _SKEW_S


class RequestDeadlineError(Exception):
    """The request's whole-request deadline (``timeout``) passed."""


def _tls_context(cafile: str | None = None) -> gevent.ssl.SSLContext:
    return gevent.ssl.create_default_context(cafile=SPEC.ca_bundle or cafile)


def _socket_tls() -> gevent.ssl.SSLContext:
    """TLS for chaoslib_ext.load.http1: verified against ``ca_bundle`` or the system's CAs, unless ``insecure``."""
    context = gevent.ssl.create_default_context(cafile=SPEC.ca_bundle)
    if SPEC.insecure:
        context.check_hostname = False
        context.verify_mode = gevent.ssl.CERT_NONE
    return context


_IDS = itertools.count()
#: the retry policy's jitter (chaoslib_ext.load.retry): seeded, the same draws in every process
_RETRY_RNG = random.Random(SPEC.retry.seed if SPEC.retry else 0)
#: a workload's prompts (chaoslib_ext.load.prompts), from the file the runner prepared
PROMPTS = (
    Prompts.read(Path(os.environ["CHAOSLLM_WORKLOAD"]), SPEC.endpoint_path == "/v1/chat/completions")
    if SPEC.workload is not None
    else None
)


def _body(side_model: str | None) -> tuple[bytes, int | None, int | None]:
    """The next request's body, and the input and output lengths its workload asked for."""
    n = next(_IDS)
    body = SPEC.request_body(f"{os.getpid()}-{n}", side_model)
    if PROMPTS is None:
        return json.dumps(body).encode(), None, None
    # request n of this process is request n * processes + index of the run: each asked once
    worker = max(0, getattr(getattr(_ENVIRONMENT, "runner", None), "worker_index", 0))
    request = PROMPTS.request(n * SPEC.senders + worker)
    body.pop("messages", None)
    body.pop("prompt", None)
    body.update(PROMPTS.body(request, side_model or SPEC.model))
    body.update(SPEC.extra_body)
    return json.dumps(body).encode(), request.want_in, request.want_out


def _send(user: _Streaming, side_tag: int, sched_t0: float | None = None) -> None:
    """One streamed request, measured and written as a sample (``sched_t0``: its scheduled time); with a
    retry policy, the same body again after a listed failure, each attempt its own sample."""
    side = SPEC.side(side_tag)
    data, want_in, want_out = _body(side.model)
    url = SPEC.endpoint_url(side.url)
    if sched_t0 is not None:  # started a moment early by the dispatcher: send exactly when due
        wait_until(sched_t0, _now, gevent.sleep, SPIN_S)
    first_t0 = None
    for attempt in itertools.count():
        state, status, retried, t0 = _attempt(user, url, data, side_tag, sched_t0 if attempt == 0 else None,
                                              (want_in, want_out), attempt, first_t0)  # fmt: skip
        first_t0 = first_t0 or t0
        if SPEC.retry is None or not retried:
            return
        gevent.sleep(SPEC.retry.wait_s(attempt, status, state.retry_after, _RETRY_RNG, time.time()))


def _attempt(
    user: _Streaming,
    url: str,
    data: bytes,
    side_tag: int,
    sched_t0: float | None,
    wanted: tuple[int | None, int | None],
    attempt: int,
    first_t0: float | None,
) -> tuple[StreamState, int, bool, float]:
    """One attempt of a request, measured; its sample is written once the retry policy has said whether
    another follows (``retried``)."""
    _STARTED[0] += 1  # attempts: a remote worker's count of the records it should ship
    state = StreamState()
    times: list[float] = []
    t0 = _now()
    traceparent = TRACES.next(t0) if TRACES is not None else None
    start = time.perf_counter()
    deadline = gevent.Timeout(SPEC.deadline_s, RequestDeadlineError())
    deadline.start()
    try:
        if SPEC.client == "socket":
            status, error = _stream(user.pool(url), data, state, times, traceparent)
        else:
            status, error = _stream_fasthttp(user.client, url, data, start, state, times, traceparent)
    finally:
        deadline.close()
    end = time.perf_counter()
    error = None if error is None else secrets.scrub(error)
    if SPEC.client == "socket":  # Locust's own stats (FastHttpUser fires this itself)
        user.environment.events.request.fire(
            request_type="POST", name=SPEC.endpoint_path, response_time=(end - start) * 1000.0, response_length=0,
            exception=None if error is None else StreamError(error), context={}, url=url,
        )  # fmt: skip
    retried = (
        error is not None and SPEC.retry is not None and SPEC.retry.retries(attempt, status, error_class(status, error))
    )
    WRITER.write(
        {
            "t0": t0,
            "ttft_ms": round((times[0] - start) * 1000.0, 4) if times else None,
            "itl_ms": [(b - a) * 1000.0 for a, b in itertools.pairwise(times)],  # kept as float32
            "tokens": state.usage_tokens if state.usage_tokens is not None else len(times),
            "events": len(times),
            "status": status,
            "error": error,
            "done_ms": round((end - start) * 1000.0, 4),
            "server_ttft_ms": state.server_ttft_ms,
            "side": side_tag,
            "sched_t0": sched_t0,
            "in_tokens": state.prompt_tokens,
            "want_in": wanted[0],
            "want_out": wanted[1],
            "faults": state.faults,
            "attempt": attempt,
            "retried": retried,
            "first_t0": first_t0,
        }
    )
    _FINISHED[0] += 1
    return state, status, retried, t0


class StreamError(Exception):
    """A request's error, for Locust's stats."""


def _stream(
    pool: ConnectionPool, data: bytes, state: StreamState, times: list[float], traceparent: str | None = None
) -> tuple[int, str | None]:
    """Send on a pooled connection and read the stream (chaoslib_ext.load.http1); (status, error).
    A reused connection the server closed while idle fails before any byte: retried once on a new one."""
    head = pool.head(HEADERS, len(data))
    if traceparent is not None:  # the head is kept per body length: the traced one is a copy with one more line
        head = head[:-2] + f"traceparent: {traceparent}\r\n\r\n".encode()
    for retry in (False, True):
        try:
            conn = pool.take()
        except (RequestDeadlineError, TimeoutError) as exc:
            return 0, _describe(exc)
        except OSError as exc:
            return 0, f"connection failed: {exc}"
        reused, status, body = conn.requests > 0, 0, b""
        _READING[gevent.getcurrent()] = conn
        try:
            for now, lines, reader in conn.request(head, data):
                if not status:  # the head is in: the fault proxy's marks so far ride in a header of it
                    status = reader.status
                    state.faults |= fault_mask(reader.headers.get(FAULT_HEADER, ""))
                if status != 200:
                    body = (body + b"\n".join(lines))[:300]
                    state.retry_after = reader.headers.get("retry-after")
                    continue
                for line in lines:
                    if feed_line(line, state) == _CONTENT:
                        times.append(now)
        except (OSError, HttpProtocolError, RequestDeadlineError) as exc:
            if reused and not status and not retry and not isinstance(exc, RequestDeadlineError | TimeoutError):
                continue
            return status, _describe(exc)
        finally:
            _READING.pop(gevent.getcurrent(), None)
            pool.give_back(conn)
        return status, f"HTTP {status}: {body.decode(errors='replace')}" if status != 200 else _verdict(state, times)
    raise AssertionError("unreachable")  # pragma: no cover


def _verdict(state: StreamState, times: list[float]) -> str | None:
    """The error of a 200 response read to its end, if any."""
    state.end()
    if state.error is not None:
        return f"error event: {state.error}"
    if state.malformed:
        return f"malformed event: {state.malformed} SSE event(s) whose data is not JSON"
    if not state.done:
        return "stream ended before [DONE]"
    if not times:
        return "no content in the stream"
    return None


def _stream_fasthttp(
    client: object, url: str, data: bytes, start: float, state: StreamState, times: list[float],
    traceparent: str | None = None,
) -> tuple[int, str | None]:  # fmt: skip
    """The same through Locust's FastHttpUser (``load.client: fasthttp``): ``readline(b"\\n")`` per line."""
    status, error = 0, None
    headers = HEADERS if traceparent is None else {**HEADERS, "traceparent": traceparent}
    try:
        with client.request(  # type: ignore[attr-defined]
            "POST", url, data=data, headers=headers, stream=True, catch_response=True, name=SPEC.endpoint_path
        ) as resp:
            status = resp.status_code or 0
            try:
                error = _read(resp, status, state, times)
            except Exception as exc:  # a reset or timeout mid-stream is a measured failure
                error = _describe(exc)
            resp.request_meta["response_time"] = (time.perf_counter() - start) * 1000.0
            error = None if error is None else secrets.scrub(error)
            if error is None:
                resp.success()
            else:
                resp.failure(error)
    except Exception as exc:
        error = error or _describe(exc)
    return status, error


class _Streaming(FastHttpUser):
    """A streaming user: its connections (``load.client: socket``) or Locust's client (``fasthttp``)."""

    abstract = True
    host = SPEC.url
    network_timeout = SPEC.idle_timeout_s
    connection_timeout = min(SPEC.deadline_s, CONNECT_BUDGET_S)
    insecure = SPEC.insecure
    ssl_context_factory = None if SPEC.insecure else staticmethod(_tls_context)

    def pool(self, url: str) -> ConnectionPool:
        """This user's keep-alive connections to ``url``'s server (one pool per side's URL)."""
        pools: dict[str, ConnectionPool] = self.__dict__.setdefault("_pools", {})
        if url not in pools:
            endpoint = Endpoint.parse(url)
            tls = _socket_tls() if endpoint.tls else None
            pools[url] = ConnectionPool(endpoint, self.connection_timeout, SPEC.idle_timeout_s, tls, _hub_waiter)
        return pools[url]


def _hub_waiter(sock: socket.socket) -> Callable[[], None]:
    """Waits in the hub until ``sock`` is readable: one io watcher per connection, armed per wait, that
    switches straight back to the waiting greenlet (``Hub.wait`` makes a Waiter each time). A switch back
    for another reason only makes the next ``recv`` find nothing: the cooperative socket then waits."""
    hub = gevent.get_hub()
    watcher = hub.loop.io(sock.fileno(), 1)
    start, stop, switch = watcher.start, watcher.stop, hub.switch

    def wait() -> None:
        start(getcurrent().switch)
        try:
            switch()
        finally:
            stop()

    return wait


class IdleTimeoutError(TimeoutError):
    """No byte came on a request's connection for ``idle_timeout`` (found by :func:`_watch_idle`)."""


#: the requests reading a connection now, by greenlet: their connections have no socket timeout (a
#: timer armed per wait costs more than a token's parsing); one watcher ends those idle too long
_READING: dict[gevent.Greenlet, Connection] = {}
_IDLE_CHECK_S = 0.1


def _watch_idle() -> None:
    """End every request whose connection has been silent for ``idle_timeout`` (checked 10 times a second)."""
    hub = gevent.get_hub()
    while True:
        gevent.sleep(_IDLE_CHECK_S)
        now = time.perf_counter()
        for glet, conn in list(_READING.items()):
            if now - conn.last_io > SPEC.idle_timeout_s:

                def end(glet: gevent.Greenlet = glet, conn: Connection = conn) -> None:
                    if _READING.get(glet) is conn:  # still reading the same request when this runs
                        del _READING[glet]
                        glet.throw(IdleTimeoutError())

                hub.loop.run_callback(end)


class StreamingUser(_Streaming):
    """A closed loop: the next request when the last one is done (after ``think_time``)."""

    abstract = SPEC.arrivals is not None
    wait_time = constant(SPEC.think_time_s)
    _users = itertools.count()

    def on_start(self) -> None:
        # alternating sides: half the users start on A, half on B, each flips at every request
        self.side = 1 + next(self._users) % 2 if SPEC.alternate else 0

    @task
    def stream(self) -> None:
        _send(self, self.side)
        if self.side:
            self.side = 3 - self.side


class OpenLoopSender(_Streaming):
    """An open loop: this process's share of the schedule, each request on time in its own greenlet."""

    abstract = SPEC.arrivals is None
    wait_time = constant(0)
    # the connection pool: as many requests in flight as the cap allows (without one, plenty)
    concurrency = (SPEC.arrivals.max_concurrency if SPEC.arrivals else None) or 1024

    @task
    def dispatch(self) -> None:
        arrivals = SPEC.arrivals
        assert arrivals is not None
        assert SPEC.duration_s is not None  # the runner bounds every load
        index = max(0, getattr(self.environment.runner, "worker_index", 0))
        due = process_share(schedule_times(SAMPLES_DIR), index, SPEC.senders)
        sides = itertools.cycle((1, 2) if SPEC.alternate else (0,))

        def start(sched_t0: float, done: object) -> None:
            def request() -> None:
                try:
                    _send(self, next(sides), sched_t0)
                finally:
                    done()  # type: ignore[operator]

            gevent.spawn(request)

        cap = concurrency_share(arrivals.max_concurrency, index, SPEC.senders)
        Dispatcher(due, cap, _now, gevent.sleep, start, WRITER.write_not_sent, LEAD_S).run()
        gevent.sleep(SPEC.duration_s + SPEC.deadline_s)  # the schedule is done: the run's end stops this user


def _describe(exc: Exception) -> str:
    """The error of a request that raised, its class first (``timeout:``, ``idle_timeout:``)."""
    if isinstance(exc, RequestDeadlineError):
        return f"timeout: the request exceeded its deadline of {SPEC.deadline_s:g}s"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"idle_timeout: no byte for {SPEC.idle_timeout_s:g}s ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _read(resp: object, status: int, state: StreamState, times: list[float]) -> str | None:
    """Read the whole response; append each content event's time to ``times``; return the error, if any."""
    if status == 0:  # Locust caught what the request raised before a status line came
        error = getattr(resp, "error", None)
        if isinstance(error, RequestDeadlineError | socket.timeout | TimeoutError):
            return _describe(error)
        return f"connection failed: {error or 'no response'}"
    headers = getattr(resp, "headers", None) or {}
    state.faults |= fault_mask(headers.get(FAULT_HEADER, ""))  # the fault proxy's marks at the head
    if status != 200:
        body = (getattr(resp, "content", None) or b"")[:300]
        state.retry_after = headers.get("retry-after") or headers.get("Retry-After")
        return f"HTTP {status}: {body.decode(errors='replace')}"
    readline = resp._response.readline  # type: ignore[attr-defined]
    perf_counter = time.perf_counter
    while True:
        line = readline(b"\n")
        now = perf_counter()
        if not line:
            break
        if feed_line(line, state) == _CONTENT:
            times.append(now)
    return _verdict(state, times)


class ProfileShape(LoadTestShape):
    """Users over time from the load spec's shape; stops the run when the spec's duration is over
    (Locust ignores --run-time when a shape is used: this is the run's time bound)."""

    def tick(self) -> tuple[int, float] | None:
        return PROFILE.tick(self.get_run_time())


@events.quitting.add_listener
def _close_samples(**_kwargs: object) -> None:
    WRITER.close()


@events.init.add_listener
def _stop_when_orphaned(environment: Environment, **_kwargs: object) -> None:
    """A dead-man switch: when the process that started this one dies (the runner for the master,
    the master for a --processes worker), stop within a second or two instead of loading forever."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            gevent.sleep(1.0)
        if environment.runner is not None:
            environment.runner.quit()
        gevent.sleep(_ORPHAN_GRACE_S)
        os._exit(0)  # the graceful quit did not end the process: leave anyway

    gevent.spawn(watch)


@events.init.add_listener
def _record_host(environment: Environment, **_kwargs: object) -> None:
    """This host's CPU busy and steal shares, once a second, in samples/host.jsonl (chaoslib_ext.samples.host);
    once per machine: not in the workers of --processes."""
    if isinstance(environment.runner, WorkerRunner):
        return
    recorder = HostRecorder(SAMPLES_DIR)
    if recorder.available:
        gevent.spawn(recorder.run, gevent.sleep)


@events.init.add_listener
def _start_idle_watch(environment: Environment, **_kwargs: object) -> None:
    if SPEC.client == "socket" and not isinstance(environment.runner, MasterRunner):
        gevent.spawn(_watch_idle)


@events.init.add_listener
def _probe_lag(environment: Environment, **_kwargs: object) -> None:
    """How late this process's hub runs a 50 Hz timer, in samples/lag.jsonl (chaoslib_ext.samples.lag);
    in every process that sends requests (not the master of --processes, which sends none)."""
    if not isinstance(environment.runner, MasterRunner):
        probe = LagProbe(SAMPLES_DIR, wall=_now)
        gevent.spawn(probe.run, gevent.sleep)
        events.quitting.add_listener(lambda **_kw: probe.write_line())  # the last part of a second


@events.init.add_listener
def _beat(environment: Environment, **_kwargs: object) -> None:
    """A heartbeat of this process once a second, whatever the responses do (chaoslib_ext.load.health)."""
    runner = environment.runner
    role = "worker" if isinstance(runner, WorkerRunner) else "master" if isinstance(runner, MasterRunner) else "local"
    folder = Path(os.environ["CHAOSLLM_LOAD_SPEC"]).parent / HEARTBEATS
    writer = HeartbeatWriter(folder, role, start_ticks(os.getpid()), lambda: _STARTED[0] - _FINISHED[0])
    gevent.spawn(writer.run, gevent.sleep)


_ENVIRONMENT: Environment | None = None


@events.init.add_listener
def _remember_environment(environment: Environment, **_kwargs: object) -> None:
    """The runner, for a --processes worker's index (a workload's request numbers)."""
    global _ENVIRONMENT
    _ENVIRONMENT = environment


_STARTED = [0]  # requests this process began (a remote worker reports it with each shipment)
_FINISHED = [0]  # requests this process finished (their sample written): the rest are in flight
#: a remote worker whose master sent no heartbeat (Locust's: every second) for this long leaves
_MASTER_SILENT_S = 3.0


@events.init.add_listener
def _serve_remote_workers(environment: Environment, **_kwargs: object) -> None:
    """The master's side of ``load.workers`` (chaoslib_ext.load.remote): the join port serves the run's
    load, each remote worker's clock is exchanged at join and every 30 s, its shipments are appended to
    the run's samples on this clock, and it gets a heartbeat here for each."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner) or not SPEC.workers:
        return
    load_dir = Path(os.environ["CHAOSLLM_LOAD_SPEC"]).parent
    receiver = Receiver(SAMPLES_DIR, load_dir, SPEC.max_clock_offset_s)
    beats = HeartbeatWriter(load_dir / HEARTBEATS, "master", start_ticks(os.getpid()))

    def beat(worker: RemoteWorker) -> None:
        beats.role = f"remote worker {worker.name}"
        beats.beat(f"remote-{worker.name}", worker.refused)

    def ping(client_id: str) -> None:
        runner.send_message("chaosllm_clock", {"sent_at": time.time()}, client_id=client_id)

    def on_hello(environment: Environment, msg: Any, **_kw: object) -> None:
        beat(receiver.joined(msg.node_id, runner.get_worker_index(msg.node_id)))
        ping(msg.node_id)

    def on_clock(environment: Environment, msg: Any, **_kw: object) -> None:
        sample = exchange(float(msg.data["sent_at"]), float(msg.data["worker_at"]), time.time())
        worker = receiver.clock(msg.node_id, sample)
        runner.send_message("chaosllm_offset", {"offset_s": sample.offset_s}, client_id=msg.node_id)
        beat(worker)

    def on_samples(environment: Environment, msg: Any, **_kw: object) -> None:
        if msg.node_id in receiver.workers:
            data = msg.data
            beat(receiver.shipment(msg.node_id, data["files"], int(data["started"]), bool(data.get("final"))))

    def clocks() -> None:
        while True:
            gevent.sleep(CLOCK_EVERY_S)
            for client_id in list(receiver.workers):
                ping(client_id)

    def finish(**_kw: object) -> None:
        """The load stops (its end, or SIGTERM: Locust fires ``quitting`` before its runner ends): every
        remote worker stops its users and ships its last samples, waited for here while users finish
        the request in hand."""
        if any(w.state == "finishing" for w in receiver.workers.values()):
            return
        for worker in receiver.workers.values():
            worker.state = "finishing" if worker.state != "quit" else worker.state
        for client_id in list(receiver.workers):
            runner.send_message("chaosllm_finish", None, client_id=client_id)
        deadline = time.monotonic() + STOP_TIMEOUT_S + 2.0

        def shipping() -> bool:  # a worker that went silent is not waited for
            now = time.time()
            return any(w.state != "quit" and now - (w.last_shipment_at or 0) < _MASTER_SILENT_S
                       for w in receiver.workers.values())  # fmt: skip

        while time.monotonic() < deadline and shipping():
            gevent.sleep(0.1)

    events.test_stop.add_listener(finish)
    events.quitting.add_listener(finish)
    # Locust installs its SIGTERM handler only once a shape test is over (headless with a shape, it
    # waits for the shape first): until then SIGTERM ends the master at once, and the workers' last
    # samples with it. Stop the test instead: the workers stop, ship the rest, and Locust quits.
    gevent.signal_handler(signal.SIGTERM, lambda: gevent.spawn(runner.stop))
    runner.register_message("chaosllm_hello", on_hello)
    runner.register_message("chaosllm_clock", on_clock)
    runner.register_message("chaosllm_samples", on_samples)
    gevent.spawn(clocks)
    options = environment.parsed_options
    _serve_join(options.master_bind_host, join_port(options.master_bind_port))


def _serve_join(host: str, port: int) -> None:
    """GET /chaosllm/join: the run's load spec (secrets by reference only) and its workload's prompts."""
    workload = os.environ.get("CHAOSLLM_WORKLOAD")
    body = json.dumps(
        {
            "spec": json.loads(Path(os.environ["CHAOSLLM_LOAD_SPEC"]).read_text()),
            "workload": Path(workload).read_text() if workload else None,
        }
    ).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != JOIN_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    gevent.spawn(WSGIServer((host, port), app, log=None).serve_forever)


@events.init.add_listener
def _ship_to_master(environment: Environment, **_kwargs: object) -> None:
    """A remote worker's side: hello, answer the master's clock exchanges, ship what was written twice
    a second (and once more when quitting) with the count of requests begun."""
    runner = environment.runner
    if not isinstance(runner, WorkerRunner) or not REMOTE:
        return
    shipper = Shipper(SAMPLES_DIR)
    ended: list[bool] = []

    def on_clock(environment: Environment, msg: Any, **_kw: object) -> None:
        if _SYNC_DELAY_S:
            gevent.sleep(_SYNC_DELAY_S)
        runner.send_message("chaosllm_clock", {"sent_at": msg.data["sent_at"], "worker_at": _now()})

    def ship(final: bool = False) -> None:
        WRITER.flush()
        batch = {"files": shipper.batch(), "started": _STARTED[0], "final": final}
        with gevent.Timeout(2.0, False):  # a master already gone must not hold this process
            runner.send_message("chaosllm_samples", batch)

    def loop() -> None:
        while not ended:
            gevent.sleep(SHIP_EVERY_S)
            if not ended:
                ship()

    def end(**_kw: object) -> None:
        """One run per worker: when the master stops the test or goes silent, ship the rest and leave
        (a Locust worker would otherwise wait for the master's next test, or for a minute)."""
        if not ended:
            ended.append(True)
            ship(final=True)
            gevent.spawn_later(0.5, runner.quit)

    heard = [time.monotonic()]
    events.heartbeat_received.add_listener(lambda **_kw: heard.__setitem__(0, time.monotonic()))

    def watch_master() -> None:
        while time.monotonic() - heard[0] <= _MASTER_SILENT_S:
            gevent.sleep(0.5)
        end()

    runner.register_message("chaosllm_clock", on_clock, concurrent=True)
    runner.register_message("chaosllm_offset", lambda **_kw: None)
    runner.register_message("chaosllm_finish", lambda **_kw: runner.stop(), concurrent=True)
    runner.send_message("chaosllm_hello", {"host": socket.gethostname()})
    gevent.spawn(loop)
    gevent.spawn(watch_master)
    events.test_stop.add_listener(end)
    events.quitting.add_listener(lambda **_kw: ship(final=True))
