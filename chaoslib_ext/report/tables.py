"""What every renderer shows, format-neutral: the rows of the phase and verdict tables, the sentences
shared by the Markdown, HTML and terminal reports, and a plain-text table. Renderers import this kit
(and ``htmlkit``, ``svg``), never each other, so one sentence has one spelling."""

from __future__ import annotations

from collections.abc import Callable

from chaoslib_ext.metrics import PHASES
from chaoslib_ext.metrics.record import Distribution, PhaseMetrics
from chaoslib_ext.verdict.evaluate import VerdictStatus, bound_text
from chaoslib_ext.verdict.outcome import RunVerdict
from chaoslib_ext.verdict.summary import FaultRecord, RunSummary

__all__ = [
    "ARRIVALS_NOTE",
    "ERRORS_NOTE",
    "LENGTHS_NOTE",
    "PERCENTILE_NOTE",
    "SERVER_NOTE",
    "Rows",
    "arrival_rows",
    "cluster_line",
    "css_class",
    "error_rows",
    "fault_line",
    "host_lines",
    "length_rows",
    "lengths_note",
    "outcome_line",
    "overhead_sentence",
    "phase_rows",
    "recovery_line",
    "seconds",
    "server_rows",
    "text_table",
    "validity_note",
    "validity_rows",
    "verdict_rows",
    "workers_line",
]

#: a table: its header and its rows of cells
Rows = tuple[list[str], list[list[str]]]

PERCENTILE_NOTE = "Percentiles are exact (linear interpolation on raw samples); jitter = P99 - P50."
ARRIVALS_NOTE = (
    "Open loop: arrivals by their scheduled time; late = sent more than 10 ms after it; not sent = found "
    "max_concurrency full (counted, not dropped); unfinished = sent, still in flight when the load stopped; "
    "TTFT from schedule = send lag + TTFT."
)
_ARRIVAL_COLUMNS = (
    ("offered req/s", "offered_rate_rps", "{:.2f}"),
    ("achieved req/s", "achieved_rate_rps", "{:.2f}"),
    ("sent", "sent", "{:.0f}"),
    ("late", "late", "{:.0f}"),
    ("not sent", "not_sent", "{:.0f}"),
    ("unfinished", "unfinished", "{:.0f}"),
    ("send lag p50 ms", "send_lag_ms.p50", "{:.2f}"),
    ("send lag p99 ms", "send_lag_ms.p99", "{:.2f}"),
    ("TTFT from schedule p50 ms", "ttft_sched_ms.p50", "{:.1f}"),
    ("TTFT from schedule p99 ms", "ttft_sched_ms.p99", "{:.1f}"),
)

LENGTHS_NOTE = (
    "Token lengths by request start, successful requests; served = the server's usage counts; input error = "
    "median |served - overhead - asked| / asked, overhead = median served - asked (template tokens)."
)
_LENGTH_COLUMNS = (
    ("input asked p50", "requested_input_tokens.p50", "{:.0f}"),
    ("input served p50", "input_tokens.p50", "{:.0f}"),
    ("input served p99", "input_tokens.p99", "{:.0f}"),
    ("overhead", "input_overhead_tokens", "{:.0f}"),
    ("input error", "input_error", "{:.1%}"),
    ("output asked p50", "requested_output_tokens.p50", "{:.0f}"),
    ("output served p50", "output_tokens.p50", "{:.0f}"),
    ("output served p99", "output_tokens.p99", "{:.0f}"),
    ("output error", "output_error", "{:.1%}"),
)

