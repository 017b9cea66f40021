from chaoslib_ext.metrics import FaultInterval, phase_windows


def test_one_fault_splits_the_run_in_three():
    w = phase_windows(0.0, 60.0, [FaultInterval("f", 20.0, 40.0)])
    assert w["baseline"].intervals == ((0.0, 20.0),)
    assert w["fault"].intervals == ((20.0, 40.0),)
    assert w["recovery"].intervals == ((40.0, 60.0),)
    assert w["overall"].duration_s == 60.0


def test_overlapping_faults_merge_and_a_gap_belongs_to_no_phase():
    faults = [FaultInterval("a", 10, 20), FaultInterval("b", 15, 25), FaultInterval("c", 40, 45)]
    w = phase_windows(0.0, 60.0, faults)
    assert w["fault"].intervals == ((10, 25), (40, 45))
    assert w["baseline"].intervals == ((0.0, 10),)
    assert w["recovery"].intervals == ((45, 60.0),)
    # 25..40 is neither baseline, fault nor recovery
    covered = sum(w[p].duration_s for p in ("baseline", "fault", "recovery"))
    assert covered == 60 - 15


def test_a_fault_never_removed_runs_to_the_end_and_leaves_no_recovery():
    w = phase_windows(0.0, 60.0, [FaultInterval("f", 30.0, None)])
    assert w["fault"].intervals == ((30.0, 60.0),)
    assert w["recovery"].empty


def test_no_fault_means_the_whole_window_is_baseline():
    w = phase_windows(5.0, 35.0, [])
    assert w["baseline"].intervals == ((5.0, 35.0),)
    assert w["fault"].empty
    assert w["recovery"].empty


def test_a_fault_before_measurement_starts_is_clipped():
    w = phase_windows(10.0, 60.0, [FaultInterval("f", 5.0, 20.0)])
    assert w["fault"].intervals == ((10.0, 20.0),)
    assert w["baseline"].empty


def test_after_trims_the_start_of_a_window():
    w = phase_windows(0.0, 60.0, [FaultInterval("f", 20.0, 40.0)])
    assert w["recovery"].after(5.0).intervals == ((45.0, 60.0),)
