"""A stream fault as an experiment writes it, checked field by field before anything runs.

    action: stall                # http-error | stall | cut | slow-tokens | slow-first-token | corrupt-event | drop-done
    link: gateway                # an HTTP link of the target (the fault proxy's)
    percent: 50                  # of requests, drawn per request (default 100)
    seed: 7                      # the draws' seed (default 0): the same requests, the same choices
    duration: 20s                # held this long, then removed; the proxy's TTL too
    name: stall-after-first      # the fault's id in the ledger (default: <action>-<link>)
    port: 8000                   # a Chaos Mesh target only: the gateway pods' port HTTPChaos proxies
                                 # (default: the gateway address's port)
    path: /v1/chat/completions   # a Chaos Mesh target only: the requests HTTPChaos acts on (default: the
                                 # target endpoint's path, else /v1/chat/completions)
    # per action:
    status: 429                  # http-error: 400-599 (default 503)
    retry_after: 2s              # http-error: a Retry-After header
    body: "slow down"            # http-error: the error's message
    after_events: 1              # stall, cut: after this many content events (0: before the first)
    hold: 300ms                  # stall
    probability: 0.05            # cut: per content event instead of after_events
    delay: 20ms                  # slow-tokens, slow-first-token
    jitter: 5ms                  # slow-tokens with distribution uniform
    distribution: fixed          # slow-tokens: fixed | uniform | exponential (mean = delay)
    rate: 10                     # corrupt-event: percent of content events
    corrupt: json                # corrupt-event: json | truncate

What each action does to the stream: chaoslib_ext.proxy.stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.durations import format_duration
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields
from chaoslib_ext.proxy.stream import CORRUPTIONS, DISTRIBUTIONS, STREAM_ACTIONS, StreamFault

__all__ = ["StreamFaultSpec"]

_COMMON = ("action", "link", "percent", "seed", "duration", "name", "port", "path")
#: the fields each action takes besides the common ones
_ACTION_FIELDS = {
    "http-error": ("status", "retry_after", "body"),
    "stall": ("after_events", "hold"),
    "cut": ("after_events", "probability"),
    "slow-tokens": ("delay", "jitter", "distribution"),
    "slow-first-token": ("delay",),
    "corrupt-event": ("rate", "corrupt"),
    "drop-done": (),
}
_ALL = (*_COMMON, *sorted({f for fields in _ACTION_FIELDS.values() for f in fields}))


@dataclass(frozen=True)
class StreamFaultSpec:
    link: str
    duration_s: float | None
    name: str | None
    fault: StreamFault
    port: int | None = None  # a Chaos Mesh target's HTTPChaos port
    path: str | None = None  # a Chaos Mesh target's HTTPChaos path

    @property
    def action(self) -> str:
        return self.fault.action

    @property
    def fault_id(self) -> str:
        return self.name or f"{self.action}-{self.link}"

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> StreamFaultSpec:
        """Parse an activity's arguments; raises SpecError naming the field and the accepted values."""
        f = Fields(raw, _ALL)
        action = f.string("action", choices=STREAM_ACTIONS)
        mine = _ACTION_FIELDS[action]
        for key in raw:
            if key not in _COMMON and key not in mine:
                users = [a for a, fields in _ACTION_FIELDS.items() if key in fields]
                raise SpecError(key, f"does not apply to action {action!r}", f"actions {', '.join(users)}")
        if action == "stall" and not f.has("hold"):
            raise SpecError("hold", "is required by action 'stall'", "a duration, e.g. 300ms")
        if action in ("slow-tokens", "slow-first-token") and not f.has("delay"):
            raise SpecError("delay", f"is required by action {action!r}", "a duration, e.g. 20ms")
        if action == "corrupt-event" and not f.has("rate"):
            raise SpecError("rate", "is required by action 'corrupt-event'", "a percentage of content events, 0-100")
        retry_after = f.duration("retry_after", None)
        fault = StreamFault(
            action,
            percent=f.number("percent", 100.0, minimum=0.0, maximum=100.0),
            seed=f.integer("seed", 0, minimum=0),
            status=f.integer("status", 503, minimum=400, maximum=599),
            retry_after_s=retry_after,
            body=f.string("body", ""),
            after_events=f.integer("after_events", 0, minimum=0),
            hold_ms=f.duration("hold", 0.0) * 1000.0,
            cut_probability=f.number("probability", 0.0, minimum=0.0, maximum=1.0),
            delay_ms=f.duration("delay", 0.0) * 1000.0,
            jitter_ms=f.duration("jitter", 0.0) * 1000.0,
            distribution=f.string("distribution", "fixed", choices=DISTRIBUTIONS),
            rate=f.number("rate", 0.0, minimum=0.0, maximum=100.0),
            corrupt=f.string("corrupt", "json", choices=CORRUPTIONS),
        )
        path = f.string("path", None)
        if path is not None and not path.startswith("/"):
            raise SpecError("path", f"{path!r} does not start with /", "a URI path, e.g. /v1/chat/completions")
        return cls(f.string("link"), f.duration("duration", None, positive=True), f.string("name", None), fault,
                   f.integer("port", None, minimum=1, maximum=65535), path)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The fault as written, normalised: what the ledger and --dry-run show."""
        out: dict[str, Any] = {"action": self.action, "link": self.link, **self.fault.to_json()}
        if self.duration_s is not None:
            out["duration"] = format_duration(self.duration_s)
        out.update({k: v for k, v in (("port", self.port), ("path", self.path)) if v is not None})
        return out
