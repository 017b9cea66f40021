"""The run's control endpoint on a real socket: its routes, its errors, its token, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from chaoslib_ext.controls.endpoint import Endpoint, parse_bind
from chaoslib_ext.controls.gate import Gate
from chaoslib_ext.controls.live import LiveStatus
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.rundir import RunDir
from chaoslib_ext.verdict.spec import parse_hypotheses

METHOD = [{"name": "baseline"}, {"name": "slow redis"}]


@pytest.fixture
def endpoint(tmp_path: Path):
    made = []

    def make(token: str | None = None) -> tuple[Endpoint, RunContext]:
        run = RunContext(RunDir(tmp_path), "sandbox")
        gate = Gate(run, METHOD)
        hypotheses = parse_hypotheses(
            [{"name": "fast", "phase": "baseline", "metric": "ttft_ms.p99", "expect": "< 300"}]
        )
        found = Endpoint(run, gate, LiveStatus(run, tuple(hypotheses), gate), token=token)
        found.start()
        made.append(found)
        return found, run

    yield make
    for e in made:
        e.stop()


def test_status_is_the_run_now_and_control_json_says_where_never_the_token(endpoint, tmp_path):
    e, _ = endpoint("s3cret-token-value")
    control = json.loads((tmp_path / "control.json").read_text())
    assert control["url"] == e.url
    assert control["token"] is True
    assert "s3cret-token-value" not in (tmp_path / "control.json").read_text()
    auth = {"authorization": "Bearer s3cret-token-value"}
    status = requests.get(e.url + "/status", headers=auth, timeout=5).json()
    assert status["phase"] == "baseline"
    assert status["steps"]["steps"][1] == {"index": 1, "name": "slow redis", "state": "ahead"}
    assert status["hypotheses"][0]["name"] == "fast"
    assert status["faults"] == []


def test_a_token_is_checked_on_every_request(endpoint):
    e, _ = endpoint("s3cret-token-value")
    for method, path in (("GET", "/status"), ("POST", "/abort"), ("POST", "/note")):
        answer = requests.request(method, e.url + path, json={}, timeout=5)
        assert answer.status_code == 401, path
        assert "bearer token" in answer.json()["error"]
    wrong = requests.get(e.url + "/status", headers={"authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401


def test_notes_and_observations_go_to_the_timeline_and_bad_bodies_are_refused(endpoint):
    e, run = endpoint()
    assert requests.post(e.url + "/note", json={"text": "TTFT  climbs", "who": "bo"}, timeout=5).json() == {"ok": True}
    requests.post(e.url + "/observation", json={"ok": False, "text": "p99 > 1 s"}, timeout=5)
    kinds = [(x["kind"], x.get("text"), x.get("who")) for x in run.timeline.events()]
    assert kinds == [("note", "TTFT climbs", "bo"), ("observation", "p99 > 1 s", None)]
    bad = requests.post(e.url + "/observation", json={"ok": "yes"}, timeout=5)
    assert (bad.status_code, bad.json()["accepted"]) == (400, "true (steady state OK), false")
    assert requests.post(e.url + "/note", data="not json", timeout=5).status_code == 400
    assert requests.post(e.url + "/note", json={"text": "  "}, timeout=5).status_code == 400


def test_what_does_not_apply_now_is_a_conflict_and_unknown_routes_are_named(endpoint):
    e, run = endpoint()
    nothing = requests.post(e.url + "/steps/next", json={}, timeout=5)
    assert nothing.status_code == 409  # no step waits and nothing is observed
    assert "nothing to advance" in nothing.json()["error"]
    run.timeline.record_window("baseline", 30.0)
    assert requests.post(e.url + "/steps/next", json={}, timeout=5).json() == {"advanced": "baseline"}
    assert run.run_dir.advance_file.exists()
    assert not run.wait(5.0, advance=True)  # the observe under way ends at once, and takes the request
    assert not run.run_dir.advance_file.exists()
    missing = requests.post(e.url + "/faults/nope/extend", json={"by": "30s"}, timeout=5)
    assert (missing.status_code, missing.json()["accepted"]) == (404, "none")
    unknown = requests.post(e.url + "/launch", json={}, timeout=5)
    assert unknown.status_code == 404
    assert "/abort" in unknown.json()["accepted"]
    assert requests.post(e.url + "/steps/pick", json={"index": "one"}, timeout=5).status_code == 400


def test_an_abort_of_a_run_without_faults_is_recorded_once(endpoint):
    e, run = endpoint()
    first = requests.post(e.url + "/abort", json={"reason": "drill", "who": "ana"}, timeout=5).json()
    assert (first["removed"], first["verified"], first["earlier"]) == ([], [], False)
    assert run.stop_reason() == "aborted by ana (POST /abort): drill"
    again = requests.post(e.url + "/abort", json={}, timeout=5).json()
    assert (again["earlier"], again["at"]) == (True, first["at"])
    assert [x["kind"] for x in run.timeline.events()] == ["aborted"]


def test_beyond_loopback_the_endpoint_needs_a_token_and_binds_parse_by_name(tmp_path):
    run = RunContext(RunDir(tmp_path), "sandbox")
    gate = Gate(run, METHOD)
    with pytest.raises(SpecError) as err:
        Endpoint(run, gate, LiveStatus(run, (), gate), host="0.0.0.0")
    assert err.value.field == "chaosllm_control_token"
    assert parse_bind("8089") == ("127.0.0.1", 8089)
    assert parse_bind("[::1]:0") == ("::1", 0)
    with pytest.raises(SpecError) as bad:
        parse_bind("host:port")
    assert bad.value.accepted == "HOST:PORT, e.g. 127.0.0.1:8089"


def test_status_is_computed_at_most_twice_a_second(tmp_path):
    run = RunContext(RunDir(tmp_path), "sandbox")
    live = LiveStatus(run, (), None)
    first = live.snapshot(now=1000.0)
    assert live.snapshot(now=1000.3) is first
    assert live.snapshot(now=1000.6) is not first
