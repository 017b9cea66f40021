"""A Redis server of a target, as the faults and probes reach it: its URL (``redis://`` or ``rediss://``),
its ACL user and password (``services.<name>.auth``), and how to find it again from a record.

A record (the ledger's undo, a helper's command line) never holds a credential: it names the target
file and the service, and whoever acts on it later (``chaosllm cleanup`` in another process) reads
the target again and resolves the credential where it lives (an environment variable, a secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chaoslib_ext.access import ServiceAuth
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.secrets import redact_url
from chaoslib_ext.target import Target, load_target

__all__ = ["RedisServer", "redis_client"]


def redis_client(url: str, timeout_s: float = 5.0, **options: Any) -> redis.Redis:
    """A client that sees failures: no retries, a deadline on every call."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        **options,
    )


#: commands that are not a client's calls: administration (ours among them) and replication
_NOT_CALLS = frozenset({
    "info", "client", "config", "debug", "replconf", "psync", "sync", "failover", "role", "ping", "hello", "auth",
    "select", "command", "slowlog", "latency", "memory", "monitor",
})  # fmt: skip


@dataclass(frozen=True)
class RedisServer:
    url: str  # may hold a password: never written anywhere (see ``ref``)
    auth: ServiceAuth | None = None
    target_file: str | None = None
    service: str = "redis"

    @classmethod
    def of(cls, target: Target, service: str = "redis") -> RedisServer:
        """The real server (never the proxy's address) of ``service``; raises TargetError."""
        svc = target.service(service)
        return cls(svc.real, svc.auth, target.state_file, service)

    @classmethod
    def from_ref(cls, ref: dict[str, Any]) -> RedisServer:
        """The server a record names, read again from its target file; raises TargetError."""
        if ref.get("target"):
            return cls.of(load_target(str(ref["target"])), str(ref.get("service", "redis")))
        return cls(str(ref["url"]))  # a record written before targets were named: no credential in it

    @property
    def ref(self) -> dict[str, Any]:
        """What a record keeps: the target file and service to look the server up again, and its address."""
        return {"target": self.target_file, "service": self.service, "url": self.redacted}

    @property
    def redacted(self) -> str:
        return redact_url(self.url)

    @property
    def host_port(self) -> tuple[str, int]:
        c = self.client(1.0)
        kwargs = c.connection_pool.connection_kwargs
        c.close()
        return str(kwargs.get("host", "localhost")), int(kwargs.get("port", 6379))

    def client(self, timeout_s: float = 5.0) -> redis.Redis:
        """A client with the credentials resolved; raises TargetError when one cannot be."""
        return redis_client(self.url, timeout_s, **(self.auth.redis_kwargs() if self.auth else {}))

    def run(self, commands: list[list[str]]) -> None:
        """Run admin commands in order; raises TargetError naming the server (redacted) and the command."""
        client = self.client()
        command: list[str] = []
        try:
            for command in commands:
                client.execute_command(*command)  # type: ignore[no-untyped-call]
        except (redis.RedisError, OSError) as exc:
            raise TargetError(f"redis {self.redacted}: {' '.join(command)}: {exc}") from exc
        finally:
            client.close()

    def calls(self, reads_only: bool = False) -> int:
        """The clients' calls the server has processed since it started (INFO commandstats), without
        the admin and replication commands (ours, a replica's acks); ``reads_only``: without the commands
        COMMAND INFO flags ``write`` too (a replica runs its primary's writes: those are not its clients'
        calls). Raises TargetError."""
        client = self.client(2.0)
        try:
            stats = client.info("commandstats")
            # keys: cmdstat_get, or cmdstat_client|kill for a subcommand (Redis 7)
            names = {k: k.removeprefix("cmdstat_").split("|")[0] for k in stats}
            counted = {k for k, name in names.items() if name not in _NOT_CALLS}
            if reads_only and counted:
                writes = _write_commands(client, sorted({names[k] for k in counted}))
                counted = {k for k in counted if names[k] not in writes}
            return sum(int(stats[k]["calls"]) for k in counted)
        except (redis.RedisError, OSError, KeyError, ValueError, TypeError) as exc:
            raise TargetError(f"redis {self.redacted}: INFO commandstats: {exc}") from exc
        finally:
            client.close()

    def role(self) -> str:
        try:
            client = self.client(2.0)
        except TargetError:
            return "unreachable"
        try:
            return str(client.execute_command("ROLE")[0])  # type: ignore[no-untyped-call]
        except (redis.RedisError, OSError):
            return "unreachable"
        finally:
            client.close()


def _write_commands(client: redis.Redis, names: list[str]) -> set[str]:
    """Those of ``names`` that COMMAND INFO flags ``write``."""
    found = client.execute_command("COMMAND", "INFO", *names)  # type: ignore[no-untyped-call]
    rows = found.values() if isinstance(found, dict) else found  # redis-py parses it, or not
    writes = set()
    for row in rows:
        if isinstance(row, dict):
            name, flags = row.get("name"), row.get("flags", [])
        elif row:
            name, flags = row[0], row[2]
        else:
            continue
        text = {f.decode() if isinstance(f, bytes) else str(f) for f in flags}
        if "write" in text:
            writes.add(name.decode() if isinstance(name, bytes) else str(name))
    return writes
