"""``chaosllm worker --master HOST:PORT``: join a run's Locust master as one of its ``load.workers``.

Fetches the run's load from the master's join port (PORT + 1): its spec, with request headers by
reference only, and its workload's prompts. Credentials are resolved here, from this host's
environment or secrets (a header given as a literal value in the experiment cannot travel: give it
as ``{env: NAME}``). Then runs ``locust --worker`` against HOST:PORT until the run ends; samples go
to a directory of this host and are shipped to the master twice a second
(chaoslib_ext.load.remote). Exit 0 when Locust ended normally, 2 when the master could not be
reached or the load cannot be resolved here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.verdict.outcome import EXIT_INVALID, EXIT_OK

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "worker",
        help="join a run's Locust master as one of its load workers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--master", required=True, metavar="HOST:PORT", help="the run's Locust master")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the master (default 60)")
    parser.add_argument("--keep", type=Path, help="keep this worker's own files (spec, samples, log) here")
    parser.set_defaults(handler=_worker)


def _fetch(host: str, port: int, timeout_s: float) -> dict[str, Any]:
    from chaoslib_ext.load.remote import JOIN_PATH, join_port

    url = f"http://{host}:{join_port(port)}{JOIN_PATH}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5.0) as resp:
                return dict(json.loads(resp.read()))
        except (urllib.error.URLError, OSError) as exc:
            if time.monotonic() > deadline:
                raise TargetError(f"no run's master at {url} within {timeout_s:g}s: {exc}") from exc
            time.sleep(0.5)


def _worker(args: argparse.Namespace) -> int:
    from chaoslib_ext.load.remote import worker_environ
    from chaoslib_ext.load.runner import locustfile
    from chaoslib_ext.load.spec import LoadSpec

    host, _, port_text = str(args.master).rpartition(":")
    if not host or not port_text.isdigit():
        print(f"chaosllm worker: --master {args.master!r} is not HOST:PORT", file=sys.stderr)
        return EXIT_INVALID
    work = args.keep or Path(tempfile.mkdtemp(prefix="chaosllm-worker-"))
    try:
        joined = _fetch(host, int(port_text), args.timeout)
        spec = LoadSpec.from_json(joined["spec"])
        headers = spec.resolved_headers()
        (work / "load").mkdir(parents=True, exist_ok=True)
        (work / "load" / "spec.json").write_text(json.dumps(joined["spec"]))
        env = worker_environ(work / "load", work / "samples", headers)
        if joined.get("workload"):
            (work / "load" / "workload.json").write_text(joined["workload"])
            env["CHAOSLLM_WORKLOAD"] = str(work / "load" / "workload.json")
    except (TargetError, ValueError, KeyError) as exc:
        print(f"chaosllm worker: {exc}", file=sys.stderr)
        return EXIT_INVALID
    argv = [sys.executable, "-m", "locust", "-f", str(locustfile()), "--worker", "--master-host", host,
            "--master-port", port_text, "--loglevel", "WARNING"]  # fmt: skip
    print(f"chaosllm worker: joined {args.master}; samples ship from {work / 'samples'}", flush=True)
    with (work / "locust.log").open("ab") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return EXIT_OK if code == 0 else EXIT_INVALID
