"""Grafana region annotations, one per fault, through Grafana's HTTP annotations API:

    configuration:
      chaosllm_grafana: {url: https://grafana:3000, token: {env: GRAFANA_TOKEN}, dashboard_uid: llm, tags: [staging]}

Each region starts at the fault's injection and is tagged ``chaosllm``, the experiment, the run id and
the fault (and ``tags``). It is created ending at the fault's TTL, the latest the fault can be in force
whatever happens to the run, so a run killed mid-fault never leaves a region open; on the fault's
removal (or the abort's) its end is set to the true one (``PATCH /api/annotations/:id``). What was
created is kept in ``<run>/grafana.json`` (fault -> annotation id, and whether its end is the true one).
After a SIGKILL, ``chaosllm cleanup`` removes the run's faults and gives their regions the removal's
time (:func:`close_after_cleanup`), or the TTL's when the fault had expired by itself before.
The token is a credential reference: it reaches no file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from chaoslib_ext import secrets
from chaoslib_ext._jsonfile import read_json, write_json_atomic
from chaoslib_ext.exceptions import SpecError, TargetError
from chaoslib_ext.faults.expiry import ttl_s
from chaoslib_ext.faults.lifecycle import WATCHDOG_GRACE_S
from chaoslib_ext.fields import Fields
from chaoslib_ext.run.context import RunContext

__all__ = ["GRAFANA_KEY", "Annotator", "GrafanaSpec", "close_after_cleanup"]

log = logging.getLogger("chaoslib_ext")
GRAFANA_KEY = "chaosllm_grafana"
_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class GrafanaSpec:
    url: str
    token: secrets.Credential
    dashboard_uid: str | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: object, where: str = GRAFANA_KEY) -> GrafanaSpec:
        f = Fields(raw, ["url", "token", "dashboard_uid", "tags"], where)
        url = f.string("url")
        if not url.startswith(("http://", "https://")):
            raise SpecError(f"{where}.url", f"{url!r} is not an http(s) URL", "https://grafana.example.com")
        if isinstance(f.raw.get("token"), str):
            raise SpecError(f"{where}.token", "a token in clear would be written with the configuration",
                            "{env: VAR} or {secret: NAME}")  # fmt: skip
        token = secrets.parse_credential(f.raw.get("token"), f"{where}.token")
        tags = f.sequence("tags", [])
        if not all(isinstance(t, str) for t in tags):
            raise SpecError(f"{where}.tags", "expected a list of strings")
        return cls(url.rstrip("/"), token, f.string("dashboard_uid", None), tuple(tags))


class Annotator:
    """The regions of one run's faults; :meth:`sync` brings Grafana up to the timeline (cheap when nothing
    changed). Raises nothing: Grafana down is logged and tried again at the next sync."""

    def __init__(self, run: RunContext, spec: GrafanaSpec, experiment: str) -> None:
        self.run, self.spec, self.experiment = run, spec, experiment
        self._headers = {"Authorization": f"Bearer {secrets.resolve(spec.token)}", "Content-Type": "application/json"}
        self._path = run.run_dir.path / "grafana.json"
        self._made: dict[str, dict[str, Any]] = dict(read_json(self._path)) if self._path.is_file() else {}

    def sync(self) -> None:
        changed = False
        for entry in self.run.ledger.entries():
            fault, start = entry.id, entry.injected_at
            if start is None:
                continue
            made = self._made.get(fault)
            hold = None if entry.hold_until is None else entry.hold_until - start
            expires = start + ttl_s(hold, WATCHDOG_GRACE_S)  # the latest the fault can be in force
            end = expires if entry.removed_at is None else min(entry.removed_at, expires)
            if made is None:
                found = self._create(fault, entry.family, entry.target, start, end)
                if found is not None:
                    self._made[fault] = {"id": found, "closed": entry.removed_at is not None}
                    changed = True
            elif not made["closed"] and entry.removed_at is not None and self._close(made["id"], end):
                made["closed"] = True
                changed = True
        if changed:
            write_json_atomic(self._path, self._made)

    @property
    def open_regions(self) -> int:
        """Regions still ending at their fault's TTL rather than at its true end."""
        return sum(not made["closed"] for made in self._made.values())

    def _create(self, fault: str, family: str, target: str, start: float, end: float) -> int | None:
        tags = ["chaosllm", f"experiment:{self.experiment}", f"run:{self.run.run_dir.run_id}", f"fault:{fault}"]
        body: dict[str, Any] = {"time": int(start * 1000), "timeEnd": int(end * 1000), "tags": [*tags, *self.spec.tags],
                                "text": f"chaosllm fault {fault} ({family}) on {target}"}  # fmt: skip
        if self.spec.dashboard_uid:
            body["dashboardUID"] = self.spec.dashboard_uid
        answer = self._call("POST", "/api/annotations", body)
        found = answer.get("id") if answer is not None else None
        return int(found) if isinstance(found, int) else None

    def _close(self, annotation: int, end: float) -> bool:
        return self._call("PATCH", f"/api/annotations/{annotation}", {"timeEnd": int(end * 1000)}) is not None

    def _call(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            resp = requests.request(method, self.spec.url + path, json=body, headers=self._headers, timeout=_TIMEOUT_S)
            if resp.status_code != 200:
                raise TargetError(f"HTTP {resp.status_code}: {resp.text[:200]}")
            found: dict[str, Any] = resp.json()
        except (requests.RequestException, ValueError, TargetError) as exc:
            log.warning("Grafana %s %s: %s (tried again at the next change)", method, path, exc)
            return None
        return found


def close_after_cleanup(run: RunContext, configuration: Mapping[str, Any], title: str) -> str | None:
    """After ``chaosllm cleanup`` swept a killed run's faults: its regions get the ends the sweep recorded.
    A line saying what became of them; None when the run keeps no regions or none was left open."""
    path = run.run_dir.path / "grafana.json"
    if configuration.get(GRAFANA_KEY) is None or not path.is_file():
        return None
    if all(made.get("closed") for made in dict(read_json(path)).values()):
        return None
    try:
        annotator = Annotator(run, GrafanaSpec.parse(configuration[GRAFANA_KEY]), title)
    except (SpecError, TargetError) as exc:  # the token's variable unset here, most often
        return f"Grafana regions left ending at their faults' TTL: {exc}"
    annotator.sync()
    left = annotator.open_regions
    if left:
        return f"{left} Grafana region(s) left ending at their faults' TTL (Grafana did not answer: see the log)"
    return "Grafana regions given their true end"
