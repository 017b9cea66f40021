"""A client of a run's control endpoint (chaoslib_ext.controls.endpoint), for the console and scripts."""

from __future__ import annotations

from typing import Any

import requests

from chaoslib_ext.exceptions import ControlError

__all__ = ["ControlClient"]


class ControlClient:
    def __init__(self, url: str, token: str | None = None, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._headers = {"authorization": f"Bearer {token}"} if token else {}

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status")

    def post(self, path: str, body: dict[str, Any] | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        return self._call("POST", path, body or {}, timeout_s)

    def _call(self, method: str, path: str, body: Any = None, timeout_s: float | None = None) -> dict[str, Any]:
        try:
            resp = requests.request(method, self.url + path, json=body, headers=self._headers,
                                    timeout=timeout_s or self.timeout_s)  # fmt: skip
        except requests.RequestException as exc:
            raise ControlError(f"the run's control endpoint does not answer: {exc}") from exc
        try:
            found: dict[str, Any] = resp.json()
        except ValueError:
            found = {"error": resp.text[:200]}
        if resp.status_code != 200:
            raise ControlError(str(found.get("error", resp.reason)))
        return found
