"""Every error chaoslib_ext raises, under Chaos Toolkit's own base classes. The tree is closed: a
test fails on an error class defined anywhere else (private control-flow classes, ``_Name``, aside).

    ChaosException                       (chaoslib)
    ├── InvalidExperiment                (chaoslib)
    │   └── ExperimentInvalid            the file cannot run as written; carries located errors
    └── ActivityFailed                   (chaoslib)
        └── ChaosLLMError
            ├── TargetError              a target is unreachable or cannot do what was asked
            │   ├── ServiceStartError    a process we started (a sandbox service, a run's proxy) never came up
            │   ├── SandboxError         the sandbox cannot be started as asked
            │   │   └── SandboxRunningError  ``sandbox up`` while one already runs
            │   ├── ProbeError           a safeguard's probe (HTTP, Prometheus) gave no usable answer
            │   └── ControlError         a run's control endpoint refused a request or did not answer
            ├── LoadError                the load generator could not start or died
            ├── SamplesFormatError       a run's samples are of a format this release cannot read
            └── FaultError
                ├── FaultInjectionError  a fault could not be injected
                ├── FaultRemovalError    a fault could not be removed
                └── LedgerError          the ledger was asked for a fault it does not hold, or twice for one

    ValueError
    ├── SpecError                        one bad field in a spec: the field, the value, the accepted values
    ├── HttpProtocolError                a response the load client read broke HTTP/1.1 (chaoslib_ext.load.http1)
    └── UsageError                       a command-line argument that cannot be used (exit code 2)
        └── SideError                    a side of a comparison is not a run directory, or not two sides

Activities raise ``ChaosLLMError`` subclasses so that Chaos Toolkit records them as failed
activities; ``SpecError`` is what parsers raise and what the validator turns into
``file:line:col`` messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from chaoslib.exceptions import ActivityFailed, InvalidExperiment

__all__ = [
    "ChaosLLMError",
    "ControlError",
    "ExperimentInvalid",
    "FaultError",
    "FaultInjectionError",
    "FaultRemovalError",
    "HttpProtocolError",
    "LedgerError",
    "LoadError",
    "ProbeError",
    "Problem",
    "SamplesFormatError",
    "SandboxError",
    "SandboxRunningError",
    "ServiceStartError",
    "SideError",
    "SpecError",
    "TargetError",
    "UsageError",
]


class SpecError(ValueError):
    """One bad field: ``field`` is a dotted path relative to the spec being parsed."""

    def __init__(self, field: str, message: str, accepted: str | None = None) -> None:
        self.field = field
        self.message = message
        self.accepted = accepted
        text = f"{field}: {message}" if field else message
        if accepted:
            text += f" (accepted: {accepted})"
        super().__init__(text)

    def under(self, prefix: str) -> SpecError:
        """The same error with ``prefix`` prepended to its field path."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        if self.field.startswith("["):
            field = f"{prefix}{self.field}"
        return SpecError(field, self.message, self.accepted)


@dataclass(frozen=True)
class Problem:
    """A located validation error, printed as ``file:line:col: message``."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        message = " ".join(self.message.split())  # one line per problem, whatever the message held
        return f"{self.file}:{self.line}:{self.col}: {message}"


class ExperimentInvalid(InvalidExperiment):  # type: ignore[misc]
    """The experiment cannot run as written; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ChaosLLMError(ActivityFailed):  # type: ignore[misc]
    """Base class of the errors our activities raise."""


class TargetError(ChaosLLMError):
    """A target is unreachable or not described well enough to act on."""


class LoadError(ChaosLLMError):
    """The load generator could not start, or stopped on its own."""


class SamplesFormatError(ChaosLLMError):
    """Raised by the samples readers for a directory written by a newer release (or not samples)."""


class FaultError(ChaosLLMError):
    """A fault could not be applied or removed."""


class FaultInjectionError(FaultError):
    """A fault could not be injected; nothing of it is left in place."""


class FaultRemovalError(FaultError):
    """A fault could not be removed; it is still listed in the ledger."""


class LedgerError(FaultError):
    """A fault id added twice to a run's ledger, or updated without being in it."""


class ServiceStartError(TargetError):
    """Raised when a process chaoslib_ext started does not come up; the message holds its log's end."""


class SandboxError(TargetError):
    """Raised when the sandbox cannot be started as asked."""


class SandboxRunningError(SandboxError):
    """Raised by ``sandbox up`` while a sandbox already runs."""


class ProbeError(TargetError):
    """Raised when a safeguard's probe gives no usable answer (which breaches its condition)."""


class ControlError(TargetError):
    """Raised when a run's control endpoint refuses a request (its message) or does not answer."""


class HttpProtocolError(ValueError):
    """A response broke HTTP/1.1: a bad status line or chunk size, or a body cut before its end."""


class UsageError(ValueError):
    """Raised for a command-line argument that cannot be used; the CLI exits 2 with its message."""


class SideError(UsageError):
    """Raised when a path given to compare is not a run directory nor a directory of them, or its
    load did not alternate two sides."""
