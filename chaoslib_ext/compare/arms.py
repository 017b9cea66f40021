"""One side of a comparison: the requests of one or more runs (blocks), grouped by phase.

A side is a run directory, or a directory of run directories (the blocks ``chaosllm bench`` wrote for
one target). Each run's phases come from its own fault timeline; a phase pools the requests that
started in it in every block, and its duration is the sum of the blocks' phase durations. Requests
are the units the bootstrap resamples, so each request keeps its inter-token gaps with it: here a
gap belongs to the phase its request started in (the run report files gaps by the time of their
later token; the two differ only for requests that straddle a phase boundary).

With ``max_steal``, the seconds in which the hypervisor took that share of the load generator's CPU
or more (``samples/host.jsonl``, chaoslib_ext.samples.host) are left out: their time leaves the phase and
every request in flight during one leaves the side (counted in ``excluded_s`` and
``excluded_requests``). Such a stall hits every request in flight, of both sides alike, by tens to
hundreds of milliseconds, and swamps a tail percentile of either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from chaoslib_ext._jsonfile import JsonValue, read_json
from chaoslib_ext.compare.bootstrap import WeightedValues
from chaoslib_ext.exceptions import SideError
from chaoslib_ext.load.spec import SIDES
from chaoslib_ext.metrics import PHASES, phase_windows
from chaoslib_ext.metrics.validity import ValidityPolicy, unmeasurable
from chaoslib_ext.run.rundir import RunDir
from chaoslib_ext.run.timeline import Timeline
from chaoslib_ext.samples.host import read_host
from chaoslib_ext.samples.lag import read_lag
from chaoslib_ext.samples.table import Records, SampleTable

__all__ = [
    "PhaseRequests",
    "RunPhase",
    "Side",
    "SideError",
    "load_side",
    "load_sides",
    "read_run",
    "run_dirs",
    "side_of",
]


#: the fewest time slots a phase is resampled in: fewer make a poor bootstrap
MIN_GROUPS = 40


@dataclass(frozen=True)
class PhaseRequests:
    """The requests of one phase, pooled over the side's runs; index i is request i everywhere."""

    duration_s: float
    intervals: tuple[tuple[tuple[float, float], ...], ...]  # per run, its phase window from began_at
    run: npt.NDArray[np.intp]  # which of the side's runs each request belongs to
    start_s: npt.NDArray[np.float64]  # request start, seconds after its run's phase began
    ok: npt.NDArray[np.bool_]  # succeeded (a failure counts in error_rate)
    tokens: npt.NDArray[np.float64]  # output tokens of successful requests, 0 for failures
    dists: dict[str, WeightedValues]  # ttft_ms, itl_ms, tpot_ms, e2el_ms of successful requests
    excluded_s: float = 0.0  # starved seconds left out of the phase
    excluded_requests: int = 0  # requests left out: in flight during one of them

    @property
    def requests(self) -> int:
        return int(self.ok.size)

    def groups(self, group_s: float) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64] | None]:
        """Each request's resampling group, and each group's seconds of the phase: the ``group_s``
        slots of every run (empty ones too, their time counts), a request in the slot it started in;
        slots shorter than ``group_s`` when the phase would have fewer than MIN_GROUPS.
        ``group_s = 0``: every request alone, (arange, None)."""
        if group_s <= 0:
            return np.arange(self.requests), None
        group_s = min(group_s, self.duration_s / MIN_GROUPS)  # a short phase (a 10 s fault) in finer slots
        seconds: list[npt.NDArray[np.float64]] = []
        first: list[int] = []
        for intervals in self.intervals:
            edges = np.arange(0.0, max((b for _, b in intervals), default=0.0) + group_s, group_s)
            lo, hi = edges[:-1], edges[1:]
            first.append(sum(x.size for x in seconds))
            covered = np.zeros(lo.size)
            for a, b in intervals:
                covered += np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None)
            seconds.append(covered)
        slot = np.floor(self.start_s / group_s).astype(np.intp)
        return np.asarray(first, dtype=np.intp)[self.run] + slot, np.concatenate(seconds)


