"""How much error the load client adds at a given load, measured before a run: ``chaosllm calibrate``.

The calibration server (``loadtests/calibration_server.py``) streams on an exact schedule: its first
content event ``ttft_ms`` after a request arrived, then one every ``itl_ms``, and it embeds in each
event the time since arrival at which it wrote it. The load client runs against it exactly as in a
run (same Locust user, same processes), so what it adds is measured, not assumed:

- added TTFT: client TTFT minus the server's embedded TTFT of the first event (plus loopback);
- ITL: the client's inter-token gaps against the server's ``itl_ms``;
- client lag and CPU: the load processes' own 50 Hz timer (:mod:`chaoslib_ext.samples.lag`);
- the verdict a run's phase would get at this load (:mod:`chaoslib_ext.metrics.validity`).
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaoslib_ext._processes import ProcessRecord, spawn_detached, stop
from chaoslib_ext._readiness import wait_ready_file
from chaoslib_ext.load.runner import start_load
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.metrics.gaps import GapIndex
from chaoslib_ext.metrics.record import Distribution
from chaoslib_ext.metrics.stats import distribution
from chaoslib_ext.metrics.validity import PhaseValidity, ValidityPolicy, phase_validity
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples.host import read_host
from chaoslib_ext.samples.lag import read_lag
from chaoslib_ext.samples.table import SampleTable

__all__ = ["Calibration", "CalibrationServer", "calibrate", "measure_client"]

WARMUP_S = 3.0


@dataclass(frozen=True)
class Calibration:
    """What the load client added at ``streams`` concurrent streams over ``seconds``."""

    streams: int
    processes: int
    seconds: float
    requests_s: float
    events_s: float
    ttft_ms: Distribution  # as the client measured it (the server's first content is due at ttft_ms)
    added_ttft_ms: Distribution  # client TTFT - server TTFT, per request
    itl_ms: Distribution  # the client's gaps; the server sent one every server_itl_ms
    server_itl_ms: float
    client_lag_ms: Distribution
    cpu_s_per_1k_events: float | None
    validity: PhaseValidity

    def lines(self) -> list[str]:
        """The figures, for the terminal."""
        a, g, lag = self.added_ttft_ms, self.itl_ms, self.client_lag_ms
        cpu = "-" if self.cpu_s_per_1k_events is None else f"{self.cpu_s_per_1k_events:.4f}"
        verdict = "measurable" if self.validity.measurable else f"NOT measurable: {self.validity.reason}"
        return [
            f"{self.streams} streams, {self.processes} load process(es), {self.seconds:g} s measured: "
            f"{self.requests_s:.1f} req/s, {self.events_s:.0f} SSE events/s",
            f"  added TTFT  p50 {_ms(a.p50)} / p99 {_ms(a.p99)} ms over {a.count} requests",
            f"  ITL         p50 {_ms(g.p50)} / p99 {_ms(g.p99)} ms "
            f"(the server sent one every {self.server_itl_ms:g} ms)",
            f"  client lag  p50 {_ms(lag.p50)} / p99 {_ms(lag.p99)} ms; busiest process "
            f"{_pct(self.validity.client_cpu)} of a core; {cpu} CPU-s per 1k events",
            f"  a run's phase at this load: {verdict}",
        ]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


class CalibrationServer:
    """The calibration server in its own session on a free loopback port; stopped by :meth:`stop`."""

    def __init__(self, work: Path, ttft_ms: float = 50.0, itl_ms: float = 10.0) -> None:
        import loadtests  # names files only: no Locust, no gevent

        ready = work / "calibration.ready"
        argv = [sys.executable, str(loadtests.CALIBRATION_SERVER), "--port", "0", "--ttft-ms", f"{ttft_ms:g}"]
        argv += ["--itl-ms", f"{itl_ms:g}", "--ready-file", str(ready)]
        self.record: ProcessRecord = spawn_detached("calibration server", argv, work / "calibration.log")
        try:
            self.url: str = str(wait_ready_file(self.record, ready)["url"])
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        stop(self.record, grace_s=5.0)


def measure_client(
    samples_dir: Path, window: tuple[float, float], itl_ms: float, streams: int, processes: int, policy: ValidityPolicy
) -> Calibration:
    """What the client added in ``window`` (unix seconds), from the samples and lag lines it wrote."""
    table = SampleTable.from_directory(samples_dir)
    w = Window((window,))
    started = w.contains(table.start_at) & table.ok
    added = (table.ttft_ms - table.server_ttft_ms)[started]
    events = sum(int(w.contains(c.token_at).sum()) for c in table.token_chunks())
    length = window[1] - window[0]
    lag = read_lag(samples_dir)
    in_window = lag.during(w.intervals) if lag is not None else None
    cpu_s = float((in_window.cpu * (in_window.end - in_window.start)).sum()) if in_window is not None else None
    lag_values = in_window.lag_ms if in_window is not None else np.zeros(0)
    return Calibration(
        streams=streams,
        processes=processes,
        seconds=round(length, 1),
        requests_s=float(w.contains(table.end_at)[table.ok].sum()) / length,
        events_s=events / length,
        ttft_ms=distribution(table.ttft_ms[started]),
        added_ttft_ms=distribution(added),
        itl_ms=GapIndex(table, [w]).distribution(w),
        server_itl_ms=itl_ms,
        client_lag_ms=distribution(lag_values),
        cpu_s_per_1k_events=None if cpu_s is None or not events else cpu_s / events * 1000.0,
        validity=phase_validity(w, read_host(samples_dir), lag, policy),
    )


def calibrate(
    streams: int,
    seconds: float,
    processes: int = 1,
    *,
    tokens: int = 20,
    ttft_ms: float = 50.0,
    itl_ms: float = 10.0,
    policy: ValidityPolicy = ValidityPolicy(),  # noqa: B008 - frozen
    work: Path | None = None,
    server_url: str | None = None,
) -> Calibration:
    """Run the load client at ``streams`` against a fresh calibration server (or the one at ``server_url``,
    started with these ``ttft_ms`` and ``itl_ms``) for ``seconds`` after a warmup, and measure what it
    added. Everything it starts is stopped before it returns."""
    with tempfile.TemporaryDirectory(prefix="chaosllm-calibrate-") as tmp:
        root = work or Path(tmp)
        server = None if server_url else CalibrationServer(root, ttft_ms, itl_ms)
        url = server_url or (server.url if server else "")
        try:
            spec = LoadSpec.parse(
                {"url": url, "users": streams, "spawn_rate": streams, "max_tokens": tokens,
                 "processes": processes, "warmup": "0s", "unique_prompts": False}
            )  # fmt: skip
            load = start_load(spec, root / "samples", root / "load", max_run_s=WARMUP_S + seconds + 30.0)
            try:
                load.wait_flowing()
                time.sleep(WARMUP_S)
                start = time.time()
                time.sleep(seconds)
                window = (start, time.time())
            finally:
                load.stop()
        finally:
            if server is not None:
                server.stop()
        return measure_client(root / "samples", window, itl_ms, streams, processes, policy)