#: (column title, metric, number format)
_COLUMNS = (
    ("requests", "requests", "{:.0f}"),
    ("errors", "error_rate", "{:.1%}"),
    ("TTFT p50 ms", "ttft_ms.p50", "{:.1f}"),
    ("TTFT p99 ms", "ttft_ms.p99", "{:.1f}"),
    ("ITL p50 ms", "itl_ms.p50", "{:.1f}"),
    ("ITL p99 ms", "itl_ms.p99", "{:.1f}"),
    ("TTFT jitter ms", "ttft_jitter_ms", "{:.1f}"),
    ("ITL jitter ms", "itl_jitter_ms", "{:.1f}"),
    ("req/s", "request_throughput_rps", "{:.2f}"),
    ("tok/s", "output_throughput_tps", "{:.1f}"),
    ("seconds", "duration_s", "{:.1f}"),
)
_MARK: dict[VerdictStatus, str] = {"pass": "PASS", "fail": "FAIL", "no-data": "NO DATA", "error": "ERROR"}
#: the one style vocabulary of verdicts and outcomes (a no-data verdict is an error, as in JUnit)
_CLASS: dict[VerdictStatus | RunVerdict, str] = {
    "pass": "pass",
    "passed": "pass",
    "fail": "fail",
    "failed": "fail",
    "no-data": "error",
    "error": "error",
    "inconclusive": "error",
    "aborted": "aborted",
}


def css_class(status: VerdictStatus | RunVerdict) -> str:
    """The style of a verdict or an outcome: pass, fail, error or aborted."""
    return _CLASS[status]


def seconds(value: float | None, signed: bool = False) -> str:
    """``12.3s`` (``+12.3s`` signed); ``-`` for none."""
    if value is None:
        return "-"
    return f"{value:+.1f}s" if signed else f"{value:.1f}s"


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A table of text, columns padded to their widest cell (Markdown's pipe syntax)."""
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]


def _metric_rows(
    summary: RunSummary, columns: tuple[tuple[str, str, str], ...], only: Callable[[PhaseMetrics], bool] | None = None
) -> Rows:
    """One row per phase that lasted (and for which ``only`` holds), in phase order."""
    shown = [p for p in PHASES if p in summary.phases and summary.phases[p].duration_s > 0]
    shown = [p for p in shown if only is None or only(summary.phases[p])]
    rows = [[p] + [_cell(summary.phases[p].value(metric), fmt) for _, metric, fmt in columns] for p in shown]
    return ["phase", *(title for title, _, _ in columns)], rows


def phase_rows(summary: RunSummary) -> Rows:
    """The metrics of every phase that lasted."""
    return _metric_rows(summary, _COLUMNS)


def arrival_rows(summary: RunSummary) -> Rows:
    """An open loop's schedule per phase; no rows for a closed loop."""
    return _metric_rows(summary, _ARRIVAL_COLUMNS, lambda p: p.arrivals is not None)


def length_rows(summary: RunSummary) -> Rows:
    """A workload's token lengths per phase, served against asked; no rows without a workload."""
    return _metric_rows(summary, _LENGTH_COLUMNS, lambda p: p.lengths is not None and p.lengths.requested)


def lengths_note(summary: RunSummary) -> str:
    """How the lengths were made and held (chaoslib_ext.load.prepare's record), for the table's foot."""
    made = (summary.load or {}).get("workload_made")
    if not isinstance(made, dict):
        return LENGTHS_NOTE
    control = made.get("output_control")
    held = {
        "ignore_eos": "held with ignore_eos and min_tokens",
        "logit_bias": "held with a -100 logit_bias on the end-of-sequence tokens",
    }.get(str(control), "NOT controlled (the server may stop early at end-of-sequence)")
    template = made.get("template_tokens")
    extra = "unknown (no usage)" if template is None else f"{template}"
    served = _number(made.get("served_median_error"))
    requests = made.get("served_requests")
    checked = "" if served is None else f"; {requests} requests before the load: within {served:.1%} (median)"
    return (
        f"{LENGTHS_NOTE} Prompts made with the {made.get('tokenizer')} tokenizer (checked: median error "
        f"{_cell(_number(made.get('median_error')), '{:.1%}')}{checked}); tokens the server adds to a prompt "
        f"(chat template, BOS): {extra}; output lengths {held}."
    )


