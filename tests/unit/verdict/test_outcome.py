from chaoslib_ext.verdict.evaluate import Verdict
from chaoslib_ext.verdict.outcome import decide


def verdict(name, status, message):
    return Verdict(name, "fault", "error_rate", "< 0.1", None, None, status, 0.0, None, 0.1, message)


PASS = verdict("a", "pass", "ok")
FAIL = verdict("b", "fail", "bad")


def journal(status="completed", **extra):
    return {"status": status, "run": [], "rollbacks": [], "steady_states": {}, **extra}


def test_all_hypotheses_hold():
    assert decide([], [PASS], journal()).exit_code == 0


def test_a_failed_hypothesis_is_1():
    outcome = decide([], [PASS, FAIL], journal())
    assert outcome.exit_code == 1
    assert "'b'" in outcome.reasons[0]


def test_a_steady_state_failing_before_the_method_is_1_even_when_chaostoolkit_says_completed():
    j = journal(steady_states={"before": {"steady_state_met": False}, "after": None})
    assert decide([], [], j).exit_code == 1


def test_a_fault_not_injected_is_2_whatever_the_hypotheses_say():
    events = [{"kind": "fault_failed", "fault": "f", "error": "proxy down"}]
    outcome = decide(events, [FAIL], journal("interrupted"))
    assert outcome.exit_code == 2
    assert "proxy down" in outcome.reasons[0]


def test_load_that_never_reached_the_target_is_2():
    assert decide([{"kind": "load_failed", "error": "refused"}], [], journal("interrupted")).exit_code == 2


def test_a_failed_activity_of_the_user_is_2():
    run = [
        {
            "status": "failed",
            "activity": {"name": "mine", "provider": {"module": "mymod"}},
            "exception": ["ValueError: x\n"],
        }
    ]
    assert decide([], [PASS], journal(run=run)).exit_code == 2


def test_chaostoolkit_aborting_on_an_unexpected_error_is_2_not_3():
    outcome = decide([], [PASS], journal("aborted"))
    assert outcome.exit_code == 2
    assert "unexpected error" in outcome.reasons[0]


def test_an_interrupted_run_is_3():
    assert decide([{"kind": "interrupted", "reason": "SIGTERM"}], [PASS], journal("interrupted")).exit_code == 3
    assert decide([], [PASS], journal("interrupted")).exit_code == 3


def test_failed_live_checks_are_1_even_when_their_fail_fast_interrupted_the_run():
    during = [{"steady_state_met": True, "start": "t1"}, {"steady_state_met": False, "start": "t2"}]
    for status in ("completed", "interrupted"):
        outcome = decide([], [PASS], journal(status, steady_states={"before": None, "after": None, "during": during}))
        assert outcome.exit_code == 1
        assert outcome.reasons == ("Chaos Toolkit steady-state hypothesis not met in 1 of 2 live checks during the "
                                   "method (first at t2)",)  # fmt: skip


def test_a_signal_outranks_the_activity_it_cut_short_and_the_hypotheses_it_starved():
    cut = {"status": "failed", "activity": {"name": "hold", "provider": {"module": "chaoslib_ext.load.actions"}},
           "exception": ["InterruptExecution: SIGTERM signal received"]}  # fmt: skip
    outcome = decide([{"kind": "interrupted", "reason": "SIGTERM"}], [FAIL], journal("completed", run=[cut]))
    assert (outcome.exit_code, outcome.reasons) == (3, ("aborted: SIGTERM",))


def test_a_safeguard_trip_is_3_with_its_reason():
    trip = {"kind": "safeguard_tripped", "safeguard": "errors", "reason": "error_rate = 0.5"}
    outcome = decide([trip, {"kind": "fault_removed", "fault": "f"}], [PASS], journal("interrupted"))
    assert (outcome.exit_code, outcome.reasons) == (3, ("safeguard 'errors' tripped: error_rate = 0.5",))


def test_every_cause_has_its_row_in_the_readme_exit_code_table():
    from pathlib import Path

    from chaoslib_ext.verdict.outcome import CAUSES

    readme = (Path(__file__).parents[3] / "README.md").read_text()
    for cause, info in CAUSES.items():
        assert f"| `{cause}` | {info.exit_code} | {info.means} | {info.action} |" in readme


def test_each_ending_has_its_cause():
    trip = {"kind": "safeguard_tripped", "safeguard": "s", "reason": "r"}
    deadline = {"kind": "interrupted", "reason": "deadline of 4s exceeded", "cause": "deadline_exceeded"}
    died = {"kind": "load_died", "process": "locust worker 2 (pid 9)", "error": "no heartbeat for 3.2 s"}
    cases = {
        "passed": ([], [PASS], journal()),
        "hypothesis_failed": ([], [FAIL], journal()),
        "steady_state_failed": ([], [PASS], journal(steady_states={"before": {"steady_state_met": False}})),
        "fault_not_injected": ([{"kind": "fault_failed", "fault": "f", "error": "e"}], [PASS], journal()),
        "fault_not_removed": (
            [{"kind": "fault_failed", "fault": "f", "error": "e"}, {"kind": "removal_failed", "fault": "g"}],
            [PASS],
            journal(),
        ),
        "load_unreachable": ([{"kind": "load_failed", "error": "refused"}], [], journal("interrupted")),
        "load_died": ([died], [FAIL], journal("interrupted")),
        "engine_error": ([], [PASS], journal("aborted")),
        "operator_abort": ([{"kind": "interrupted", "reason": "SIGINT"}], [PASS], journal("interrupted")),
        "safeguard_tripped": ([trip], [FAIL], journal("interrupted")),
        "deadline_exceeded": ([deadline], [PASS], journal("interrupted")),
        "interrupted": ([], [PASS], journal("interrupted")),
    }
    for cause, (events, verdicts, j) in cases.items():
        outcome = decide(events, verdicts, j)
        assert outcome.cause == cause, (cause, outcome)
    assert decide([died], [], journal()).reasons == (
        "load process locust worker 2 (pid 9) died: no heartbeat for 3.2 s",
    )


def test_a_hypothesis_on_a_phase_that_was_not_measurable_is_2_even_beside_a_failure():
    void = verdict("c", "error", "not measurable: fault: client lag p99 9.0 ms > 5 ms")
    outcome = decide([], [PASS, FAIL, void], journal())
    assert (outcome.exit_code, outcome.cause) == (2, "not_measurable")
    assert "client lag p99 9.0 ms" in outcome.reasons[0]
