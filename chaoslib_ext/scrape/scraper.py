"""Scrape the target's own Prometheus metrics during a run: every ``every_s`` seconds and at every phase
boundary (a fault injected or removed: the scrape follows the timeline's event within a fraction of a
second), each source on its own, all sources of a round at the same time. A source is a URL a service
names (``services.<name>.metrics``, one per replica), or on a cluster each pod of a service whose
metrics say ``{port, path}`` (at the pod's IP, as the cluster watch last read the pods: a pod that comes
or goes mid-run is scraped from then on, or no more). The raw text of every scrape is kept,
``<run>/server_metrics/<source>.prom``, each block after a ``# chaosllm-scrape at=<unix>`` line (a
failed scrape: ``... error=<why>``), so the figures can be recomputed and anyone can check them
(chaoslib_ext.metrics.server reads them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from chaoslib_ext.run.timeline import Timeline
from chaoslib_ext.secrets import redact_url
from chaoslib_ext.target import Target

__all__ = ["EVERY_S", "Scraper", "Sources", "pod_sources", "sources_of"]

log = logging.getLogger("chaoslib_ext")
EVERY_S = 5.0
_TIMEOUT_S = 2.0
_WATCH_S = 0.2  # how often the timeline is looked at for a phase boundary

#: the sources of a round (name -> URL): asked at every round, so pods can come and go
Sources = Callable[[], dict[str, str]]


def sources_of(target: Target) -> dict[str, str]:
    """Every metrics URL the target's services name, by source name (``gateway``, ``gateway-2`` ...)."""
    out: dict[str, str] = {}
    for name, service in target.services.items():
        for i, url in enumerate(service.metrics):
            out[name if i == 0 else f"{name}-{i + 1}"] = url
    return out


def pod_sources(service: str, scheme: str, port: int, path: str, pods: dict[str, str]) -> dict[str, str]:
    """Each pod of a service scraped at its IP (``pods``: pod -> IP), as source ``<service>.<pod>``."""
    return {f"{service}.{pod}": f"{scheme}://{ip}:{port}{path}" for pod, ip in sorted(pods.items())}


class Scraper:
    def __init__(self, folder: Path, timeline: Timeline, sources: Sources, every_s: float = EVERY_S) -> None:
        self.folder, self.timeline, self.sources, self.every_s = folder, timeline, sources, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaosllm-scrape", daemon=True)
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="chaosllm-scrape")
        self.rounds = 0

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shown = ", ".join(f"{n} {redact_url(u)}" for n, u in self.sources().items()) or "each pod, once read"
        log.info("scraping the server's own metrics: %s", shown)
        self._thread.start()

    def stop(self) -> None:
        """Stop, with a last round (the end of the last phase)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.scrape()
        self._pool.shutdown(wait=True)

    def _loop(self) -> None:
        boundaries, due = -1, 0.0
        while not self._stop.is_set():
            try:
                seen = sum(1 for e in self.timeline.events() if e["kind"] in ("fault_injected", "fault_removed"))
                if seen != boundaries or time.monotonic() >= due:
                    boundaries, due = seen, time.monotonic() + self.every_s
                    self.scrape()
            except Exception:  # a scrape must never stop the run; the next round tries again
                log.exception("scraping the server's metrics failed")
            self._stop.wait(_WATCH_S)

    def scrape(self) -> None:
        """One round: every source at once, each block appended to its file."""
        at, sources = time.time(), self.sources()
        for name, text in zip(sources, self._pool.map(_get, sources.values()), strict=True):
            block = text if text.startswith(" error=") else "\n" + text
            with (self.folder / f"{name}.prom").open("a", encoding="utf-8") as out:
                out.write(f"# chaosllm-scrape at={at:.3f}{block}\n")
        self.rounds += 1


def _get(url: str) -> str:
    """The text, or `` error=<why>`` (one line) when the server did not give it."""
    try:
        resp = requests.get(url, timeout=_TIMEOUT_S)
    except requests.RequestException as exc:
        return f" error={type(exc).__name__}"
    if resp.status_code != 200:
        return f" error=HTTP {resp.status_code}"
    return resp.text
