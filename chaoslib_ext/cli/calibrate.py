"""``chaosllm calibrate [--streams N ...]``: the load client's own error at that load, before a run.

Runs the streaming client (the same Locust user and processes as a run) against the calibration
server on a loopback port: first content 50 ms after each request, then one event every 10 ms,
20 tokens (about 1,500 SSE events/s per 100 streams). Prints per load what the client added to TTFT,
its ITL against the server's 10 ms, its own lag and CPU, and whether a run's phase at that load would
be measurable (chaoslib_ext.metrics.validity). Exit 0 when every load asked for is measurable, 1
when one is not (give it more ``--processes``), 2 for bad options.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.metrics.validity import MAX_CLIENT_LAG_MS, ValidityPolicy
from chaoslib_ext.verdict.outcome import EXIT_FAILED, EXIT_INVALID, EXIT_OK

__all__ = ["register"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "calibrate",
        help="measure the load client's own error at a load (against the calibration server)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--streams", type=_positive, nargs="+", default=[50], help="concurrent streams (default 50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per load (default 10)")
    parser.add_argument("--processes", type=_positive, default=1, help="load processes, as load.processes")
    parser.add_argument("--tokens", type=_positive, default=20, help="tokens per stream (default 20)")
    parser.add_argument(
        "--max-client-lag", type=float, default=MAX_CLIENT_LAG_MS, help="ms, as load.max_client_lag (default 5)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON lines")
    parser.set_defaults(handler=_calibrate)


def _calibrate(args: argparse.Namespace) -> int:
    from chaoslib_ext.load.calibrate import calibrate  # starts Locust: only when asked

    if not 1.0 <= args.seconds <= 600.0:
        print(f"chaosllm calibrate: --seconds {args.seconds:g} is outside 1-600", file=sys.stderr)
        return EXIT_INVALID
    policy = ValidityPolicy(max_client_lag_ms=args.max_client_lag)
    measurable = True
    for streams in args.streams:
        try:
            result = calibrate(streams, args.seconds, args.processes, tokens=args.tokens, policy=policy)
        except ChaosLLMError as exc:
            print(f"chaosllm calibrate: {exc}", file=sys.stderr)
            return EXIT_INVALID
        measurable &= result.validity.measurable
        print(json.dumps(asdict(result)) if args.json else "\n".join(result.lines()), flush=True)
    return EXIT_OK if measurable else EXIT_FAILED
