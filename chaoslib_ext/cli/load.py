"""``chaosllm load --url URL``: load only (benchmark mode), against any OpenAI-compatible streaming
server; the same samples, timeline, summary.json and report.md as an experiment."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chaoslib_ext import secrets
from chaoslib_ext.exceptions import LoadError, SpecError
from chaoslib_ext.experiment.plan import Plan
from chaoslib_ext.load.session import begin_load, end_load
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.registry import register_run
from chaoslib_ext.report.terminal import print_summary
from chaoslib_ext.report.write import write_reports
from chaoslib_ext.run.context import RUN_DIR_KEY, TARGET_KEY, RunContext
from chaoslib_ext.run.rundir import DEFAULT_ROOT, RunDir
from chaoslib_ext.verdict.outcome import EXIT_INVALID

__all__ = ["endpoint_arguments", "load_spec", "register"]


def register(commands: Any) -> None:
    parser = commands.add_parser("load", help="put streaming load on an endpoint and measure it (no faults)")
    loop = parser.add_mutually_exclusive_group()
    loop.add_argument("--users", type=int, help="a closed loop: concurrent streams (default 8)")
    loop.add_argument("--rate", type=float, help="an open loop: requests/s on a seeded schedule")
    parser.add_argument("--duration", default="30s", help="measured time after the warmup (default 30s)")
    parser.add_argument("--warmup", help="time left out before measuring (default: spawn time + 2s)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second (default: all in ~1s)")
    parser.add_argument(
        "--shape",
        default="constant",
        help='constant, or a JSON shape such as \'{"type": "ramp", "from": 1, "over": "30s"}\'',
    )
    endpoint_arguments(parser)
    parser.set_defaults(handler=_load)


def endpoint_arguments(parser: argparse.ArgumentParser, experiment: bool = False) -> None:
    """What ``chaosllm load`` and ``chaosllm sweep`` share: where to send, what, and the open loop's arrivals
    (``experiment``: or an experiment file's load and target instead of the endpoint options)."""
    where = parser.add_mutually_exclusive_group(required=True)
    if experiment:
        where.add_argument("--experiment", help="an experiment file: its load block, target and sweep block")
    where.add_argument("--url", help="URL of the OpenAI-compatible server (base, or ending in the endpoint path)")
    where.add_argument("--target", help="a target file: its gateway's address, path, model, headers and TLS")
    parser.add_argument("--arrival", help="open loop: poisson (default), gamma or constant")
    parser.add_argument("--burstiness", type=float, help="open loop, gamma: its shape (1 = Poisson, < 1 burstier)")
    parser.add_argument("--max-concurrency", type=int, help="open loop: requests in flight at most (refused: counted)")
    parser.add_argument("--seed", type=int, help="open loop: the schedule's seed (default 0)")
    parser.add_argument("--path", help="/v1/chat/completions (default) or /v1/completions")
    parser.add_argument("--model", help="model name to send")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--workload",
        help='token lengths or a dataset, as JSON: \'{"input_tokens": 256, "output_tokens": 64}\' (see the README)',
    )
    parser.add_argument("--prompt", help="prompt text (a request id is appended unless --same-prompt)")
    parser.add_argument("--same-prompt", action="store_true", help="send the prompt unchanged (cache hits)")
    parser.add_argument("--processes", type=int, default=1, help="Locust processes to spread users over")
    parser.add_argument("--workers", type=int, help="run the load on N workers (`chaosllm worker`), any host")
    parser.add_argument(
        "--master", metavar="HOST:PORT", help="where the master listens for workers (default 127.0.0.1:0)"
    )
    parser.add_argument("--worker-timeout", help="how long to wait for every worker (default 60s)")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="a request header")
    parser.add_argument(
        "--header-env", action="append", default=[], metavar="NAME:ENVVAR", help="a header whose value is in ENVVAR"
    )
    parser.add_argument("--api-key-env", metavar="ENVVAR", help="Authorization: Bearer <the value of ENVVAR>")
    parser.add_argument("--timeout", help="deadline of a whole request (default: 10s + 30s + max_tokens x 0.25s)")
    parser.add_argument("--idle-timeout", help="longest gap between two bytes of a response (default 30s)")
    parser.add_argument("--ca-bundle", help="verify TLS with this CA bundle instead of the system's")
    parser.add_argument("--insecure", action="store_true", help="do not verify the server's TLS certificate")
    parser.add_argument("--out", type=Path, help="run directory (default: a new one under reports/)")


