"""``python -m chaoslib_ext.proxy --link redis=127.0.0.1:6379 [--link ...] [--control-port 0]``.

A link's upstream is ``HOST:PORT`` (plain TCP), or a URL: ``http://host[:port]`` (plain, port 80) or
``https://host[:port]`` (the proxy opens TLS upstream, verified with the system's CAs or ``--ca-file``,
SNI = host; its clients speak plain HTTP on loopback). A link given as a URL is an HTTP link: its
connections are framed and it takes stream faults (chaoslib_ext.proxy.stream). ``--parent-pid`` makes
the proxy exit when that process is gone, so a proxy started for one run never outlives it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from chaoslib_ext._eventloop import run
from chaoslib_ext.proxy.server import LinkPlan, serve

_ACCEPTED = "NAME=HOST:PORT, NAME=http://HOST[:PORT] or NAME=https://HOST[:PORT], each optionally @LISTEN_PORT"


def parse_link(text: str) -> LinkPlan:
    """``NAME=UPSTREAM`` or ``NAME=UPSTREAM@LISTEN_PORT`` (see the module's docstring for UPSTREAM)."""
    try:
        name, rest = text.split("=", 1)
        if "://" in rest:
            scheme, _, rest = rest.partition("://")
            if scheme not in ("http", "https"):
                raise ValueError(scheme)
            target, _, listen = rest.partition("@")
            host, _, port = target.rstrip("/").partition(":")
            default = 443 if scheme == "https" else 80
            listen_port = int(listen) if listen else 0
            return LinkPlan(name, host, int(port or default), listen_port, tls=scheme == "https", http=True)
        target, _, listen = rest.partition("@")
        host, port = target.rsplit(":", 1)
        return LinkPlan(name, host, int(port), int(listen) if listen else 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad link {text!r} (accepted: {_ACCEPTED})") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.proxy", description=__doc__)
    parser.add_argument("--link", action="append", type=parse_link, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--ca-file", help="CA bundle for https upstreams (default: the system's)")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s proxy %(levelname)s %(message)s")
    plans = [replace(p, ca_file=args.ca_file) if p.tls else p for p in args.link]
    if args.parent_pid:
        _exit_with(args.parent_pid)
    run(serve(plans, args.host, args.control_port, args.ready_file))
    return 0


def _exit_with(parent_pid: int) -> None:
    """A dead-man switch: SIGTERM ourselves (a graceful stop) once ``parent_pid`` is gone."""

    def watch() -> None:
        while os.path.exists(f"/proc/{parent_pid}") and os.getppid() == parent_pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
