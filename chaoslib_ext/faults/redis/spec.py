"""Redis fault specs, parsed from activity arguments with errors naming the field and accepted values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["CLIENT_TYPES", "PAUSE_MODES", "POLICIES", "RedisFault", "RedisKind", "parse_bytes"]

PAUSE_MODES = ("WRITE", "ALL")
CLIENT_TYPES = ("normal", "pubsub", "replica", "master")
POLICIES = (
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
)
_BYTES = re.compile(r"^\s*(\d+)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_BYTES_ACCEPTED = "bytes as an integer, or with kb, mb or gb (powers of 1024), e.g. 512kb"
_POWER = {"b": 0, "kb": 1, "mb": 2, "gb": 3}


def parse_bytes(value: object, field: str) -> int:
    match = _BYTES.match(str(value)) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if not match:
        raise SpecError(field, f"malformed size {value!r}", _BYTES_ACCEPTED)
    size: int = int(match[1]) * 1024 ** _POWER[(match[2] or "b").lower()]
    if size <= 0:
        raise SpecError(field, f"size {value!r} must be above zero", _BYTES_ACCEPTED)
    return size


RedisKind = Literal["pause-clients", "block-server", "kill-clients", "memory-pressure", "failover"]


@dataclass(frozen=True)
class RedisFault:
    """One Redis fault; ``kind`` is the action's name with dashes."""

    kind: RedisKind
    duration_s: float | None = None
    name: str | None = None
    pause_mode: str = "WRITE"
    slice_s: float = 0.5
    client_type: str = "normal"
    maxmemory_bytes: int | None = None
    policy: str = "allkeys-lru"

    @property
    def fault_id(self) -> str:
        return self.name or f"redis-{self.kind}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.duration_s is not None:
            out["duration_s"] = self.duration_s
        extra: dict[str, dict[str, Any]] = {
            "pause-clients": {"mode": self.pause_mode},
            "block-server": {"slice_s": self.slice_s},
            "kill-clients": {"type": self.client_type},
            "memory-pressure": {"maxmemory_bytes": self.maxmemory_bytes, "policy": self.policy},
        }
        out.update(extra.get(self.kind, {}))
        return out

    @classmethod
    def pause_clients(cls, raw: Mapping[str, Any]) -> RedisFault:
        f = Fields(raw, ["mode", "duration", "name"])
        mode = f.string("mode", "WRITE")
        if mode.upper() not in PAUSE_MODES:
            raise SpecError("mode", f"unknown pause mode {mode!r}", ", ".join(PAUSE_MODES))
        # a pause always has a bound: Redis lifts it by itself when it ends, whatever happens to us
        return cls("pause-clients", f.duration("duration", positive=True), f.string("name", None), mode.upper())

    @classmethod
    def block_server(cls, raw: Mapping[str, Any]) -> RedisFault:
        f = Fields(raw, ["duration", "slice", "name"])
        slice_s = f.duration("slice", 0.5, positive=True)
        if slice_s > 5:
            raise SpecError(
                "slice", f"slice {slice_s:g}s is too long: each DEBUG SLEEP blocks unstoppably", "a duration up to 5s"
            )
        return cls("block-server", f.duration("duration", positive=True), f.string("name", None), slice_s=slice_s)

    @classmethod
    def kill_clients(cls, raw: Mapping[str, Any]) -> RedisFault:
        f = Fields(raw, ["type", "name"])
        return cls(
            "kill-clients", None, f.string("name", None), client_type=f.string("type", "normal", choices=CLIENT_TYPES)
        )

    @classmethod
    def memory_pressure(cls, raw: Mapping[str, Any]) -> RedisFault:
        f = Fields(raw, ["maxmemory", "policy", "duration", "name"])
        if not f.has("maxmemory"):
            raise SpecError("maxmemory", "is required", _BYTES_ACCEPTED)
        return cls(
            "memory-pressure",
            f.duration("duration", None, positive=True),
            f.string("name", None),
            maxmemory_bytes=parse_bytes(f.raw["maxmemory"], "maxmemory"),
            policy=f.string("policy", "allkeys-lru", choices=POLICIES),
        )

    @classmethod
    def failover(cls, raw: Mapping[str, Any]) -> RedisFault:
        f = Fields(raw, ["duration", "name"])
        return cls("failover", f.duration("duration", None, positive=True), f.string("name", None))
