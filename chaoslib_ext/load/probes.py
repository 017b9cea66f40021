"""Chaos Toolkit probes on the streaming endpoint (``module: chaoslib_ext.load.probes``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from chaoslib_ext.fields import Fields
from chaoslib_ext.load.sse import LineKind, StreamState, feed_line
from chaoslib_ext.runcontext import TARGET_KEY
from chaoslib_ext.target import SANDBOX, load_target

__all__ = ["stream_completes"]


def stream_once(base_url: str, timeout_s: float = 5.0, path: str = "/v1/chat/completions") -> bool:
    """True when one streamed completion delivered content and ``[DONE]`` within ``timeout_s``."""
    body = {"messages": [{"role": "user", "content": "are you up?"}], "max_tokens": 4, "stream": True}
    state = StreamState()
    content = done = False
    try:
        with requests.post(base_url + path, json=body, stream=True, timeout=timeout_s) as resp:
            if resp.status_code != 200:
                return False
            for line in resp.iter_lines():
                kind = feed_line(line, state)
                content = content or kind == LineKind.CONTENT
                done = done or kind == LineKind.DONE
    except requests.RequestException:
        return False
    return content and done


def stream_completes(timeout: float = 10.0, configuration: dict[str, Any] | None = None) -> bool:
    """One streamed chat completion through the target's gateway succeeds within ``timeout`` seconds."""
    target = load_target(str((configuration or {}).get(TARGET_KEY) or SANDBOX))
    return stream_once(target.service("gateway").address, timeout_s=timeout)


ARGUMENTS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "stream_completes": lambda raw: Fields(raw, ["timeout"]).number("timeout", 10.0, minimum=0.1),
}
