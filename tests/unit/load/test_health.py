"""Load health judged on a fake clock: gone, silent, or never started."""

from chaoslib_ext.load.health import (
    MISSED_BEATS,
    STARTUP_GRACE_S,
    Beat,
    HeartbeatWriter,
    expected_processes,
    judge,
    read_beats,
)


def beat(pid: int, at: float, role: str = "worker") -> Beat:
    return Beat(pid, 1, role, at, 0)


def test_every_process_beating_is_healthy():
    beats = [beat(1, 99.5, "master"), beat(2, 99.0), beat(3, 100.0)]
    assert judge(beats, 3, started_at=90.0, now=100.2, is_alive=lambda b: True) is None


def test_a_process_whose_pid_is_gone_is_dead_at_once_even_with_a_fresh_beat():
    verdict = judge([beat(1, 100.0, "master"), beat(2, 100.0)], 3 - 1, 90.0, 100.1, lambda b: b.pid != 2)
    assert verdict is not None
    assert (verdict.process, verdict.error, verdict.last_beat_at) == (
        "locust worker (pid 2)",
        "the process is gone",
        100.0,
    )


def test_three_missed_beats_kill_a_live_process_but_two_do_not():
    beats = [beat(1, 100.0, "local")]
    assert judge(beats, 1, 90.0, 100.0 + MISSED_BEATS - 0.1, lambda b: True) is None
    verdict = judge(beats, 1, 90.0, 100.0 + MISSED_BEATS + 0.2, lambda b: True)
    assert verdict is not None
    assert verdict.error == "no heartbeat for 3.2s (beats every 1s)"
    assert verdict.last_beat_at == 100.0


def test_a_worker_that_never_beats_is_dead_after_the_startup_grace():
    early = 90.0 + STARTUP_GRACE_S - 1
    assert judge([beat(1, early - 0.3, "master"), beat(2, early - 0.2)], 3, 90.0, early, lambda b: True) is None
    late = 90.0 + STARTUP_GRACE_S + 0.5
    verdict = judge([beat(1, late - 0.3, "master"), beat(2, late - 0.2)], 3, 90.0, late, lambda b: True)
    assert verdict is not None
    assert verdict.error == "2 of 3 load processes beat 15s after the load started"


def test_expected_processes_are_the_master_and_its_workers():
    assert (expected_processes(1), expected_processes(2), expected_processes(4)) == (1, 3, 5)


def test_the_writer_replaces_its_file_and_the_reader_reads_the_last_beat(tmp_path):
    writer = HeartbeatWriter(tmp_path, "local", 42)
    writer.beat()
    writer.beat()
    [last] = read_beats(tmp_path)
    assert (last.role, last.start_ticks, last.seq) == ("local", 42, 1)
    (tmp_path / "torn.json").write_text('{"pid": 1')
    assert len(read_beats(tmp_path)) == 1