def verdict_rows(summary: RunSummary) -> Rows:
    """One row per hypothesis, in the experiment's order."""
    rows = [
        [_MARK[v.status], v.name, v.phase, v.metric, v.expect, _cell(v.observed, "{:.4g}"), bound_text(v.bound)]
        for v in summary.hypotheses
    ]
    return ["verdict", "hypothesis", "phase", "metric", "expect", "observed", "bound"], rows


def outcome_line(summary: RunSummary) -> str:
    """``PASSED, passed (exit code 0)``."""
    o = summary.outcome
    return f"{o.verdict.upper()}, {o.cause} (exit code {o.exit_code})"


def fault_line(fault: FaultRecord) -> str:
    held = "" if fault.held_s is None else f", held {seconds(fault.held_s)}"
    return f"`{fault.id}` ({fault.family}) on {fault.target}: {fault.state}{held}{_evidence(fault)}"


def _evidence(fault: FaultRecord) -> str:
    """Whether the fault reached the requests (chaoslib_ext.verdict.evidence), as a clause of its line."""
    ev = fault.evidence
    if ev is None:
        return ""
    if not ev.counted:
        return f"; fault_coverage unknown (no counters recorded for it; {ev.window_requests} requests in its window)"
    if ev.coverage is None:
        why = (
            "its dependency's other calls not counted" if ev.kind == "calls" else "requests not told apart on this link"
        )
        coverage = f"fault_coverage unknown ({why}; {ev.window_requests} requests in its window)"
    elif ev.kind == "calls":
        coverage = f"fault_coverage {ev.coverage:.0%} (of the dependency's {ev.calls_all} calls in its window)"
    else:
        coverage = f"fault_coverage {ev.coverage:.0%} ({ev.passed} requests through it, {ev.window_requests} started)"
    if ev.kind == "stream":
        rate = "n/a" if ev.effect_rate is None else f"{ev.effect_rate:.1%}"
        expected = "" if ev.expected_rate is None else f" (percent {ev.expected_rate:.0%})"
        seen = "" if ev.marked is None else f", {ev.marked} marked in the load's samples"
        did = f"touched {ev.touched} = {rate}{expected}, {ev.effects} effects{seen}"
    elif ev.kind == "calls":
        did = f"{ev.effects} calls reached the server while it was in force"
    else:
        seen = "" if ev.marked is None else f"; {ev.marked} requests marked in the load's samples"
        did = f"{ev.effects} chunks on {ev.touched} connections through it{seen}"
    return f"; {coverage}, {did}" + ("; NO EFFECT: the run is inconclusive" if ev.missed else "")


def overhead_sentence(overhead: Distribution) -> str:
    """The client's share of TTFT, for the runs whose server reported its own."""
    p50 = _cell(overhead.p50, "{:.2f}")
    p99 = _cell(overhead.p99, "{:.2f}")
    return (
        f"Client overhead on TTFT (client minus server-reported): p50 {p50} ms,"
        f" p99 {p99} ms over {overhead.count} requests."
    )


def host_lines(summary: RunSummary) -> list[str]:
    """The load generator's CPU per phase, and a warning when the hypervisor starved it."""
    host = summary.load_host
    if host is None:
        return []
    parts, starved = [], 0.0
    for phase in PHASES:
        h = host.phases.get(phase)
        if h is not None and phase != "overall":
            parts.append(f"{phase} busy {h.busy_mean:.0%}, steal {h.steal_mean:.1%} (worst second {h.steal_max:.0%})")
            starved += h.starved_seconds
    if not parts:
        return []
    lines = ["Load generator's CPU (this host, /proc/stat each second): " + "; ".join(parts) + "."]
    if starved:
        lines.append(
            f"Warning: {starved:g} s with the hypervisor stealing {host.starved_steal:.0%} or more of this "
            "host's CPU; latencies of requests in flight then measure this host, not the target."
        )
    return lines


