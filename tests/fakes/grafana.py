"""A Grafana that only knows annotations, following its documented HTTP API (Grafana docs, "Annotations
HTTP API", the legacy /api routes every Grafana since 4.6 serves):

    POST  /api/annotations        {time, timeEnd?, tags?, text, dashboardUID?, panelId?}
                                  -> 200 {"message": "Annotation added", "id": N}
    PATCH /api/annotations/:id    any of {time, timeEnd, tags, text} -> 200 {"message": "Annotation patched"}
                                  (404 {"message": "Could not find annotation to update"})
    GET   /api/annotations?tags=  the annotations carrying every tag asked (as Grafana's "find")

Times are epoch milliseconds (integers); a service account token is required (``Authorization: Bearer``,
else 401 as Grafana answers). Unknown fields and wrong types are refused with 400, so a client that
does not follow the API fails here as it would against Grafana. It runs on loopback in a thread.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.threaded import ThreadedApp

FIELDS = {"time": int, "timeEnd": int, "tags": list, "text": str, "dashboardUID": str, "panelId": int}


class FakeGrafana(ThreadedApp):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.annotations: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/annotations", self._create)
        app.router.add_patch("/api/annotations/{id}", self._patch)
        app.router.add_get("/api/annotations", self._find)

    def _refused(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"message": "Unauthorized"}, status=401)
        return None

    async def _body(self, request: web.Request, required: tuple[str, ...]) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"message": "bad request data"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"message": "bad request data"}, status=400)
        for key, value in body.items():
            kind = FIELDS.get(key)
            if kind is None or not isinstance(value, kind) or isinstance(value, bool):
                return web.json_response({"message": f"bad request data: {key}"}, status=400)
        if key := next((k for k in required if k not in body), None):
            return web.json_response({"message": f"bad request data: {key} is required"}, status=400)
        if not all(isinstance(t, str) for t in body.get("tags", [])):
            return web.json_response({"message": "bad request data: tags"}, status=400)
        return body

    async def _create(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await self._body(request, ("time", "text"))
        if isinstance(body, web.Response):
            return body
        found = len(self.annotations) + 1
        self.annotations[found] = {"id": found, "timeEnd": body["time"], "tags": [], **body}
        return web.json_response({"message": "Annotation added", "id": found})

    async def _patch(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await self._body(request, ())
        if isinstance(body, web.Response):
            return body
        found = self.annotations.get(int(request.match_info["id"]))
        if found is None:
            return web.json_response({"message": "Could not find annotation to update"}, status=404)
        found.update(body)
        return web.json_response({"message": "Annotation patched"})

    async def _find(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        tags = set(request.query.getall("tags", []))
        return web.json_response([a for a in self.annotations.values() if tags <= set(a["tags"])])
