"""The Redis driver: admin commands against the server itself (never through the fault proxy), with
the commands that undo them worked out, from the server's current settings, before anything changes."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import redis

from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext._processes import ProcessRecord, alive, log_tail, spawn_detached, stop
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.driver import Injected
from chaoslib_ext.faults.redis.server import RedisServer, redis_client
from chaoslib_ext.faults.redis.spec import RedisFault, RedisKind

__all__ = [
    "BlockServer",
    "Failover",
    "KillClients",
    "MemoryPressure",
    "PauseClients",
    "RedisDriver",
    "redis_client",
    "redis_driver",
]

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
    """The Redis faults, one subclass a kind (:func:`redis_driver` picks it); ``remove`` undoes any of
    them from its record: the commands it lists, its blocker process, the failover back."""

    name: ClassVar[str] = "redis"
    expires_by_itself = True

    def __init__(
        self, server: RedisServer, fault: RedisFault, state_dir: Path, peers: tuple[RedisServer, ...] = ()
    ) -> None:
        self._server = server
        self._fault = fault
        self._state_dir = state_dir
        self._peers = peers  # the target's other Redis servers: the calls that did not go through the fault

    def _calls_before(self) -> dict[str, Any]:
        """The calls counted so far on the faulted server and, reads only, on its peers: read before the
        fault (a paused or blocked server would not answer after); a peer that cannot say is left out."""
        peers = []
        for peer in self._peers:
            try:
                peers.append({"server": peer.ref, "calls_before": peer.calls(reads_only=True)})
            except TargetError:
                continue
        return {"calls_server": self._server.ref, "calls_before": self._server.calls(), "peers": peers}

    def target(self) -> str:
        return f"redis {self._server.redacted}"

    def _step(self) -> dict[str, Any]:
        return {"kind": "RedisFault", "server": self._server.redacted, "fault": self._fault.to_json()}

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return [{**self._step(), "commands": [" ".join(c) for c in self._commands()]}]

    def _commands(self) -> list[Command]:
        """The admin commands that inject the fault."""
        return []

    def undo(self, fault_id: str) -> dict[str, Any]:
        return {"server": self._server.ref, "commands": []}

    def inject(self, fault_id: str) -> Injected:
        before = self._calls_before()
        self._server.run(self._commands())
        return Injected(time.time(), before)

    @staticmethod
    def evidence(undo: Mapping[str, Any], details: Mapping[str, Any]) -> dict[str, float] | None:
        """The clients' calls the faulted server processed from the injection to now (after the removal):
        the evidence that traffic reached the faulted dependency; ``calls_all`` adds its peers' reads
        (the target's other Redis servers), so calls / calls_all is the share that went through the
        fault. None for a fault that recorded no count."""
        before = details.get("calls_before")
        if not isinstance(before, int):
            return None
        ref = details.get("calls_server")
        server = RedisServer.from_ref(dict(ref)) if isinstance(ref, Mapping) else _server(undo)
        calls = max(0, server.calls() - before)
        peers = [p for p in details.get("peers", ()) if isinstance(p, Mapping)]
        if not peers:
            return {"calls": calls}
        others = sum(max(0, RedisServer.from_ref(dict(p["server"])).calls(reads_only=True) - int(p["calls_before"]))
                     for p in peers)  # fmt: skip
        return {"calls": calls, "calls_all": calls + others}

    @staticmethod
    def remove(undo: Mapping[str, Any]) -> bool:
        """Undo from the record alone: run its commands, stop its blocker, hand the primary role back.
        The server's credentials are looked up again from the target the record names."""
        did = False
        if undo.get("commands"):
            server = _server(undo)
            needed = _still_needed(server, [list(c) for c in undo["commands"]])
            server.run(needed)
            did = bool(needed)
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


class PauseClients(RedisDriver):
    """CLIENT PAUSE, bounded by Redis itself; CLIENT UNPAUSE undoes it early."""

    def _commands(self) -> list[Command]:
        return [["CLIENT", "PAUSE", str(int((self._fault.duration_s or 0) * 1000)), self._fault.pause_mode]]

    def undo(self, fault_id: str) -> dict[str, Any]:
        return {"server": self._server.ref, "commands": [["CLIENT", "UNPAUSE"]]}


class KillClients(RedisDriver):
    """CLIENT KILL of one type of client: a single blow, nothing to undo."""

    def _commands(self) -> list[Command]:
        return [["CLIENT", "KILL", "TYPE", self._fault.client_type, "SKIPME", "yes"]]


class MemoryPressure(RedisDriver):
    """maxmemory lowered and a policy set; the exact prior settings, read before, come back."""

    expires_by_itself = False

    def _commands(self) -> list[Command]:
        return [
            ["CONFIG", "SET", "maxmemory", str(self._fault.maxmemory_bytes)],
            ["CONFIG", "SET", "maxmemory-policy", self._fault.policy],
        ]

    def undo(self, fault_id: str) -> dict[str, Any]:
        client = self._server.client()
        try:
            prior = client.config_get("maxmemory*")
        except (redis.RedisError, OSError) as exc:
            raise TargetError(f"redis {self._server.redacted}: CONFIG GET maxmemory: {exc}") from exc
        finally:
            client.close()
        return {
            "server": self._server.ref,
            "commands": [
                ["CONFIG", "SET", "maxmemory", prior["maxmemory"]],
                ["CONFIG", "SET", "maxmemory-policy", prior["maxmemory-policy"]],
            ],
        }


class BlockServer(RedisDriver):
    """DEBUG SLEEP in slices from a helper process until a deadline; stopping the helper undoes it."""

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        f = self._fault
        return [{**self._step(), "process": f"DEBUG SLEEP {f.slice_s:g} repeatedly for {f.duration_s:g}s, "
                 "from a helper process"}]  # fmt: skip

    def undo(self, fault_id: str) -> dict[str, Any]:
        return {"server": self._server.ref, "commands": [], "blocker": str(self._blocker_file(fault_id))}

    def _blocker_file(self, fault_id: str) -> Path:
        return self._state_dir / f"{fault_id}.blocker.json"

    def inject(self, fault_id: str) -> Injected:
        f = self._fault
        argv = [sys.executable, "-m", "chaoslib_ext.faults.redis.blocker", "--target", str(self._server.target_file),
                "--service", self._server.service, "--slice", str(f.slice_s),
                "--until", str(time.time() + (f.duration_s or 0))]  # fmt: skip
        before = self._calls_before()
        blocker = spawn_detached(f"blocker-{fault_id}", argv, self._state_dir / f"{fault_id}.blocker.log")
        write_json_atomic(self._blocker_file(fault_id), blocker.to_json())
        return Injected(_wait_blocked(self._server, blocker), before)


class Failover(RedisDriver):
    """FAILOVER to the replica; handing the primary role back undoes it."""

    expires_by_itself = False

    def __init__(self, server: RedisServer, fault: RedisFault, state_dir: Path, replica: RedisServer) -> None:
        super().__init__(server, fault, state_dir)
        self._replica = replica

    def target(self) -> str:
        return f"redis {self._server.redacted} -> replica {self._replica.redacted}"

    def plan(self, fault_id: str) -> list[dict[str, Any]]:
        return [{**self._step(), "commands": [f"FAILOVER TO {self._replica.redacted}"]}]

    def undo(self, fault_id: str) -> dict[str, Any]:
        failover = {"primary": self._server.ref, "replica": self._replica.ref}
        return {"server": self._server.ref, "commands": [], "failover": failover}

    def inject(self, fault_id: str) -> Injected:
        # no count: clients pinned to the former primary keep calling it (a replica now), others follow
        # the new one; which server's calls went "through" a failover is not one number (coverage unknown)
        _failover(self._server, self._replica)
        return Injected(time.time())


_KINDS: dict[RedisKind, type[RedisDriver]] = {
    "pause-clients": PauseClients,
    "kill-clients": KillClients,
    "memory-pressure": MemoryPressure,
    "block-server": BlockServer,
}


def redis_driver(server: RedisServer, fault: RedisFault, replica: RedisServer | None, state_dir: Path) -> RedisDriver:
    """The driver of ``fault``'s kind; TargetError for a failover without a replica."""
    if fault.kind == "failover":
        if replica is None:
            raise TargetError("failover needs a replica: the target has no redis-replica service")
        return Failover(server, fault, state_dir, replica)
    return _KINDS[fault.kind](server, fault, state_dir, peers=(replica,) if replica is not None else ())


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


def _still_needed(server: RedisServer, commands: list[Command]) -> list[Command]:
    """The undo commands that would change something: a CONFIG SET of a value already in place, or an
    UNPAUSE of a server not paused (Redis 7's ``paused_reason``), changes nothing."""
    client = server.client()
    try:
        needed = []
        for c in commands:
            head = [w.upper() for w in c[:2]]
            if head == ["CONFIG", "SET"] and str(client.config_get(c[2]).get(c[2])) == str(c[3]):
                continue
            if head == ["CLIENT", "UNPAUSE"] and client.info("clients").get("paused_reason", "?") == "none":
                continue
            needed.append(c)
        return needed
    except (redis.RedisError, OSError) as exc:
        raise TargetError(f"redis {server.redacted}: reading what to undo: {exc}") from exc
    finally:
        client.close()


def _server(undo: Mapping[str, Any], key: str = "server") -> RedisServer:
    ref = undo.get(key)
    return RedisServer.from_ref(dict(ref) if isinstance(ref, Mapping) else {"url": undo.get("url", ref)})
