"""Percentiles over several load processes' samples are those of one table of the same samples, exactly:
the processes' raw records are merged, never their summaries (Locust's buckets, per-process p99s). The
mean alone may differ in its last bit: a float sum depends on the order of its terms."""

from __future__ import annotations

import numpy as np
import pytest

from chaoslib_ext.metrics import Window, window_metrics
from chaoslib_ext.samples import SampleWriter, read_samples
from chaoslib_ext.samples.table import SampleTable


def test_two_processes_and_a_remote_worker_merge_exactly_into_one_table(tmp_path):
    rng = np.random.default_rng(3)
    merged, single = tmp_path / "merged", tmp_path / "single"
    writers = [SampleWriter(merged, prefix=p) for p in ("samples-101", "samples-102", "w0-samples-7")]
    one = SampleWriter(single)
    for i in range(3000):
        gaps = rng.gamma(4.0, 3.0, int(rng.integers(0, 20))).tolist()
        record = {"t0": 1000.0 + i * 0.01 + rng.random() * 0.005, "ttft_ms": float(rng.lognormal(4, 0.6)),
                  "itl_ms": gaps, "tokens": len(gaps) + 1, "events": len(gaps) + 1, "status": 200,
                  "error": None, "done_ms": 500.0}  # fmt: skip
        writers[int(rng.integers(0, 3))].write(record)  # each request in one process, as they are sent
        one.write(record)
    for w in [*writers, one]:
        w.close()
    window = Window(((1000.0, 1030.0),))
    got = window_metrics(SampleTable.from_directory(merged), window)
    want = window_metrics(SampleTable.from_samples(list(read_samples(single))), window)
    for metric in ("ttft_ms", "itl_ms", "tpot_ms", "e2el_ms"):
        a, b = getattr(got, metric), getattr(want, metric)
        assert (a.count, a.min, a.p50, a.p90, a.p95, a.p99, a.max) == (
            b.count,
            b.min,
            b.p50,
            b.p90,
            b.p95,
            b.p99,
            b.max,
        )
        assert a.mean == pytest.approx(b.mean, rel=1e-12)
    assert got.requests == want.requests == 3000
    assert got.output_throughput_tps == want.output_throughput_tps
