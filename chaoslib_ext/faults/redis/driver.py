"""The Redis driver: admin commands against the server itself (never through the fault proxy), with
the commands that undo them worked out, from the server's current settings, before anything changes."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.redis.spec import RedisFault
from chaoslib_ext.jsonfile import read_json, write_json_atomic
from chaoslib_ext.processes import ProcessRecord, alive, log_tail, spawn_detached, stop

__all__ = ["RedisDriver", "redis_client", "remove_redis_fault"]

_FAILOVER_TIMEOUT_S = 15.0
Command = list[str]


def redis_client(url: str, timeout_s: float = 5.0) -> redis.Redis:
    """A client that sees failures: no retries, a deadline on every call."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


def _run(url: str, commands: list[Command]) -> None:
    client = redis_client(url)
    try:
        for command in commands:
            client.execute_command(*command)  # type: ignore[no-untyped-call]
    except (redis.RedisError, OSError) as exc:
        raise TargetError(f"redis {_redact(url)}: {' '.join(command)}: {exc}") from exc
    finally:
        client.close()


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _role(url: str) -> str:
    client = redis_client(url, timeout_s=2.0)
    try:
        return str(client.execute_command("ROLE")[0])  # type: ignore[no-untyped-call]
    except (redis.RedisError, OSError):
        return "unreachable"
    finally:
        client.close()


def _failover(from_url: str, to_url: str) -> None:
    """Hand the primary role from ``from_url`` to its replica ``to_url`` and wait until it holds."""
    to = urlsplit(to_url)
    _run(
        from_url, [["FAILOVER", "TO", str(to.hostname), str(to.port), "TIMEOUT", str(int(_FAILOVER_TIMEOUT_S * 1000))]]
    )
    deadline = time.monotonic() + _FAILOVER_TIMEOUT_S
    while time.monotonic() < deadline:
        if _role(to_url) == "master" and _role(from_url) == "slave":
            return
        time.sleep(0.1)
    raise TargetError(
        f"failover to {_redact(to_url)} did not complete in {_FAILOVER_TIMEOUT_S:g}s "
        f"(roles: {_role(from_url)} / {_role(to_url)})"
    )


class RedisDriver:
    name = "redis"

    def __init__(self, url: str, fault: RedisFault, replica_url: str | None, state_dir: Path) -> None:
        if fault.kind == "failover" and not replica_url:
            raise TargetError("failover needs a replica: the target has no redis-replica service")
        self._url = url
        self._fault = fault
        self._replica = replica_url
        self._state_dir = state_dir
        self.details: dict[str, Any] = {}

    def target(self) -> str:
        if self._fault.kind == "failover":
            return f"redis {_redact(self._url)} -> replica {_redact(self._replica or '')}"
        return f"redis {_redact(self._url)}"

    def _commands(self) -> list[Command]:
        f = self._fault
        if f.kind == "pause-clients":
            return [["CLIENT", "PAUSE", str(int((f.duration_s or 0) * 1000)), f.pause_mode]]
        if f.kind == "kill-clients":
            return [["CLIENT", "KILL", "TYPE", f.client_type, "SKIPME", "yes"]]
        if f.kind == "memory-pressure":
            return [
                ["CONFIG", "SET", "maxmemory", str(f.maxmemory_bytes)],
                ["CONFIG", "SET", "maxmemory-policy", f.policy],
            ]
        return []

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        f = self._fault
        step: dict[str, Any] = {"kind": "RedisFault", "server": _redact(self._url), "fault": f.to_json()}
        if f.kind == "block-server":
            step["process"] = f"DEBUG SLEEP {f.slice_s:g} repeatedly for {f.duration_s:g}s, from a helper process"
        elif f.kind == "failover":
            step["commands"] = [
                f"FAILOVER TO {urlsplit(self._replica or '').hostname} {urlsplit(self._replica or '').port}"
            ]
        else:
            step["commands"] = [" ".join(c) for c in self._commands()]
        return [step]

    def undo(self, fault_id: str) -> dict[str, Any]:
        f = self._fault
        record: dict[str, Any] = {"url": self._url, "commands": []}
        if f.kind == "pause-clients":
            record["commands"] = [["CLIENT", "UNPAUSE"]]
        elif f.kind == "memory-pressure":
            # the exact prior settings, read before anything changes
            client = redis_client(self._url)
            try:
                prior = client.config_get("maxmemory*")
            except (redis.RedisError, OSError) as exc:
                raise TargetError(f"redis {_redact(self._url)}: CONFIG GET maxmemory: {exc}") from exc
            finally:
                client.close()
            record["commands"] = [
                ["CONFIG", "SET", "maxmemory", prior["maxmemory"]],
                ["CONFIG", "SET", "maxmemory-policy", prior["maxmemory-policy"]],
            ]
        elif f.kind == "block-server":
            record["blocker"] = str(self._state_dir / f"{fault_id}.blocker.json")
        elif f.kind == "failover":
            record["failover"] = {"primary": self._url, "replica": self._replica}
        return record

    def inject(self, fault_id: str) -> float:
        f = self._fault
        if f.kind == "block-server":
            argv = [
                sys.executable,
                "-m",
                "chaoslib_ext.faults.redis.blocker",
                "--url",
                self._url,
                "--slice",
                str(f.slice_s),
                "--until",
                str(time.time() + (f.duration_s or 0)),
            ]
            blocker = spawn_detached(f"blocker-{fault_id}", argv, self._state_dir / f"{fault_id}.blocker.log")
            write_json_atomic(self._state_dir / f"{fault_id}.blocker.json", blocker.to_json())
            return _wait_blocked(self._url, blocker)
        elif f.kind == "failover":
            assert self._replica is not None
            _failover(self._url, self._replica)
        else:
            _run(self._url, self._commands())
        return time.time()


def _wait_blocked(url: str, blocker: ProcessRecord, within_s: float = 15.0) -> float:
    """The time the server stopped answering: the blocker process needs a moment to start, and the
    fault is not in place before its first DEBUG SLEEP is."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        probe = redis_client(url, timeout_s=0.05)
        try:
            probe.ping()
        except redis.TimeoutError:
            return time.time() - 0.05
        except (redis.RedisError, OSError) as exc:
            raise TargetError(f"redis {_redact(url)}: {exc}") from exc
        finally:
            probe.close()
        if not alive(blocker):
            raise TargetError(f"the Redis blocker exited before blocking: {log_tail(Path(blocker.log))}")
        time.sleep(0.02)
    stop(blocker, grace_s=5)
    raise TargetError(f"redis {_redact(url)} still answered {within_s:g}s after DEBUG SLEEP was started")


def remove_redis_fault(undo: Mapping[str, Any]) -> bool:
    """Undo from the record alone: run its commands, stop its blocker, hand the primary role back."""
    did = False
    if undo.get("commands"):
        _run(str(undo["url"]), [list(c) for c in undo["commands"]])
        did = True
    blocker = Path(str(undo["blocker"])) if undo.get("blocker") else None
    if blocker is not None and blocker.exists():
        did = stop(ProcessRecord.from_json(read_json(blocker)), grace_s=10) or did
    failover = undo.get("failover")
    if failover and _role(failover["replica"]) == "master":
        _failover(failover["replica"], failover["primary"])
        did = True
    return did
