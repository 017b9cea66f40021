"""The run directory ``reports/<run-id>/``: every file a run leaves, at fixed names (see reports/README.md)."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_ROOT", "RunDir"]

DEFAULT_ROOT = Path("reports")


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def create(cls, root: Path, title: str) -> RunDir:
        """A new, empty run directory under ``root``, named ``<UTC time>-<slug of title>-<random>``."""
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "run"
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = root / f"{stamp}-{slug}-{secrets.token_hex(2)}"
        path.mkdir(parents=True, exist_ok=False)
        return cls(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def experiment(self) -> Path:
        return self.path / "experiment.json"

    @property
    def journal(self) -> Path:
        return self.path / "journal.json"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def load(self) -> Path:
        return self.path / "load"

    @property
    def timeline(self) -> Path:
        return self.path / "timeline.json"

    @property
    def ledger(self) -> Path:
        return self.path / "ledger.json"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    @property
    def report_md(self) -> Path:
        return self.path / "report.md"

    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    @property
    def junit(self) -> Path:
        return self.path / "junit.xml"

    @property
    def environment(self) -> Path:
        return self.path / "environment.json"

    @property
    def log(self) -> Path:
        return self.path / "chaosllm.log"

    @property
    def owner(self) -> Path:
        """The process running the experiment (pid + start time): a sweep leaves a live run alone."""
        return self.path / "owner.json"

    @property
    def proxy(self) -> Path:
        """The fault proxy the run started for itself, when its target asked for one."""
        return self.path / "proxy"

    @property
    def stop_file(self) -> Path:
        """Written when a safeguard trips, the load dies or the run is aborted: the method ends and no new
        fault goes in."""
        return self.path / "stop.json"

    @property
    def advance_file(self) -> Path:
        """Asks the method's current wait to end now (a game day's "next"); taken by the wait that ends."""
        return self.path / "advance.json"

    @property
    def control(self) -> Path:
        """Where the run's control endpoint listens (its URL, never its token): ``chaosllm abort`` reads it."""
        return self.path / "control.json"

    @property
    def queries(self) -> Path:
        """The prometheus hypotheses' values per phase, fetched once the run ended (chaoslib_ext.promql)."""
        return self.path / "prometheus.json"

    @property
    def server_metrics(self) -> Path:
        """The server's own Prometheus metrics, every scrape's raw text (chaoslib_ext.scrape)."""
        return self.path / "server_metrics"

    @property
    def gameday(self) -> Path:
        """A game day's record, written as it happens (record.md, record.json) and its postmortem."""
        return self.path / "gameday"
