"""A fake Kubernetes API server for Chaos Mesh objects, checked against the real CRD schemas.

No API server can run here (no container runtime, no kube-apiserver package), so the Chaos Mesh driver
is tested against this: the official ``kubernetes`` client talks HTTP to it exactly as to a cluster.
It rejects what the real API server would reject given Chaos Mesh's CRDs (the openAPIV3Schema, DNS-1123
names, duplicates), and plays Chaos Mesh's controller: after ``inject_after_s`` every created object
gets Injected records and an AllInjected condition (or, with ``select_nothing``, a Selected=False
condition and no record); when its ``spec.duration`` has passed, the controller recovers it (records
Not Injected, AllRecovered, desired phase Stop) but the object stays, as Chaos Mesh leaves it; a deleted
object disappears after ``delete_after_s`` (its finalizer).

It also serves the built-in kinds an in-cluster run creates (tests/fakes/kube_builtins.py). For
preflight it also serves the CRDs it knows (``GET .../customresourcedefinitions/{name}``, Established
unless listed in ``missing_crds``) and answers SelfSubjectAccessReviews (``POST
/apis/authorization.k8s.io/v1/selfsubjectaccessreviews``, the documented request and status shape):
allowed, unless ``(verb, resource, namespace)`` is in ``denied``.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from aiohttp import web

from chaoslib_ext.faults.chaosmesh.schemas import crd, kinds_by_plural, schema_errors
from tests.fakes.kube_builtins import Builtins
from tests.fakes.threaded import ThreadedApp

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PREFIX = "/apis/{group}/{version}/namespaces/{namespace}/{plural}"


class FakeKubeAPI(ThreadedApp):
    def __init__(self, inject_after_s: float = 0.2, delete_after_s: float = 0.2) -> None:
        super().__init__()
        self.inject_after_s = inject_after_s
        self.delete_after_s = delete_after_s
        self.select_nothing = False
        self.missing_crds: set[str] = set()  # plurals whose CRD is "not installed"
        self.denied: set[tuple[str, str, str]] = set()  # (verb, resource, namespace) an access review refuses
        self.reviews: list[dict[str, Any]] = []
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []  # every accepted create, in order
        self.rejected: list[str] = []
        self._kinds = kinds_by_plural()
        self.builtins = Builtins()  # Jobs, Roles, ConfigMaps, pods ... of an in-cluster run

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/version", self._version)
        app.router.add_get("/version/", self._version)  # the official client asks with the slash
        app.router.add_get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", self._crd)
        app.router.add_post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", self._review)
        app.router.add_post(_PREFIX, self._create)
        app.router.add_get(_PREFIX, self._list)
        app.router.add_get(_PREFIX + "/{name}", self._get)
        app.router.add_delete(_PREFIX + "/{name}", self._delete)
        app.router.add_patch(_PREFIX + "/{name}", self.builtins.patch)
        self.builtins.routes(app)

    def kubeconfig(self, path) -> str:
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: fake, cluster: {{server: '{self.url}'}}}}]\n"
            "users: [{name: fake, user: {token: fake-token}}]\n"
            "contexts: [{name: fake, context: {cluster: fake, user: fake}}]\n"
            "current-context: fake\n"
        )
        return str(path)

    def live(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if kind is None or o["kind"] == kind]

    # -- handlers ----------------------------------------------------------------------------
    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "major": "1",
                "minor": "30",
                "gitVersion": "v1.30.0-fake",
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.22.0",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        )

    async def _crd(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        plural, _, group = name.partition(".")
        if group != "chaos-mesh.org" or plural not in self._kinds or plural in self.missing_crds:
            return _status(404, "NotFound", f'customresourcedefinitions.apiextensions.k8s.io "{name}" not found')
        doc = dict(crd(self._kinds[plural]))
        doc["status"] = {
            "acceptedNames": doc["spec"]["names"],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
            ],
            "storedVersions": ["v1alpha1"],
        }
        return web.json_response(doc)

    async def _review(self, request: web.Request) -> web.Response:
        body = await request.json()
        # as the API server: kind and apiVersion default from the path, and must match it when given
        if (
            body.get("kind", "SelfSubjectAccessReview") != "SelfSubjectAccessReview"
            or body.get("apiVersion", "authorization.k8s.io/v1") != "authorization.k8s.io/v1"
        ):
            return _status(400, "BadRequest", "expected a SelfSubjectAccessReview of authorization.k8s.io/v1")
        attrs = body.get("spec", {}).get("resourceAttributes") or {}
        self.reviews.append(attrs)
        key = (attrs.get("verb", ""), attrs.get("resource", ""), attrs.get("namespace", ""))
        allowed = key not in self.denied
        status = {"allowed": allowed, **({} if allowed else {"reason": f"RBAC: {key[0]} {key[1]} is not allowed"})}
        return web.json_response({**body, "status": status}, status=201)

    def _kind(self, request: web.Request) -> str | None:
        return self._kinds.get(request.match_info["plural"])

    async def _create(self, request: web.Request) -> web.Response:
        if self.builtins.handles(request):
            return await self.builtins.create(request)
        kind = self._kind(request)
        if kind is None:
            return _status(404, "NotFound", f"the server could not find the resource {request.match_info['plural']}")
        body = await request.json()
        namespace = request.match_info["namespace"]
        meta = body.setdefault("metadata", {})
        problems = schema_errors(body)
        if body.get("kind") != kind:
            problems.append(f"kind {body.get('kind')!r} does not match resource {kind}")
        name = meta.get("name", "")
        if not _NAME.match(name) or len(name) > 253:
            problems.append(f"metadata.name: Invalid value: {name!r}: a lowercase RFC 1123 subdomain")
        if meta.setdefault("namespace", namespace) != namespace:
            problems.append("metadata.namespace: does not match the namespace of the request")
        if problems:
            self.rejected.append("; ".join(problems))
            return _status(422, "Invalid", f"{kind}.chaos-mesh.org {name!r} is invalid: {'; '.join(problems)}")
        key = (request.match_info["plural"], namespace, name)
        if key in self.objects:
            return _status(409, "AlreadyExists", f"{request.match_info['plural']} {name!r} already exists")
        meta.update(
            {
                "uid": str(uuid.uuid4()),
                "resourceVersion": "1",
                "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
        self.objects[key] = body
        self.created.append(body)
        asyncio.get_running_loop().call_later(self.inject_after_s, self._inject, key)
        return web.json_response(body, status=201)

    def _inject(self, key: tuple[str, str, str]) -> None:
        obj = self.objects.get(key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        if self.select_nothing:
            obj["status"] = {
                "conditions": [
                    {"type": "Selected", "status": "False", "reason": "NoPodSelected"},
                    {"type": "AllInjected", "status": "False"},
                ],
                "experiment": {"desiredPhase": "Run"},
            }
            return
        records = [
            {
                "id": f"{key[1]}/pod-{i}",
                "phase": "Injected",
                "selectorKey": ".",
                "injectedCount": 1,
                "recoveredCount": 0,
            }
            for i in range(2)
        ]
        obj["status"] = {
            "conditions": [{"type": "Selected", "status": "True"}, {"type": "AllInjected", "status": "True"}],
            "experiment": {"desiredPhase": "Run", "containerRecords": records},
        }
        duration = obj.get("spec", {}).get("duration")
        if duration:
            asyncio.get_running_loop().call_later(_go_duration_s(duration), self._recover, key)

    def _recover(self, key: tuple[str, str, str]) -> None:
        obj = self.objects.get(key)
        if obj is None or "status" not in obj:
            return
        for record in obj["status"]["experiment"].get("containerRecords", []):
            record.update(phase="Not Injected", recoveredCount=1)
        obj["status"]["conditions"] = [
            {"type": "Selected", "status": "True"},
            {"type": "AllInjected", "status": "False"},
            {"type": "AllRecovered", "status": "True"},
        ]
        obj["status"]["experiment"]["desiredPhase"] = "Stop"

    def injecting(self) -> list[dict[str, Any]]:
        """Live objects whose fault is still in effect (not recovered by their duration)."""
        return [
            o for o in self.objects.values() if o.get("status", {}).get("experiment", {}).get("desiredPhase") != "Stop"
        ]

    async def _get(self, request: web.Request) -> web.Response:
        if self.builtins.handles(request):
            return await self.builtins.get(request)
        key = (request.match_info["plural"], request.match_info["namespace"], request.match_info["name"])
        if key not in self.objects:
            return _status(404, "NotFound", f"{key[0]} {key[2]!r} not found")
        return web.json_response(self.objects[key])

    async def _list(self, request: web.Request) -> web.Response:
        wanted = dict(p.split("=", 1) for p in request.query.get("labelSelector", "").split(",") if "=" in p)
        items = [
            o
            for (plural, ns, _), o in self.objects.items()
            if plural == request.match_info["plural"]
            and ns == request.match_info["namespace"]
            and all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]
        return web.json_response(
            {"kind": f"{self._kind(request)}List", "apiVersion": "chaos-mesh.org/v1alpha1", "items": items}
        )

    async def _delete(self, request: web.Request) -> web.Response:
        if self.builtins.handles(request):
            return await self.builtins.delete(request)
        key = (request.match_info["plural"], request.match_info["namespace"], request.match_info["name"])
        obj = self.objects.get(key)
        if obj is None:
            return _status(404, "NotFound", f"{key[0]} {key[2]!r} not found")
        obj["metadata"]["deletionTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        asyncio.get_running_loop().call_later(self.delete_after_s, self.objects.pop, key, None)
        return web.json_response(
            {"kind": "Status", "apiVersion": "v1", "status": "Success", "details": {"name": key[2]}}
        )


def _go_duration_s(text: str) -> float:
    """A Go duration as Chaos Mesh writes them: ``1m``, ``33s``, ``1m30s``, ``500ms``."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text))


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        },
        status=code,
    )
