"""A network fault in Chaos Mesh's NetworkChaos vocabulary, checked as Chaos Mesh checks it.

    action: delay                     # delay | loss | duplicate | corrupt | bandwidth | partition | netem
    link: redis                       # portable: the target binds it (a proxy link, or client/server pods)
    delay: {latency: 200ms, jitter: 10ms, correlation: "25"}
    direction: to                     # to | from | both (client -> server is "to")
    duration: 20s                     # held this long, then removed; always the object's duration too
    mode: all                         # one | all | fixed | fixed-percent | random-max-percent (+ value)
    selector: {...}                   # cluster only: overrides the link's client pods
    target: {mode: all, selector: {...}}   # cluster only: overrides the link's server pods
    externalTargets: [10.0.0.1]       # cluster only
    name: slow-redis                  # the fault's id in the ledger (default: <action>-<link>)

Three more actions exist only on the local fault proxy (no Chaos Mesh equivalent): ``reset``,
``slow-close`` ({delay}) and ``timeout`` ({percent, close_after}).

Rules from Chaos Mesh's CRDs and admission webhook (v2.8): latency and jitter are one number and
one unit; percentages and correlations are numbers 0-100 written as strings; a bandwidth rate is an
integer with bps, kbps, mbps, gbps or tbps (bytes per second, powers of 1024); ``fixed`` needs an
integer ``value`` > 0, the percent modes one in (0, 100]; ``from``/``both`` need a target unless the
action is ``partition``, and cannot be used with ``externalTargets``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib_ext.durations import format_duration
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.faults.network.selectors import PodTarget, parse_mode, parse_selector
from chaoslib_ext.fields import Fields

__all__ = [
    "ACTIONS",
    "CHAOS_MESH_ACTIONS",
    "DIRECTIONS",
    "LOCAL_ACTIONS",
    "BandwidthParams",
    "DelayParams",
    "NetworkFaultSpec",
    "PercentParams",
]

CHAOS_MESH_ACTIONS = ("delay", "loss", "duplicate", "corrupt", "bandwidth", "partition", "netem")
LOCAL_ACTIONS = ("reset", "slow-close", "timeout")
ACTIONS = CHAOS_MESH_ACTIONS + LOCAL_ACTIONS
DIRECTIONS = ("to", "from", "both")
_NETEM_PARTS = ("delay", "loss", "duplicate", "corrupt", "rate")
#: Which parameter blocks each action takes (netem takes any of its parts, at least one).
_BLOCKS = {
    "delay": ("delay",),
    "loss": ("loss",),
    "duplicate": ("duplicate",),
    "corrupt": ("corrupt",),
    "bandwidth": ("bandwidth",),
    "partition": (),
    "netem": _NETEM_PARTS,
    "reset": (),
    "slow-close": ("slow_close",),
    "timeout": ("timeout",),
}
_FIELDS = (
    "action",
    "link",
    "direction",
    "duration",
    "name",
    "mode",
    "value",
    "selector",
    "target",
    "externalTargets",
    "delay",
    "loss",
    "duplicate",
    "corrupt",
    "bandwidth",
    "rate",
    "slow_close",
    "timeout",
)
_LATENCY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)$")
_LATENCY_ACCEPTED = "a number and one unit: ns, us, ms, s, m or h (e.g. 200ms)"
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*([0-9]+)\s*(tbps|gbps|mbps|kbps|bps)\s*$", re.IGNORECASE)
_RATE_ACCEPTED = "an integer with bps, kbps, mbps, gbps or tbps (bytes per second), e.g. 1mbps"
_RATE_POWER = {"bps": 0, "kbps": 1, "mbps": 2, "gbps": 3, "tbps": 4}
#: Chaos Mesh's bandwidth action needs a queue limit and a bucket size; these are its examples' values.
_DEFAULT_LIMIT = 20971520
_DEFAULT_BUFFER = 10000


def _latency(raw: object, field: str) -> tuple[str, float]:
    text = str(raw).strip() if isinstance(raw, str | int | float) and not isinstance(raw, bool) else ""
    match = _LATENCY.match(text)
    if not match:
        if text.startswith("-"):
            raise SpecError(field, f"duration {raw!r} is negative", _LATENCY_ACCEPTED)
        raise SpecError(field, f"malformed duration {raw!r}", _LATENCY_ACCEPTED)
    return text, float(match[1]) * _UNIT_S[match[2]]


def _percent(raw: object, field: str, default: str | None = None) -> tuple[str, float]:
    if raw is None and default is not None:
        raw = default
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise SpecError(field, f"expected a percentage, got {raw!r}", 'a number from 0 to 100, e.g. "15"')
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(field, f"{raw!r} is not a number", 'a number from 0 to 100, e.g. "15"') from None
    if not 0.0 <= value <= 100.0:
        raise SpecError(field, f"{raw!r} is out of range", "0 to 100")
    return f"{value:g}", value


@dataclass(frozen=True)
class DelayParams:
    latency: str
    latency_s: float
    jitter: str = "0ms"
    jitter_s: float = 0.0
    correlation: float = 0.0  # percent

    @classmethod
    def parse(cls, raw: object, where: str) -> DelayParams:
        f = Fields(raw, ["latency", "jitter", "correlation"], where)
        if not f.has("latency"):
            raise SpecError(f"{where}.latency", "is required", _LATENCY_ACCEPTED)
        latency, latency_s = _latency(f.raw["latency"], f"{where}.latency")
        jitter, jitter_s = _latency(f.raw.get("jitter", "0ms"), f"{where}.jitter")
        return cls(
            latency, latency_s, jitter, jitter_s, _percent(f.raw.get("correlation"), f"{where}.correlation", "0")[1]
        )

    def to_chaos_mesh(self) -> dict[str, str]:
        return {"latency": self.latency, "jitter": self.jitter, "correlation": f"{self.correlation:g}"}


@dataclass(frozen=True)
class PercentParams:
    """loss, duplicate or corrupt: a percentage of packets and a correlation (both percent)."""

    kind: str
    percent: float
    correlation: float = 0.0

    @classmethod
    def parse(cls, kind: str, raw: object, where: str) -> PercentParams:
        f = Fields(raw, [kind, "correlation"], where)
        if not f.has(kind):
            raise SpecError(f"{where}.{kind}", "is required", 'a number from 0 to 100, e.g. "15"')
        return cls(
            kind,
            _percent(f.raw[kind], f"{where}.{kind}")[1],
            _percent(f.raw.get("correlation"), f"{where}.correlation", "0")[1],
        )

    def to_chaos_mesh(self) -> dict[str, str]:
        return {self.kind: f"{self.percent:g}", "correlation": f"{self.correlation:g}"}


@dataclass(frozen=True)
class BandwidthParams:
    rate: str
    rate_bytes_s: int
    limit: int = _DEFAULT_LIMIT
    buffer: int = _DEFAULT_BUFFER
    peakrate: int | None = None
    minburst: int | None = None

    @classmethod
    def parse(cls, raw: object, where: str, netem_rate: bool = False) -> BandwidthParams:
        names = ["rate"] if netem_rate else ["rate", "limit", "buffer", "peakrate", "minburst"]
        f = Fields(raw, names, where)
        rate = f.raw.get("rate")
        match = _RATE.match(rate) if isinstance(rate, str) else None
        if not isinstance(rate, str) or not match:
            message = "is required" if rate is None else f"rate {rate!r} has no unit Chaos Mesh accepts"
            raise SpecError(f"{where}.rate", message, _RATE_ACCEPTED)
        rate_bytes_s = int(match[1]) * 1024 ** _RATE_POWER[match[2].lower()]
        if rate_bytes_s <= 0:
            raise SpecError(f"{where}.rate", f"rate {rate!r} must be above zero", _RATE_ACCEPTED)
        if netem_rate:
            return cls(rate.strip(), rate_bytes_s)
        return cls(
            rate.strip(),
            rate_bytes_s,
            f.integer("limit", _DEFAULT_LIMIT, minimum=1, maximum=2**31 - 1),
            f.integer("buffer", _DEFAULT_BUFFER, minimum=1, maximum=2**31 - 1),
            f.integer("peakrate", None, minimum=0),
            f.integer("minburst", None, minimum=0, maximum=2**31 - 1),
        )

    def to_chaos_mesh(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rate": self.rate, "limit": self.limit, "buffer": self.buffer}
        if self.peakrate is not None:
            out["peakrate"] = self.peakrate
        if self.minburst is not None:
            out["minburst"] = self.minburst
        return out


@dataclass(frozen=True)
class NetworkFaultSpec:
    action: str
    link: str | None
    direction: str
    duration_s: float | None
    name: str | None
    mode: str = "all"
    value: str | None = None
    selector: dict[str, Any] | None = None
    target: PodTarget | None = None
    external_targets: tuple[str, ...] = ()
    delay: DelayParams | None = None
    loss: PercentParams | None = None
    duplicate: PercentParams | None = None
    corrupt: PercentParams | None = None
    bandwidth: BandwidthParams | None = None  # the bandwidth action, or netem's rate
    slow_close_s: float | None = None
    timeout_percent: float | None = None
    timeout_close_after_s: float = 0.0

    @property
    def fault_id(self) -> str:
        return self.name or f"{self.action}-{self.link or 'pods'}"

    @property
    def local_only(self) -> bool:
        return self.action in LOCAL_ACTIONS

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> NetworkFaultSpec:
        """Parse an activity's arguments; raises SpecError naming the field and the accepted values."""
        f = Fields(raw, _FIELDS)
        action = f.string("action", "delay", choices=ACTIONS)
        blocks = _BLOCKS[action]
        for block in ("delay", "loss", "duplicate", "corrupt", "bandwidth", "rate", "slow_close", "timeout"):
            if f.has(block) and block not in blocks:
                users = [a for a, b in _BLOCKS.items() if block in b]
                raise SpecError(block, f"does not apply to action {action!r}", f"actions {', '.join(users)}")
        parts: dict[str, Any] = {}
        if "delay" in blocks and f.has("delay"):
            parts["delay"] = DelayParams.parse(f.raw["delay"], "delay")
        for kind in ("loss", "duplicate", "corrupt"):
            if kind in blocks and f.has(kind):
                parts[kind] = PercentParams.parse(kind, f.raw[kind], kind)
        if action == "bandwidth" or f.has("bandwidth"):
            parts["bandwidth"] = BandwidthParams.parse(f.raw.get("bandwidth"), "bandwidth")
        if f.has("rate"):
            parts["bandwidth"] = BandwidthParams.parse(f.raw["rate"], "rate", netem_rate=True)
        if action == "netem" and not parts:
            raise SpecError("action", "netem needs at least one of delay, loss, duplicate, corrupt, rate")
        if action in ("delay", "loss", "duplicate", "corrupt") and action not in parts:
            raise SpecError(action, "is required by this action")
        if action == "slow-close":
            s = Fields(f.raw.get("slow_close"), ["delay"], "slow_close")
            parts["slow_close_s"] = s.duration("delay")
        if action == "timeout":
            t = Fields(f.raw.get("timeout") or {}, ["percent", "close_after"], "timeout")
            parts["timeout_percent"] = _percent(t.raw.get("percent"), "timeout.percent", "100")[1]
            parts["timeout_close_after_s"] = t.duration("close_after", 0.0)
        mode, value = parse_mode(f.raw.get("mode", "all"), f.raw.get("value"), "mode", "value")
        spec = cls(
            action=action,
            link=f.string("link", None),
            direction=f.string("direction", "to", choices=DIRECTIONS),
            duration_s=f.duration("duration", None, positive=True),
            name=f.string("name", None),
            mode=mode,
            value=value,
            selector=parse_selector(f.raw["selector"], "selector") if f.has("selector") else None,
            target=PodTarget.parse(f.raw["target"], "target") if f.has("target") else None,
            external_targets=tuple(_strings(f.sequence("externalTargets", []), "externalTargets")),
            **parts,
        )
        spec._check_targets()
        return spec

    def _check_targets(self) -> None:
        if self.link is None and self.selector is None:
            raise SpecError(
                "link", "is required (or a Chaos Mesh selector)", "a link of the target: gateway, redis, kafka"
            )
        if self.action == "partition":
            return
        if self.direction in ("from", "both") and self.external_targets:
            raise SpecError("direction", f"{self.direction!r} cannot be used with externalTargets", "to")
        if self.direction in ("from", "both") and self.selector is not None and self.target is None and not self.link:
            raise SpecError("direction", f"{self.direction!r} needs a target", "to, or set target")

    def to_json(self) -> dict[str, Any]:
        """The fault as written, normalised: what the ledger and --dry-run show."""
        out: dict[str, Any] = {"action": self.action, "direction": self.direction}
        if self.link:
            out["link"] = self.link
        for name in ("delay", "loss", "duplicate", "corrupt"):
            part = getattr(self, name)
            if part is not None:
                out[name] = part.to_chaos_mesh()
        if self.bandwidth is not None:
            out["bandwidth"] = self.bandwidth.to_chaos_mesh()
        if self.slow_close_s is not None:
            out["slow_close"] = {"delay": format_duration(self.slow_close_s)}
        if self.timeout_percent is not None:
            out["timeout"] = {
                "percent": self.timeout_percent,
                "close_after": format_duration(self.timeout_close_after_s),
            }
        if self.duration_s is not None:
            out["duration"] = format_duration(self.duration_s)
        out["mode"] = self.mode
        if self.value is not None:
            out["value"] = self.value
        return out


def _strings(items: list[Any], field: str) -> list[str]:
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise SpecError(f"{field}[{i}]", f"expected an address or host name, got {item!r}")
    return items
