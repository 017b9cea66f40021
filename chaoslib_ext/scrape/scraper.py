"""Scrape the target's own Prometheus metrics during a run: every ``every_s`` seconds and at every phase
boundary (a fault injected or removed: the scrape follows the timeline's event within a fraction of a
second), each URL a service names (``services.<name>.metrics``, one per replica) on its own, all URLs
of a round at the same time. The raw text of every scrape is kept, ``<run>/server_metrics/<source>.prom``,
each block after a ``# chaosllm-scrape at=<unix>`` line (a failed scrape: ``... error=<why>``), so the
figures can be recomputed and anyone can check them (chaoslib_ext.metrics.server reads them).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from chaoslib_ext.run.timeline import Timeline
from chaoslib_ext.secrets import redact_url
from chaoslib_ext.target import Target

__all__ = ["EVERY_S", "Scraper", "sources_of"]

log = logging.getLogger("chaoslib_ext")
EVERY_S = 5.0
_TIMEOUT_S = 2.0
_WATCH_S = 0.2  # how often the timeline is looked at for a phase boundary


def sources_of(target: Target) -> dict[str, str]:
    """Every metrics URL the target's services name, by source name (``gateway``, ``gateway-2`` ...)."""
    out: dict[str, str] = {}
    for name, service in target.services.items():
        for i, url in enumerate(service.metrics):
            out[name if i == 0 else f"{name}-{i + 1}"] = url
    return out


class Scraper:
    def __init__(self, folder: Path, timeline: Timeline, sources: dict[str, str], every_s: float = EVERY_S) -> None:
        self.folder, self.timeline, self.sources, self.every_s = folder, timeline, dict(sources), every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaosllm-scrape", daemon=True)
        self._pool = ThreadPoolExecutor(max(1, len(sources)), thread_name_prefix="chaosllm-scrape")
        self.rounds = 0

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log.info(
            "scraping the server's own metrics: %s", ", ".join(f"{n} {redact_url(u)}" for n, u in self.sources.items())
        )
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
        at = time.time()
        for name, text in zip(self.sources, self._pool.map(_get, self.sources.values()), strict=True):
            with (self.folder / f"{name}.prom").open("a", encoding="utf-8") as out:
                out.write(f"# chaosllm-scrape at={at:.3f}{text if text.startswith(' error=') else chr(10) + text}\n")
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
