"""The Redis driver: admin commands against the server itself (never through the fault proxy), with
the commands that undo them worked out, from the server's current settings, before anything changes."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis

from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext._processes import ProcessRecord, alive, log_tail, spawn_detached, stop
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.redis.server import RedisServer, redis_client
from chaoslib_ext.faults.redis.spec import RedisFault

__all__ = ["RedisDriver", "redis_client", "remove_redis_fault"]

_FAILOVER_TIMEOUT_S = 15.0
Command = list[str]


def _failover(source: RedisServer, to: RedisServer) -> None:
    """Hand the primary role from ``source`` to its replica ``to`` and wait until it holds."""
    host, port = to.host_port
    source.run([["FAILOVER", "TO", host, str(port), "TIMEOUT", str(int(_FAILOVER_TIMEOUT_S * 1000))]])
    deadline = time.monotonic() + _FAILOVER_TIMEOUT_S
    while time.monotonic() < deadline:
        if to.role() == "master" and source.role() == "slave":
            return
        time.sleep(0.1)
    raise TargetError(
        f"failover to {to.redacted} did not complete in {_FAILOVER_TIMEOUT_S:g}s (roles: {source.role()} / {to.role()})"
    )


class RedisDriver:
    name = "redis"

    def __init__(self, server: RedisServer, fault: RedisFault, replica: RedisServer | None, state_dir: Path) -> None:
        if fault.kind == "failover" and replica is None:
            raise TargetError("failover needs a replica: the target has no redis-replica service")
        self._server = server
        self._fault = fault
        self._replica = replica
        self._state_dir = state_dir
        self.details: dict[str, Any] = {}

    @property
    def expires_by_itself(self) -> bool:
        """A pause is bounded by Redis, a block by its blocker's deadline, a kill is over at once;
        memory settings and a failover stay until they are undone."""
        return self._fault.kind not in ("memory-pressure", "failover")

    def target(self) -> str:
        if self._fault.kind == "failover" and self._replica is not None:
            return f"redis {self._server.redacted} -> replica {self._replica.redacted}"
        return f"redis {self._server.redacted}"

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
        step: dict[str, Any] = {"kind": "RedisFault", "server": self._server.redacted, "fault": f.to_json()}
        if f.kind == "block-server":
            step["process"] = f"DEBUG SLEEP {f.slice_s:g} repeatedly for {f.duration_s:g}s, from a helper process"
        elif f.kind == "failover" and self._replica is not None:
            step["commands"] = [f"FAILOVER TO {self._replica.redacted}"]
        else:
            step["commands"] = [" ".join(c) for c in self._commands()]
        return [step]

    def undo(self, fault_id: str) -> dict[str, Any]:
        f = self._fault
        record: dict[str, Any] = {"server": self._server.ref, "commands": []}
        if f.kind == "pause-clients":
            record["commands"] = [["CLIENT", "UNPAUSE"]]
        elif f.kind == "memory-pressure":
            # the exact prior settings, read before anything changes
            client = self._server.client()
            try:
                prior = client.config_get("maxmemory*")
            except (redis.RedisError, OSError) as exc:
                raise TargetError(f"redis {self._server.redacted}: CONFIG GET maxmemory: {exc}") from exc
            finally:
                client.close()
            record["commands"] = [
                ["CONFIG", "SET", "maxmemory", prior["maxmemory"]],
                ["CONFIG", "SET", "maxmemory-policy", prior["maxmemory-policy"]],
            ]
        elif f.kind == "block-server":
            record["blocker"] = str(self._state_dir / f"{fault_id}.blocker.json")
        elif f.kind == "failover" and self._replica is not None:
            record["failover"] = {"primary": self._server.ref, "replica": self._replica.ref}
        return record

    def inject(self, fault_id: str) -> float:
        f = self._fault
        if f.kind == "block-server":
            argv = [
                sys.executable,
                "-m",
                "chaoslib_ext.faults.redis.blocker",
                "--target",
                str(self._server.target_file),
                "--service",
                self._server.service,
                "--slice",
                str(f.slice_s),
                "--until",
                str(time.time() + (f.duration_s or 0)),
            ]
            blocker = spawn_detached(f"blocker-{fault_id}", argv, self._state_dir / f"{fault_id}.blocker.log")
            write_json_atomic(self._state_dir / f"{fault_id}.blocker.json", blocker.to_json())
            return _wait_blocked(self._server, blocker)
        elif f.kind == "failover":
            assert self._replica is not None
            _failover(self._server, self._replica)
        else:
            self._server.run(self._commands())
        return time.time()


def _wait_blocked(server: RedisServer, blocker: ProcessRecord, within_s: float = 15.0) -> float:
    """The time the server stopped answering: the blocker process needs a moment to start, and the
    fault is not in place before its first DEBUG SLEEP is."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        probe = server.client(timeout_s=0.05)
        try:
            probe.ping()
        except redis.TimeoutError:
            return time.time() - 0.05
        except (redis.RedisError, OSError) as exc:
            raise TargetError(f"redis {server.redacted}: {exc}") from exc
        finally:
            probe.close()
        if not alive(blocker):
            raise TargetError(f"the Redis blocker exited before blocking: {log_tail(Path(blocker.log))}")
        time.sleep(0.02)
    stop(blocker, grace_s=5)
    raise TargetError(f"redis {server.redacted} still answered {within_s:g}s after DEBUG SLEEP was started")


def _server(undo: Mapping[str, Any], key: str = "server") -> RedisServer:
    ref = undo.get(key)
    return RedisServer.from_ref(dict(ref) if isinstance(ref, Mapping) else {"url": undo.get("url", ref)})


def remove_redis_fault(undo: Mapping[str, Any]) -> bool:
    """Undo from the record alone: run its commands, stop its blocker, hand the primary role back.
    The server's credentials are looked up again from the target the record names."""
    did = False
    if undo.get("commands"):
        _server(undo).run([list(c) for c in undo["commands"]])
        did = True
    blocker = Path(str(undo["blocker"])) if undo.get("blocker") else None
    if blocker is not None and blocker.exists():
        did = stop(ProcessRecord.from_json(read_json(blocker)), grace_s=10) or did
    failover = undo.get("failover")
    if failover:
        primary, replica = _server(failover, "primary"), _server(failover, "replica")
        if replica.role() == "master":
            _failover(replica, primary)
            did = True
    return did
