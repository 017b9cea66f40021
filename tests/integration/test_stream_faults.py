"""Stream faults on the sandbox, one window per action in one run: each shows its measured effect in
the requests it touched (and nowhere else), is counted by its own counters, and is gone afterwards; a
fault aimed at a link no request uses makes the run inconclusive (exit 2)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import pytest
import yaml

from chaoslib_ext.run.ledger import Ledger
from chaoslib_ext.samples import read_samples
from chaoslib_ext.samples.errors import error_class
from tests.integration.helpers import (
    activity,
    chaosllm,
    experiment,
    observe,
    proxy_faults,
    run_dirs,
    run_experiment,
    running,
)

#: (fault id, stream_fault arguments, seconds): the windows of the run, one after the other
WINDOWS = [
    ("stall", {"action": "stall", "after_events": 1, "hold": "300ms", "percent": 50, "seed": 7}, 6),
    ("burst", {"action": "http-error", "status": 429, "retry_after": "1s", "percent": 20, "seed": 7}, 9),
    ("cut", {"action": "cut", "after_events": 2}, 3),
    ("slow", {"action": "slow-tokens", "delay": "20ms"}, 4),
    ("prefill", {"action": "slow-first-token", "delay": "200ms"}, 4),
    ("corrupt", {"action": "corrupt-event", "rate": 25, "corrupt": "truncate", "seed": 7}, 3),
    ("nodone", {"action": "drop-done"}, 3),
]
#: a byte fault on the same HTTP link after them: a delay of the gateway's answers, which marks what it touched
LAG = ("lag", {"action": "delay", "delay": {"latency": "50ms"}, "direction": "from"}, 3)
MAX_TOKENS = 8
#: a request counts in a window when it started after the injection and ended before the removal, with this
#: margin at both ends: the ledger's times are when the proxy confirmed, a few ms after it acted
EDGE_S = 0.05


def stream_fault(name: str, arguments: dict, seconds: int) -> dict:
    """The activity injecting fault ``name`` on the sandbox's HTTP link for ``seconds``."""
    found = activity(name, "faults.stream.actions", "stream_fault", link="gateway", duration=f"{seconds}s", **arguments)
    found["provider"]["arguments"]["name"] = name  # the fault's id in the ledger
    return found


@pytest.fixture(scope="module")
def stream_run(sandbox_state, tmp_path_factory):
    """One run on the sandbox: a baseline, then each window of WINDOWS with 1 s of quiet after it."""
    state_dir, state = sandbox_state
    method = [observe("baseline", "5s")]
    for name, arguments, seconds in WINDOWS:
        method += [stream_fault(name, arguments, seconds), observe(f"after {name}", "1s")]
    name, arguments, seconds = LAG
    lag = activity(name, "faults.network.actions", "network_fault", link="gateway", duration=f"{seconds}s", **arguments)
    lag["provider"]["arguments"]["name"] = name
    method += [lag, observe(f"after {name}", "1s")]
    exp = experiment(
        "stream faults, one per window", method, target="sandbox",
        load={"users": 16, "max_tokens": MAX_TOKENS, "warmup": "2s"},
        hypotheses=[{"name": "baseline answered", "phase": "baseline", "metric": "error_rate", "expect": "<= 0.01"}],
    )  # fmt: skip
    result, run = run_experiment(exp, tmp_path_factory.mktemp("stream-faults"), state_dir, timeout=240)
    assert run is not None, result.stdout[-3000:] + result.stderr[-3000:]
    return result, run, state


class Windows:
    """The run's samples split by the ledger's fault windows."""

    def __init__(self, run: Path) -> None:
        self.samples = list(read_samples(run / "samples"))
        self.entries = {e.id: e for e in Ledger(run / "ledger.json").entries()}
        first = min(e.injected_at for e in self.entries.values())
        self.baseline = [s for s in self.samples if s.t0 + s.done_ms / 1000.0 < first and s.ok]

    def inside(self, fault: str) -> list:
        e = self.entries[fault]
        return [s for s in self.samples
                if s.t0 >= e.injected_at + EDGE_S and s.t0 + s.done_ms / 1000.0 <= e.removed_at - EDGE_S]  # fmt: skip

    def evidence(self, fault: str) -> dict:
        return self.entries[fault].details["evidence"]

    def marked(self, fault: str, sample) -> bool:
        """Whether the sample carries the fault's mark (the proxy said it touched the request)."""
        return bool(sample.faults >> self.entries[fault].details["mark"] & 1)


