"""A minimal HTTP/1.1 client for streamed responses: one ``recv`` -> the body lines it completed.

Why not Locust's ``FastHttpUser`` (geventhttpclient): the per-event cost sets how many streams a core
carries, and its ``readline`` costs about half again as much CPU per SSE event as reading the socket
directly (tests/benchmarks/client_overhead.py measures both in the same run). Here the load process
reads each ``recv`` straight into the chunked-encoding decoder and splits the body into lines; every
line completed by one ``recv`` is stamped with that ``recv``'s return time, the moment its bytes
reached this process (``readline`` stamped each line as it parsed it, a few microseconds later).

What it handles, as servers send it: ``Transfer-Encoding: chunked`` (chunk extensions, trailers, a
chunk boundary anywhere in a line), ``Content-Length``, a body that ends when the connection closes,
keep-alive (``Connection: close`` honoured), CRLF or LF line ends. No redirects, no compression (the
request asks for ``identity``), no proxies. It uses the ``socket`` and ``ssl`` modules as imported:
inside a Locust process gevent has made them cooperative.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from chaoslib_ext.exceptions import HttpProtocolError

__all__ = ["Connection", "ConnectionPool", "Endpoint", "ResponseReader", "Waiter"]

_RECV = 65536
_HEAD, _SIZE, _DATA, _DATA_END, _TRAILER, _LENGTH, _UNTIL_CLOSE, _DONE = range(8)


class ResponseReader:
    """Feed it the bytes of one response as they come; it returns the body's complete lines.

    ``status`` and ``headers`` (lower-case names) are set once the head is in; ``done`` once the body
    ended (the last chunk, ``Content-Length`` bytes, or :meth:`closed` for a body delimited by the
    connection's end). Lines come without their ``\\n`` (a CRLF line keeps its ``\\r``)."""

    def __init__(self) -> None:
        self.status = 0  # until the head is in
        self.headers: dict[str, str] = {}
        self.keep_alive = True
        self._state = _HEAD
        self._raw = b""  # bytes not decoded yet (a part of the head, a chunk-size line, a CRLF)
        self._line = b""  # the body's line not complete yet
        self._left = 0  # bytes left of the current chunk, or of the Content-Length body

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> list[bytes]:
        """The body lines ``data`` completed (a last line without ``\\n`` comes when the body ends)."""
        raw = self._raw + data if self._raw else data
        self._raw = b""
        parts: list[bytes] = []
        pos = 0
        if self._state == _HEAD:
            pos = self._head(raw)
            if pos < 0:
                self._raw = raw
                return []
        if self._state in (_LENGTH, _UNTIL_CLOSE):
            take = len(raw) - pos if self._state == _UNTIL_CLOSE else min(self._left, len(raw) - pos)
            parts.append(raw[pos : pos + take])
            self._left -= take
            if self._state == _LENGTH and self._left == 0:
                self._state = _DONE
        elif self._state == _SIZE and raw.endswith(b"\r\n") and (end := raw.find(b"\r\n", pos)) > pos:
            # the usual arrival: whole chunks (one event each, or a few); decoded here without a state walk
            pos = self._whole_chunks(raw, pos, end, parts)
            if pos < len(raw):
                pos = self._chunks(raw, pos, parts)
            self._raw = raw[pos:]
        else:
            pos = self._chunks(raw, pos, parts)
            self._raw = raw[pos:]
        return self._lines(parts)

    def _whole_chunks(self, raw: bytes, pos: int, end: int, parts: list[bytes]) -> int:
        """Take the complete non-empty chunks at ``raw[pos:]`` (``end``: the CRLF after the first size); the
        position of the first byte not taken (a last chunk, a partial one or trailers go the long way)."""
        n = len(raw)
        while end > pos:
            try:
                size = int(raw[pos:end], 16)
            except ValueError:
                return pos  # a chunk extension, or a bad size: _chunks says which
            stop = end + 2 + size
            if size == 0 or stop + 2 > n or raw[stop : stop + 2] != b"\r\n":
                return pos
            parts.append(raw[end + 2 : stop])
            pos = stop + 2
            end = raw.find(b"\r\n", pos)
        return pos

    def closed(self) -> list[bytes]:
        """The connection ended: the last line of a body delimited by it; HttpProtocolError if the body was cut."""
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
            return self._lines([])
        if self._state != _DONE:
            raise HttpProtocolError("the connection closed before the response ended")
        return []

    def _lines(self, parts: list[bytes]) -> list[bytes]:
        text = self._line + b"".join(parts) if parts else self._line
        if not text:
            return []
        lines = text.split(b"\n")
        self._line = lines.pop()
        if self._state == _DONE and self._line:
            lines.append(self._line)
            self._line = b""
        return lines

    def _head(self, raw: bytes) -> int:
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            if len(raw) > 65536:
                raise HttpProtocolError("a response head longer than 64 KiB")
            return -1
        lines = raw[:end].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise HttpProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        self.status = int(code)
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        connection = self.headers.get("connection", "").lower()
        self.keep_alive = connection != "close" and not (version == "HTTP/1.0" and connection != "keep-alive")
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._state = _SIZE
        elif "content-length" in self.headers:
            self._left = int(self.headers["content-length"])
            self._state = _LENGTH if self._left else _DONE
        elif self.status in (204, 304) or 100 <= self.status < 200:
            self._state = _DONE
        else:
            self._state, self.keep_alive = _UNTIL_CLOSE, False
        return end + 4

    def _chunks(self, raw: bytes, pos: int, parts: list[bytes]) -> int:
        """Decode chunks from ``raw[pos:]`` into ``parts``; the position of what is left undecoded."""
        n = len(raw)
        while pos < n:
            state = self._state
            if state == _DATA:
                take = min(self._left, n - pos)
                parts.append(raw[pos : pos + take])
                pos += take
                self._left -= take
                if self._left:
                    return pos
                self._state = _DATA_END
            elif state == _DATA_END:
                if n - pos < 2:
                    return pos
                if raw[pos : pos + 2] != b"\r\n":
                    raise HttpProtocolError("a chunk not followed by CRLF")
                pos += 2
                self._state = _SIZE
            elif state in (_SIZE, _TRAILER):
                end = raw.find(b"\r\n", pos)
                if end < 0:
                    return pos
                line = raw[pos:end]
                pos = end + 2
                if state == _TRAILER:
                    if not line:
                        self._state = _DONE
                        return pos
                    continue
                try:
                    self._left = int(line.split(b";", 1)[0], 16)
                except ValueError:
                    raise HttpProtocolError(f"a bad chunk size: {line[:40]!r}") from None
                self._state = _DATA if self._left else _TRAILER
            else:
                return pos
        return pos


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: scheme, host, port, path (with its query)."""

    tls: bool
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(tls, parts.hostname, parts.port or (443 if tls else 80), path)

    @property
    def authority(self) -> str:
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


#: makes for a socket what waits until it is readable (the load process's gevent hub), or None
Waiter = Callable[[socket.socket], Callable[[], None]]


class Connection:
    """One socket to an endpoint, for one request at a time. ``wait``: called before each ``recv`` to wait
    for bytes (a gevent hub's io watcher: one switch per arrival, where a cooperative ``recv`` first
    fails with EAGAIN, then arms a timer, waits and reads again); None: ``recv`` blocks as it does.
    ``last_io``: when it last sent or received (``perf_counter``), for an idle timeout kept outside."""

    def __init__(self, sock: socket.socket, wait: Callable[[], None] | None = None) -> None:
        self.sock = sock
        self.reusable = True
        self.requests = 0  # sent on it so far: a reused connection may have been closed while idle
        self.last_io = time.perf_counter()
        self._wait = wait

    def request(self, head: bytes, body: bytes) -> Iterator[tuple[float, list[bytes], ResponseReader]]:
        """Send the request; yield ``(when the recv returned, the body lines it completed, the reader)``
        for every ``recv`` until the body ends. The first yield comes with the head (lines may be empty).
        Raises OSError (reset, timeout) or HttpProtocolError; the connection is then not reusable."""
        self.reusable = False
        self.requests += 1
        self.sock.sendall(head + body)
        reader = ResponseReader()
        recv, clock, wait = self.sock.recv, time.perf_counter, self._wait
        pending = getattr(self.sock, "pending", None)  # TLS: bytes decrypted already, the fd may stay quiet
        self.last_io = clock()
        while not reader.done:
            if wait is not None and not (pending is not None and pending()):
                wait()
            data = recv(_RECV)
            now = self.last_io = clock()
            lines = reader.feed(data) if data else reader.closed()
            if reader.status:
                yield now, lines, reader
            if not data:
                break
        self.reusable = reader.keep_alive and reader.done

    def close(self) -> None:
        self.sock.close()


@dataclass
class ConnectionPool:
    """Idle keep-alive connections to one endpoint, opened as needed."""

    endpoint: Endpoint
    connect_timeout_s: float
    idle_timeout_s: float
    tls: ssl.SSLContext | None = None
    waiter: Waiter | None = None
    _idle: list[Connection] = field(default_factory=list)
    _heads: dict[int, bytes] = field(default_factory=dict)

    def head(self, headers: Mapping[str, str], length: int) -> bytes:
        """The request head of a POST of ``length`` bytes (the same headers each time: kept by length)."""
        cached = self._heads.get(length)
        if cached is None:
            cached = self._heads[length] = self._head(headers, length)
        return cached

    def _head(self, headers: Mapping[str, str], length: int) -> bytes:
        lines = [f"POST {self.endpoint.path} HTTP/1.1", f"Host: {self.endpoint.authority}"]
        lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
        lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def take(self) -> Connection:
        """An idle connection, or a new one (raises OSError when it cannot connect)."""
        if self._idle:
            return self._idle.pop()
        sock = socket.create_connection((self.endpoint.host, self.endpoint.port), timeout=self.connect_timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.endpoint.host)
            sock.settimeout(self.idle_timeout_s if self.waiter is None else None)
        except BaseException:
            sock.close()
            raise
        return Connection(sock, None if self.waiter is None else self.waiter(sock))

    def give_back(self, conn: Connection) -> None:
        if conn.reusable:
            self._idle.append(conn)
        else:
            conn.close()
