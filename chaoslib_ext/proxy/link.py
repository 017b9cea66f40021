"""A proxied link: a listening port, its upstream, the live connections and the faults on them.

An HTTP link (``http``) frames every connection (chaoslib_ext.proxy.http) and takes stream faults too;
the byte faults apply to what leaves the framing, on every link alike."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import ssl
import struct
import time
from dataclasses import dataclass, field, replace
from typing import cast

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.proxy.effects import Bucket, ByteCounters, FlowEffects
from chaoslib_ext.proxy.faults import Direction, ProxyFault
from chaoslib_ext.proxy.http import ByteMark, HttpTap, StreamSource
from chaoslib_ext.proxy.pipe import Pipe

__all__ = ["ActiveFault", "Link"]

log = logging.getLogger("chaoslib_ext.proxy")
_FLOWS = (Direction.TO, Direction.FROM)
#: faults in force on one HTTP link at once: each marks the requests it touches with one bit of 32
MAX_MARKS = 32
#: how many removed faults keep their final counters (read after the removal, for the evidence)
_KEEP_FINISHED = 256


@dataclass
class ActiveFault:
    fault: ProxyFault
    applied_at: float  # unix time
    mark: int | None = None  # HTTP links: the bit of the requests it touches (chaoslib_ext.sse.FAULT_MARK)
    expiry: asyncio.TimerHandle | None = field(default=None, repr=False)
    stream: StreamSource | None = None  # a stream fault's generator and counters
    passed: ByteCounters = field(default_factory=ByteCounters)  # a byte fault's counters

    def counters(self) -> dict[str, float]:
        return self.stream.counters.to_json() if self.stream is not None else self.passed.to_json()


class Link:
    """Every connection accepted on the listening port is relayed to the upstream through the faults."""

    def __init__(
        self,
        name: str,
        upstream_host: str,
        upstream_port: int,
        seed: int | None = None,
        upstream_tls: ssl.SSLContext | None = None,
        http: bool = False,
    ) -> None:
        self.name = name
        self.http = http
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        #: TLS to the upstream (verified, SNI = its host name); clients speak plain TCP to the proxy
        self.upstream_tls = upstream_tls
        self.listen_host = ""
        self.listen_port = 0
        self.faults: dict[str, ActiveFault] = {}
        self.version = 0  # bumped on every change of ``faults``; live connections watch it
        self.buckets: dict[tuple[str, Direction], Bucket] = {}  # bandwidth shared by all connections
        self.connections: set[_Connection] = set()
        self.accepted = 0
        self.rng = random.Random(seed)
        self.stream_sources: dict[str, StreamSource] = {}
        self.byte_marks: tuple[ByteMark, ...] = ()  # the byte faults in force, as the HTTP framing marks them
        self._next_mark = 0  # the bit the next fault tries first
        self.finished: dict[str, dict[str, float]] = {}  # removed faults' final counters, by name
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self, loop).client_side, host, port)
        sock = self._server.sockets[0].getsockname()
        self.listen_host, self.listen_port = sock[0], sock[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.abort()
        for name in list(self.faults):
            self.remove_fault(name)

    @property
    def resetting(self) -> bool:
        return any(a.fault.reset for a in self.faults.values())

    def set_fault(self, name: str, fault: ProxyFault) -> ActiveFault:
        """Apply ``fault`` to new and live connections at once; replaces a fault of the same name.
        Raises SpecError for a stream fault on a link that is not an HTTP one."""
        if fault.stream is not None and not self.http:
            raise SpecError("stream", f"link {self.name!r} is not an HTTP link", "a link given as http(s)://HOST:PORT")
        mark = self._free_mark(replacing=name) if self.http else None  # refused before any change
        self.remove_fault(name)
        active = ActiveFault(fault, applied_at=time.time(), mark=mark)
        if fault.stream is not None:
            active.stream = StreamSource(fault.stream, random.Random(fault.stream.seed), mark=mark or 0)
        elif self.http:
            active.passed.requests = 0
        active.expiry = asyncio.get_running_loop().call_later(fault.ttl_s, self._expire, name, active)
        self.faults[name] = active
        if fault.bandwidth is not None:
            for flow in _FLOWS:
                if fault.direction.covers(flow):
                    self.buckets[(name, flow)] = Bucket(fault.bandwidth.rate_bytes_s)
        self._changed()
        if fault.reset:
            for conn in list(self.connections):
                conn.reset()
        return active

    def _free_mark(self, replacing: str) -> int:
        """The next bit, in turn, that no other fault in force on the link marks its requests with: a bit
        comes back only after 32 faults, so a fault that follows another does not take its bit while the
        other's last requests are still in flight (the marks would mix)."""
        used = {a.mark for n, a in self.faults.items() if a.mark is not None and n != replacing}
        free = next((b % MAX_MARKS for b in range(self._next_mark, self._next_mark + MAX_MARKS)
                     if b % MAX_MARKS not in used), None)  # fmt: skip
        if free is None:
            raise SpecError("link", f"link {self.name!r} has {MAX_MARKS} faults in force already")
        self._next_mark = free + 1
        return free

    def extend_fault(self, name: str, ttl_s: float) -> ActiveFault | None:
        """The fault now expires ``ttl_s`` from now, in place (its counters and mark go on); None when it
        is not in force."""
        active = self.faults.get(name)
        if active is None:
            return None
        if active.expiry is not None:
            active.expiry.cancel()
        active.fault = replace(active.fault, ttl_s=ttl_s)
        active.expiry = asyncio.get_running_loop().call_later(ttl_s, self._expire, name, active)
        return active

    def remove_fault(self, name: str) -> bool:
        active = self.faults.pop(name, None)
        if active is None:
            return False
        if active.expiry is not None:
            active.expiry.cancel()
        for flow in _FLOWS:
            self.buckets.pop((name, flow), None)
        self.finished[name] = active.counters()
        while len(self.finished) > _KEEP_FINISHED:
            del self.finished[next(iter(self.finished))]
        self._changed()
        return True

    def note_bytes(self, flow: Direction, conn: object, nbytes: int) -> None:
        """Count a chunk for every byte fault in force on its direction."""
        for active in self.faults.values():
            if active.stream is None and active.fault.direction.covers(flow):
                passed = active.passed
                passed.chunks += 1
                passed.bytes += nbytes
                if id(conn) not in passed.seen:
                    passed.seen.add(id(conn))
                    passed.connections += 1

    def effects(self, flow: Direction) -> FlowEffects:
        return FlowEffects.build(((n, a.fault) for n, a in self.faults.items()), flow, self.buckets, self.rng)

    def _changed(self) -> None:
        self.version += 1
        self.stream_sources = {n: a.stream for n, a in self.faults.items() if a.stream is not None}
        self.byte_marks = tuple(
            ByteMark(
                a.fault.direction.covers(Direction.TO), a.fault.direction.covers(Direction.FROM), 1 << a.mark, a.passed
            )
            for a in self.faults.values()
            if a.stream is None and a.mark is not None
        )
        for conn in list(self.connections):
            conn.faults_changed()

    def _expire(self, name: str, active: ActiveFault) -> None:
        if self.faults.get(name) is active:
            self.remove_fault(name)
            log.warning("fault %r on link %r expired after its ttl of %gs", name, self.name, active.fault.ttl_s)