@pytest.fixture(scope="module")
def windows(stream_run) -> Windows:
    result, run, _ = stream_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Windows(run)


def median(values) -> float:
    return statistics.median(values)


def test_every_stream_fault_is_gone_and_was_read_from_its_counters(stream_run, windows):
    _, run, state = stream_run
    assert proxy_faults(state["proxy"]["control_url"]) == {}
    assert [e.id for e in Ledger(run / "ledger.json").outstanding()] == []
    summary = json.loads((run / "summary.json").read_text())
    for fault in summary["faults"]:
        ev = fault["evidence"]
        assert ev["counted"], fault["id"]
        assert ev["coverage"] == pytest.approx(1.0, abs=0.02), fault["id"]
        # the load's samples carry the marks of what the proxy touched (less what was in flight at the end);
        # a stream fault counts the requests it touched as touched, a byte fault as its requests (passed)
        touched = ev["passed"] if ev["kind"] == "bytes" else ev["touched"]
        assert touched - 16 <= ev["marked"] <= touched, fault["id"]


def test_a_stall_after_the_first_token_holds_that_gap_by_300ms_in_the_touched_requests_only(windows):
    inside = [s for s in windows.inside("stall") if len(s.itl_ms) >= 2]
    touched = [s for s in inside if windows.marked("stall", s)]
    spared = [s for s in inside if not windows.marked("stall", s)]
    assert len(touched) / len(inside) == pytest.approx(0.5, abs=0.15)  # percent 50
    assert len(touched) >= 20
    base_gap0 = median(s.itl_ms[0] for s in windows.baseline)
    assert median(s.itl_ms[0] for s in spared) == pytest.approx(base_gap0, abs=5.0)  # nowhere else
    assert max(s.itl_ms[0] for s in spared) < 150.0
    extra = [s.itl_ms[0] - base_gap0 for s in touched]
    assert median(extra) == pytest.approx(300.0, abs=10.0)
    # the hold comes on top of the server's own gap; the client's own lag (a few ms on a busy host, when it
    # reads token 1 late) can shave the gap it measures: within the issue's +- 10 ms
    assert min(s.itl_ms[0] for s in touched) >= 290.0
    later = median(g for s in touched for g in s.itl_ms[1:])
    assert later == pytest.approx(median(g for s in windows.baseline for g in s.itl_ms[1:]), abs=3.0)
    assert median(s.ttft_ms for s in touched) == pytest.approx(median(s.ttft_ms for s in windows.baseline), abs=15.0)
    assert windows.evidence("stall")["effects"] >= len(touched)


def test_a_20_percent_429_burst_answers_20_percent_of_at_least_1000_requests(windows):
    inside = windows.inside("burst")
    assert len(inside) >= 1000
    answered = [s for s in inside if s.status == 429]
    assert len(answered) / len(inside) == pytest.approx(0.20, abs=0.03)
    assert {error_class(s.status, s.error or "") for s in answered} == {"http_429"}
    assert all(windows.marked("burst", s) for s in answered)
    assert not any(windows.marked("burst", s) for s in inside if s.status != 429)
    assert all(s.ok for s in inside if s.status != 429)
    ev = windows.evidence("burst")
    assert ev["touched"] / ev["requests"] == pytest.approx(0.20, abs=0.03)


def test_a_cut_after_two_tokens_keeps_them_and_fails_the_request_as_cut(windows):
    inside = windows.inside("cut")
    assert len(inside) >= 20
    assert {error_class(s.status, s.error or "") for s in inside} == {"cut"}
    assert {s.events for s in inside} == {2}  # the partial stream keeps its tokens...
    assert all(s.ttft_ms is not None for s in inside)  # ...and its TTFT


def test_slow_tokens_add_their_delay_to_every_gap_and_slow_first_token_to_ttft_only(windows):
    base_itl = median(g for s in windows.baseline for g in s.itl_ms)
    base_ttft = median(s.ttft_ms for s in windows.baseline)
    slow = [s for s in windows.inside("slow") if s.ok]
    assert median(g for s in slow for g in s.itl_ms) - base_itl == pytest.approx(20.0, abs=3.0)
    prefill = [s for s in windows.inside("prefill") if s.ok]
    assert median(s.ttft_ms for s in prefill) - base_ttft == pytest.approx(200.0, abs=10.0)
    assert median(g for s in prefill for g in s.itl_ms) == pytest.approx(base_itl, abs=2.0)


