"""The built-in kinds an in-cluster run needs (core/v1, batch/v1, rbac.authorization.k8s.io/v1) and the abort
lock's Lease (coordination.k8s.io/v1), for the
fake API server (tests/fakes/kube_apiserver.py), each checked against the real Kubernetes API schemas
(``kubernetes-validate``'s, strict) on create and patch, at the documented paths:

    POST/GET/PATCH/DELETE /api/v1/namespaces/{ns}/{plural}[/{name}]        configmaps, serviceaccounts,
                                                                           persistentvolumeclaims, services, pods,
                                                                           events
    GET /api/v1/namespaces/{ns}/{plural}?labelSelector=k=v,...&fieldSelector=f=v,...   a list (equality only)
    POST/GET/PATCH/DELETE /apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}]   jobs, roles, rolebindings,
                                                                           leases
    GET /api/v1/namespaces/{ns}/pods/{name}/log                            the pod's output

No container runs, so it plays the kubelet for the one pod whose output matters, chaosllm's fetch pod
(chaoslib_ext.deploy.cluster.FETCH_SCRIPT): it runs the script against ``volumes[claim]`` (a directory
standing for the claimed volume, mounted at the script's path) and the pod Succeeds with its output.
A PATCH body is merged (JSON merge patch: what the official client sends for a dict)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import kubernetes_validate
from aiohttp import web

from chaoslib_ext.deploy.cluster import FETCH_SCRIPT
from chaoslib_ext.deploy.manifests import K8S_VERSION, RESULTS_DIR

KINDS = {
    "configmaps": "ConfigMap",
    "serviceaccounts": "ServiceAccount",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "services": "Service",
    "pods": "Pod",
    "jobs": "Job",
    "roles": "Role",
    "rolebindings": "RoleBinding",
    "leases": "Lease",
    "events": "Event",
}
API_VERSIONS = {
    "jobs": "batch/v1",
    "roles": "rbac.authorization.k8s.io/v1",
    "rolebindings": "rbac.authorization.k8s.io/v1",
    "leases": "coordination.k8s.io/v1",
}


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


class Builtins:
    """The store and handlers; ``objects`` by (plural, namespace, name)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.logs: dict[tuple[str, str], str] = {}
        self.volumes: dict[str, Path] = {}  # claim name -> the directory its volume holds
        self.rejected: list[str] = []

    def routes(self, app: web.Application) -> None:
        core = "/api/v1/namespaces/{namespace}/{plural}"
        app.router.add_get(core + "/{name}/log", self.log)
        app.router.add_post(core, self.create)
        app.router.add_get(core, self.list)
        app.router.add_get(core + "/{name}", self.get)
        app.router.add_patch(core + "/{name}", self.patch)
        app.router.add_delete(core + "/{name}", self.delete)

    def handles(self, request: web.Request) -> bool:
        return request.match_info.get("group") != "chaos-mesh.org"

    def _key(self, request: web.Request) -> tuple[str, str, str]:
        m = request.match_info
        return m["plural"], m["namespace"], m.get("name", "")

    def _invalid(self, body: dict[str, Any]) -> str | None:
        try:
            kubernetes_validate.validate(body, K8S_VERSION, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            return str(getattr(exc, "message", exc))
        return None

    async def create(self, request: web.Request) -> web.Response:
        plural, namespace, _ = self._key(request)
        if plural not in KINDS:
            return status(404, "NotFound", f"the server could not find the resource {plural}")
        body = await request.json()
        body.setdefault("apiVersion", API_VERSIONS.get(plural, "v1"))
        body.setdefault("kind", KINDS[plural])
        meta = body.setdefault("metadata", {})
        meta.setdefault("namespace", namespace)
        problem = self._invalid(body)
        if body["kind"] != KINDS[plural]:
            problem = f"kind {body['kind']!r} does not match resource {plural}"
        if problem:
            self.rejected.append(problem)
            return status(422, "Invalid", f"{KINDS[plural]} {meta.get('name')!r} is invalid: {problem}")
        key = (plural, namespace, meta["name"])
        if key in self.objects:
            return status(409, "AlreadyExists", f"{plural} {meta['name']!r} already exists")
        meta.update(uid=str(uuid.uuid4()), resourceVersion="1",
                    creationTimestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))  # fmt: skip
        if plural == "pods":
            self._run(namespace, body)
        self.objects[key] = body
        return web.json_response(body, status=201)

    def _run(self, namespace: str, pod: dict[str, Any]) -> None:
        """The fetch pod runs its script against its claimed volume; any other pod stays Pending."""
        container = pod["spec"]["containers"][0]
        pod["status"] = {"phase": "Pending"}
        if container.get("command") != ["python", "-c", FETCH_SCRIPT]:
            return
        claim = pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
        script = FETCH_SCRIPT.replace(f"'{RESULTS_DIR}'", repr(str(self.volumes[claim])))
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        self.logs[(namespace, pod["metadata"]["name"])] = done.stdout if done.returncode == 0 else done.stderr
        pod["status"] = {"phase": "Succeeded" if done.returncode == 0 else "Failed"}

    async def get(self, request: web.Request) -> web.Response:
        obj = self.objects.get(self._key(request))
        return web.json_response(obj) if obj else status(404, "NotFound", f"{self._key(request)} not found")

    async def list(self, request: web.Request) -> web.Response:
        """Every object of the kind in the namespace matching the selectors (``k=v`` terms, as the API's
        equality-based selectors; a field selector on a top-level or dotted field such as ``type``)."""
        plural, namespace, _ = self._key(request)
        if plural not in KINDS:
            return status(404, "NotFound", f"the server could not find the resource {plural}")
        labels = _terms(request.query.get("labelSelector", ""))
        fields = _terms(request.query.get("fieldSelector", ""))
        items = [o for (p, ns, _), o in sorted(self.objects.items()) if p == plural and ns == namespace
                 and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
                 and all(_field(o, k) == v for k, v in fields.items())]  # fmt: skip
        body = {"kind": f"{KINDS[plural]}List", "apiVersion": API_VERSIONS.get(plural, "v1"),
                "metadata": {"resourceVersion": "1"}, "items": items}  # fmt: skip
        return web.json_response(body)

    async def patch(self, request: web.Request) -> web.Response:
        key = self._key(request)
        obj = self.objects.get(key)
        if obj is None:
            return status(404, "NotFound", f"{key[0]} {key[2]!r} not found")
        patched = {**obj, "metadata": dict(obj["metadata"])}
        _merge(patched, await request.json())
        problem = self._invalid(patched)
        if problem:
            self.rejected.append(problem)
            return status(422, "Invalid", problem)
        self.objects[key] = patched
        return web.json_response(patched)

    async def delete(self, request: web.Request) -> web.Response:
        obj = self.objects.pop(self._key(request), None)
        if obj is None:
            return status(404, "NotFound", f"{self._key(request)} not found")
        return web.json_response(obj)  # as the API server does: the object, now being deleted

    async def log(self, request: web.Request) -> web.Response:
        m = request.match_info
        text = self.logs.get((m["namespace"], m["name"]))
        return web.Response(text=text) if text is not None else status(404, "NotFound", "no log")


def _terms(selector: str) -> dict[str, str]:
    return dict(term.split("=", 1) for term in selector.split(",") if "=" in term)


def _field(obj: dict[str, Any], path: str) -> Any:
    found: Any = obj
    for part in path.split("."):
        found = found.get(part) if isinstance(found, dict) else None
    return found


def status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}  # fmt: skip
    return web.json_response(body, status=code)
