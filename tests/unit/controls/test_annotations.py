"""Grafana regions against the fake Grafana (its documented annotations API): a region ends at its fault's
TTL while the fault is in force, at the removal once removed, never later than the TTL, and a killed
run's regions get their end from ``chaosllm cleanup``."""

from __future__ import annotations

import time

import pytest

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext.controls.annotations import GRAFANA_KEY, Annotator, GrafanaSpec, close_after_cleanup
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.ledger import LedgerEntry
from chaoslib_ext.run.rundir import RunDir
from tests.fakes.grafana import FakeGrafana

GRACE_S = 2.0
HOLD_S = 10.0


@pytest.fixture
def grafana(monkeypatch):
    fake = FakeGrafana(token=f"glsa_{time.time_ns()}")
    fake.start()
    monkeypatch.setenv("GRAFANA_TOKEN", fake.token)
    monkeypatch.setenv("CHAOSLLM_FAULT_GRACE", f"{GRACE_S:g}")
    yield fake
    fake.stop()


def configuration(fake: FakeGrafana) -> dict:
    return {GRAFANA_KEY: {"url": fake.url, "token": {"env": "GRAFANA_TOKEN"}}}


def injected(run: RunContext, at: float) -> None:
    run.ledger.add(LedgerEntry("slow-redis", "network", "proxy", "redis", {}, {}, state="injected",
                               injected_at=at, hold_until=at + HOLD_S))  # fmt: skip


def removed(run: RunContext, at: float) -> None:
    run.ledger.update("slow-redis", state="removed", removed_at=at)


def only_region(fake: FakeGrafana) -> dict:
    [found] = fake.annotations.values()
    return found


def ms(t: float) -> int:
    return int(t * 1000)


def test_a_region_ends_at_the_ttl_while_in_force_and_at_the_removal_after(grafana, tmp_path):
    run = RunContext(RunDir(tmp_path), "sandbox")
    start = time.time() - 5
    injected(run, start)
    annotator = Annotator(run, GrafanaSpec.parse(configuration(grafana)[GRAFANA_KEY]), "exp")
    annotator.sync()
    assert only_region(grafana)["timeEnd"] == ms(start + HOLD_S + GRACE_S)
    assert annotator.open_regions == 1
    removed(run, start + 3)
    annotator.sync()
    assert only_region(grafana)["timeEnd"] == ms(start + 3)
    assert annotator.open_regions == 0
    assert read_json(tmp_path / "grafana.json") == {"slow-redis": {"id": 1, "closed": True}}


def test_a_fault_removed_after_it_expired_ends_at_its_ttl(grafana, tmp_path):
    run = RunContext(RunDir(tmp_path), "sandbox")
    start = time.time() - 60
    injected(run, start)
    Annotator(run, GrafanaSpec.parse(configuration(grafana)[GRAFANA_KEY]), "exp").sync()
    removed(run, time.time())  # a cleanup long after the fault expired by itself
    assert close_after_cleanup(run, configuration(grafana), "exp") == "Grafana regions given their true end"
    assert only_region(grafana)["timeEnd"] == ms(start + HOLD_S + GRACE_S)


def test_cleanup_closes_a_killed_runs_regions_and_says_when_it_cannot(grafana, tmp_path, monkeypatch):
    run = RunContext(RunDir(tmp_path), "sandbox")
    start = time.time() - 5
    injected(run, start)
    assert close_after_cleanup(run, configuration(grafana), "exp") is None  # no region made: nothing to close
    Annotator(run, GrafanaSpec.parse(configuration(grafana)[GRAFANA_KEY]), "exp").sync()
    removed(run, start + 4)
    assert close_after_cleanup(run, {}, "exp") is None  # the experiment keeps no Grafana section
    monkeypatch.delenv("GRAFANA_TOKEN")
    said = close_after_cleanup(run, configuration(grafana), "exp")
    assert said is not None
    assert said.startswith("Grafana regions left ending at their faults' TTL")
    assert "GRAFANA_TOKEN" in said
    monkeypatch.setenv("GRAFANA_TOKEN", grafana.token)
    down = {GRAFANA_KEY: {**configuration(grafana)[GRAFANA_KEY], "url": "http://127.0.0.1:9"}}
    assert close_after_cleanup(run, down, "exp") == (
        "1 Grafana region(s) left ending at their faults' TTL (Grafana did not answer: see the log)"
    )
    assert only_region(grafana)["timeEnd"] == ms(start + HOLD_S + GRACE_S)
    assert close_after_cleanup(run, configuration(grafana), "exp") == "Grafana regions given their true end"
    assert only_region(grafana)["timeEnd"] == ms(start + 4)
    assert close_after_cleanup(run, configuration(grafana), "exp") is None  # closed: nothing more to do
