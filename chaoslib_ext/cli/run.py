"""``chaosllm run EXPERIMENT``: the experiment through Chaos Toolkit with the chaosllm control, then the
verdict and exit code computed by chaoslib_ext, and a last sweep of the ledger whatever happened."""

from __future__ import annotations

import argparse
import copy
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext.cli.cleanup import sweep_root
from chaoslib_ext.cli.dryrun import dry_run
from chaoslib_ext.cli.lock import refused
from chaoslib_ext.cli.logs import run_logging
from chaoslib_ext.cli.preflight import preflight
from chaoslib_ext.cli.validate import checked_source, parse_vars
from chaoslib_ext.controls.endpoint import CONTROL_KEY, TOKEN_KEY
from chaoslib_ext.controls.gate import APPROVE
from chaoslib_ext.controls.lock import lock_file
from chaoslib_ext.controls.settings import APPROVE_KEY
from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.experiment.loader import Source
from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.experiment.variables import anchored_target, configuration_values
from chaoslib_ext.faults import lifecycle
from chaoslib_ext.gameday.record import GAMEDAY_KEY
from chaoslib_ext.load.session import end_load
from chaoslib_ext.proxy.local import stop_local_proxy
from chaoslib_ext.report.terminal import print_summary
from chaoslib_ext.report.write import write_reports, write_text_reports
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext
from chaoslib_ext.run.rundir import DEFAULT_ROOT, RunDir
from chaoslib_ext.verdict.outcome import EXIT_INVALID, decide
from chaoslib_ext.verdict.summary import RunSummary

__all__ = ["add_control_options", "control_argv", "control_configuration", "register"]

STRATEGIES = ("default", "before-method-only", "after-method-only", "during-method-only", "continuously", "skip")
#: Rollbacks always run: Chaos Toolkit's default skips them on SIGINT/SIGTERM and failed hypotheses.
SETTINGS = {"runtime": {"rollbacks": {"strategy": "always"}, "hypothesis": {"strategy": "default"}}}


