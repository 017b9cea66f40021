from chaoslib_ext.outcome import decide

PASS = {"name": "a", "passed": True, "message": "ok"}
FAIL = {"name": "b", "passed": False, "message": "bad"}


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
