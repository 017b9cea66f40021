"""The load's samples as they arrive: each file read from where the last read stopped, so a check
once a second costs what arrived since, not the whole run."""

from __future__ import annotations

from pathlib import Path

from chaoslib_ext.metrics.phase import window_metrics
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples import Sample, SampleFile, sample_files, to_samples
from chaoslib_ext.samples.table import SampleTable

__all__ = ["LiveSamples"]


class LiveSamples:
    def __init__(self, directory: Path, keep_s: float) -> None:
        self.directory = directory
        self.keep_s = keep_s  # samples that ended longer ago than this are dropped
        self._files: dict[Path, SampleFile] = {}
        self._samples: list[Sample] = []

    def refresh(self, now: float) -> None:
        for found in sample_files(self.directory):
            reader = self._files.setdefault(found.stem, found)
            self._samples += to_samples(*reader.read_new())  # a record still being written is read next time
        horizon = now - self.keep_s
        self._samples = [s for s in self._samples if s.t0 + s.done_ms / 1000.0 >= horizon]

    def samples(self) -> list[Sample]:
        """The samples kept (those that ended in the last ``keep_s`` at the last refresh)."""
        return self._samples

    def metric(self, name: str, window_s: float, now: float, since: float | None = None) -> float | None:
        """``name`` (e.g. ``error_rate``, ``ttft_ms.p99``) over the requests that ended in the last
        ``window_s`` (and, with ``since``, started after it: a phase's own). When none did, a rate is 0
        (a stalled target shows as no throughput) and anything else is None (unknown: a stall does not
        make TTFT high until requests end)."""
        rate = name.endswith(("_tps", "_rps"))
        begin = now - window_s if since is None else max(now - window_s, since)
        recent = [s for s in self._samples if s.t0 + s.done_ms / 1000.0 >= begin and (since is None or s.t0 >= since)]
        if not recent:
            return 0.0 if rate else None
        table = SampleTable.from_samples(recent)
        # a rate is over the whole window; a distribution or the error rate over every request that ended in it
        start = begin if rate else min(s.t0 for s in recent)
        return window_metrics(table, Window(((start, now + 1e-6),))).value(name)
