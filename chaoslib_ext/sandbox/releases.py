"""Latency models of the sandbox's model releases: what ``model`` a request names decides how it decodes.

A release is a continuous-batching engine in miniature: a prefill per request (its TTFT share), then
decode steps in which every running sequence gets one token, each step longer the more sequences run.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RELEASES", "Release"]


@dataclass(frozen=True)
class Release:
    name: str
    prefill_base_ms: float  # fixed cost of one prefill
    prefill_per_token_ms: float  # added per prompt token
    prefill_jitter_ms: float  # uniform ± noise on each prefill
    cached_prefill_ms: float  # prefill when the prompt cache hits
    step_base_ms: float  # one decode step with a single running sequence
    step_per_seq_ms: float  # added per running sequence
    step_jitter_ms: float  # uniform ± noise on each step
    max_num_seqs: int  # requests beyond this wait for a free slot

    def prefill_ms(self, prompt_tokens: int, cached: bool) -> float:
        if cached:
            return self.cached_prefill_ms
        return self.prefill_base_ms + self.prefill_per_token_ms * prompt_tokens

    def step_ms(self, running: int) -> float:
        return self.step_base_ms + self.step_per_seq_ms * max(running - 1, 0)


RELEASES: dict[str, Release] = {
    "v1": Release(
        "v1",
        prefill_base_ms=35.0,
        prefill_per_token_ms=0.4,
        prefill_jitter_ms=8.0,
        cached_prefill_ms=8.0,
        step_base_ms=12.0,
        step_per_seq_ms=0.15,
        step_jitter_ms=1.5,
        max_num_seqs=64,
    ),
    # v2: a release whose prefill got 10 ms slower (same decode): on the sandbox under the compare load
    # (experiments/compare/releases.yaml) that is TTFT P99 +10.0 % on average over 9 runs (README:
    # measured figures); P50 changes more, ITL does not change.
    "v2": Release(
        "v2",
        prefill_base_ms=45.0,
        prefill_per_token_ms=0.4,
        prefill_jitter_ms=8.0,
        cached_prefill_ms=8.8,
        step_base_ms=12.0,
        step_per_seq_ms=0.15,
        step_jitter_ms=1.5,
        max_num_seqs=64,
    ),
}
