"""The cluster on the timeline: on a Kubernetes target, the pods of every service's selector, read every
2 s through the API during the run, and what changed, as ``cluster`` events of the timeline:

    restarted    a container's restart count went up (``oom_killed`` when its last termination says so)
    not_ready    a pod's Ready condition went false; ``ready`` when it came back
    added        a pod appeared (a new replica, a replacement); ``deleted`` when one went away
    warning      a Warning event about one of the pods (its reason and message)
    all_ready / not_all_ready   every service has as many ready pods as when the run started, or not

The report draws them on its timeline; "all replicas ready again" after the last fault's removal is a
recovery time of the summary (chaoslib_ext.verdict.cluster). Read through the same client and deadlines
as the Chaos Mesh objects; a failed read is logged and tried again at the next round.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from urllib3.exceptions import HTTPError

from chaoslib_ext.faults.chaosmesh.kube import api_client
from chaoslib_ext.run.context import RunContext
from chaoslib_ext.run.timeline import ClusterChange
from chaoslib_ext.target import Target

__all__ = ["EVERY_S", "ClusterWatch", "PodState"]

log = logging.getLogger("chaoslib_ext")
EVERY_S = 2.0
_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class PodState:
    ready: bool
    restarts: int
    last_reason: str  # the last termination's reason (OOMKilled, Error, ...), "" when none
    ip: str = ""  # the pod's IP ("" before it has one)


class ClusterWatch:
    def __init__(self, run: RunContext, target: Target, every_s: float = EVERY_S) -> None:
        assert target.chaos_mesh is not None
        self.run, self.every_s = run, every_s
        self._api = k8s.CoreV1Api(api_client(target.chaos_mesh.kubeconfig, target.chaos_mesh.context))
        self._selectors = {name: s.pods for name, s in target.services.items() if s.pods}
        self._pods: dict[str, dict[str, PodState]] | None = None  # service -> pod -> state
        self._expected: dict[str, int] = {}  # ready pods per service when the run started
        self._all_ready = True
        self._seen_events: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaosllm-cluster", daemon=True)

    @property
    def watching(self) -> bool:
        return bool(self._selectors)

    def pod_ips(self, service: str) -> dict[str, str]:
        """The service's pods with an IP, as last read (pod -> IP): each scraped on its own."""
        pods = (self._pods or {}).get(service, {})
        return {pod: state.ip for pod, state in pods.items() if state.ip}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.poll()  # the state at the end

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.every_s)

    def poll(self) -> None:
        try:
            now = {service: self._read(selector) for service, selector in self._selectors.items()}
            events = self._warnings({p for pods in now.values() for p in pods})
        except (k8s.ApiException, HTTPError, OSError) as exc:
            log.warning("reading the cluster's pods: %s (tried again in %gs)", exc, self.every_s)
            return
        if self._pods is None:  # the first round: what the run starts with
            self._expected = {s: sum(p.ready for p in pods.values()) for s, pods in now.items()}
            self._seen_events = {key for key, *_ in events}
            counts = ", ".join(f"{s} {n} ready" for s, n in self._expected.items())
            self.run.timeline.record_cluster("", "", "watched", counts)
        else:
            self._changes(self._pods, now)
            for key, service, pod, detail in events:
                if key not in self._seen_events:
                    self._seen_events.add(key)
                    self.run.timeline.record_cluster(service, pod, "warning", detail)
        self._pods = now
        ready = all(sum(p.ready for p in pods.values()) >= self._expected.get(s, 0) for s, pods in now.items())
        if ready != self._all_ready:
            self._all_ready = ready
            counts = ", ".join(f"{s} {sum(p.ready for p in pods.values())}/{self._expected.get(s, 0)}"
                               for s, pods in now.items())  # fmt: skip
            self.run.timeline.record_cluster("", "", "all_ready" if ready else "not_all_ready", f"ready: {counts}")

    def _read(self, selector: dict[str, Any]) -> dict[str, PodState]:
        labels = ",".join(f"{k}={v}" for k, v in (selector.get("labelSelectors") or {}).items())
        found: dict[str, PodState] = {}
        for namespace in selector.get("namespaces") or []:
            pods = self._api.list_namespaced_pod(namespace, label_selector=labels, _request_timeout=_TIMEOUT_S)
            for pod in pods.items:
                if pod.metadata is not None and pod.metadata.name:
                    found[str(pod.metadata.name)] = _state(pod)
        return found

    def _warnings(self, pods: set[str]) -> list[tuple[str, str, str, str]]:
        """(its key, service, pod, reason: message) of every Warning event about one of ``pods``."""
        out = []
        services = {pod: s for s, pods in (self._pods or {}).items() for pod in pods}
        namespaces = {ns for selector in self._selectors.values() for ns in selector.get("namespaces") or []}
        for namespace in sorted(namespaces):
            found = self._api.list_namespaced_event(
                namespace, field_selector="type=Warning", _request_timeout=_TIMEOUT_S
            )
            for e in found.items:
                pod = e.involved_object.name if e.involved_object is not None else None
                if pod is not None and pod in pods:
                    name = e.metadata.name if e.metadata is not None else "?"
                    key = f"{namespace}/{name}/{e.count or 1}"
                    out.append((key, services.get(pod, ""), pod, f"{e.reason}: {e.message}"))
        return out

    def _changes(self, before: dict[str, dict[str, PodState]], now: dict[str, dict[str, PodState]]) -> None:
        record = self.run.timeline.record_cluster
        for service, pods in now.items():
            old = before.get(service, {})
            for pod, state in pods.items():
                was = old.get(pod)
                if was is None:
                    record(service, pod, "added", "ready" if state.ready else "not ready")
                    continue
                if state.restarts > was.restarts:
                    why = f" ({state.last_reason})" if state.last_reason else ""
                    change: ClusterChange = "oom_killed" if state.last_reason == "OOMKilled" else "restarted"
                    record(service, pod, change, f"restarts {was.restarts} -> {state.restarts}{why}")
                if state.ready != was.ready:
                    record(service, pod, "ready" if state.ready else "not_ready", "")
            for pod in old.keys() - pods.keys():
                record(service, pod, "deleted", "")


def _state(pod: Any) -> PodState:
    status = pod.status
    conditions = {c.type: c.status for c in (status.conditions or [])} if status is not None else {}
    containers = (status.container_statuses or []) if status is not None else []
    restarts = sum(c.restart_count or 0 for c in containers)
    ended = [c.last_state.terminated for c in containers if c.last_state is not None]
    reasons = [t.reason for t in ended if t is not None and t.reason]
    ip = (status.pod_ip or "") if status is not None else ""
    return PodState(conditions.get("Ready") == "True", restarts, reasons[-1] if reasons else "", ip)
