"""Where the system under test is: its services' addresses and the fault proxy in front of them.

A target file (JSON or YAML) is what ``chaosllm sandbox status --json`` prints::

    {"kind": "chaosllm/target", "version": 1, "name": "sandbox",
     "services": {"gateway": {"address": "http://127.0.0.1:41001", "real": "http://127.0.0.1:41000",
                              "link": "gateway"}, ...},
     "proxy": {"control_url": "http://127.0.0.1:41009",
               "links": {"gateway": {"listen": "127.0.0.1:41001", "upstream": "127.0.0.1:41000"}}}}

``address`` is what clients use (through the proxy when the service has a ``link``), ``real`` the
server behind it. An experiment names its target in ``configuration.chaosllm_target``: ``sandbox``
(the embedded sandbox started by ``chaosllm sandbox up``) or the path of a target file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaoslib_ext.exceptions import TargetError

__all__ = [
    "SANDBOX",
    "Service",
    "Target",
    "load_target",
    "sandbox_state_file",
    "state_dir",
]

SANDBOX = "sandbox"
TARGET_KIND = "chaosllm/target"


def state_dir() -> Path:
    """Where chaosllm keeps machine-local state: ``$CHAOSLLM_STATE_DIR``, else the XDG state dir."""
    explicit = os.environ.get("CHAOSLLM_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "chaosllm"


def sandbox_state_file() -> Path:
    return state_dir() / "sandbox" / "sandbox.json"


@dataclass(frozen=True)
class Service:
    name: str
    address: str
    real: str
    link: str | None = None


@dataclass(frozen=True)
class Target:
    name: str
    services: dict[str, Service]
    proxy_control_url: str | None = None
    links: dict[str, dict[str, str]] = field(default_factory=dict)

    def service(self, name: str) -> Service:
        if name not in self.services:
            raise TargetError(
                f"target {self.name!r} has no service {name!r} (accepted: {', '.join(sorted(self.services))})"
            )
        return self.services[name]

    def require_proxy(self) -> str:
        if not self.proxy_control_url:
            raise TargetError(f"target {self.name!r} has no fault proxy: local network faults need one")
        return self.proxy_control_url

    def require_link(self, link: str) -> str:
        """The proxy control URL, after checking the proxy has ``link``."""
        control = self.require_proxy()
        if link not in self.links:
            raise TargetError(
                f"target {self.name!r} has no proxy link {link!r} (accepted: {', '.join(sorted(self.links))})"
            )
        return control

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": TARGET_KIND,
            "version": 1,
            "name": self.name,
            "services": {
                s.name: {"address": s.address, "real": s.real, **({"link": s.link} if s.link else {})}
                for s in self.services.values()
            },
        }
        if self.proxy_control_url:
            out["proxy"] = {"control_url": self.proxy_control_url, "links": self.links}
        return out

    @classmethod
    def from_json(cls, raw: Any, origin: str) -> Target:
        """Parse a target document; raises TargetError naming ``origin`` and the bad field."""
        if not isinstance(raw, Mapping) or raw.get("kind") != TARGET_KIND:
            raise TargetError(f"{origin}: not a chaosllm target (expected kind: {TARGET_KIND})")
        try:
            services = {
                name: Service(name, str(s["address"]), str(s.get("real", s["address"])), s.get("link"))
                for name, s in dict(raw["services"]).items()
            }
            proxy = raw.get("proxy") or {}
            links = {str(k): dict(v) for k, v in dict(proxy.get("links") or {}).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise TargetError(f"{origin}: malformed target: {exc}") from exc
        return cls(str(raw.get("name", origin)), services, proxy.get("control_url"), links)


def load_target(ref: str) -> Target:
    """The target ``ref`` names: ``sandbox`` or a target file path; raises TargetError."""
    path = sandbox_state_file() if ref == SANDBOX else Path(ref)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if ref == SANDBOX:
            raise TargetError(f"the sandbox is not running (no {path}): start it with `chaosllm sandbox up`") from None
        raise TargetError(f"target file {ref} does not exist") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise TargetError(f"{path}: cannot parse target: {exc}") from exc
    return Target.from_json(raw, str(path))
