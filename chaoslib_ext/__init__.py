"""chaoslib-ext: chaos engineering for LLM-serving stacks on Chaos Toolkit.

One YAML experiment puts streaming load on an OpenAI-compatible endpoint, breaks a part of the stack
(network, Redis, Kafka), and checks SLO hypotheses per phase (baseline, fault, recovery) from exact
TTFT / inter-token latency / throughput figures. The flow, as the subpackages follow it:

    experiment/ -> faults/ + load/ -> metrics/ -> hypotheses/ -> report/
                   controls/ ties them into a Chaos Toolkit run; cli/ is the ``chaosllm`` command.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
