"""Block a Redis server in slices: ``DEBUG SLEEP <slice>`` again and again until a deadline.

Run as its own detached process by the Redis driver, so the block ends by itself at the deadline (or
within one slice of this process being stopped), whatever happens to the run that started it.

    python -m chaoslib_ext.faults.redis.blocker --target TARGET_FILE --service redis --slice 0.5 --until UNIX_TIME

The server is named by its target file and service, never by a URL that may hold a password (a
process's command line is recorded in the run directory); the credentials are resolved here.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

import redis

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.redis.server import RedisServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.faults.redis.blocker")
    parser.add_argument("--target", required=True, help="the target file naming the server")
    parser.add_argument("--service", default="redis")
    parser.add_argument("--slice", type=float, required=True)
    parser.add_argument("--until", type=float, required=True, help="unix time at which to stop")
    args = parser.parse_args(argv)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        client = RedisServer.from_ref({"target": args.target, "service": args.service}).client(args.slice + 5)
    except TargetError as exc:
        print(f"blocker: {exc}", file=sys.stderr)
        return 2
    while not stopping and time.time() < args.until:
        remaining = args.until - time.time()
        try:
            client.execute_command("DEBUG", "SLEEP", f"{min(args.slice, max(remaining, 0.0)):.3f}")  # type: ignore[no-untyped-call]
        except redis.RedisError as exc:
            print(f"blocker: {exc}", file=sys.stderr)
            time.sleep(0.1)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
