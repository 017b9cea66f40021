"""A 429 burst against a load that retries (load.retry): every 429 is sent again after the Retry-After
the proxy answered, up to the policy's attempts, and the report counts the retries apart from the
first attempts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chaoslib_ext.run.ledger import Ledger
from chaoslib_ext.samples import read_samples
from tests.integration.helpers import activity, experiment, observe, run_experiment

RETRY_AFTER_S = 0.3
#: a retry is sent RETRY_AFTER_S after the attempt it repeats ended, give or take the scheduler
SLACK_S = 0.1


@pytest.fixture(scope="module")
def storm_run(sandbox_state, tmp_path_factory):
    state_dir, _ = sandbox_state
    burst = activity("burst", "faults.stream.actions", "stream_fault", action="http-error", status=429,
                     retry_after=f"{RETRY_AFTER_S * 1000:g}ms", percent=50, seed=11, link="gateway",
                     duration="8s")  # fmt: skip
    burst["provider"]["arguments"]["name"] = "burst"  # the fault's id in the ledger
    hypotheses = [
        {"name": "retries in the burst", "phase": "fault", "metric": "retries.rate", "expect": ">= 0.5"},
        {"name": "no retry before it", "phase": "baseline", "metric": "retries.count", "expect": "<= 0"},
    ]
    exp = experiment(
        "a 429 burst against a retrying client", [observe("baseline", "4s"), burst, observe("after", "3s")],
        target="sandbox", hypotheses=hypotheses,
        load={"users": 16, "max_tokens": 8, "warmup": "2s",
              "retry": {"on": [429], "attempts": 3, "max_backoff": "2s", "seed": 3}},
    )  # fmt: skip
    result, run = run_experiment(exp, tmp_path_factory.mktemp("retry-storm"), state_dir, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert run is not None
    return run


def test_every_429_is_retried_until_the_attempts_run_out_and_nothing_else_is(storm_run):
    samples = list(read_samples(storm_run / "samples"))
    assert {s.attempt for s in samples} == {0, 1, 2}
    for s in samples:
        assert s.retried == (s.status == 429 and s.attempt < 2), s
    assert all(s.ok for s in samples if s.status != 429)


def test_each_retry_waits_the_retry_after_the_proxy_answered(storm_run):
    samples = list(read_samples(storm_run / "samples"))
    # a retry's request is the one whose first attempt started at its first_t0
    by_request = {(s.first_t0 or s.t0, s.attempt): s for s in samples}
    assert len(by_request) == len(samples)
    waits = []
    for s in (s for s in samples if s.attempt > 0):
        before = by_request[(s.first_t0, s.attempt - 1)]
        assert before.retried
        assert before.status == 429
        waits.append(s.t0 - (before.t0 + before.done_ms / 1000.0))
    assert len(waits) >= 100
    assert min(waits) >= RETRY_AFTER_S - 0.002
    assert float(np.median(waits)) == pytest.approx(RETRY_AFTER_S, abs=0.02)
    assert float(np.percentile(waits, 90)) <= RETRY_AFTER_S + SLACK_S


def test_the_report_counts_retries_apart_and_they_match_the_burst_share(storm_run):
    summary = json.loads((storm_run / "summary.json").read_text())
    assert summary["outcome"]["verdict"] == "passed"
    fault = summary["phases"]["fault"]
    r = fault["retries"]
    assert fault["requests"] == r["first_attempts"] + r["count"]  # every attempt is a request the server saw
    assert r["first_attempts"] >= 200
    # percent 50 drawn per attempt: a first attempt is retried once with p 1/2, twice with p 1/4
    assert r["rate"] == pytest.approx(0.75, abs=0.15)
    assert r["exhausted"] / r["first_attempts"] == pytest.approx(0.25 * 0.5, abs=0.06)
    assert r["recovered"] + r["exhausted"] <= r["count"]
    assert "baseline" in summary["phases"]
    assert summary["phases"]["baseline"]["retries"]["count"] == 0
    assert "## Retries" in (storm_run / "report.md").read_text()
    [entry] = Ledger(storm_run / "ledger.json").entries()
    assert entry.details["evidence"]["effects"] >= r["count"]
