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

A target on Kubernetes with Chaos Mesh binds the same link names to pods instead of proxy links,
so one experiment runs on both (see experiments/k8s/target.example.yaml)::

    {"kind": "chaosllm/target", "version": 1, "name": "staging", "backend": "chaos-mesh",
     "services": {"redis": {"address": "redis://redis.llm:6379/0",
                            "pods": {"namespaces": ["llm"], "labelSelectors": {"app": "redis"}}}, ...},
     "links": {"redis": {"clients": ["gateway"], "server": "redis"}, "gateway": {"server": "gateway"}},
     "chaos_mesh": {"namespace": "llm", "allowed_namespaces": ["llm"], "kubeconfig": "~/.kube/config",
                    "context": "staging", "inject_timeout": "60s"}}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaoslib_ext.access import Endpoint, ServiceAuth
from chaoslib_ext.durations import parse_duration
from chaoslib_ext.exceptions import SpecError, TargetError
from chaoslib_ext.fields import Fields
from chaoslib_ext.secrets import register_url

__all__ = [
    "BACKENDS",
    "SANDBOX",
    "BlastRadius",
    "ChaosMeshSettings",
    "ClusterLink",
    "Service",
    "Target",
    "load_target",
    "sandbox_state_file",
    "state_dir",
]

SANDBOX = "sandbox"
TARGET_KIND = "chaosllm/target"
#: the control URL of a fault proxy the run will start for itself (planning before the run)
LOCAL_PROXY_PENDING = "(the fault proxy this run starts)"


