"""Secret values never leave the process in clear: not in the run directory, the report, the logs.

The values come from the experiment's ``secrets`` block once Chaos Toolkit resolved it (env, inline),
from the secrets of ``--var-file``, from credential headers (``--header``, ``--header-env``, a load
block's headers), from passwords in target URLs and from the credentials a target file names
(``SecretRef``: ``{env: VAR}`` or ``{secret: NAME}``, resolved only when used). They are registered for
the process; every JSON file of a run (``jsonfile.write_json_atomic``), the journal, the reports and
every log line of our handlers pass through ``scrub``. The load generator gets header values through
its environment, never through a file. Values shorter than ``MIN_LENGTH`` characters are not
registered: scrubbing them would shred ordinary text (a secret that short is not one).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from chaoslib_ext.exceptions import SpecError, TargetError
from chaoslib_ext.fields import Fields

__all__ = [
    "MIN_LENGTH",
    "REDACTED",
    "Credential",
    "ScrubFilter",
    "SecretRef",
    "guard",
    "is_credential_header",
    "leaf_values",
    "parse_credential",
    "redact_url",
    "register",
    "register_header",
    "register_named",
    "register_url",
    "resolve",
    "scrub",
    "scrub_data",
]

REDACTED = "***"
MIN_LENGTH = 4
_values: set[str] = set()
_named: dict[str, str] = {}  # the run's secrets by name (any scope), for SecretRef(secret=...)
#: header names whose values are credentials (compared lowercase)
_CREDENTIAL_HEADER = re.compile(r"authorization|cookie|key|token|secret|password|auth")


@dataclass(frozen=True)
class SecretRef:
    """A credential named, not written: an environment variable or a secret of the experiment
    (``secrets`` block or ``--var-file``), with an optional ``prefix`` such as ``"Bearer "``."""

    env: str | None = None
    secret: str | None = None
    prefix: str = ""

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"secret {self.secret!r}"

    def to_json(self) -> dict[str, str]:
        out = {"env": self.env} if self.env else {"secret": str(self.secret)}
        return {**out, **({"prefix": self.prefix} if self.prefix else {})}


#: a literal value, or a reference resolved when it is used
Credential = str | SecretRef


def parse_credential(raw: object, where: str) -> Credential:
    """A string, or ``{env: VAR}`` / ``{secret: NAME}`` with an optional ``prefix``; raises SpecError."""
    if isinstance(raw, str):
        return raw
    f = Fields(raw, ["env", "secret", "prefix"], where)
    env, secret = f.string("env", None), f.string("secret", None)
    if (env is None) == (secret is None):
        raise SpecError(where, "name one of env or secret", "{env: VAR} or {secret: NAME}, with an optional prefix")
    return SecretRef(env, secret, f.string("prefix", ""))


def resolve(value: Credential) -> str:
    """The clear value (registered for scrubbing); raises TargetError naming what is missing."""
    if isinstance(value, str):
        return value
    found = os.environ.get(value.env) if value.env else _named.get(str(value.secret))
    if not found:  # an empty credential is a mistake, not a credential
        hint = "set it" if value.env else "declare it in the experiment's secrets block or pass it with --var-file"
        raise TargetError(f"the {value.describe()} is not set or empty ({hint})")
    register([found])
    return value.prefix + found


def leaf_values(data: Any) -> Iterable[str]:
    """Every string (or number) at the leaves of a resolved secrets mapping."""
    if isinstance(data, Mapping):
        for value in data.values():
            yield from leaf_values(value)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from leaf_values(value)
    elif isinstance(data, str | int | float) and not isinstance(data, bool):
        yield str(data)


def register(values: Iterable[str]) -> None:
    _values.update(v for v in values if len(v) >= MIN_LENGTH)


def register_named(secrets: Mapping[str, Any]) -> None:
    """The run's resolved secrets, by scope or flat: every leaf registered, each name resolvable."""
    for key, value in secrets.items():
        if isinstance(value, Mapping):
            register_named(value)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            _named[str(key)] = str(value)
            register([str(value)])


def is_credential_header(name: str) -> bool:
    return bool(_CREDENTIAL_HEADER.search(name.lower()))


def register_header(name: str, value: str) -> None:
    """A credential header's value, and its token alone (``Bearer X``: X), are secrets."""
    if is_credential_header(name):
        register([value, value.split(" ", 1)[-1]])


def register_url(url: str) -> None:
    """The password in ``scheme://user:password@host`` is a secret."""
    parts = urlsplit(url)
    register([p for p in (parts.password,) if p])


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{user}{REDACTED}@{host}", parts.path, parts.query, parts.fragment))


def guard(values: Iterable[str], *loggers: logging.Logger) -> None:
    """Register ``values``, and scrub every handler of the root logger and of ``loggers``."""
    register(values)
    for logger in (logging.getLogger(), *loggers):
        for handler in logger.handlers:
            if not any(isinstance(f, ScrubFilter) for f in handler.filters):
                handler.addFilter(ScrubFilter())


def scrub(text: str) -> str:
    for value in sorted(_values, key=len, reverse=True):  # a secret containing another goes first
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def scrub_data(data: Any) -> Any:
    """``data`` with every registered value replaced in every string, keys included."""
    if not _values:
        return data
    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, Mapping):
        return {scrub_data(k): scrub_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [scrub_data(v) for v in data]
    return data


class ScrubFilter(logging.Filter):
    """Rewrites a record's message (arguments formatted in) and its traceback text without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _values:
            record.msg = scrub(record.getMessage())
            record.args = None
            if record.exc_info:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True
