"""Latency models of the sandbox's model releases: what ``model`` a request names decides how it decodes.

A release is a continuous-batching engine in miniature: a prefill per request (its TTFT share), then
decode steps in which every running sequence gets one token. Its capacity is fixed, a property of the
server and not of the machine it runs on: at most ``max_num_seqs`` sequences (prefilling or decoding)
at once, a decode step of a fixed ``step_base_ms`` whatever their number, the rest waiting in a FIFO
queue. With max_tokens 32 and a 20-word prompt a sequence holds its slot for about 43 + 31 x 14 =
477 ms, so v1 completes at most about 16 / 0.477 = 33.5 req/s; past that, arrivals queue and TTFT
grows without bound (``chaosllm sweep`` finds the knee below it: README, capacity sweep). The 14 ms
step is what the batch-dependent step of earlier releases took at 16 sequences, so the experiments'
closed loops (at most 16 users) load the machine as they did: about 1,070 tokens/s through Kafka and
the gateway, which it carries with room to spare.
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
    step_per_seq_ms: float  # added per running sequence (0: a fixed step time)
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
        step_base_ms=14.0,
        step_per_seq_ms=0.0,
        step_jitter_ms=1.5,
        max_num_seqs=16,
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
        step_base_ms=14.0,
        step_per_seq_ms=0.0,
        step_jitter_ms=1.5,
        max_num_seqs=16,
    ),
}
