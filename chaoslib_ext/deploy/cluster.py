"""The in-cluster run's two moves on the API server: release the suspended workers once the master
listens (``chaosllm k8s release``, the controller pod's second container), and copy the results out of
their volume (``chaosllm k8s fetch``): a pod that mounts it and writes the run directory as a base64 tar
to its log, read through the API (no exec, no port-forward), then deleted."""

from __future__ import annotations

import base64
import contextlib
import io
import socket
import tarfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from chaoslib_ext.deploy.manifests import LABEL, RESULTS_DIR
from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.faults.chaosmesh.kube import api_client

__all__ = ["FETCH_SCRIPT", "fetch", "release"]

#: what the fetch pod runs: the results directory as a gzipped tar, base64, on stdout
FETCH_SCRIPT = (
    "import base64, io, sys, tarfile\n"
    "buf = io.BytesIO()\n"
    f"with tarfile.open(fileobj=buf, mode='w:gz') as tar: tar.add('{RESULTS_DIR}', arcname='.')\n"
    "sys.stdout.write(base64.b64encode(buf.getvalue()).decode())\n"
)


def _wait_listening(address: str, timeout_s: float) -> None:
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1.0).close()
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise TargetError(f"nothing listened on {address} within {timeout_s:g}s: {exc}") from exc
            time.sleep(0.5)


def release(job: str, namespace: str, when_listening: str | None, timeout_s: float = 600.0,
            kubeconfig: str | None = None) -> None:  # fmt: skip
    """Un-suspend the workers' Job (all its pods start together) once ``when_listening`` accepts."""
    if when_listening:
        _wait_listening(when_listening, timeout_s)
    batch = k8s.BatchV1Api(api_client(kubeconfig, None))
    try:
        batch.patch_namespaced_job(job, namespace, {"spec": {"suspend": False}})
    except k8s.ApiException as exc:
        raise TargetError(f"cannot release job {namespace}/{job}: {exc.status} {exc.reason}") from exc


def _fetch_pod(name: str, image: str) -> dict[str, Any]:
    claim = f"chaosllm-{name}-results"
    container = {"name": "fetch", "image": image, "command": ["python", "-c", FETCH_SCRIPT],
                 "volumeMounts": [{"name": "results", "mountPath": RESULTS_DIR, "readOnly": True}]}  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"chaosllm-{name}-fetch", "labels": {LABEL: "chaoslib-ext", "chaosllm/run": name}},
        "spec": {"restartPolicy": "Never", "containers": [container],
                 "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}]},
    }  # fmt: skip


def fetch(name: str, namespace: str, image: str, out: Path, timeout_s: float = 300.0,
          kubeconfig: str | None = None, context: str | None = None) -> list[Path]:  # fmt: skip
    """Copy the run's results volume into ``out``; the files written. The fetch pod is deleted whatever happens."""
    core = k8s.CoreV1Api(api_client(kubeconfig, context))
    pod = f"chaosllm-{name}-fetch"
    try:
        core.create_namespaced_pod(namespace, _fetch_pod(name, image))  # type: ignore[arg-type]  # a dict is sent as is
        deadline = time.monotonic() + timeout_s
        while (phase := _phase(core, pod, namespace)) not in ("Succeeded", "Failed"):
            if time.monotonic() > deadline:
                raise TargetError(f"pod {namespace}/{pod} still {phase} after {timeout_s:g}s")
            time.sleep(1.0)
        log = core.read_namespaced_pod_log(pod, namespace, container="fetch")
        if phase == "Failed":
            raise TargetError(f"pod {namespace}/{pod} failed: {log[-300:]}")
        return _unpack(base64.b64decode(log), out)
    except k8s.ApiException as exc:
        raise TargetError(f"cannot fetch the results of {namespace}/{name}: {exc.status} {exc.reason}") from exc
    finally:
        with contextlib.suppress(k8s.ApiException):
            core.delete_namespaced_pod(pod, namespace)


def _phase(core: k8s.CoreV1Api, pod: str, namespace: str) -> str:
    status = core.read_namespaced_pod(pod, namespace).status
    return str(status.phase) if status is not None and status.phase else "Pending"


def _unpack(data: bytes, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
        tar.extractall(out, members=members, filter="data")  # no absolute paths, no links out of ``out``
    return sorted(p for p in out.rglob("*") if p.is_file())
