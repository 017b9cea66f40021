"""Processes we start and stop: identified by PID *and* kernel start time, so a recycled PID is never hit.

A process is recorded when spawned; ``stop`` signals it only if the PID still names that very process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["ProcessRecord", "alive", "log_tail", "reap", "spawn_detached", "start_ticks", "stop", "stopped"]


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int  # field 22 of /proc/<pid>/stat: start time in clock ticks since boot
    argv: tuple[str, ...]
    log: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "argv": list(self.argv)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ProcessRecord:
        return cls(str(raw["name"]), int(raw["pid"]), int(raw["start_ticks"]), tuple(raw["argv"]), str(raw["log"]))


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start ticks) of ``pid``, or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[19])


def start_ticks(pid: int) -> int:
    stat = _stat(pid)
    if stat is None:
        raise ProcessLookupError(pid)
    return stat[1]


def alive(record: ProcessRecord) -> bool:
    """True while the recorded process runs (a zombie counts as gone)."""
    stat = _stat(record.pid)
    return stat is not None and stat[1] == record.start_ticks and stat[0] not in ("Z", "X")


def stopped(record: ProcessRecord) -> bool:
    """True while the recorded process is stopped by a signal (SIGSTOP: state T)."""
    stat = _stat(record.pid)
    return stat is not None and stat[1] == record.start_ticks and stat[0] == "T"


def spawn_detached(name: str, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> ProcessRecord:
    """Start ``argv`` in its own session, stdin from /dev/null, stdout and stderr appended to ``log``.

    Raises FileNotFoundError when the executable does not exist.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    pid = os.posix_spawn(
        argv[0], list(argv), dict(env if env is not None else os.environ), file_actions=actions, setsid=True
    )
    return ProcessRecord(name, pid, start_ticks(pid), tuple(argv), str(log))


def log_tail(path: str | Path, lines: int = 15) -> str:
    """The last lines of a process's log, for error messages."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child (init collects it otherwise)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop(record: ProcessRecord, grace_s: float = 10.0, sig: int = signal.SIGTERM) -> bool:
    """Signal the recorded process, wait up to ``grace_s``, then SIGKILL it; True if it was running."""
    if not alive(record):
        reap(record.pid)
        return False
    os.kill(record.pid, sig)
    if sig != signal.SIGKILL:
        os.kill(record.pid, signal.SIGCONT)  # a stopped process (SIGSTOP) handles the signal once resumed
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        reap(record.pid)
        if not alive(record):
            return True
        time.sleep(0.02)
    if alive(record):
        os.kill(record.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0  # a process stuck in the kernel (state D) may outlive SIGKILL a while
        while alive(record) and time.monotonic() < deadline:
            reap(record.pid)
            time.sleep(0.01)
    return True