def test_corrupt_events_and_a_dropped_done_fail_as_malformed_and_no_done(windows):
    corrupt = windows.inside("corrupt")
    malformed = [s for s in corrupt if error_class(s.status, s.error or "") == "malformed"]
    # 25 % of each request's 8 content events: 1 - 0.75^8 = 90 % of requests get at least one
    assert len(malformed) / len(corrupt) == pytest.approx(1 - 0.75**MAX_TOKENS, abs=0.08)
    ev = windows.evidence("corrupt")
    assert ev["effects"] / (ev["touched"] * MAX_TOKENS) == pytest.approx(0.25, abs=0.05)
    nodone = windows.inside("nodone")
    assert {error_class(s.status, s.error or "") for s in nodone} == {"no_done"}
    assert {s.events for s in nodone} == {MAX_TOKENS}  # every token came; only [DONE] is missing


def test_a_delay_of_the_links_answers_marks_every_request_it_touched_and_no_other(windows):
    inside = windows.inside("lag")
    assert len(inside) >= 40
    assert all(windows.marked("lag", s) for s in inside)
    lag = windows.entries["lag"]
    before = [s for s in windows.samples if s.t0 + s.done_ms / 1000.0 < lag.injected_at - EDGE_S]
    after = [s for s in windows.samples if s.t0 > lag.removed_at + EDGE_S]
    assert before
    assert after
    assert not any(windows.marked("lag", s) for s in before + after)
    base_ttft = median(s.ttft_ms for s in windows.baseline)
    assert median(s.ttft_ms for s in inside) - base_ttft == pytest.approx(50.0, abs=10.0)
    assert windows.evidence("lag")["requests"] >= len(inside)


def test_the_summary_classes_the_fault_phases_errors(stream_run, windows):
    _, run, _ = stream_run
    errors = json.loads((run / "summary.json").read_text())["phases"]["fault"]["errors"]
    assert set(errors) == {"http_429", "cut", "malformed", "no_done"}


def test_a_fault_on_a_link_no_request_uses_makes_the_run_inconclusive(sandbox, tmp_path):
    """A proxy of the test's own: the load goes through its HTTP link, the fault sits on a spare link
    (to the sandbox's Redis replica) that nothing uses; its counters show no chunk: exit 2."""
    gateway, replica = sandbox["services"]["gateway"]["real"], sandbox["services"]["redis-replica"]["real"]
    spare = replica.removeprefix("redis://").split("/")[0]
    argv = ["chaoslib_ext.proxy", "--link", f"gateway={gateway}", "--link", f"spare={spare}"]
    with running(argv, tmp_path, "proxy") as (_, info):
        target = {"kind": "chaosllm/target", "version": 1, "name": "spare-link", "backend": "proxy",
                  "services": {"gateway": {"address": f"http://{info['links']['gateway']['listen']}",
                                           "link": "gateway"}},
                  "proxy": {"control_url": info["control_url"], "links": info["links"]}}  # fmt: skip
        (tmp_path / "target.json").write_text(json.dumps(target))
        method = [observe("baseline", "3s"),
                  activity("slow spare", "faults.network.actions", "network_fault", link="spare", action="delay",
                           delay={"latency": "50ms"}, duration="3s"),
                  observe("recovery", "2s")]  # fmt: skip
        exp = experiment("a fault on a link nothing uses", method, target=str(tmp_path / "target.json"),
                         load={"users": 4, "max_tokens": 8, "warmup": "1s"},
                         hypotheses=[{"name": "answered", "phase": "fault", "metric": "error_rate",
                                      "expect": "<= 0.01"}])  # fmt: skip
        path = tmp_path / "spare.yaml"
        path.write_text(yaml.safe_dump(exp, sort_keys=False))
        result = chaosllm("run", str(path), "--out", str(tmp_path / "out"), timeout=120)
        deadline = time.monotonic() + 5
        while proxy_faults(info["control_url"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proxy_faults(info["control_url"]) == {}
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    [run] = run_dirs(tmp_path / "out")
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["outcome"]["verdict"], summary["outcome"]["cause"]) == ("inconclusive", "fault_not_reached")
    [fault] = summary["faults"]
    assert fault["evidence"]["kind"] == "bytes"
    assert fault["evidence"]["effects"] == 0
    assert fault["evidence"]["window_requests"] > 0
    assert summary["hypotheses"][0]["status"] == "pass"  # it would have passed: the fault never acted