class _Side(asyncio.Protocol):
    """One socket of a proxied connection; ``flow`` is the direction of the bytes it receives."""

    def __init__(self, conn: _Connection, flow: Direction) -> None:
        self.conn = conn
        self.flow = flow
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        self.conn.side_connected(self)

    def data_received(self, data: bytes) -> None:
        self.conn.received(self.flow, data)

    def eof_received(self) -> bool:
        self.conn.eof(self.flow)
        return True  # keep the other direction open: a half-close is forwarded, not turned into a close

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.side_lost(self)

    def pause_writing(self) -> None:
        self.conn.other(self).pause_reading()

    def resume_writing(self) -> None:
        self.conn.other(self).resume_reading()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def reset(self) -> None:
        """Close with RST, as a peer that vanished would: SO_LINGER 0, then abort."""
        if self.transport is None or self.transport.is_closing():
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class _FlowView:
    """The effects of the link's faults on one flow, rebuilt only when the faults change."""

    def __init__(self, link: Link, flow: Direction) -> None:
        self._link = link
        self._flow = flow
        self._version = -1
        self._effects: FlowEffects | None = None

    def __call__(self) -> FlowEffects:
        if self._effects is None or self._version != self._link.version:
            self._version = self._link.version
            self._effects = self._link.effects(self._flow)
        return self._effects


