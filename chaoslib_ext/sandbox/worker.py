"""The sandbox's decoder worker: requests from Kafka in, tokens to Kafka out, per release engine.

python -m chaoslib_ext.sandbox.worker --kafka 127.0.0.1:9092 [--ready-file F]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

from chaoslib_ext._eventloop import run
from chaoslib_ext._jsonfile import write_json_atomic
from chaoslib_ext.sandbox.engine import Engine, Job, TokenEvent
from chaoslib_ext.sandbox.kafka_io import REQUESTS_TOPIC, TOKENS_TOPIC, ConsumerThread, make_producer, send
from chaoslib_ext.sandbox.kafka_topics import TopicRoller
from chaoslib_ext.sandbox.releases import RELEASES

log = logging.getLogger("chaoslib_ext.sandbox.worker")


async def serve(bootstrap: str, ready_file: Path | None, seed: int | None) -> None:
    loop = asyncio.get_running_loop()
    producer = make_producer(bootstrap)
    rng = random.Random(seed)

    def emit(tokens: list[TokenEvent]) -> None:
        try:
            send(producer, TOKENS_TOPIC, {"t": tokens})
        except BufferError:
            log.warning("producer queue full: %d tokens dropped", len(tokens))

    engines = {name: Engine(release, emit, rng) for name, release in RELEASES.items()}
    tasks = [asyncio.create_task(engine.run()) for engine in engines.values()]

    def on_requests(batch: list[Any]) -> None:
        for req in batch:
            engine = engines.get(req.get("release", ""))
            if engine is None:
                log.warning("request %s names unknown release %r", req.get("id"), req.get("release"))
                continue
            engine.submit(Job(req["id"], int(req["prompt_tokens"]), int(req["max_tokens"]), bool(req["cached"])))

    roller = TopicRoller(bootstrap, (REQUESTS_TOPIC, TOKENS_TOPIC))
    await loop.run_in_executor(None, roller.start)
    consumer = ConsumerThread(bootstrap, REQUESTS_TOPIC, loop, on_requests)
    await loop.run_in_executor(None, consumer.start)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready_file is not None:
        write_json_atomic(ready_file, {"pid": os.getpid(), "releases": sorted(engines)})
    log.info("worker ready: releases %s", ", ".join(engines))
    await stop.wait()
    for task in tasks:
        task.cancel()
    await loop.run_in_executor(None, consumer.stop)
    await loop.run_in_executor(None, roller.stop)
    producer.flush(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.sandbox.worker")
    parser.add_argument("--kafka", required=True, help="bootstrap address host:port")
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    run(serve(args.kafka, args.ready_file, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
