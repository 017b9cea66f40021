"""The socket reader (chaoslib_ext.load.http1) against recorded stream shapes, split at every byte:
the same lines, at the same arrival, and the same token classification as a line reader of the whole
body (what ``FastHttpUser.readline`` gave)."""

from __future__ import annotations

import json

import pytest

from chaoslib_ext.exceptions import HttpProtocolError
from chaoslib_ext.load.http1 import Endpoint, ResponseReader
from chaoslib_ext.sse import LineKind, StreamState, feed_line

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def event(obj: dict, end: bytes = b"\n") -> bytes:
    return b"data: " + json.dumps(obj).encode() + end + end


def delta(text: str | None, **extra: object) -> dict:
    d = {} if text is None else {"content": text}
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {**d, **extra}}]}


ROLE = event(delta("", role="assistant"))  # a role-only first chunk: no token
USAGE = event({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}})
DONE = b"data: [DONE]\n\n"


def chunked(*chunks: bytes, trailer: bytes = b"", ext: bytes = b"") -> bytes:
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(c), ext, c) for c in chunks)
    return HEAD + body + b"0\r\n" + trailer + b"\r\n"


TRANSCRIPTS = {
    "one event per chunk": chunked(ROLE, event(delta("a")), event(delta("b")), event(delta("c")), USAGE, DONE),
    "CRLF line ends": chunked(
        event(delta("", role="assistant"), b"\r\n"),
        event(delta("a"), b"\r\n"),
        event(delta("b"), b"\r\n"),
        b"data: [DONE]\r\n\r\n",
    ),
    "comments and fields": chunked(
        b": ping\n\n", ROLE, b"id: 1\nevent: message\n" + event(delta("a")), b": keep-alive\n\n", DONE
    ),
    "coalesced events": chunked(ROLE + event(delta("a")) + event(delta("b")), event(delta("c")) + USAGE + DONE),
    "an event split across chunks": chunked(ROLE, event(delta("abc"))[:17], event(delta("abc"))[17:], DONE),
    "a multi-line data event": chunked(ROLE, b'data: {"choices": [{"delta":\ndata: {"content": "x"}}]}\n\n', DONE),
    "chunk extensions and a trailer": chunked(ROLE, event(delta("a")), DONE, ext=b";x=1", trailer=b"X-T: 1\r\n"),
    "reasoning then text": chunked(ROLE, event(delta(None, reasoning_content="r")), event(delta("a")), DONE),
}


def whole_body(raw: bytes) -> tuple[bytes, list[int]]:
    """The decoded body and, for each body byte, the offset of the raw byte it came from."""
    pos = raw.index(b"\r\n\r\n") + 4
    body, origin = bytearray(), []
    while True:
        end = raw.index(b"\r\n", pos)
        size = int(raw[pos:end].split(b";")[0], 16)
        if size == 0:
            return bytes(body), origin
        body += raw[end + 2 : end + 2 + size]
        origin += range(end + 2, end + 2 + size)
        pos = end + 2 + size + 2


def reference(raw: bytes) -> list[tuple[int, bytes]]:
    """(raw offset of the line's last byte, line) for every line of the body, as a line reader reads them."""
    body, origin = whole_body(raw)
    out, start = [], 0
    while (nl := body.find(b"\n", start)) >= 0:
        out.append((origin[nl], body[start:nl]))
        start = nl + 1
    return out


def kinds(lines: list[bytes]) -> tuple[list[int], StreamState]:
    state = StreamState()
    return [feed_line(line, state) for line in lines], state


def read_in_pieces(raw: bytes, cuts: list[int]) -> list[tuple[int, bytes]]:
    """Feed ``raw`` cut at ``cuts``: (raw offset of the last byte of the piece that completed it, line)."""
    reader, out, start = ResponseReader(), [], 0
    for cut in [*cuts, len(raw)]:
        out += [(cut - 1, line) for line in reader.feed(raw[start:cut])]
        start = cut
    assert reader.done
    assert reader.status == 200
    return out


@pytest.mark.parametrize("name", list(TRANSCRIPTS))
def test_every_split_gives_the_lines_at_the_arrival_a_line_reader_saw(name):
    raw = TRANSCRIPTS[name]
    want = reference(raw)
    for cut in range(1, len(raw)):
        got = read_in_pieces(raw, [cut])
        assert [line for _, line in got] == [line for _, line in want], (name, cut)
        # a line arrives with the piece holding its last byte, as a line reader returns it then
        assert [at for at, _ in got] == [cut - 1 if at < cut else len(raw) - 1 for at, _ in want], (name, cut)


@pytest.mark.parametrize("name", list(TRANSCRIPTS))
def test_byte_at_a_time_classifies_as_the_whole_body_does(name):
    raw = TRANSCRIPTS[name]
    got = read_in_pieces(raw, list(range(1, len(raw))))
    got_kinds, got_state = kinds([line for _, line in got])
    want_kinds, want_state = kinds([line for _, line in reference(raw)])
    assert got_kinds == want_kinds
    assert (got_state.usage_tokens, got_state.done) == (want_state.usage_tokens, want_state.done)
    assert got_kinds.count(LineKind.CONTENT) >= 1


def test_the_tokens_of_each_transcript():
    counts = {name: kinds([line for _, line in reference(raw)])[0].count(LineKind.CONTENT)
              for name, raw in TRANSCRIPTS.items()}  # fmt: skip
    assert counts == {
        "one event per chunk": 3,
        "CRLF line ends": 2,
        "comments and fields": 1,
        "coalesced events": 3,
        "an event split across chunks": 1,
        "a multi-line data event": 1,
        "chunk extensions and a trailer": 1,
        "reasoning then text": 2,
    }


def test_content_length_and_close_delimited_bodies():
    reader = ResponseReader()
    lines = reader.feed(b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 9\r\nRetry-After: 1\r\n\r\nslow\ndown")
    assert (reader.status, reader.done, lines, reader.keep_alive) == (429, True, [b"slow", b"down"], True)
    assert reader.headers["retry-after"] == "1"
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.0 200 OK\r\n\r\ndata: a\n\ndata: b") == [b"data: a", b""]
    assert not reader.done
    assert reader.closed() == [b"data: b"]
    assert not reader.keep_alive


def test_a_body_cut_short_or_broken_is_an_http_error():
    reader = ResponseReader()
    reader.feed(HEAD + b"5\r\nabc")
    with pytest.raises(HttpProtocolError, match="closed before the response ended"):
        reader.closed()
    with pytest.raises(HttpProtocolError, match="bad chunk size"):
        ResponseReader().feed(HEAD + b"zz\r\n")
    with pytest.raises(HttpProtocolError, match="status line"):
        ResponseReader().feed(b"SSH-2.0-OpenSSH\r\n\r\n")
    reader = ResponseReader()
    reader.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert reader.done
    assert not reader.keep_alive


def test_endpoints():
    e = Endpoint.parse("https://gw.example:8443/v1/chat/completions?x=1")
    assert (e.tls, e.host, e.port, e.path, e.authority) == (True, "gw.example", 8443, "/v1/chat/completions?x=1",
                                                            "gw.example:8443")  # fmt: skip
    assert Endpoint.parse("http://127.0.0.1/v1/completions").authority == "127.0.0.1"
    with pytest.raises(ValueError, match="not an http"):
        Endpoint.parse("ftp://x/")