@dataclass(frozen=True)
class Side:
    label: str
    runs: tuple[Path, ...]
    title: str
    phases: dict[str, PhaseRequests]  # every phase of its runs; one may have no request (all left out)


def run_dirs(path: Path) -> tuple[Path, ...]:
    """``path`` if it is a run directory, else the run directories inside it (sorted); raises SideError."""
    if (path / "timeline.json").exists():
        return (path,)
    if path.is_dir():
        runs = tuple(sorted(p for p in path.iterdir() if (p / "timeline.json").exists()))
        if runs:
            return runs
    raise SideError(f"{path}: not a run directory (no timeline.json) nor a directory of run directories")


def load_side(path: Path, label: str | None = None, max_steal: float | None = None) -> Side:
    """Read every run of ``path`` and pool their requests by phase; raises SideError."""
    runs = run_dirs(path)
    return side_of(label or path.name, runs, [read_run(r, max_steal) for r in runs])


def load_sides(path: Path, max_steal: float | None = None) -> tuple[Side, Side]:
    """Side A's and side B's requests of runs whose load alternated two sides; raises SideError."""
    runs = run_dirs(path)
    if not all(_alternate(r) for r in runs):  # by the spec: starved seconds may leave no request to tell
        raise SideError(f"{path}: its load did not alternate two sides (no load.alternate): give RUN_A and RUN_B")
    read = [read_run(r, max_steal) for r in runs]
    names = _side_names(runs[0])
    return side_of(names[0], runs, read, SIDES["A"]), side_of(names[1], runs, read, SIDES["B"])


def _side_names(run: Path) -> tuple[str, str]:
    """("A sandbox-v1", "B sandbox-v2"): each side's model or URL as the run's load spec set them."""
    alternate = _alternate(run)
    a, b = (" ".join(str(v) for v in (alternate.get(side) or {}).values()) for side in ("a", "b"))
    return f"A {a}".strip(), f"B {b}".strip()


def _alternate(run: Path) -> dict[str, dict[str, JsonValue]]:
    """The run's ``load.alternate`` as its load spec recorded it; empty when its load did not alternate."""
    spec = run / "load" / "spec.json"
    found: dict[str, dict[str, JsonValue]] = (read_json(spec).get("alternate") if spec.exists() else None) or {}
    return found


def side_of(label: str, runs: tuple[Path, ...], read: list[dict[str, RunPhase]], tag: int | None = None) -> Side:
    """A side from runs already read with :func:`read_run` (one entry per run, in order); ``tag``:
    only the requests of that side of an alternating load."""
    parts: dict[str, list[RunPhase]] = {}
    for phases in read:
        for phase, part in phases.items():
            parts.setdefault(phase, []).append(part if tag is None else _only(part, tag))
    pooled = {phase: _pool(p) for phase, p in parts.items()}
    title = _title(runs[0]) if runs else label
    return Side(label, runs, title, pooled)


def _title(run: Path) -> str:
    experiment = run / "experiment.json"
    if experiment.exists():
        saved: dict[str, dict[str, object]] = read_json(experiment)
        return str(saved.get("experiment", {}).get("title") or run.name)
    return run.name


@dataclass(frozen=True)
class RunPhase:
    duration_s: float
    began_at: float  # the phase's start in this run
    intervals: tuple[tuple[float, float], ...]  # the phase window, seconds from began_at
    records: Records  # the table's rows of this phase
    tpot_ms: npt.NDArray[np.float64]
    gaps: npt.NDArray[np.float64]
    gap_owner: npt.NDArray[np.intp]  # index into records
    excluded_s: float = 0.0
    excluded_sides: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))  # side byte of each