def register(commands: Any) -> None:
    parser = commands.add_parser("run", help="run an experiment: load, faults, verdicts, reports")
    parser.add_argument("experiment", type=Path)
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="configuration value (key[:int|float]=value), overrides the experiment's",
    )
    parser.add_argument(
        "--var-file",
        action="append",
        default=[],
        metavar="FILE",
        help="JSON/YAML with configuration and secrets, or a .env file",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="root of run directories (reports/)")
    parser.add_argument("--dry-run", action="store_true", help="print every object each fault would create")
    parser.add_argument(
        "--hypothesis-strategy",
        choices=STRATEGIES,
        default="default",
        help="when Chaos Toolkit checks the steady-state hypothesis (as `chaos run`); "
        "continuously: also every --hypothesis-frequency seconds during the method, a failed live check exits 1",
    )
    parser.add_argument("--hypothesis-frequency", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--fail-fast", action="store_true", help="with continuously: stop at the first failed check")
    parser.add_argument(
        "--no-check", action="store_true", help="skip the preflight (`chaosllm check` of the target) before the run"
    )
    add_control_options(parser)
    parser.add_argument("--gameday", help=argparse.SUPPRESS)  # chaosllm gameday's settings, as JSON
    parser.set_defaults(handler=_run)


def add_control_options(parser: argparse.ArgumentParser) -> None:
    """The run's control endpoint and step approval (``run``, ``bench`` and ``gameday`` alike); what is not
    given stays the experiment's (``chaosllm_control``, ``chaosllm_approve``)."""
    parser.add_argument("--control-port", type=int, default=None, help="port of the run's control endpoint "
                        "(GET /status, POST /abort ...; default: a free one, in <run>/control.json)")  # fmt: skip
    parser.add_argument("--control-host", default=None,
                        help="where it listens (default 127.0.0.1; beyond loopback it needs a token)")  # fmt: skip
    parser.add_argument(
        "--control-token-env", metavar="VAR", help="environment variable with the endpoint's bearer token"
    )
    parser.add_argument("--approve", choices=APPROVE, default=None,
                        help="each: every step of the method waits for approval on the control endpoint")  # fmt: skip


def control_configuration(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration values the control options given set (the token by reference, never its value)."""
    out: dict[str, Any] = {}
    if args.control_port is not None or args.control_host is not None:
        out[CONTROL_KEY] = f"{args.control_host or '127.0.0.1'}:{args.control_port or 0}"
    if args.approve is not None:
        out[APPROVE_KEY] = args.approve
    if args.control_token_env:
        out[TOKEN_KEY] = {"env": args.control_token_env}
    return out


def control_argv(args: argparse.Namespace) -> list[str]:
    """The same options, as given, for a ``chaosllm run`` of our own (bench blocks, a game day's run)."""
    given = (("--control-port", args.control_port), ("--control-host", args.control_host),
             ("--approve", args.approve), ("--control-token-env", args.control_token_env))  # fmt: skip
    return [part for flag, value in given if value is not None for part in (flag, str(value))]


def _run(args: argparse.Namespace) -> int:
    config_vars = parse_vars(args.var)
    source = checked_source(args.experiment, config_vars)
    if source is None:
        print("\nOutcome: ERROR, invalid_experiment (exit code 2): nothing ran")
        return EXIT_INVALID
    config_vars = anchored_target(source.file, source.data, config_vars)
    if args.dry_run:
        return dry_run(source, config_vars)
    from chaoslib import merge_vars
    from chaoslib.experiment import run_experiment
    from chaoslib.types import Schedule, Strategy

    _, secret_vars = merge_vars({}, args.var_file)
    secrets.register_named(secret_vars)
    locked = refused(configuration_values(source.data, config_vars).get(TARGET_KEY), "run")
    if locked is not None:
        return locked
    checks = [] if args.no_check else preflight(source, config_vars, secret_vars)
    if checks is None or not all(c.ok for c in checks):
        print("\nOutcome: ERROR, preflight_failed (exit code 2): nothing ran (see `chaosllm check`)")
        return EXIT_INVALID
    _sweep_leftovers(args.out)
    experiment = copy.deepcopy(source.data)
    run_dir = RunDir.create(args.out, str(experiment["title"]))
    configuration = experiment.setdefault("configuration", {})
    configuration.update(config_vars)
    configuration.update(control_configuration(args))
    if args.gameday:
        configuration[GAMEDAY_KEY] = json.loads(args.gameday)
    configuration[RUN_DIR_KEY] = str(run_dir.path)
    run = RunContext.from_configuration(configuration)
    for c in checks:  # what was checked before anything started, for the record
        run.timeline.record_preflight(c.name, c.subject, c.ok, c.detail)
    run.timeline.record_preflight("abort lock", str(lock_file()), True, "not held")
    journal: dict[str, Any] | None = None
    with run_logging(run_dir.log):
        try:
            journal = run_experiment(
                experiment,
                settings=copy.deepcopy(SETTINGS),
                experiment_vars=({}, secret_vars),
                strategy=Strategy.from_string(args.hypothesis_strategy),
                schedule=Schedule(args.hypothesis_frequency, fail_fast=args.fail_fast),
            )
        except (KeyboardInterrupt, SystemExit) as exc:
            run.timeline.record_interrupted(type(exc).__name__)
        finally:
            with _signals_deferred():
                _make_safe(run)
    if journal is not None:
        write_json_atomic(run_dir.journal, journal)  # secrets scrubbed
    summary = _final_summary(run, source, journal)
    print_summary(summary, run_dir.path)
    code = summary.outcome.exit_code
    return code


def _sweep_leftovers(root: Path) -> None:
    """Faults an earlier run left behind (killed with SIGKILL, a crash) go before this one starts."""
    cleaned, stuck = sweep_root(root)
    for line in cleaned:
        print(f"chaosllm: cleaned up after an earlier run: {line}", file=sys.stderr)
    for line in stuck:
        print(f"chaosllm: WARNING: {line}; see `chaosllm cleanup`", file=sys.stderr)


def _make_safe(run: RunContext) -> None:
    """Whatever happened above: load stopped, every fault in the ledger removed, the run's proxy stopped."""
    end_load(run)
    lifecycle.sweep(run)
    stop_local_proxy(run.run_dir.proxy)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Cleanup must not be cut short by a second Ctrl-C (or the terminal closing): ignore them while it runs."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _final_summary(run: RunContext, source: Source, journal: dict[str, Any] | None) -> RunSummary:
    """The control's summary with the outcome decided again on the final journal (summary.json,
    report.md and junit.xml written again when it changed)."""
    if run.run_dir.summary.exists():
        summary = RunSummary.from_json(read_json(run.run_dir.summary))
    else:
        summary = write_reports(run, _plan(source), str(source.data.get("title", "")), journal)
    outcome = decide(run.timeline.events(), summary.hypotheses, journal, summary.missed_faults())
    if outcome != summary.outcome:
        summary = summary.with_outcome(outcome)
        write_text_reports(run, summary)
    return summary


def _plan(source: Source) -> Plan:
    try:
        return Plan.from_experiment(source.data)
    except SpecError:
        return Plan(None, ())
