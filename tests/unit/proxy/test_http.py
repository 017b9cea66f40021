"""The HTTP link's framing and stream faults, on bytes: what reaches the server, what reaches the
client and when (a real event loop, times from its monotonic clock)."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from chaoslib_ext.exceptions import HttpProtocolError, SpecError
from chaoslib_ext.load.http1 import ResponseReader
from chaoslib_ext.proxy.effects import ByteCounters
from chaoslib_ext.proxy.faults import ProxyFault
from chaoslib_ext.proxy.http import ByteMark, HttpTap, StreamSource
from chaoslib_ext.proxy.stream import StreamFault
from chaoslib_ext.sse import LineKind, StreamState, feed_line

REQUEST = b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def content(i: int) -> bytes:
    return b'data: {"choices": [{"delta": {"content": "t%d"}}]}\n\n' % i


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


ROLE = b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n'
DONE = b"data: [DONE]\n\n"


def test_the_marks_of_two_faults_reach_the_client_as_one_mask():
    async def run() -> StreamState:
        wire = Wire()
        wire.sources = {"a": StreamSource(StreamFault("slow-tokens", delay_ms=0), random.Random(0), mark=0),
                        "b": StreamSource(StreamFault("drop-done"), random.Random(0), mark=3)}  # fmt: skip
        wire.tap.from_client(REQUEST)
        wire.tap.from_server(stream([ROLE, content(0), DONE]))
        return read_events(wire.received)[2]

    assert asyncio.run(run()).faults == 0b1001


class Wire:
    """A tap with both ends recorded: bytes to the server, (monotonic time, bytes) to the client."""

    def __init__(self, faults: dict[str, StreamFault] | None = None) -> None:
        self.sources = {n: StreamSource(f, random.Random(f.seed)) for n, f in (faults or {}).items()}
        self.bytes: tuple[ByteMark, ...] = ()
        self.server = bytearray()
        self.client: list[tuple[float, bytes]] = []
        self.ended = self.dropped = False
        loop = asyncio.get_running_loop()
        self.tap = HttpTap(loop, lambda: self.sources, self.server.extend, self.to_client, self.end, self.drop,
                           lambda: self.bytes)  # fmt: skip

    def to_client(self, data: bytes) -> None:
        self.client.append((time.monotonic(), data))

    def end(self) -> None:
        self.ended = True

    def drop(self) -> None:
        self.dropped = True

    @property
    def received(self) -> bytes:
        return b"".join(d for _, d in self.client)

    def set(self, name: str, fault: StreamFault) -> None:
        self.sources[name] = StreamSource(fault, random.Random(fault.seed))

    def set_bytes(self, bit: int, to_server: bool = True, to_client: bool = True) -> ByteCounters:
        """A byte fault in force (a delay, say) with mark ``bit``; its counters."""
        counters = ByteCounters(requests=0)
        self.bytes = (*self.bytes, ByteMark(to_server, to_client, 1 << bit, counters))
        return counters


def on_a_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run the coroutine test on a fresh event loop (this suite has no asyncio plugin)."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())

    return run


def stream(events: list[bytes]) -> bytes:
    return HEAD + b"".join(chunk(e) for e in events) + b"0\r\n\r\n"


def read_events(body: bytes) -> tuple[int, list[int], StreamState]:
    """(status, the kinds of the lines, state) as the load's reader reads the client's bytes."""
    reader = ResponseReader()
    state = StreamState()
    kinds = [feed_line(line, state) for line in reader.feed(body)]
    return reader.status, kinds, state


@on_a_loop
async def test_without_a_fault_bytes_pass_unchanged_and_keep_alive_frames_each_message():
    wire = Wire()
    plain = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
    events = [ROLE, content(0), content(1) + content(2), DONE]
    for _ in range(2):
        wire.tap.from_client(REQUEST)
    wire.tap.from_server(stream(events)[:37])
    wire.tap.from_server(stream(events)[37:] + plain)
    assert bytes(wire.server) == REQUEST * 2
    assert wire.received == stream(events) + plain


@on_a_loop
async def test_http_error_answers_a_share_of_requests_here_and_the_server_never_sees_them():
    fault = StreamFault("http-error", percent=20, seed=3, status=429, retry_after_s=2)
    wire = Wire({"burst": fault})
    answered = 0
    for _ in range(1000):
        before = len(wire.server)
        wire.tap.from_client(REQUEST)
        if len(wire.server) == before:
            answered += 1
            assert wire.client[-1][1].startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
            assert b"\r\nretry-after: 2\r\n" in wire.client[-1][1]
            assert b"\r\nx-chaosllm-faults: 1\r\n" in wire.client[-1][1]  # its mark (bit 0) for the client
        else:
            wire.tap.from_server(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    assert 170 <= answered <= 230  # 20 % +- 3 % of 1,000, and the same with the same seed
    counters = wire.sources["burst"].counters
    assert (counters.requests, counters.touched, counters.effects) == (1000, answered, answered)
    answer = next(d for _, d in wire.client if d.startswith(b"HTTP/1.1 429"))
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "rate_limit_exceeded"


@on_a_loop
async def test_a_stall_after_the_first_token_holds_that_gap_only():
    wire = Wire({"stall": StreamFault("stall", after_events=1, hold_ms=300)})
    wire.tap.from_client(REQUEST)
    wire.tap.from_server(HEAD + chunk(ROLE) + chunk(content(0)))
    start = time.monotonic()
    for i in (1, 2):
        wire.tap.from_server(chunk(content(i)))
    wire.tap.from_server(chunk(DONE) + b"0\r\n\r\n")
    await asyncio.sleep(0.45)
    times = {d: t for t, d in wire.client}
    assert times[chunk(content(1))] - start == pytest.approx(0.300, abs=0.02)
    assert times[chunk(content(2))] - times[chunk(content(1))] < 0.01  # the rest shifts, in order
    status, kinds, state = read_events(wire.received)
    assert (status, kinds.count(LineKind.CONTENT), state.done) == (200, 3, True)
    assert state.faults == 1  # the client read the proxy's mark: this response was touched
    assert wire.sources["stall"].counters.to_json() == {"requests": 1, "touched": 1, "effects": 1, "held_ms": 300.0}


@on_a_loop
async def test_a_cut_sends_n_tokens_then_drops_the_server_and_ends_the_stream_unfinished():
    wire = Wire({"cut": StreamFault("cut", after_events=2)})
    wire.tap.from_client(REQUEST)
    wire.tap.from_server(stream([ROLE, content(0), content(1), content(2), DONE]))
    assert wire.dropped
    reader = ResponseReader()
    lines = reader.feed(wire.received)
    assert sum(feed_line(line, StreamState()) == LineKind.CONTENT for line in lines) == 2
    with pytest.raises(HttpProtocolError):  # no last chunk: the client sees the connection end mid-body
        reader.closed()


@on_a_loop
async def test_slow_tokens_add_to_every_gap_and_slow_first_token_shifts_the_stream_once():
    for fault, first, gap in ((StreamFault("slow-tokens", delay_ms=40), 0.040, 0.040),
                              (StreamFault("slow-first-token", delay_ms=120), 0.120, 0.0)):  # fmt: skip
        wire = Wire({"f": fault})
        wire.tap.from_client(REQUEST)
        start = time.monotonic()
        wire.tap.from_server(stream([content(0), content(1), content(2), DONE]))
        await asyncio.sleep(0.2)
        at = [t - start for t, d in wire.client if b'"content"' in d]
        assert at[0] == pytest.approx(first, abs=0.01)
        assert at[2] - at[1] == pytest.approx(gap, abs=0.01)


@on_a_loop
async def test_corrupt_event_and_drop_done_break_what_a_client_reads():
    wire = Wire({"c": StreamFault("corrupt-event", rate=100, corrupt="truncate"), "d": StreamFault("drop-done")})
    wire.tap.from_client(REQUEST)
    wire.tap.from_server(stream([ROLE, content(0), content(1), DONE]))
    status, kinds, state = read_events(wire.received)
    assert (status, kinds.count(LineKind.CONTENT), state.done) == (200, 0, False)
    assert wire.sources["c"].counters.effects == 2
    assert wire.sources["d"].counters.effects == 1


@on_a_loop
async def test_a_fault_set_while_a_stream_is_open_reaches_it_at_its_next_event():
    wire = Wire()
    wire.tap.from_client(REQUEST)
    wire.tap.from_server(HEAD + chunk(ROLE) + chunk(content(0)))
    wire.set("cut", StreamFault("cut", after_events=1))  # one more token, counted from now, then the cut
    wire.tap.from_server(chunk(content(1)) + chunk(content(2)) + chunk(DONE) + b"0\r\n\r\n")
    assert wire.dropped
    assert b"t1" in wire.received
    assert b"t2" not in wire.received
    assert wire.sources["cut"].counters.to_json()["touched"] == 1


@on_a_loop
async def test_a_stream_fault_never_touches_what_is_not_an_event_stream():
    wire = Wire({"cut": StreamFault("cut", after_events=0)})
    wire.tap.from_client(REQUEST)
    plain = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
    wire.tap.from_server(plain)
    assert wire.received == plain
    assert wire.sources["cut"].counters.to_json() == {"requests": 0, "touched": 0, "effects": 0, "held_ms": 0.0}


def test_stream_faults_refuse_bad_fields_by_name():
    for raw, field in (({"action": "nap"}, "stream.action"), ({"action": "cut", "percent": 120}, "stream.percent"),
                       ({"action": "http-error", "status": 200}, "stream.status"),
                       ({"action": "stall", "hold": 3}, "stream.hold"), ({"percent": 5}, "stream.action"),
                       ({"action": "stall", "after_events": 1.5}, "stream.after_events")):  # fmt: skip
        with pytest.raises(SpecError) as err:
            ProxyFault.from_json({"ttl_s": 10, "stream": raw})
        assert err.value.field == field
    fault = ProxyFault.from_json({"ttl_s": 10, "stream": {"action": "stall", "after_events": 1, "hold_ms": 300}})
    assert ProxyFault.from_json(fault.to_json()) == fault


def test_a_stream_fault_that_follows_another_takes_the_next_bit_not_its_predecessors():
    from chaoslib_ext.proxy.link import Link

    async def marks() -> list[int]:
        link = Link("gateway", "127.0.0.1", 1, http=True)
        fault = ProxyFault.from_json({"ttl_s": 10, "stream": {"action": "drop-done"}})
        found = []
        for name in ("a", "b", "c"):
            found.append(link.set_fault(name, fault).stream.mark)
            link.remove_fault(name)  # gone before the next comes: its requests may still be in flight
        await link.stop()
        return found

    assert asyncio.run(marks()) == [0, 1, 2]


@on_a_loop
async def test_a_byte_fault_in_force_marks_the_requests_it_touches_in_their_heads():
    wire = Wire()
    wire.tap.from_client(REQUEST)  # before the fault: untouched
    wire.tap.from_server(stream([content(0), DONE]))
    untouched = len(wire.received)
    counters = wire.set_bytes(2, to_client=False)  # a delay of what the clients send
    wire.tap.from_client(REQUEST)
    wire.bytes = ()  # removed before the answer came: the request went through it all the same
    wire.tap.from_server(stream([content(0), DONE]))
    assert read_events(wire.received[:untouched])[2].faults == 0
    marked = wire.received[untouched:]
    assert marked.startswith(HEAD[:-2] + b"x-chaosllm-faults: 4\r\n\r\n")  # bit 2, in the head
    assert counters.requests == 1
    reader = ResponseReader()
    reader.feed(marked)
    assert reader.headers["x-chaosllm-faults"] == "4"


@on_a_loop
async def test_a_byte_fault_set_while_a_stream_is_open_marks_it_before_its_next_event():
    wire = Wire()
    wire.tap.from_client(REQUEST)
    wire.tap.from_server(HEAD + chunk(ROLE) + chunk(content(0)))
    before = len(wire.received)
    split = content(1)
    wire.tap.from_server(chunk(split[:9]))  # half an event went out as it came...
    counters = wire.set_bytes(5, to_server=False)  # ...then a fault on the way back: no mark in its middle
    wire.tap.from_server(chunk(split[9:]) + chunk(content(2)) + chunk(DONE) + b"0\r\n\r\n")
    status, kinds, state = read_events(wire.received)
    assert (status, kinds.count(LineKind.CONTENT), state.done, state.malformed) == (200, 3, True, 0)
    assert state.faults == 1 << 5
    after = wire.received[before:]
    assert after.index(b": chaosllm-faults 32") > after.index(b"t1")  # after the split event, before t2
    assert after.index(b": chaosllm-faults 32") < after.index(b"t2")
    assert counters.requests == 1  # counted once, however many events it touched


@on_a_loop
async def test_byte_marks_ride_on_errors_from_the_server_and_on_the_proxys_own_answers():
    wire = Wire({"burst": StreamFault("http-error", percent=100, status=503)})
    wire.set_bytes(1)
    wire.tap.from_client(REQUEST)
    assert b"\r\nx-chaosllm-faults: 3\r\n" in wire.received  # the 503's own bit 0, the delay's bit 1
    wire.sources.clear()
    wire.tap.from_client(REQUEST)
    start = len(wire.received)
    wire.tap.from_server(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 2\r\n\r\nno")
    assert wire.received[start:] == b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 2\r\nx-chaosllm-faults: 2\r\n\r\nno"


def test_every_fault_on_an_http_link_has_a_bit_and_a_tcp_links_faults_have_none():
    from chaoslib_ext.proxy.link import Link

    async def marks() -> list[int | None]:
        http, tcp = Link("gateway", "127.0.0.1", 1, http=True), Link("redis", "127.0.0.1", 1)
        stream = ProxyFault.from_json({"ttl_s": 10, "stream": {"action": "drop-done"}})
        delay = ProxyFault.from_json({"ttl_s": 10, "direction": "from", "delay": {"latency_ms": 5}})
        found = [http.set_fault("s", stream).mark, http.set_fault("d", delay).mark, tcp.set_fault("d", delay).mark]
        assert [m.bit for m in http.byte_marks] == [2]
        assert (http.byte_marks[0].to_server, http.byte_marks[0].to_client) == (False, True)
        await http.stop()
        await tcp.stop()
        return found

    assert asyncio.run(marks()) == [0, 1, None]