def state_dir() -> Path:
    """Where chaosllm keeps machine-local state: ``$CHAOSLLM_STATE_DIR``, else the XDG state dir."""
    explicit = os.environ.get("CHAOSLLM_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "chaosllm"


def sandbox_state_file() -> Path:
    return state_dir() / "sandbox" / "sandbox.json"


BACKENDS = ("proxy", "chaos-mesh")


@dataclass(frozen=True)
class Service:
    name: str
    address: str
    real: str
    link: str | None = None
    pods: dict[str, Any] | None = None  # a Chaos Mesh pod selector, on a cluster target
    process: str | None = None  # the sandbox process running it, on the sandbox
    control: str | None = None  # a fault control API of the service itself (the sandbox's mock Kafka cluster)
    endpoint: Endpoint | None = None  # the gateway's path, model, headers and TLS (chaoslib_ext.access)
    auth: ServiceAuth | None = None  # Redis or Kafka credentials (chaoslib_ext.access)
    #: where the service exports its own Prometheus metrics (vLLM, TGI, the sandbox gateway): one URL per
    #: replica, each scraped on its own during a run (chaoslib_ext.scrape)
    metrics: tuple[str, ...] = ()
    #: on a cluster: every pod of ``pods`` scraped on its own at its IP, ``(scheme, port, path)``
    metrics_pods: tuple[str, int, str] | None = None


@dataclass(frozen=True)
class ClusterLink:
    """A client -> server path on a cluster: the client services' pods talk to the server's pods. A
    server whose clients are outside the cluster (the gateway) names their addresses instead
    (``external_clients``: IPs or CIDRs, e.g. the ingress controller's pods)."""

    name: str
    server: str
    clients: tuple[str, ...] = ()
    external_clients: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChaosMeshSettings:
    namespace: str
    allowed_namespaces: tuple[str, ...]
    kubeconfig: str | None = None
    context: str | None = None
    inject_timeout_s: float = 60.0
    blast_radius: BlastRadius = field(default_factory=lambda: BlastRadius())


@dataclass(frozen=True)
class BlastRadius:
    """How much of a cluster one fault may select (``chaos_mesh.blast_radius``)::

    blast_radius: {allow_mode_all: false, max_percent: 50, max_pods: 3}

    ``mode: all`` only when allowed; fixed-percent / random-max-percent values up to ``max_percent``;
    ``fixed`` counts up to ``max_pods`` (when set). Checked before anything is created."""

    allow_mode_all: bool = False
    max_percent: float = 50.0
    max_pods: int | None = None


@dataclass(frozen=True)
class Target:
    name: str
    services: dict[str, Service]
    proxy_control_url: str | None = None
    links: dict[str, dict[str, str]] = field(default_factory=dict)
    cluster_links: dict[str, ClusterLink] = field(default_factory=dict)
    chaos_mesh: ChaosMeshSettings | None = None
    processes: tuple[dict[str, Any], ...] = ()
    state_file: str | None = None  # the file this target was read from
    proxy_process: str | None = None  # the record of the fault proxy a run started for this target

    @property
    def backend(self) -> str:
        """Which backend applies faults: the fault proxy (local) or Chaos Mesh (a cluster). A cluster
        target may also name proxy links (``proxy: {links: {gateway: {upstream: URL}}}``): the run's own
        fault proxy in front of those services, which carries the stream faults of those links."""
        return "chaos-mesh" if self.chaos_mesh is not None else "proxy"

    def require_chaos_mesh(self) -> ChaosMeshSettings:
        if self.chaos_mesh is None:
            raise TargetError(f"target {self.name!r} has no chaos_mesh section: cluster faults need one")
        return self.chaos_mesh

    def cluster_link(self, link: str) -> ClusterLink:
        if link not in self.cluster_links:
            accepted = ", ".join(sorted(self.cluster_links)) or "none defined"
            raise TargetError(f"target {self.name!r} has no link {link!r} (accepted: {accepted})")
        return self.cluster_links[link]

    def pods(self, service: str) -> dict[str, Any]:
        pods = self.service(service).pods
        if not pods:
            raise TargetError(f"target {self.name!r}: service {service!r} has no pods selector")
        return pods

    def service(self, name: str) -> Service:
        if name not in self.services:
            raise TargetError(
                f"target {self.name!r} has no service {name!r} (accepted: {', '.join(sorted(self.services))})"
            )
        return self.services[name]

    @property
    def needs_local_proxy(self) -> bool:
        """True when the target asks for a fault proxy in front of its services that is not running:
        ``proxy: {links: {gateway: {upstream: https://host:443}}}`` without a ``control_url``; each run
        starts one for itself (chaoslib_ext.proxy.local)."""
        return bool(self.links) and not self.proxy_control_url

    def require_proxy(self) -> str:
        if self.needs_local_proxy:
            return LOCAL_PROXY_PENDING
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
            "backend": self.backend,
            "services": {s.name: _service_json(s) for s in self.services.values()},
        }
        if self.proxy_control_url:
            out["proxy"] = {"control_url": self.proxy_control_url, "links": self.links}
        if self.cluster_links:
            out["links"] = {
                n: {
                    "server": cl.server,
                    **({"clients": list(cl.clients)} if cl.clients else {}),
                    **({"external_clients": list(cl.external_clients)} if cl.external_clients else {}),
                }
                for n, cl in self.cluster_links.items()
            }
        if self.chaos_mesh is not None:
            cm = self.chaos_mesh
            out["chaos_mesh"] = {
                "namespace": cm.namespace,
                "allowed_namespaces": list(cm.allowed_namespaces),
                "kubeconfig": cm.kubeconfig,
                "context": cm.context,
                "inject_timeout": f"{cm.inject_timeout_s:g}s",
                "blast_radius": asdict(cm.blast_radius),
            }
        return out

    @classmethod
    def from_json(cls, raw: Any, origin: str) -> Target:
        """Parse a target document; raises TargetError naming ``origin`` and the bad field."""
        if not isinstance(raw, Mapping) or raw.get("kind") != TARGET_KIND:
            raise TargetError(f"{origin}: not a chaosllm target (expected kind: {TARGET_KIND})")
        try:
            services = {name: _service(str(name), s, origin) for name, s in dict(raw["services"]).items()}
            proxy = raw.get("proxy") or {}
            links = {str(k): dict(v) for k, v in dict(proxy.get("links") or {}).items()}
            cluster_links = {
                str(k): ClusterLink(
                    str(k),
                    str(v["server"]),
                    tuple(str(c) for c in v.get("clients") or ()),
                    tuple(str(c) for c in v.get("external_clients") or ()),
                )
                for k, v in dict(raw.get("links") or {}).items()
            }
            chaos_mesh = _chaos_mesh(raw["chaos_mesh"], origin) if raw.get("chaos_mesh") else None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TargetError(f"{origin}: malformed target: {exc!r}") from exc
        for link in cluster_links.values():
            for service in (link.server, *link.clients):
                if service not in services:
                    raise TargetError(f"{origin}: link {link.name!r} names unknown service {service!r}")
        return cls(
            str(raw.get("name", origin)),
            services,
            proxy.get("control_url"),
            links,
            cluster_links,
            chaos_mesh,
            tuple(raw.get("processes") or ()),
            origin,
        )


