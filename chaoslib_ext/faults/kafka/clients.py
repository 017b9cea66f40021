"""Configuration for the Kafka clients our probes and drivers open: librdkafka's own log lines (a
refused connection to a broker a fault took down, say) go to Python logging, the run's log, instead
of being printed on the terminal."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["client_config"]

_LOG = logging.getLogger("chaoslib_ext.kafka.client")


def client_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "logger": _LOG, **extra}
