"""A TCP echo server on a free loopback port, in its own process, for the proxy benchmark.

python -m tests.benchmarks.echo_server --ready-file PATH    # writes {"port": N} when listening
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import cast

from chaoslib_ext._eventloop import run


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    # flow control: stop reading while the peer does not take what we echo
    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()


async def serve(ready_file: Path) -> None:
    server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tmp = ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"port": port}))
    tmp.rename(ready_file)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready-file", type=Path, required=True)
    run(serve(parser.parse_args().ready_file))


if __name__ == "__main__":
    main()