def read_run(path: Path, max_steal: float | None = None) -> dict[str, RunPhase]:
    """The requests of each phase of one run (none when its load never started); ``max_steal``: without
    the seconds the load generator was starved or lagged and the requests in flight then."""
    run = RunDir(path)
    timeline = Timeline(run.timeline)
    window = timeline.measure_window()
    if window is None:
        return {}
    table = SampleTable.from_directory(run.samples)
    windows = phase_windows(window[0], window[1], timeline.fault_intervals())
    starved: list[tuple[float, float]] = []
    if max_steal is not None:  # the starved and the lagged seconds (chaoslib_ext.metrics.validity)
        policy = ValidityPolicy(max_steal=max_steal)
        starved = list(unmeasurable(read_host(run.samples), read_lag(run.samples), policy))
    hit = _in_flight(table.start_at, table.end_at, starved)
    used = table.ok & ~np.isnan(table.ttft_ms)
    all_gaps = np.concatenate([np.zeros(0), *(g.astype(np.float64) for g in table.gap_values())])
    owner_of_gap = np.repeat(np.flatnonzero(used), table.records["gaps"][used].astype(np.int64))
    out = {}
    for phase in PHASES:
        w = windows[phase]
        if w.empty:
            continue
        began = w.intervals[0][0]
        kept = _minus(w.intervals, starved)
        kept_s = sum(b - a for a, b in kept)
        started = w.requests(table.start_at, table.end_at)
        mask = started & ~hit
        position = np.cumsum(mask) - 1  # a request's index among the phase's requests
        in_phase = mask[owner_of_gap]
        out[phase] = RunPhase(
            kept_s,
            began,
            tuple((a - began, b - began) for a, b in kept),
            table.records[mask],
            table.tpot_ms[mask],
            all_gaps[in_phase],
            position[owner_of_gap[in_phase]],
            w.duration_s - kept_s,
            table.records["side"][started & hit],
        )
    return out


def _in_flight(
    start: npt.NDArray[np.float64], end: npt.NDArray[np.float64], intervals: list[tuple[float, float]]
) -> npt.NDArray[np.bool_]:
    """Which requests were in flight during any of ``intervals``."""
    hit = np.zeros(start.shape, dtype=np.bool_)
    for a, b in intervals:
        hit |= (start < b) & (end > a)
    return hit


def _minus(intervals: tuple[tuple[float, float], ...], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``intervals`` without ``cuts`` (both [start, end) in the same clock)."""
    out = list(intervals)
    for c0, c1 in cuts:
        out = [piece for a, b in out for piece in ((a, min(b, c0)), (max(a, c1), b)) if piece[1] > piece[0]]
    return out


def _only(part: RunPhase, tag: int) -> RunPhase:
    keep = part.records["side"] == tag
    position = np.cumsum(keep) - 1
    kept_gap = keep[part.gap_owner]
    return RunPhase(
        part.duration_s,
        part.began_at,
        part.intervals,
        part.records[keep],
        part.tpot_ms[keep],
        part.gaps[kept_gap],
        position[part.gap_owner[kept_gap]],
        part.excluded_s,
        part.excluded_sides[part.excluded_sides == tag],
    )


def _pool(parts: list[RunPhase]) -> PhaseRequests:
    records = np.concatenate([p.records for p in parts])
    offsets = np.cumsum([0] + [len(p.records) for p in parts[:-1]])
    ok = records["ok"] == 1
    content = ok & ~np.isnan(records["ttft_ms"])
    index = np.arange(len(records))
    tpot = np.concatenate([p.tpot_ms for p in parts])
    dists = {
        "ttft_ms": WeightedValues.of(records["ttft_ms"][content], index[content]),
        "e2el_ms": WeightedValues.of(records["e2el_ms"][content], index[content]),
        "tpot_ms": WeightedValues.of(tpot[content & ~np.isnan(tpot)], index[content & ~np.isnan(tpot)]),
        "itl_ms": WeightedValues.of(
            np.concatenate([p.gaps for p in parts]),
            np.concatenate([p.gap_owner + off for p, off in zip(parts, offsets, strict=True)]),
        ),
    }
    tokens = np.where(ok, records["tokens"].astype(np.float64), 0.0)
    run = np.repeat(np.arange(len(parts)), [len(p.records) for p in parts])
    start_s = np.concatenate([p.records["t0"] - p.began_at for p in parts])
    intervals = tuple(p.intervals for p in parts)
    return PhaseRequests(
        float(sum(p.duration_s for p in parts)),
        intervals,
        run,
        start_s,
        ok,
        tokens,
        dists,
        float(sum(p.excluded_s for p in parts)),
        int(sum(p.excluded_sides.size for p in parts)),
    )