ERRORS_NOTE = (
    "Failed requests by class and by request start (reports/README.md: connect, timeout, reset, cut = the "
    "connection ended mid-stream, http_NNN, error_event, malformed = an SSE event that is not JSON, no_done = "
    "no [DONE], no_content); a partial stream keeps its TTFT and tokens in the samples."
)


def error_rows(summary: RunSummary) -> Rows:
    """Failed requests per phase and class (chaoslib_ext.samples.errors); no rows when nothing failed."""
    phases = [(p, summary.phases[p]) for p in PHASES if p in summary.phases]
    kinds = list(dict.fromkeys(k for _, m in phases for k in m.errors))
    rows = [[p, *(f"{m.errors[k]} ({m.errors[k] / m.requests:.1%})" if k in m.errors and m.requests else "0"
                  for k in kinds)] for p, m in phases if m.errors]  # fmt: skip
    return ["phase", *kinds], rows


RETRIES_NOTE = (
    "A retry policy's attempts by start (chaoslib_ext.load.retry): every attempt is a request in the tables "
    "above (what the server saw); retries / first attempts is the retry rate; recovered = retries that "
    "succeeded, exhausted = requests that failed after retrying."
)


def retry_rows(summary: RunSummary) -> Rows:
    """The retries per phase; no rows for a load that never retried."""
    rows = [[p, str(r.first_attempts), str(r.count), _cell(r.rate, "{:.1%}"), str(r.recovered), str(r.exhausted)]
            for p in PHASES if p in summary.phases and (r := summary.phases[p].retries) is not None]  # fmt: skip
    return ["phase", "first attempts", "retries", "retry rate", "recovered", "exhausted"], rows


SERVER_NOTE = (
    "The server's own view (its Prometheus metrics, scraped every 5 s and at every fault's injection and "
    "removal; chaoslib_ext.metrics.server) beside the client's: means are exact (histogram sum / count), "
    "server p50/p99 are bucket-bounded (interpolated within the bucket, as PromQL's histogram_quantile). "
    "gap = client mean TTFT - server mean TTFT: the network, what stands before the server, the client."
)


def server_rows(summary: RunSummary) -> Rows:
    """Server vs client TTFT (and ITL, the queue) per phase; no rows when nothing was scraped."""

    def ms(value: float | None) -> str:
        return _cell(value, "{:.1f}")

    rows = []
    for p in PHASES:
        m = summary.phases.get(p)
        if m is None or m.server is None:
            continue
        s = m.server
        waiting = f"{_cell(s.value('waiting.mean'), '{:.1f}')} / {_cell(s.value('waiting.max'), '{:.0f}')}"
        scrapes = f"{s.scrapes}" + (f" ({s.failed_scrapes} failed)" if s.failed_scrapes else "")
        server = [ms(s.value(k)) for k in ("ttft_ms.mean", "ttft_ms.p50", "ttft_ms.p99", "itl_ms.mean")]
        count = str(int(s.value("ttft_ms.count") or 0))
        rows.append([p, server[0], ms(m.ttft_ms.mean), ms(m.ttft_gap_ms), *server[1:3], server[3], ms(m.itl_ms.mean),
                     waiting, count, scrapes])  # fmt: skip
    header = ["phase", "server TTFT mean ms", "client TTFT mean ms", "gap ms", "server TTFT p50 ms (buckets)",
              "server TTFT p99 ms (buckets)", "server ITL mean ms", "client ITL mean ms", "queue waiting mean / max",
              "server requests", "scrapes"]  # fmt: skip
    return header, rows


def cluster_line(summary: RunSummary) -> str | None:
    """What a cluster target's pods went through, and when every replica was ready again; None without."""
    c = summary.cluster
    if c is None:
        return None
    changes = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(c.changes.items())) or "no change"
    if c.recovered is None:
        ready = "no fault was removed"
    elif c.replicas_ready_s is None:
        ready = "the replicas were NOT all ready again by the run's end"
    else:
        ready = f"all replicas ready again {seconds(c.replicas_ready_s)} after the last fault's removal"
    return f"The cluster's pods (every service's selector, read every 2 s): {changes}; {ready}."


