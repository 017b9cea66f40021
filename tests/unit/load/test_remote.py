"""The remote workers' plumbing without Locust: the clock exchange, whole-record shipping, and the
master's side placing shipments on its clock."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chaoslib_ext.load.remote import Receiver, Shipper, exchange
from chaoslib_ext.samples import SampleWriter
from chaoslib_ext.samples.format import REQUEST
from chaoslib_ext.samples.table import SampleTable


def test_the_exchange_takes_the_middle_of_the_round_trip():
    sample = exchange(sent_at=100.000, worker_at=100.5025, received_at=100.004)
    assert sample.offset_s == pytest.approx(0.5005)
    assert sample.bound_s == pytest.approx(0.002)


def record(t0: float, gaps: int = 3) -> dict:
    return {"t0": t0, "ttft_ms": 50.0, "itl_ms": [10.0] * gaps, "tokens": gaps + 1, "events": gaps + 1,
            "status": 200, "error": None, "done_ms": 90.0}  # fmt: skip


def test_records_ship_whole_with_their_gaps_and_land_on_the_masters_clock(tmp_path):
    worker_dir, master = tmp_path / "worker", tmp_path / "master"
    writer = SampleWriter(worker_dir)
    shipper = Shipper(worker_dir)
    receiver = Receiver(master / "samples", master, max_offset_s=0.005)
    receiver.joined("c1", 0)
    writer.write(record(1000.5))
    receiver.shipment("c1", shipper.batch(), started=2)  # before its clock is known: it waits
    assert not list((master / "samples").glob("*.req"))
    receiver.clock("c1", exchange(10.0, 10.5, 10.002))  # the worker runs 0.499 s ahead
    writer.write(record(1001.5, gaps=2))
    (req,) = worker_dir.glob("*.req")
    with req.open("ab") as f:
        f.write(b"\0" * 10)  # a record being written: not shipped until whole
    receiver.shipment("c1", shipper.batch(), started=2, final=True)
    writer.close()
    table = SampleTable.from_directory(master / "samples")
    assert table.start_at.tolist() == pytest.approx([1000.001, 1001.001])
    assert [len(g) for g in table.gap_values()] == [5]  # both records' gaps, in one chunk
    saved = json.loads((master / "workers.json").read_text())["workers"][0]
    assert (saved["received"], saved["started"], saved["lost"], saved["state"]) == (2, 2, 0, "quit")
    assert saved["clock_offset_ms"] == pytest.approx(499.0)
    assert REQUEST.itemsize * 2 == (master / "samples" / f"w0-{req.name}").stat().st_size


def test_a_worker_known_too_loosely_is_refused_and_nothing_of_it_is_kept(tmp_path):
    worker_dir, master = tmp_path / "worker", tmp_path / "master"
    writer = SampleWriter(worker_dir)
    writer.write(record(5.0))
    writer.close()
    receiver = Receiver(master / "samples", master, max_offset_s=0.005)
    receiver.joined("c1", 0)
    receiver.shipment("c1", Shipper(worker_dir).batch(), started=1)
    worker = receiver.clock("c1", exchange(10.0, 10.0, 10.030))
    assert worker.refused is not None
    assert "within 15.0 ms (limit 5 ms)" in worker.refused
    assert not list((master / "samples").glob("*.req"))
    assert np.isclose(worker.offset_s or 0.0, -0.015)
