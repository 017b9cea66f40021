"""The binary sample files: what a writer writes is what readers read, torn tails are dropped, and the
on-disk table computes the same metrics as the in-memory one."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from chaoslib_ext.metrics import Window, window_metrics
from chaoslib_ext.samples import Sample, SampleWriter, read_samples
from chaoslib_ext.samples import table as table_module
from chaoslib_ext.samples.table import SampleTable


def samples(n: int, seed: int = 7) -> list[Sample]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        failed = rnd.random() < 0.1
        no_content = failed and rnd.random() < 0.5
        gaps = () if no_content else tuple(float(np.float32(rnd.uniform(5, 40))) for _ in range(rnd.randint(0, 20)))
        out.append(
            Sample(
                t0=1000.0 + i * 0.01,
                ttft_ms=None if no_content else rnd.uniform(20, 400),
                itl_ms=gaps,
                tokens=len(gaps) + 1 if not no_content else 0,
                events=len(gaps) + 1 if not no_content else 0,
                status=503 if failed else 200,
                error="HTTP 503" if failed else None,
                done_ms=500.0,
                server_ttft_ms=None if i % 3 else 12.5,
                side=i % 3,  # 0 no side, 1 A, 2 B
                attempt=i % 4 // 2,  # a retry policy's retries among them
                retried=failed and i % 4 == 0,
            )
        )
    return out


def write(directory, items, prefix="samples"):
    writer = SampleWriter(directory, prefix=prefix)
    for s in items:
        writer.write(s.to_json())
    writer.close()


def test_what_is_written_is_read_back(tmp_path):
    written = samples(300)
    write(tmp_path, written[:150], prefix="a")
    write(tmp_path, written[150:], prefix="b")
    assert list(read_samples(tmp_path)) == written


def test_a_torn_tail_is_dropped(tmp_path):
    write(tmp_path, samples(10))
    req = next(tmp_path.glob("*.req"))
    req.write_bytes(req.read_bytes()[:-3])
    assert len(list(read_samples(tmp_path))) == 9
    assert len(SampleTable.from_directory(tmp_path).records) == 9


def test_older_json_lines_are_still_read(tmp_path):
    import json

    written = samples(5)
    (tmp_path / "samples-1.jsonl").write_text("".join(json.dumps(s.to_json()) + "\n" for s in written) + '{"t0": 1')
    assert list(read_samples(tmp_path)) == written


def flat(phase) -> dict:
    metrics = dict(phase.to_json())
    return {f"{k}.{s}": v for k, d in metrics.items() if isinstance(d, dict) for s, v in d.items()} | {
        k: v for k, v in metrics.items() if not isinstance(v, dict)
    }


@pytest.mark.parametrize("chunk", [7, 65_536])
def test_the_table_on_disk_measures_what_the_table_in_memory_measures(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(table_module, "CHUNK_REQUESTS", chunk)
    written = samples(400)
    write(tmp_path, written[:250], prefix="a")
    write(tmp_path, written[250:], prefix="b")
    on_disk = SampleTable.from_directory(tmp_path)
    in_memory = SampleTable.from_samples(written)
    for window in (Window(((1000.0, 1002.0),)), Window(((1000.5, 1001.0), (1002.5, 1010.0)))):
        assert flat(window_metrics(on_disk, window)) == pytest.approx(flat(window_metrics(in_memory, window)))
    assert on_disk.gap_count == in_memory.gap_count == sum(len(s.itl_ms) for s in written if s.ok and s.ttft_ms)


def test_the_samples_format_is_declared_and_older_directories_still_read(tmp_path):
    from chaoslib_ext.samples import VERSION, check_format
    from chaoslib_ext.samples.format import RECORD_V2

    writer = SampleWriter(tmp_path / "new")
    writer.write({"t0": 1.0, "ttft_ms": 5.0, "itl_ms": [1.0], "tokens": 2, "events": 2, "status": 200})
    writer.close()
    assert json.loads((tmp_path / "new" / "format.json").read_text()) == {"format": "chaosllm/samples",
                                                                        "version": VERSION}  # fmt: skip
    assert check_format(tmp_path / "new") == VERSION
    unversioned = tmp_path / "old-binary"  # version 2: 56-byte records, no format.json, no sched_t0
    unversioned.mkdir()
    old = np.zeros(1, RECORD_V2)
    old["t0"], old["ttft_ms"], old["e2el_ms"], old["gaps"], old["ok"], old["status"] = 1.0, 5.0, 6.0, 1, 1, 200
    old.tofile(unversioned / "samples-1.req")
    np.array([1.0], "<f4").tofile(unversioned / "samples-1.itl")
    assert check_format(unversioned) == 2
    [upgraded] = SampleTable.from_directory(unversioned).records
    assert (upgraded["ttft_ms"], upgraded["e2el_ms"], np.isnan(upgraded["sched_t0"])) == (5.0, 6.0, True)
    jsonl = tmp_path / "old-jsonl"
    jsonl.mkdir()
    (jsonl / "samples-1.jsonl").write_text(json.dumps({"t0": 1.0, "ttft_ms": 5.0, "itl_ms": [1.0]}) + "\n")
    assert check_format(jsonl) == 1
    assert [s.ttft_ms for s in read_samples(jsonl)] == [5.0]
    assert [s.ttft_ms for s in read_samples(unversioned)] == [5.0]


def test_version_5_records_read_as_first_attempts(tmp_path):
    from chaoslib_ext.samples.format import RECORD_V5

    (tmp_path / "format.json").write_text(json.dumps({"format": "chaosllm/samples", "version": 5}))
    old = np.zeros(2, RECORD_V5)
    old["t0"], old["ttft_ms"], old["ok"], old["status"], old["faults"] = [1.0, 2.0], 5.0, 1, 200, [0, 4]
    old.tofile(tmp_path / "samples-1.req")
    (tmp_path / "samples-1.itl").write_bytes(b"")
    table = SampleTable.from_directory(tmp_path)
    assert list(table.faults) == [0, 4]
    assert list(table.attempt) == [0, 0]
    assert not table.retried.any()
    assert [(s.attempt, s.retried) for s in read_samples(tmp_path)] == [(0, False), (0, False)]


def test_retries_are_counted_apart_from_first_attempts(tmp_path):
    from chaoslib_ext.metrics.phase import retry_metrics

    def attempt(t0: float, n: int, ok: bool, retried: bool) -> Sample:
        return Sample(t0, 5.0 if ok else None, (), 1 if ok else 0, 1 if ok else 0, 200 if ok else 429,
                      None if ok else "HTTP 429: slow down", 10.0, attempt=n, retried=retried)  # fmt: skip

    # request 1: 429, retried, 429, retried, then served; request 2: 429, retried, 429 (gave up); request 3: served
    written = [attempt(1.0, 0, False, True), attempt(1.1, 1, False, True), attempt(1.3, 2, True, False),
               attempt(2.0, 0, False, True), attempt(2.1, 1, False, False), attempt(3.0, 0, True, False)]  # fmt: skip
    write(tmp_path, written)
    table = SampleTable.from_directory(tmp_path)
    metrics = window_metrics(table, Window(((0.0, 10.0),)))
    assert metrics.requests == 6  # what the server saw
    assert metrics.errors == {"http_429": 4}
    r = metrics.retries
    assert (r.first_attempts, r.count, r.recovered, r.exhausted, r.rate) == (3, 3, 1, 1, 1.0)
    assert retry_metrics(SampleTable.from_samples(samples(20)[:1]), np.ones(1, bool)) is None  # never retried


def test_samples_of_a_newer_format_are_refused_by_name_not_misread(tmp_path):
    from chaoslib_ext.exceptions import SamplesFormatError
    from chaoslib_ext.samples import VERSION

    writer = SampleWriter(tmp_path)
    writer.write({"t0": 1.0, "ttft_ms": 5.0, "itl_ms": [], "tokens": 1, "events": 1, "status": 200})
    writer.close()
    (tmp_path / "format.json").write_text(json.dumps({"format": "chaosllm/samples", "version": VERSION + 1}))
    with pytest.raises(
        SamplesFormatError, match=rf"format version {VERSION + 1}; this chaoslib-ext reads versions 1 to {VERSION}"
    ):
        list(read_samples(tmp_path))
    with pytest.raises(SamplesFormatError):
        SampleTable.from_directory(tmp_path)


def test_an_open_loop_request_keeps_its_scheduled_time_and_a_refused_arrival_is_recorded(tmp_path):
    writer = SampleWriter(tmp_path)
    writer.write({"t0": 10.004, "sched_t0": 10.0, "ttft_ms": 5.0, "itl_ms": [1.0], "tokens": 2, "events": 2,
                  "status": 200})  # fmt: skip
    writer.write({"t0": 11.0, "ttft_ms": 5.0, "itl_ms": [], "tokens": 1, "events": 1, "status": 200})
    writer.write_not_sent(10.5)
    writer.write_not_sent(10.25)
    writer.close()
    assert [s.sched_t0 for s in read_samples(tmp_path)] == [10.0, None]
    table = SampleTable.from_directory(tmp_path)
    assert table.open_loop
    assert list(table.not_sent_at) == [10.25, 10.5]
    assert len(table.records) == 2  # an arrival not sent is no request: counted apart


def test_an_arrival_sent_but_never_finished_is_counted_from_the_kept_schedule(tmp_path):
    from chaoslib_ext.metrics.arrivals import arrival_metrics
    from chaoslib_ext.samples.reader import SCHEDULE_FILE

    np.array([10.0, 10.25, 10.5, 10.75, 12.0], dtype="<f8").tofile(tmp_path / SCHEDULE_FILE)
    writer = SampleWriter(tmp_path)
    writer.write({"t0": 10.0, "sched_t0": 10.0, "ttft_ms": 5.0, "itl_ms": [1.0], "tokens": 2, "events": 2,
                  "status": 200})  # fmt: skip
    writer.write_not_sent(10.25)
    writer.close()  # 10.5 and 10.75 were sent and never finished; 12.0 lies outside the window
    table = SampleTable.from_directory(tmp_path)
    arrivals = arrival_metrics(table, Window(((10.0, 11.0),)))
    assert arrivals is not None
    assert (arrivals.scheduled, arrivals.sent, arrivals.not_sent, arrivals.unfinished) == (4, 1, 1, 2)
    assert arrivals.offered_rate_rps == 4.0