def recovery_line(summary: RunSummary) -> str | None:
    """Time to recover after the last fault's removal (chaoslib_ext.metrics.recovery); None without one."""
    if not summary.recovery:
        return None
    parts = []
    for metric, r in summary.recovery.items():
        if r.recovered:
            parts.append(f"{metric} {r.seconds:g} s")
        elif not r.judged:
            why = "no baseline" if r.baseline is None else "the load stopped before a window could hold"
            parts.append(f"{metric} not judged ({why})")
        else:
            gap = "nothing measured" if r.last_gap is None else f"{r.last_gap:+.0%} from baseline"
            parts.append(f"{metric} never recovered (last window {gap})")
    p = next(iter(summary.recovery.values())).policy
    return (f"Time to recover after the last fault's removal: {'; '.join(parts)}. A window of {p.window_s:g} s "
            f"every {p.step_s:g} s is back within {p.tolerance:.0%} of baseline (one-sided) and stays back for "
            f"{p.hold_s:g} s.")  # fmt: skip


def validity_rows(summary: RunSummary) -> Rows:
    """How exact each phase's record is (chaoslib_ext.metrics.validity); no rows when nothing was measured."""
    header = ["phase", "measurable", "client lag p50 ms", "client lag p99 ms", "client CPU", "starved s",
              "lagged s", "measurable s"]  # fmt: skip
    validity = summary.validity
    if validity is None:
        return header, []
    rows = []
    for phase in PHASES:
        v = validity.phases.get(phase)
        if v is None:
            continue
        lag = v.client_lag_ms
        rows.append([
            phase, "yes" if v.measurable else "NO", _cell(lag.p50 if lag else None, "{:.2f}"),
            _cell(lag.p99 if lag else None, "{:.2f}"), _cell(v.client_cpu, "{:.0%}"), f"{v.starved_s:g}",
            f"{v.lagged_s:g}", f"{v.measurable_s:g} of {v.seconds:g}",
        ])  # fmt: skip
    return header, rows


def workers_line(summary: RunSummary) -> str | None:
    """The remote load workers (chaoslib_ext.load.remote): how exactly their clocks were known, and what
    was lost; None for a run without them."""
    seen = (summary.load or {}).get("workers_seen")
    if not isinstance(seen, list) or not seen:
        return None
    bounds = [b for w in seen if isinstance(w, dict) and isinstance(b := w.get("clock_bound_ms"), int | float)]
    parts = []
    for w in seen:
        if not isinstance(w, dict):
            continue
        fate = f"refused: {w['refused']}" if w.get("refused") else f"{w.get('received')} requests received"
        lost = f", {w['lost']} lost (started, never shipped)" if w.get("lost") else ""
        parts.append(f"{w.get('name')} clock offset {w.get('clock_offset_ms')} ms, {fate}{lost}")
    largest = f"{max(bounds):.2f} ms" if bounds else "unknown"
    return f"Remote workers: {len(seen)}; largest clock offset bound {largest}. " + "; ".join(parts) + "."


def validity_note(summary: RunSummary) -> str:
    """The policy the validity table was judged by, and why a phase was not measurable."""
    validity = summary.validity
    if validity is None:
        return ""
    p = validity.policy
    why = "".join(f" {phase}: {reason}." for phase, reason in validity.not_measurable().items())
    return (
        f"Client lag: how late each load process's 50 Hz timer ran (samples/lag.jsonl); client CPU: the "
        f"busiest load process's share of one core. A second is unmeasurable when the host's steal reached "
        f"{p.max_steal:.0%} (starved) or a load process's lag p99 in it exceeded {p.max_client_lag_ms:g} ms "
        f"(lagged); a phase is not measurable when fewer than {p.min_measurable:.0%} of its seconds are "
        "measurable, and its hypotheses are errors (exit 2)." + why
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
