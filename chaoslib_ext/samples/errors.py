"""What kind of failure a failed request was, from the status and error its sample records.

The load client (loadtests/locustfile.py) writes one error text per failed request; each class below is
one way a request can fail, named as hypotheses and reports name it (``errors.http_429.rate``):

    connect      no connection to the server (refused, unreachable, DNS)
    timeout      the request's deadline, or no byte for ``idle_timeout``
    reset        the connection reset (RST) or a broken pipe
    cut          the connection ended mid-response (a chunked body without its last chunk)
    http_NNN     an HTTP status other than 200 (http_429, http_503, ...); ``http_4xx`` / ``http_5xx`` sum them
    error_event  an error object inside the stream
    malformed    an SSE event whose data is not JSON
    no_done      the stream ended properly, but without ``data: [DONE]``
    no_content   the stream ended without any content event
    other        anything else (its text is in the samples)

A partial stream keeps its TTFT, gaps and tokens in the sample; only its verdict is a failure.
"""

from __future__ import annotations

__all__ = ["ERROR_CLASSES", "error_class", "matches_class"]

ERROR_CLASSES = ("connect", "timeout", "reset", "cut", "http_4xx", "http_5xx", "error_event", "malformed",
                 "no_done", "no_content", "other")  # fmt: skip
#: text the client writes -> class, first match wins
_PREFIXES = (
    ("connection failed", "connect"),
    ("ConnectionRefusedError", "connect"),
    ("timeout:", "timeout"),
    ("idle_timeout:", "timeout"),
    ("ConnectionResetError", "reset"),
    ("BrokenPipeError", "reset"),
    ("HttpProtocolError: the connection closed before the response ended", "cut"),
    ("error event:", "error_event"),
    ("malformed event:", "malformed"),
    ("stream ended before [DONE]", "no_done"),
    ("no content in the stream", "no_content"),
)


def error_class(status: int, error: str) -> str:
    """The class of a failed request (see the module's docstring)."""
    if error.startswith("HTTP ") and 100 <= status <= 599 and status != 200:
        return f"http_{status}"
    for prefix, kind in _PREFIXES:
        if error.startswith(prefix):
            return kind
    return "other"


def matches_class(kind: str, asked: str) -> bool:
    """Whether a request of class ``kind`` counts for ``asked`` (``http_4xx`` sums every 4xx status)."""
    if asked in ("http_4xx", "http_5xx"):
        return kind.startswith(f"http_{asked[5]}")
    return kind == asked
