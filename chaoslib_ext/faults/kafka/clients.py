"""Configuration for the Kafka clients our probes and drivers open: the service's security settings
(``services.<name>.auth``: security protocol, SASL mechanism, user and password resolved when used,
CA bundle), and librdkafka's own log lines (a refused connection to a broker a fault took down, say)
sent to Python logging, the run's log, instead of being printed on the terminal."""

from __future__ import annotations

import logging
from typing import Any

from chaoslib_ext.access import ServiceAuth
from chaoslib_ext.target import Target

__all__ = ["client_config", "service_config"]

_LOG = logging.getLogger("chaoslib_ext.kafka.client")


def client_config(bootstrap: str, auth: ServiceAuth | None = None, **extra: Any) -> dict[str, Any]:
    """librdkafka settings for ``bootstrap``; raises TargetError when a credential cannot be resolved."""
    return {"bootstrap.servers": bootstrap, "logger": _LOG, **(auth.kafka_config() if auth else {}), **extra}


def service_config(target: Target, service: str, **extra: Any) -> dict[str, Any]:
    """The settings of a target's Kafka service (its real address, not the proxy's)."""
    svc = target.service(service)
    return client_config(svc.real, svc.auth, **extra)
