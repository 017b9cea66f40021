"""The sandbox's multi-broker Kafka cluster (librdkafka's mock cluster) with a control API for faults.

python -m chaoslib_ext.sandbox.kafka_cluster --brokers 3 [--ready-file F]

GET  /brokers                                   {"brokers": [{"id": 1, "up": true}, ...]}
POST /topics          {"name", "partitions", "replication"}
PUT  /topics/{topic}/partitions/{p}/leader  {"broker": 3}
PUT  /brokers/{id}    {"up": false}
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from chaoslib_ext._aioserver import serve_app
from chaoslib_ext._eventloop import run
from chaoslib_ext.sandbox.mock_kafka import MockCluster

log = logging.getLogger("chaoslib_ext.sandbox.kafka_cluster")
_CLUSTER: web.AppKey[MockCluster] = web.AppKey("cluster", MockCluster)


def make_app(cluster: MockCluster) -> web.Application:
    app = web.Application()
    app[_CLUSTER] = cluster
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
