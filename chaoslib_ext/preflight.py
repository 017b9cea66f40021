"""Preflight: reach every service a target names, as the run will reach it, before anything starts.

``chaosllm check TARGET`` prints one row per check and exits 2 on any failure; ``chaosllm run`` runs the
same checks first (with the experiment's own load and the Chaos Mesh objects it would create).

- the gateway: a streamed completion with the endpoint's model and key (or the experiment's load);
- Redis (``redis://``, ``rediss://``): PING with the service's credentials;
- Kafka (a ``host:port`` address): the cluster's metadata, with its security settings;
- a service's own fault control API (``control``), and the fault proxy's;
- Kubernetes (a ``chaos_mesh`` section): the API, Chaos Mesh's CRDs, RBAC for every kind and
  namespace the run would create objects of (SelfSubjectAccessReview), and listing the pods and
  events of every service's ``pods`` namespaces (the cluster timeline and the per-pod scrape read them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis
import requests
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from chaoslib_ext.exceptions import ChaosLLMError
from chaoslib_ext.faults.chaosmesh.objects import PLURALS
from chaoslib_ext.faults.chaosmesh.preflight import cluster_checks
from chaoslib_ext.faults.kafka.clients import service_config
from chaoslib_ext.faults.redis.server import RedisServer
from chaoslib_ext.load.probes import stream_check
from chaoslib_ext.load.spec import LoadSpec
from chaoslib_ext.proxy.client import ProxyClient
from chaoslib_ext.secrets import redact_url
from chaoslib_ext.target import Service, Target

__all__ = ["Check", "check_target", "render"]

_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    subject: str
    ok: bool
    detail: str


def check_target(
    target: Target, load: LoadSpec | None = None, objects: Iterable[tuple[str, str]] | None = None
) -> list[Check]:
    """Every check of ``target``; ``load``: the run's load (default: the gateway's endpoint);
    ``objects``: the (Chaos Mesh kind, namespace) pairs the run would create (default: every kind we
    create, in the chaos namespace)."""
    checks: list[Check] = []
    if load is not None and "gateway" not in target.services:
        checks.append(_stream(load, load.url or ""))
    for name, service in target.services.items():
        checks += _service_checks(target, name, service, load)
    if target.needs_local_proxy:
        checks.append(Check("fault proxy", ", ".join(sorted(target.links)), True, "started by each run"))
    elif target.proxy_control_url:
        checks.append(_proxy_check(target.proxy_control_url))
    if target.chaos_mesh is not None:
        cm = target.chaos_mesh
        pairs = list(objects) if objects is not None else [(kind, cm.namespace) for kind in PLURALS]
        watched = {ns for service in target.services.values() for ns in (service.pods or {}).get("namespaces") or []}
        checks += [Check(*row) for row in cluster_checks(cm, pairs, watched)]
    return checks


def _service_checks(target: Target, name: str, service: Service, load: LoadSpec | None) -> list[Check]:
    out = []
    if name == "gateway" and service.address:
        out.append(_stream(load if load is not None else LoadSpec().with_target(service), service.address))
    elif service.real.startswith(("redis://", "rediss://")):
        out.append(_redis_check(target, name))
    elif service.real and "://" not in service.real and ":" in service.real:
        out.append(_kafka_check(target, name))
    if service.control:
        out.append(_control_check(name, service.control))
    return out


def _stream(spec: LoadSpec, address: str) -> Check:
    ok, detail = stream_check(spec, timeout_s=30.0)
    subject = redact_url(spec.endpoint_url()) if spec.url else address
    return Check("streamed completion", subject, ok, detail + (f" (model {spec.model})" if spec.model else ""))


def _redis_check(target: Target, name: str) -> Check:
    server = RedisServer.of(target, name)
    try:
        client = server.client(_TIMEOUT_S)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ChaosLLMError) as exc:
        return Check("Redis PING", f"{name} {server.redacted}", False, str(exc))
    return Check("Redis PING", f"{name} {server.redacted}", True, "PONG")


def _kafka_check(target: Target, name: str) -> Check:
    subject = f"{name} {target.service(name).real}"
    try:
        meta = AdminClient(service_config(target, name)).list_topics(timeout=_TIMEOUT_S)
    except (KafkaException, ChaosLLMError) as exc:
        return Check("Kafka metadata", subject, False, str(exc))
    return Check("Kafka metadata", subject, True, f"{len(meta.brokers)} broker(s), {len(meta.topics)} topic(s)")


def _control_check(name: str, url: str) -> Check:
    try:
        requests.get(url, timeout=_TIMEOUT_S)  # any HTTP answer: it listens
    except requests.RequestException as exc:
        return Check("fault control API", f"{name} {url}", False, f"unreachable: {exc}")
    return Check("fault control API", f"{name} {url}", True, "answers")


def _proxy_check(url: str) -> Check:
    try:
        links = ProxyClient(url, _TIMEOUT_S).links()
    except ChaosLLMError as exc:
        return Check("fault proxy", url, False, str(exc))
    return Check("fault proxy", url, True, f"links: {', '.join(sorted(links))}")


def render(checks: list[Check]) -> str:
    """The checks as a text table, one row each."""
    rows = [("result", "check", "subject", "detail")]
    rows += [("ok" if c.ok else "FAILED", c.name, c.subject, c.detail) for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] for row in rows)
