"""Load health judged on a fake clock: gone, silent (on the watcher's own time), or never started."""

from chaoslib_ext.load.health import (
    MISSED_BEATS,
    STARTUP_GRACE_S,
    Beat,
    HeartbeatWriter,
    Silence,
    expected_processes,
    judge,
    read_beats,
)


def beat(pid: int, at: float, role: str = "worker", seq: int = 0) -> Beat:
    return Beat(pid, 1, role, at, seq)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def watched(rounds: list[tuple[float, list[Beat]]]) -> Silence:
    """A Silence that saw ``rounds``: (seconds since the previous round, the beats read then)."""
    clock = FakeClock()
    silence = Silence(clock)
    for step, beats in rounds:
        clock.now += step
        silence.observe(beats)
    return silence


def test_every_process_beating_is_healthy():
    beats = [beat(1, 99.5, "master"), beat(2, 99.0), beat(3, 100.0)]
    assert judge(beats, 3, watched([(0.0, beats)]), is_alive=lambda b: True) is None


def test_a_process_whose_pid_is_gone_is_dead_at_once_even_with_a_fresh_beat():
    beats = [beat(1, 100.0, "master"), beat(2, 100.0)]
    verdict = judge(beats, 3 - 1, watched([(0.0, beats)]), lambda b: b.pid != 2)
    assert verdict is not None
    assert (verdict.process, verdict.error, verdict.last_beat_at) == (
        "locust worker (pid 2)",
        "the process is gone",
        100.0,
    )


def test_three_missed_beats_kill_a_live_process_but_two_do_not():
    stuck = [beat(1, 100.0, "local")]
    rounds = [(0.5, stuck)] * (2 * MISSED_BEATS)  # 3 s of rounds that saw no new beat
    assert judge(stuck, 1, watched([(0.0, stuck), *rounds[:-1]]), lambda b: True) is None
    verdict = judge(stuck, 1, watched([(0.0, stuck), *rounds, (0.5, stuck)]), lambda b: True)
    assert verdict is not None
    assert verdict.error == "no heartbeat for 3.5s (beats every 1s)"
    assert verdict.last_beat_at == 100.0


def test_a_new_beat_restarts_the_silence():
    rounds = [(0.5, [beat(1, 100.0 + i // 4, "local", seq=i // 4)]) for i in range(40)]  # a beat every 2 s
    last = rounds[-1][1]
    assert judge(last, 1, watched(rounds), lambda b: True) is None


def test_a_late_round_of_the_watcher_is_not_the_loads_silence():
    """A wall clock stepped forward, a VM paused, the watcher starved: 6 s between two rounds count as
    one second of silence at most; the same 6 s watched round by round kill the process."""
    stuck = [beat(1, 100.0, "local")]
    paused = watched([(0.0, stuck), (0.5, stuck), (6.0, stuck), (0.5, stuck), (0.5, stuck)])
    assert paused.of(stuck[0]) == 2.5
    assert judge(stuck, 1, paused, lambda b: True) is None
    steady = watched([(0.0, stuck)] + [(0.5, stuck)] * 13)
    verdict = judge(stuck, 1, steady, lambda b: True)
    assert verdict is not None
    assert verdict.error == "no heartbeat for 6.5s (beats every 1s)"


def test_a_worker_that_never_beats_is_dead_after_the_startup_grace():
    def beating(seconds: float) -> tuple[list[Beat], Silence]:
        """The master and one of two workers beating every round for ``seconds`` of the watcher's time."""
        rounds = [(0.0 if i == 0 else 0.5, [beat(1, 0, "master", seq=i), beat(2, 0, seq=i)])
                  for i in range(int(2 * seconds) + 1)]  # fmt: skip
        return rounds[-1][1], watched(rounds)

    beats, early = beating(STARTUP_GRACE_S - 1)
    assert judge(beats, 3, early, lambda b: True) is None
    beats, late = beating(STARTUP_GRACE_S + 0.5)
    verdict = judge(beats, 3, late, lambda b: True)
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