class _Connection:
    """A client connection and its upstream connection, with one pipe per direction."""

    def __init__(self, link: Link, loop: asyncio.AbstractEventLoop) -> None:
        self.link = link
        self.loop = loop
        self.client_side = _Side(self, Direction.TO)
        self.upstream_side = _Side(self, Direction.FROM)
        self.pipes = {
            Direction.TO: self._pipe(Direction.TO, self.client_side),
            Direction.FROM: self._pipe(Direction.FROM, self.upstream_side),
        }
        self.http = self._tap() if link.http else None
        self._done = False

    def _tap(self) -> HttpTap:
        link, to_client = self.link, self.pipes[Direction.FROM]
        return HttpTap(self.loop, lambda: link.stream_sources, self.pipes[Direction.TO].push, to_client.push,
                       to_client.push_eof, self._drop_upstream, lambda: link.byte_marks)  # fmt: skip

    def received(self, flow: Direction, data: bytes) -> None:
        if self.link.faults:
            self.link.note_bytes(flow, self, len(data))
        if self.http is None:
            self.pipes[flow].push(data)
        elif flow is Direction.TO:
            self.http.from_client(data)
        else:
            self.http.from_server(data)

    def eof(self, flow: Direction) -> None:
        if self.http is not None and flow is Direction.FROM:
            self.http.server_closed()  # the end goes out after what the stream faults still hold
        else:
            self.pipes[flow].push_eof()

    def _drop_upstream(self) -> None:
        """A stream cut: the server stops; the client gets what was sent, then the connection closes."""
        if self.upstream_side.transport is not None:
            self.upstream_side.transport.abort()

    def _pipe(self, flow: Direction, source: _Side) -> Pipe:
        def on_flow(resume: bool) -> None:
            if resume:
                source.resume_reading()
            else:
                source.pause_reading()

        def on_silenced(close_after_s: float) -> None:
            if close_after_s > 0:
                self.loop.call_later(close_after_s, self.abort)

        return Pipe(self.loop, _FlowView(self.link, flow), on_flow, on_silenced)

    def other(self, side: _Side) -> _Side:
        return self.upstream_side if side is self.client_side else self.client_side

    def side_connected(self, side: _Side) -> None:
        if side is self.client_side:
            self.link.connections.add(self)
            self.link.accepted += 1
            if self.link.resetting:
                self.reset()
                return
            self.loop.create_task(self._connect_upstream())
            return
        assert side.transport is not None
        assert self.client_side.transport is not None
        self.pipes[Direction.TO].attach(side.transport)
        self.pipes[Direction.FROM].attach(self.client_side.transport)

    async def _connect_upstream(self) -> None:
        link = self.link
        hostname = link.upstream_host if link.upstream_tls else None
        try:
            await self.loop.create_connection(
                lambda: self.upstream_side,
                link.upstream_host,
                link.upstream_port,
                ssl=link.upstream_tls,
                server_hostname=hostname,
            )
        except (OSError, ssl.SSLError) as exc:
            log.info("link %r: upstream refused: %s", self.link.name, exc)
            self.abort()

    def faults_changed(self) -> None:
        for pipe in self.pipes.values():
            pipe.refresh()

    def side_lost(self, side: _Side) -> None:
        # What this side sent and still waits for its delay is delivered before the other side closes.
        self.pipes[side.flow].finish()
        other = self.other(side)
        if other.transport is None or other.transport.is_closing():
            self._release()

    def reset(self) -> None:
        self.client_side.reset()
        self.upstream_side.reset()
        self._release()

    def abort(self) -> None:
        for side in (self.client_side, self.upstream_side):
            if side.transport is not None:
                side.transport.abort()
        self._release()

    def _release(self) -> None:
        if not self._done:
            self._done = True
            self.link.connections.discard(self)
            for pipe in self.pipes.values():
                pipe.close()
            if self.http is not None:
                self.http.close()
