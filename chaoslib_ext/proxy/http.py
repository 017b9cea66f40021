"""An HTTP link's connection, framed: requests and responses told apart, SSE events found, stream faults applied.

Every connection of an HTTP link is framed from its first byte, whether or not a stream fault is in
force, so a fault set while a stream is open reaches that stream at its next event (a connection-scoped
fault would miss it). Without a fault bytes leave as they came (only counted); a response a stream fault
touches is re-chunked one SSE event per chunk, each event leaving at its arrival time plus what the
faults hold it. Requests are HTTP/1.1, keep-alive, bodies by Content-Length or chunked; responses by
Content-Length, chunked or the connection's end; pipelined requests are answered in order.

Every fault on the link marks the requests it touches with its bit, so each request's sample says which
faults reached it: a stream fault the responses it draws; a byte fault (delay, loss, bandwidth, ...) a
request whose head passed while it was in force on the way to the server, or whose response's bytes
passed while it was in force on the way back. Marks known when the response's head passes ride in a
header of it (FAULT_HEADER); a mark learned later rides in an SSE comment before the next event
(FAULT_MARK): only an event stream can carry one after its head.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from chaoslib_ext.proxy.effects import ByteCounters
from chaoslib_ext.proxy.stream import StreamFault
from chaoslib_ext.sse import FAULT_HEADER, FAULT_MARK, LineKind, StreamState, feed_line

__all__ = ["ByteMark", "FaultCounters", "HttpTap", "StreamSource", "error_body"]

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_EVENT_END = re.compile(rb"(?:\r\n|\r|\n)(?:\r\n|\r|\n)")
_EVENT_ENDS = (b"\n\n", b"\r\n\r\n", b"\r\r")
_MAX_HEAD = 64 * 1024
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}  # fmt: skip


@dataclass
class FaultCounters:
    """What one stream fault did: the requests it could act on while in force (http-error: every request;
    the others: every SSE stream, drawn once each), those its share touched, and its effects (errors
    answered, holds, cuts, events corrupted or dropped)."""

    requests: int = 0
    touched: int = 0
    effects: int = 0
    held_ms: float = 0.0

    def to_json(self) -> dict[str, float]:
        return {"requests": self.requests, "touched": self.touched, "effects": self.effects,
                "held_ms": round(self.held_ms, 3)}  # fmt: skip


@dataclass
class StreamSource:
    """A stream fault in force on the link: the fault, its seeded generator, its counters, and its mark:
    the bit the responses it touches carry to the client (chaoslib_ext.sse.FAULT_MARK)."""

    fault: StreamFault
    rng: random.Random
    counters: FaultCounters = field(default_factory=FaultCounters)
    mark: int = 0


#: the link's stream faults in force, by name, in the order they were set
Sources = Callable[[], dict[str, StreamSource]]


@dataclass(frozen=True)
class ByteMark:
    """A byte fault in force on the link: the directions it acts on, the bit of the requests it touches,
    and its counters (``requests`` counts them)."""

    to_server: bool
    to_client: bool
    bit: int
    counters: ByteCounters


#: the link's byte faults in force
ByteMarks = Callable[[], tuple[ByteMark, ...]]


class _Emitter:
    """Writes pieces at their due times (monotonic), in order; a callable piece is run in its turn (an end)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, write: Callable[[bytes], None]) -> None:
        self._loop, self._write = loop, write
        self._queue: deque[tuple[float, bytes | Callable[[], None]]] = deque()
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def send(self, data: bytes | Callable[[], None], due: float) -> None:
        due = max(due, self._last)
        self._last = due
        if not self._queue and due <= time.monotonic():
            self._out(data)
            return
        self._queue.append((due, data))
        if self._timer is None:
            self._timer = self._loop.call_later(max(0.0, self._queue[0][0] - time.monotonic()), self._flush)

    def _flush(self) -> None:
        self._timer = None
        now = time.monotonic() + 0.0005
        while self._queue and self._queue[0][0] <= now:
            self._out(self._queue.popleft()[1])
        if self._queue:
            self._timer = self._loop.call_later(max(0.0, self._queue[0][0] - time.monotonic()), self._flush)

    def _out(self, data: bytes | Callable[[], None]) -> None:
        if isinstance(data, bytes):
            self._write(data)
        else:
            self._queue.clear()
            data()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._queue.clear()


