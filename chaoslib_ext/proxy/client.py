"""A blocking client of the proxy's control API, for activities running in the chaos process."""

from __future__ import annotations

from typing import Any

import requests

from chaoslib_ext.exceptions import TargetError
from chaoslib_ext.proxy.faults import ProxyFault

__all__ = ["ProxyClient"]


class ProxyClient:
    """Talks to one proxy's control API; every call has a deadline and raises TargetError on failure."""

    def __init__(self, control_url: str, timeout_s: float = 5.0) -> None:
        self.control_url = control_url.rstrip("/")
        self.timeout_s = timeout_s

    def links(self) -> dict[str, dict[str, Any]]:
        body = self._call("GET", "/links")
        return {link["name"]: link for link in body["links"]}

    def set_fault(self, link: str, name: str, fault: ProxyFault) -> tuple[float, int | None]:
        """Apply the fault; returns the unix time at which the proxy applied it and, for a stream fault,
        its mark (the bit of the requests it touches: chaoslib_ext.sse.FAULT_MARK)."""
        body = self._call("PUT", f"/links/{link}/faults/{name}", json=fault.to_json())
        mark = body.get("mark")
        return float(body["applied_at"]), int(mark) if mark is not None else None

    def extend_fault(self, link: str, name: str, ttl_s: float) -> None:
        """The fault expires ``ttl_s`` from now (in place); TargetError when it is not in force."""
        self._call("PATCH", f"/links/{link}/faults/{name}", json={"ttl_s": ttl_s})

    def remove_fault(self, link: str, name: str) -> bool:
        """Remove the fault; False when it was already gone."""
        return bool(self._call("DELETE", f"/links/{link}/faults/{name}")["removed"])

    def counters(self, link: str, name: str) -> dict[str, float] | None:
        """A fault's counters, while in force or after its removal; None when the proxy knows no such fault."""
        found = self.links().get(link)
        if found is None:
            return None
        active = found["faults"].get(name)
        counters = active.get("counters") if active is not None else found.get("finished", {}).get(name)
        return dict(counters) if counters is not None else None

    def remove_all(self) -> int:
        return int(self._call("DELETE", "/faults")["removed"])

    def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        url = self.control_url + path
        try:
            resp = requests.request(method, url, json=json, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise TargetError(f"fault proxy at {self.control_url} is unreachable: {exc}") from exc
        try:
            body: dict[str, Any] = resp.json()
        except ValueError:
            body = {"error": resp.text[:200]}
        if resp.status_code != 200:
            detail = body.get("error", resp.reason)
            if "accepted" in body:
                detail += f" (accepted: {body['accepted']})"
            raise TargetError(f"fault proxy refused {method} {path}: {detail}")
        return body
