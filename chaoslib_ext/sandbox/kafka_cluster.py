"""The sandbox's multi-broker Kafka cluster (librdkafka's mock cluster) with a control API for faults.

python -m chaoslib_ext.sandbox.kafka_cluster --brokers 3 [--ready-file F]

GET  /brokers                                   {"brokers": [{"id": 1, "up": true}, ...]}
POST /topics          {"name", "partitions", "replication"}
PUT  /topics/{topic}/partitions/{p}/leader  {"broker": 3}
PUT  /brokers/{id}    {"up": false}
GET  /requests?since=T&until=T   {"brokers": {"1": {"produce": n, "fetch": n, "other": n}, ...}}

``/requests`` counts the requests each broker served between two unix times, from the mock cluster's
request log, in 100 ms buckets (a bucket counts when its start is in the interval): the evidence of the
cluster's faults (chaoslib_ext.faults.kafka.cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from chaoslib_ext._aioserver import serve_app
from chaoslib_ext._eventloop import run
from chaoslib_ext.sandbox.mock_kafka import MockCluster

log = logging.getLogger("chaoslib_ext.sandbox.kafka_cluster")
_CLUSTER: web.AppKey[MockCluster] = web.AppKey("cluster", MockCluster)
#: the Kafka API keys counted by name (the others as "other")
_API_KEYS = {0: "produce", 1: "fetch"}
BUCKET_S = 0.1
_POLL_S = 0.5


class RequestLog:
    """The requests each broker served, by API and 100 ms bucket of unix time."""

    def __init__(self, cluster: MockCluster) -> None:
        self._cluster = cluster
        self._counts: Counter[tuple[int, int, str]] = Counter()  # (bucket, broker, api) -> requests

    def poll(self) -> None:
        offset = time.time() - time.monotonic()  # the log's times are CLOCK_MONOTONIC
        for broker, api_key, at in self._cluster.take_requests():
            self._counts[(int((at + offset) / BUCKET_S), broker, _API_KEYS.get(api_key, "other"))] += 1

    def between(self, since: float, until: float) -> dict[str, dict[str, int]]:
        self.poll()
        first, last = since / BUCKET_S, until / BUCKET_S
        out = {str(b): {"produce": 0, "fetch": 0, "other": 0} for b in range(1, self._cluster.brokers + 1)}
        for (bucket, broker, api), n in self._counts.items():
            if first <= bucket < last:
                out[str(broker)][api] += n
        return out


_LOG: web.AppKey[RequestLog] = web.AppKey("log", RequestLog)


def make_app(cluster: MockCluster) -> web.Application:
    app = web.Application()
    app[_CLUSTER] = cluster
    app[_LOG] = RequestLog(cluster)
    app.cleanup_ctx.append(_poll_requests)
    app.router.add_get("/requests", _requests)
    app.router.add_get("/brokers", _brokers)
    app.router.add_post("/topics", _create_topic)
    app.router.add_put("/topics/{topic}/partitions/{partition}/leader", _set_leader)
    app.router.add_put("/brokers/{broker}", _set_broker)
    return app


async def _brokers(request: web.Request) -> web.Response:
    c = request.app[_CLUSTER]
    return web.json_response(
        {"bootstraps": c.bootstraps, "brokers": [{"id": b, "up": b not in c.down} for b in range(1, c.brokers + 1)]}
    )


async def _poll_requests(app: web.Application) -> AsyncIterator[None]:
    """Keep the cluster's request log short: read it into the counts every half second."""

    async def poll() -> None:
        while True:
            app[_LOG].poll()
            await asyncio.sleep(_POLL_S)

    task = asyncio.create_task(poll())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _requests(request: web.Request) -> web.Response:
    try:
        since = float(request.query["since"])
        until = float(request.query.get("until", time.time()))
    except (KeyError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"since and until are unix times (since is required): {exc}") from exc
    return web.json_response({"brokers": request.app[_LOG].between(since, until)})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


def _call(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except RuntimeError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc


async def _create_topic(request: web.Request) -> web.Response:
    body = await _body(request)
    _call(
        request.app[_CLUSTER].create_topic,
        str(body["name"]),
        int(body.get("partitions", 3)),
        int(body.get("replication", 3)),
    )
    return web.json_response({"created": body["name"]})


async def _set_leader(request: web.Request) -> web.Response:
    body = await _body(request)
    topic, partition = request.match_info["topic"], int(request.match_info["partition"])
    _call(request.app[_CLUSTER].set_leader, topic, partition, int(body["broker"]))
    return web.json_response({"topic": topic, "partition": partition, "leader": int(body["broker"])})


async def _set_broker(request: web.Request) -> web.Response:
    body = await _body(request)
    cluster = request.app[_CLUSTER]
    broker = int(request.match_info["broker"])
    if not 1 <= broker <= cluster.brokers:
        raise web.HTTPNotFound(text=f"no broker {broker} (accepted: 1 to {cluster.brokers})")
    _call(cluster.set_broker, broker, bool(body["up"]))
    return web.json_response({"broker": broker, "up": bool(body["up"])})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib_ext.sandbox.kafka_cluster")
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s kafka-cluster %(levelname)s %(message)s")
    cluster = MockCluster(args.brokers)

    def announce(host: str, port: int) -> dict[str, Any]:
        log.info("mock cluster of %d brokers at %s; control on %s:%d", args.brokers, cluster.bootstraps, host, port)
        return {"pid": os.getpid(), "bootstraps": cluster.bootstraps, "control_url": f"http://{host}:{port}"}

    try:
        run(serve_app(make_app(cluster), args.host, args.port, args.ready_file, announce))
    finally:
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