@dataclass
class _Body:
    """How the rest of a message is framed: ``length`` bytes, chunked, or to the connection's end."""

    kind: str  # "none" | "length" | "chunked" | "close"
    remaining: int = 0
    chunk_left: int = -1  # chunked: bytes of the current chunk still due (+2 for its CRLF); -1 between chunks
    trailers: bool = False  # chunked: the last chunk came, its trailer section is being read


def _body_of(head: bytes, response: bool, status: int = 200, bodiless: bool = False) -> _Body:
    headers = head.lower()
    if response and (bodiless or status in (204, 304) or 100 <= status < 200):
        return _Body("none")
    if re.search(rb"\r?\ntransfer-encoding:[^\r\n]*chunked", headers):
        return _Body("chunked")
    match = re.search(rb"\r?\ncontent-length:\s*(\d+)", headers)
    if match:
        return _Body("length", int(match[1]))
    return _Body("close" if response else "none")


def _take_body(body: _Body, buf: bytearray) -> tuple[bytes, bytes, bool]:
    """Consume what ``buf`` holds of ``body``: (raw bytes consumed, payload within them, body complete).
    A chunked body is consumed whole chunks at a time, so what is relayed raw always ends between chunks."""
    if body.kind == "none":
        return b"", b"", True
    if body.kind in ("length", "close"):
        n = len(buf) if body.kind == "close" else min(body.remaining, len(buf))
        piece = bytes(buf[:n])
        del buf[:n]
        body.remaining -= n
        return piece, piece, body.kind == "length" and body.remaining == 0
    raw, payload, at = bytearray(), bytearray(), 0
    while True:
        end = buf.find(b"\n", at)
        if end < 0:
            break
        if body.trailers:
            blank = not buf[at:end].strip()
            at = end + 1
            if blank:
                raw += buf[:at]
                del buf[:at]
                return bytes(raw), bytes(payload), True
            continue
        size = int(bytes(buf[at:end]).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            body.trailers = True
            at = end + 1
            continue
        if len(buf) < end + 1 + size + 2:
            break
        payload += buf[end + 1 : end + 1 + size]
        at = end + 1 + size + 2
        raw += buf[:at]
        del buf[:at]
        at = 0
    return bytes(raw), bytes(payload), False


class _Response:
    """One response being relayed: its plan (the stream faults that touch it) and what it streamed so far."""

    def __init__(self, bodiless: bool) -> None:
        self.bodiless = bodiless
        self.decided: dict[str, bool] = {}  # fault name -> touched (drawn on a stream it can act on)
        self.eligible = False  # an SSE stream, chunked or to the connection's end: events can be acted on
        self.content = 0  # content events so far (counted once a fault acts on the stream)
        self.since: dict[str, int] = {}  # fault name -> ``content`` when it was drawn: it counts from there
        self.shift_s = 0.0  # what the faults held this response so far
        self.stalled: set[str] = set()
        self.events: bytearray | None = None  # None: bytes pass as they come
        self.chunked = False
        self.marks = 0  # the bits of the faults that touched it
        self.mark_due = False  # a touch the client has not been told of yet
        self.last = b""  # the last payload relayed as it came (does it end between two events?)
        self.partial = False  # the first event buffered is the rest of one relayed in part: pass it as it is


class HttpTap:
    """Frames one connection's two directions; applies the link's stream faults to its responses."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sources: Sources,
        to_server: Callable[[bytes], None],
        to_client: Callable[[bytes], None],
        end_client: Callable[[], None],
        drop_server: Callable[[], None],
        byte_marks: ByteMarks = tuple,
    ) -> None:
        """``end_client``: the server's end reached the client's side (after what faults still hold);
        ``drop_server``: a cut, the server's side aborted; ``byte_marks``: the byte faults in force."""
        self._sources = sources
        self._byte_marks = byte_marks
        self._to_server = to_server
        self._client = _Emitter(loop, to_client)
        self._end_client, self._drop_server = end_client, drop_server
        self._req_buf, self._resp_buf = bytearray(), bytearray()
        self._req_body: _Body | None = None  # None: reading a request head
        self._req_swallowed = False
        self._slots: deque[_Response | bytes] = deque()  # per request, in order: relayed, or answered here
        self._resp: _Response | None = None
        self._resp_body: _Body | None = None
        self._dead = False

    # -- requests ---------------------------------------------------------------------------------
    def from_client(self, data: bytes) -> None:
        self._req_buf += data
        while self._req_buf and not self._dead:
            if self._req_body is None:
                if not self._request_head():
                    return
                continue
            raw, _, done = _take_body(self._req_body, self._req_buf)
            if raw and not self._req_swallowed:
                self._to_server(raw)
            if not done:
                return
            self._req_body = None

    def _request_head(self) -> bool:
        match = _HEAD_END.search(self._req_buf)
        if match is None:
            if len(self._req_buf) > _MAX_HEAD:  # not HTTP after all: relay it untouched from here on
                self._to_server(bytes(self._req_buf))
                self._req_buf.clear()
            return False
        head = bytes(self._req_buf[: match.end()])
        del self._req_buf[: match.end()]
        self._req_body = _body_of(head, response=False)
        answer = self._answer_here()
        self._req_swallowed = answer is not None
        if answer is None:
            self._to_server(head)
            resp = _Response(bodiless=head[:5].upper() == b"HEAD ")
            self._touch(resp, to_client=False)
            self._slots.append(resp)
        else:
            self._slots.append(answer)
            self._release_answers()
        return True

    def _answer_here(self) -> bytes | None:
        """The error response of an http-error fault that touches this request, if one does (it carries
        the marks of the byte faults its way back passes too)."""
        answer = None
        for source in self._sources().values():
            fault = source.fault
            if fault.action != "http-error":
                continue
            source.counters.requests += 1
            if answer is None and fault.touches(source.rng):
                source.counters.touched += 1
                source.counters.effects += 1
                mine = _Response(bodiless=False)
                mine.marks = 1 << source.mark
                self._touch(mine, to_client=True)
                answer = _error_response(fault, mine.marks)
        return answer

    def _touch(self, resp: _Response, to_client: bool) -> bool:
        """Mark ``resp`` with the bits of the byte faults in force on that way not marked yet (each counts
        it once); True when a bit is new."""
        new = False
        for mark in self._byte_marks():
            if not resp.marks & mark.bit and (mark.to_client if to_client else mark.to_server):
                resp.marks |= mark.bit
                if mark.counters.requests is not None:
                    mark.counters.requests += 1
                new = True
        return new

    def _release_answers(self) -> None:
        while self._slots and isinstance(self._slots[0], bytes) and self._resp is None:
            self._client.send(self._slots.popleft(), time.monotonic())  # type: ignore[arg-type]

    # -- responses --------------------------------------------------------------------------------
    def from_server(self, data: bytes) -> None:
        if self._dead:
            return
        self._resp_buf += data
        now = time.monotonic()
        while self._resp_buf and not self._dead:
            if self._resp_body is None:
                if not self._response_head(now):
                    return
                continue
            raw, payload, done = _take_body(self._resp_body, self._resp_buf)
            self._relay(raw, payload, now)
            if not done:
                return
            self._response_done(now)

    def server_closed(self) -> None:
        """The server's end: what is left of a close-delimited body goes out, then the end, in order."""
        now = time.monotonic()
        resp = self._resp
        if resp is not None and resp.events and not self._dead:
            self._event(bytes(resp.events), now, resp)
            resp.events.clear()
        self._client.send(self._end_client, now + (resp.shift_s if resp is not None else 0.0))

    def _response_head(self, now: float) -> bool:
        match = _HEAD_END.search(self._resp_buf)
        if match is None:
            return False
        head = bytes(self._resp_buf[: match.end()])
        del self._resp_buf[: match.end()]
        status = _status(head)
        if 100 <= status < 200:  # an interim response: the final one follows for the same request
            self._client.send(head, now)
            return True
        resp = self._slots.popleft() if self._slots and isinstance(self._slots[0], _Response) else _Response(False)
        assert isinstance(resp, _Response)
        self._resp = resp
        self._resp_body = _body_of(head, response=True, status=status, bodiless=resp.bodiless)
        self._touch(resp, to_client=True)
        if resp.marks:  # the byte faults' marks so far ride in the head
            head = _with_header(head, FAULT_HEADER, resp.marks)
        if status == 200 and b"text/event-stream" in head.lower() and self._resp_body.kind in ("chunked", "close"):
            resp.eligible = True
            resp.chunked = self._resp_body.kind == "chunked"
            self._decide(resp)
        self._client.send(head, now)
        if self._resp_body.kind == "none":
            self._response_done(now)
        return True

    def _decide(self, resp: _Response) -> None:
        """Draw, once per response, whether each stream fault in force touches it (faults set later are
        drawn at the response's next event)."""
        for name, source in self._sources().items():
            if name in resp.decided or source.fault.action == "http-error":
                continue
            source.counters.requests += 1
            touched = source.fault.touches(source.rng)
            resp.decided[name] = touched
            resp.since[name] = resp.content
            if touched:
                source.counters.touched += 1
                resp.marks |= 1 << source.mark
                resp.mark_due = True
                _to_events(resp)

    def _relay(self, raw: bytes, payload: bytes, now: float) -> None:
        resp = self._resp
        if resp is not None and self._byte_marks() and self._touch(resp, to_client=True) and resp.eligible:
            resp.mark_due = True  # a byte fault set while the response streams: told before its next event
            _to_events(resp)
        if resp is None or not resp.eligible:
            self._client.send(raw, now)
            return
        self._decide(resp)
        if resp.events is None:
            resp.last = payload
            self._client.send(raw, now)
            return
        resp.events += payload
        while resp.events is not None and not self._dead:
            match = _EVENT_END.search(resp.events)
            if match is None:
                break
            event = bytes(resp.events[: match.end()])
            del resp.events[: match.end()]
            self._event(event, now, resp)

    def _response_done(self, now: float) -> None:
        resp = self._resp
        if resp is not None and resp.events is not None and not self._dead:
            if resp.events:
                self._event(bytes(resp.events), now, resp)
            self._tell_marks(resp, now)
            if resp.chunked:
                self._client.send(b"0\r\n\r\n", now + resp.shift_s)
        self._resp, self._resp_body = None, None
        self._release_answers()

    def _event(self, event: bytes, now: float, resp: _Response) -> None:
        if resp.partial:  # the rest of an event whose start went out as it came: no mark in its middle
            resp.partial = False
            self._client.send(_framed(event, resp.chunked), now + resp.shift_s)
            return
        kind = _kind(event)
        self._tell_marks(resp, now)  # before anything the faults do to this event: a cut ends the stream
        out: bytes | None = event
        for name, source in self._sources().items():
            if out is not None and resp.decided.get(name):
                out = self._apply(name, source, out, kind, resp)  # None: dropped, or the stream was cut
        if self._dead:
            return
        if kind == LineKind.CONTENT:
            resp.content += 1
        if out is not None:
            self._client.send(_framed(out, resp.chunked), now + resp.shift_s)

    def _tell_marks(self, resp: _Response, now: float) -> None:
        """The faults that touched the response so far, as an SSE comment the client records."""
        if resp.mark_due and not self._dead:
            resp.mark_due = False
            self._client.send(_framed(FAULT_MARK + b"%d\n\n" % resp.marks, resp.chunked), now + resp.shift_s)

    def _apply(self, name: str, source: StreamSource, event: bytes, kind: int, resp: _Response) -> bytes | None:
        """The event after fault ``name`` acted on it (None: dropped); holds go into ``resp.shift_s``."""
        fault, counters, rng = source.fault, source.counters, source.rng
        action = fault.action
        if action == "drop-done":
            if kind == LineKind.DONE:
                counters.effects += 1
                return None
            return event
        if kind != LineKind.CONTENT:
            return event
        hold, seen = 0.0, resp.content - resp.since[name]
        if action == "stall" and name not in resp.stalled and seen >= fault.after_events:
            resp.stalled.add(name)
            hold = fault.hold_ms / 1000.0
        elif action == "slow-first-token" and seen == 0:
            hold = fault.delay_ms / 1000.0
        elif action == "slow-tokens":
            hold = fault.token_delay_s(rng)
        elif action == "cut" and _cuts(fault, rng, seen):
            counters.effects += 1
            self._client.send(self._drop_server, time.monotonic() + resp.shift_s)
            self._dead = True
            return None
        elif action == "corrupt-event" and rng.random() * 100.0 < fault.rate:
            counters.effects += 1
            return _corrupted(event, fault.corrupt)
        if hold > 0:
            counters.effects += 1
            counters.held_ms += hold * 1000.0
            resp.shift_s += hold
        return event

    def close(self) -> None:
        self._client.close()


def _to_events(resp: _Response) -> None:
    """From here on the response goes out one event per chunk, so marks and faults fit between events."""
    if resp.events is None:
        resp.events = bytearray()
        resp.partial = bool(resp.last) and not resp.last.endswith(_EVENT_ENDS)


def _with_header(head: bytes, name: str, value: int) -> bytes:
    end = _HEAD_END.search(head)
    at = end.start() if end is not None else len(head)
    return head[:at] + b"\r\n%s: %d" % (name.encode(), value) + head[at:]


def _framed(data: bytes, chunked: bool) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if chunked else data


def _cuts(fault: StreamFault, rng: random.Random, content: int) -> bool:
    if fault.cut_probability > 0:
        return rng.random() < fault.cut_probability
    return content == fault.after_events


def _kind(event: bytes) -> int:
    """CONTENT when a line of the event carries text, else DONE for ``data: [DONE]``, else OTHER."""
    state = StreamState()
    kinds = {feed_line(line, state) for line in event.splitlines()}
    if LineKind.CONTENT in kinds:
        return LineKind.CONTENT
    return LineKind.DONE if LineKind.DONE in kinds else LineKind.OTHER


def _corrupted(event: bytes, how: str) -> bytes:
    if how == "truncate":
        line = event.split(b"\n", 1)[0].rstrip(b"\r")
        return line[: max(6, len(line) // 2)] + b"\n\n"
    return b'data: {"choices": [{"delta": {"content": \n\n'


def _status(head: bytes) -> int:
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def error_body(fault: StreamFault) -> bytes:
    """The JSON body of an http-error answer, in the OpenAI API's error shape (also HTTPChaos's body)."""
    kind = "rate_limit_exceeded" if fault.status == 429 else "server_error" if fault.status >= 500 else "bad_request"
    message = fault.body or f"injected by chaoslib-ext: HTTP {fault.status}"
    return json.dumps({"error": {"message": message, "type": kind, "code": fault.status}}).encode()


def _error_response(fault: StreamFault, mask: int) -> bytes:
    body = error_body(fault)
    lines = [f"HTTP/1.1 {fault.status} {_REASONS.get(fault.status, 'Error')}", "content-type: application/json",
             f"content-length: {len(body)}", f"{FAULT_HEADER}: {mask}"]  # fmt: skip
    if fault.retry_after_s is not None:
        lines.append(f"retry-after: {fault.retry_after_s:g}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