_SERVICE_FIELDS = ("address", "real", "link", "pods", "process", "control", "endpoint", "auth", "metrics")


def _service(name: str, raw: Any, origin: str) -> Service:
    """One service of a target file; passwords in its URLs are registered as secrets."""
    try:
        f = Fields(raw, _SERVICE_FIELDS, f"services.{name}")
        address = f.string("address", "")
        real = f.string("real", address)
        endpoint = Endpoint.parse(f.raw["endpoint"], f"services.{name}.endpoint") if f.has("endpoint") else None
        auth = ServiceAuth.parse(f.raw["auth"], f"services.{name}.auth") if f.has("auth") else None
        per_pod = isinstance(f.raw.get("metrics"), Mapping)
        metrics = () if per_pod else _metrics_urls(f.raw.get("metrics"), f"services.{name}.metrics")
        metrics_pods = _metrics_pods(f.raw["metrics"], f"services.{name}.metrics") if per_pod else None
        if metrics_pods is not None and not f.raw.get("pods"):
            raise SpecError(f"services.{name}.metrics", "scraping every pod needs the service's pods selector",
                            "a URL, a list of URLs, or {port, path} with a pods selector")  # fmt: skip
    except SpecError as exc:
        raise TargetError(f"{origin}: {exc}") from exc
    for url in (address, real, *metrics):
        register_url(url)
    return Service(
        name, address, real, f.raw.get("link"), f.raw.get("pods"), f.raw.get("process"), f.raw.get("control"),
        endpoint, auth, metrics, metrics_pods,
    )  # fmt: skip


def _metrics_pods(raw: object, where: str) -> tuple[str, int, str]:
    """``{port: 8000, path: /metrics, scheme: http}``: each pod's own metrics, at its IP."""
    f = Fields(raw, ["port", "path", "scheme"], where)
    path = f.string("path", "/metrics")
    return f.string("scheme", "http", ("http", "https")), f.integer("port", minimum=1, maximum=65535), path


def _metrics_urls(raw: object, where: str) -> tuple[str, ...]:
    """A URL or a list of them (one per replica), each http(s)://."""
    urls = [] if raw is None else [raw] if isinstance(raw, str) else raw
    if not isinstance(urls, list) or not all(
        isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
    ):
        raise SpecError(where, f"{raw!r} is not a URL or a list of URLs", "http(s)://host:port/metrics, or a list")
    return tuple(urls)


def _service_json(s: Service) -> dict[str, Any]:
    out: dict[str, Any] = {"address": s.address, "real": s.real}
    for key in ("link", "pods", "process", "control"):
        if getattr(s, key):
            out[key] = getattr(s, key)
    if s.endpoint is not None:
        out["endpoint"] = s.endpoint.to_json()
    if s.auth is not None:
        out["auth"] = s.auth.to_json()
    if s.metrics:
        out["metrics"] = list(s.metrics)
    if s.metrics_pods is not None:
        scheme, port, path = s.metrics_pods
        out["metrics"] = {"scheme": scheme, "port": port, "path": path}
    return out


def _chaos_mesh(raw: Mapping[str, Any], origin: str) -> ChaosMeshSettings:
    allowed = tuple(str(n) for n in raw.get("allowed_namespaces") or ())
    if not allowed:
        raise TargetError(f"{origin}: chaos_mesh.allowed_namespaces is empty: list the namespaces faults may touch")
    timeout = raw.get("inject_timeout", "60s")
    try:
        timeout_s = parse_duration(timeout, "chaos_mesh.inject_timeout", allow_zero=False)
    except SpecError as exc:
        raise TargetError(f"{origin}: {exc}") from exc
    return ChaosMeshSettings(
        str(raw["namespace"]),
        allowed,
        raw.get("kubeconfig"),
        raw.get("context"),
        timeout_s,
        _blast_radius(raw.get("blast_radius") or {}, origin),
    )


def _blast_radius(raw: Any, origin: str) -> BlastRadius:
    where = "chaos_mesh.blast_radius"
    try:
        f = Fields(raw, ["allow_mode_all", "max_percent", "max_pods"], where)
        return BlastRadius(
            f.boolean("allow_mode_all", False),
            f.number("max_percent", 50.0, minimum=0.0, maximum=100.0),
            f.integer("max_pods", None, minimum=1),
        )
    except SpecError as exc:
        raise TargetError(f"{origin}: {exc}") from exc


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
