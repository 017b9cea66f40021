"""``python -m chaoslib_ext.proxy --link redis=127.0.0.1:6379 [--link ...] [--control-port 0]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from chaoslib_ext.eventloop import run
from chaoslib_ext.proxy.server import LinkPlan, serve


def parse_link(text: str) -> LinkPlan:
    """``NAME=HOST:PORT`` or ``NAME=HOST:PORT@LISTEN_PORT``."""
    try:
        name, rest = text.split("=", 1)
        target, _, listen = rest.partition("@")
        host, port = target.rsplit(":", 1)
        return LinkPlan(name, host, int(port), int(listen) if listen else 0)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad link {text!r} (accepted: NAME=HOST:PORT or NAME=HOST:PORT@LISTEN_PORT)"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.proxy", description=__doc__)
    parser.add_argument("--link", action="append", type=parse_link, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s proxy %(levelname)s %(message)s")
    run(serve(args.link, args.host, args.control_port, args.ready_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
