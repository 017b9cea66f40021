"""``chaosllm cleanup``: after a crash or a SIGKILL, remove every fault any run's ledger still lists,
every Chaos Mesh object labelled with such a run's id, and stop any load generator and fault proxy a
run left behind.

The runs are those under ``--root`` (``./reports``) and every run this machine registered wherever it
wrote it (chaoslib_ext.registry). A run whose process is still alive is left alone (``--force``
includes it); ``chaosllm run`` does the same sweep before it starts. ``--target T`` also deletes every
object of ours in T's allowed namespaces whose run is not alive here (objects of a ledger lost with
its machine)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from chaoslib_ext._jsonfile import read_json
from chaoslib_ext._processes import ProcessRecord, alive
from chaoslib_ext.controls.annotations import close_after_cleanup as close_regions
from chaoslib_ext.controls.tracing import close_after_cleanup as close_spans
from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.faults.chaosmesh.objects import label_value
from chaoslib_ext.faults.chaosmesh.sweep import RUN_LABEL, run_selector, sweep_labelled
from chaoslib_ext.load.runner import LoadProcess
from chaoslib_ext.proxy.local import stop_local_proxy
from chaoslib_ext.registry import known_runs
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext
from chaoslib_ext.run.rundir import DEFAULT_ROOT, RunDir
from chaoslib_ext.target import Target, load_target
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["register", "sweep_root"]


def register(commands: Any) -> None:
    parser = commands.add_parser("cleanup", help="remove faults and stop load left by interrupted runs")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where run directories are (reports/)")
    parser.add_argument("--force", action="store_true", help="also clean runs whose process is still alive")
    parser.add_argument("--target", help="also delete every Chaos Mesh object of ours in this target's namespaces")
    parser.set_defaults(handler=_cleanup)


def _runs(root: Path) -> list[Path]:
    """The run directories under ``root`` and those the registry knows, each once."""
    under = [p.resolve() for p in root.glob("*") if p.is_dir()] if root.exists() else []
    return sorted(set(under) | set(known_runs()))


def sweep_root(root: Path, force: bool = False) -> tuple[list[str], list[str]]:
    """(what was cleaned, what could not be) over every run directory under ``root`` and in the
    registry whose runner is gone (every one with ``force``)."""
    cleaned: list[str] = []
    stuck: list[str] = []
    for path in _runs(root):
        run_dir = RunDir(path)
        if not force and _running(run_dir):
            continue
        _sweep_run(run_dir, cleaned, stuck)
    return cleaned, stuck


def _sweep_run(run_dir: RunDir, cleaned: list[str], stuck: list[str]) -> None:
    load = LoadProcess.find(run_dir.load, run_dir.samples)
    if load is not None and load.running:
        load.stop()
        cleaned.append(f"{run_dir.run_id}: load stopped")
    if run_dir.ledger.exists():
        run = RunContext.from_configuration({RUN_DIR_KEY: str(run_dir.path)})
        removed, failed = lifecycle.sweep(run)
        cleaned += [f"{run_dir.run_id}: fault {fault} removed" for fault in removed]
        stuck += [f"{run_dir.run_id}: fault {fault} could NOT be removed" for fault in failed]
        cleaned += [f"{run_dir.run_id}: {line}" for line in _close_marks(run_dir, run)]
    target = _cluster_target(run_dir)
    if target is not None and target.chaos_mesh is not None:
        deleted, failed = sweep_labelled(target.chaos_mesh, run_selector(run_dir.run_id))
        cleaned += [f"{run_dir.run_id}: {name} deleted (found by its label)" for name in deleted]
        stuck += [f"{run_dir.run_id}: {problem}" for problem in failed]
    if stop_local_proxy(run_dir.proxy):
        cleaned.append(f"{run_dir.run_id}: the run's fault proxy stopped")


def _close_marks(run_dir: RunDir, run: RunContext) -> list[str]:
    """What the killed run could not close of its own: its Grafana regions' true ends, its spans
    (controls.annotations, controls.tracing); a line for each that had something to do."""
    try:
        experiment = read_json(run_dir.experiment)
        configuration, title = experiment["configuration"], str(experiment.get("title") or run_dir.run_id)
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if not isinstance(configuration, dict):
        return []
    said = [close_regions(run, configuration, title), close_spans(run, configuration)]
    return [line for line in said if line is not None]


def _cluster_target(run_dir: RunDir) -> Target | None:
    """The run's target when it is a cluster one and can still be read."""
    try:
        ref = read_json(run_dir.experiment)["configuration"].get(TARGET_KEY)
        target = load_target(str(ref)) if ref else None
    except (OSError, ValueError, KeyError, TypeError, ChaosLLMError):
        return None
    return target if target is not None and target.chaos_mesh is not None else None


def _running(run_dir: RunDir) -> bool:
    try:
        return alive(ProcessRecord.from_json(read_json(run_dir.owner)))
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no owner record (a run from before it existed, or a torn file): not running


def _sweep_target(ref: str, root: Path) -> tuple[list[str], list[str]]:
    """Every object of ours in the target's namespaces but those of a run alive on this machine."""
    target = load_target(ref)
    if target.chaos_mesh is None:
        return [], [f"target {target.name!r} has no chaos_mesh section: nothing to sweep by label"]
    live = {label_value(RunDir(p).run_id) for p in _runs(root) if _running(RunDir(p))}
    deleted, failed = sweep_labelled(
        target.chaos_mesh, run_selector(), spare=lambda obj: obj["metadata"].get("labels", {}).get(RUN_LABEL) in live
    )
    return [f"{target.name}: {name} deleted (found by its label)" for name in deleted], failed


def _cleanup(args: argparse.Namespace) -> int:
    cleaned, stuck = sweep_root(args.root, args.force)
    if args.target:
        try:
            more, failed = _sweep_target(args.target, args.root)
        except ChaosLLMError as exc:
            more, failed = [], [str(exc)]
        cleaned, stuck = cleaned + more, stuck + failed
    for line in cleaned + stuck:
        print(line)
    if not cleaned and not stuck:
        print(f"nothing to clean under {args.root} or in the runs this machine registered")
    return EXIT_INVALID if stuck else EXIT_OK
