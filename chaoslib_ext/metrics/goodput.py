"""Goodput's bounds: the requests/s that met a latency SLO (``load.goodput`` of the experiment, as vLLM
``bench serve --goodput``)."""

from __future__ import annotations

from dataclasses import dataclass

from chaoslib_ext.exceptions import SpecError
from chaoslib_ext.fields import Fields

__all__ = ["GoodputSLO"]


@dataclass(frozen=True)
class GoodputSLO:
    """A request counts towards goodput when it succeeded and met every bound set here."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2el_ms: float | None = None

    @classmethod
    def parse(cls, raw: object, where: str) -> GoodputSLO:
        f = Fields(raw, ["ttft_ms", "tpot_ms", "e2el_ms"], where)
        slo = cls(
            f.number("ttft_ms", None, minimum=0),
            f.number("tpot_ms", None, minimum=0),
            f.number("e2el_ms", None, minimum=0),
        )
        if slo == cls():
            raise SpecError(where, "sets no bound", "ttft_ms, tpot_ms, e2el_ms")
        return slo
