"""The proxy's control API on loopback: list links, set and remove faults while traffic flows.

GET    /links                          every link, its addresses, live connections, faults with their
                                       counters, and removed faults' final counters
PUT    /links/{link}/faults/{name}     set a fault (JSON as in ``ProxyFault.to_json``)
DELETE /links/{link}/faults/{name}     remove one fault (idempotent)
DELETE /faults                         remove every fault on every link
GET    /health
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.proxy.faults import ProxyFault
from chaoslib_ext.proxy.link import ActiveFault, Link

__all__ = ["make_app"]

_LINKS: web.AppKey[dict[str, Link]] = web.AppKey("links", dict)


def make_app(links: dict[str, Link]) -> web.Application:
    app = web.Application()
    app[_LINKS] = links
    app.router.add_get("/health", _health)
    app.router.add_get("/links", _list_links)
    app.router.add_put("/links/{link}/faults/{name}", _set_fault)
    app.router.add_patch("/links/{link}/faults/{name}", _extend_fault)
    app.router.add_delete("/links/{link}/faults/{name}", _remove_fault)
    app.router.add_delete("/faults", _remove_all)
    return app


def describe(link: Link) -> dict[str, Any]:
    return {
        "name": link.name,
        "listen": f"{link.listen_host}:{link.listen_port}",
        "upstream": f"{link.upstream_host}:{link.upstream_port}",
        "connections": len(link.connections),
        "accepted": link.accepted,
        "http": link.http,
        "faults": {name: _active(active) for name, active in link.faults.items()},
        "finished": link.finished,
    }


def _active(active: ActiveFault) -> dict[str, Any]:
    out = {**active.fault.to_json(), "applied_at": active.applied_at, "counters": active.counters()}
    return {**out, "mark": active.mark} if active.mark is not None else out


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _list_links(request: web.Request) -> web.Response:
    return web.json_response({"links": [describe(link) for link in request.app[_LINKS].values()]})


def _link(request: web.Request) -> Link:
    links = request.app[_LINKS]
    name = request.match_info["link"]
    if name not in links:
        raise _error(404, f"unknown link {name!r}", accepted=", ".join(sorted(links)))
    return links[name]


async def _set_fault(request: web.Request) -> web.Response:
    link = _link(request)
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise _error(400, f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise _error(400, "body must be a JSON object")
    try:
        fault = ProxyFault.from_json(body)
        active = link.set_fault(request.match_info["name"], fault)
    except SpecError as exc:
        raise _error(400, str(exc)) from exc
    body = {"link": link.name, "applied_at": active.applied_at, "fault": fault.to_json()}
    return web.json_response({**body, "mark": active.mark} if active.mark is not None else body)


async def _extend_fault(request: web.Request) -> web.Response:
    """``{"ttl_s": N}``: the fault expires N s from now, in place (a game day's extend)."""
    link = _link(request)
    try:
        body = await request.json()
        ttl_s = float(body["ttl_s"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise _error(400, f'body must be {{"ttl_s": seconds}}: {exc}') from exc
    if not 0 < ttl_s <= 86400:
        raise _error(400, f"ttl_s {ttl_s:g} out of range", accepted="0 < ttl_s <= 86400")
    active = link.extend_fault(request.match_info["name"], ttl_s)
    if active is None:
        raise _error(404, f"no fault {request.match_info['name']!r} in force on link {link.name!r}")
    return web.json_response({"link": link.name, "fault": active.fault.to_json()})


async def _remove_fault(request: web.Request) -> web.Response:
    link = _link(request)
    removed = link.remove_fault(request.match_info["name"])
    return web.json_response({"link": link.name, "removed": removed})


async def _remove_all(request: web.Request) -> web.Response:
    count = 0
    for link in request.app[_LINKS].values():
        for name in list(link.faults):
            count += link.remove_fault(name)
    return web.json_response({"removed": count})


def _error(status: int, message: str, accepted: str | None = None) -> web.HTTPException:
    body = {"error": message, **({"accepted": accepted} if accepted else {})}
    cls: type[web.HTTPException] = web.HTTPNotFound if status == 404 else web.HTTPBadRequest
    return cls(text=json.dumps(body), content_type="application/json")
