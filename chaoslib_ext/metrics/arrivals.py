"""What an open-loop load did with its schedule, per phase (chaoslib_ext.load.arrivals).

By *scheduled* time: the arrivals scheduled in the window (``scheduled``), those sent and those a full
``max_concurrency`` refused (``not_sent``, counted, never dropped), the send lag (actual - scheduled),
the late ones (lag > 10 ms), those sent that never finished (``unfinished``: in flight when the load
stopped, counted from the schedule the runner kept), and TTFT and E2EL measured from the scheduled
time (``ttft_sched_ms``, ``e2el_sched_ms``): a stall of the client or a queue in front of the server
shows there instead of vanishing as it does from a closed loop's TTFT. ``offered_rate_rps`` is the
scheduled arrivals per second of the window, ``achieved_rate_rps`` the requests actually started in it per second.
"""

from __future__ import annotations

from chaoslib_ext.metrics.record import ArrivalMetrics
from chaoslib_ext.metrics.stats import distribution
from chaoslib_ext.metrics.windows import Window
from chaoslib_ext.samples.table import SampleTable

__all__ = ["LATE_MS", "arrival_metrics"]

#: a request sent this much after its scheduled time counts as late
LATE_MS = 10.0


def arrival_metrics(table: SampleTable, window: Window) -> ArrivalMetrics | None:
    """The window's arrival metrics; None for a closed loop (no request has a scheduled time)."""
    if not table.open_loop:
        return None
    sched = table.sched_at
    scheduled = window.contains(sched)  # NaN (no schedule) is in no window
    lag_ms = (table.start_at - sched) * 1000.0
    ok = scheduled & table.ok
    not_sent = int(window.contains(table.not_sent_at).sum())
    sent = int(scheduled.sum())
    # the whole schedule, when kept: what was scheduled here but neither finished nor refused was in flight
    # when the load stopped (a sample is written when a request ends)
    unfinished = max(0, int(window.contains(table.scheduled_at).sum()) - sent - not_sent)
    duration = window.duration_s
    started = int(window.contains(table.start_at).sum())
    return ArrivalMetrics(
        scheduled=sent + not_sent + unfinished,
        sent=sent,
        late=int((lag_ms[scheduled] > LATE_MS).sum()),
        not_sent=not_sent,
        offered_rate_rps=(sent + not_sent + unfinished) / duration if duration > 0 else None,
        achieved_rate_rps=started / duration if duration > 0 else None,
        send_lag_ms=distribution(lag_ms[scheduled]),
        ttft_sched_ms=distribution((table.ttft_ms + lag_ms)[ok]),
        e2el_sched_ms=distribution((table.e2el_ms + lag_ms)[ok]),
        unfinished=unfinished,
    )