def load_spec(args: argparse.Namespace) -> LoadSpec:
    """The load the options describe; raises SpecError. Options a command lacks count as not given."""
    shape: Any = getattr(args, "shape", "constant")
    if shape.startswith("{"):
        try:
            shape = json.loads(shape)
        except ValueError as exc:
            raise SpecError("shape", f"not JSON: {exc}") from exc
    raw: dict[str, Any] = {
        "shape": shape,
        "max_tokens": args.max_tokens,
        "processes": args.processes,
        "unique_prompts": not args.same_prompt,
        "insecure": args.insecure,
        "headers": _headers(args),
    }
    names = ("url", "path", "model", "prompt", "warmup", "spawn_rate", "timeout", "idle_timeout", "ca_bundle",
             "users", "rate", "arrival", "burstiness", "max_concurrency", "seed", "workers", "master",
             "worker_timeout")  # fmt: skip
    optional = {name: getattr(args, name, None) for name in names}
    raw.update({k: v for k, v in optional.items() if v is not None})
    if args.workload:
        try:
            raw["workload"] = json.loads(args.workload)
        except ValueError as exc:
            raise SpecError("workload", f"not JSON: {exc}") from exc
    return LoadSpec.parse(raw)


def _headers(args: argparse.Namespace) -> dict[str, Any]:
    """``--header NAME:VALUE`` (a credential's value registered as a secret at once), ``--header-env
    NAME:ENVVAR`` and ``--api-key-env ENVVAR`` (by reference: resolved when the load starts)."""
    headers: dict[str, Any] = {}
    for option, pairs in (("--header", args.header), ("--header-env", args.header_env)):
        for pair in pairs:
            name, sep, value = pair.partition(":")
            if not sep or not name.strip():
                raise SpecError(option, f"{pair.split(':')[0]!r}... is not NAME:VALUE", f"{option} Name:value")
            name, value = name.strip(), value.strip()
            if option == "--header":
                secrets.register_header(name, value)
            headers[name] = value if option == "--header" else {"env": value}
    if args.api_key_env:
        headers["Authorization"] = {"env": args.api_key_env, "prefix": "Bearer "}
    return headers


def _load(args: argparse.Namespace) -> int:
    from chaoslib_ext.durations import parse_duration

    try:
        spec = load_spec(args)
        duration_s = parse_duration(args.duration, "--duration", allow_zero=False)
    except SpecError as exc:
        print(f"chaosllm load: {exc}", file=sys.stderr)
        return EXIT_INVALID
    run_dir = RunDir(args.out) if args.out else RunDir.create(DEFAULT_ROOT, "load")
    run_dir.path.mkdir(parents=True, exist_ok=True)
    register_run(run_dir.path)
    if args.url:
        secrets.register_url(args.url)
    run = RunContext.from_configuration({RUN_DIR_KEY: str(run_dir.path), TARGET_KEY: args.target or args.url})
    plan = Plan(spec, ())
    try:
        begin_load(run, spec, max_run_s=duration_s + 600.0)
        run.wait(duration_s)  # cut short when a load process dies
    except LoadError as exc:
        print(f"chaosllm load: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        run.timeline.record_interrupted("KeyboardInterrupt")
    finally:
        end_load(run)
    summary = write_reports(run, plan, f"load {secrets.redact_url(args.url or args.target)}", None)
    print_summary(summary, run_dir.path)
    code = summary.outcome.exit_code
    return code
