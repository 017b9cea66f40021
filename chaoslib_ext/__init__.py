"""chaoslib-ext: chaos engineering for LLM-serving stacks on Chaos Toolkit.

One YAML experiment puts streaming load on an OpenAI-compatible endpoint, breaks a part of the stack
(network, Redis, Kafka), and checks SLO hypotheses per phase (baseline, fault, recovery) from exact
TTFT / inter-token latency / throughput figures. The flow, as the subpackages follow it:

    experiment/ -> faults/ + load/ -> samples/ -> metrics/ -> verdict/ -> report/ (+ history/, compare/)
                   controls/ ties them into a Chaos Toolkit run; cli/ is the ``chaosllm`` command.

The layers, bottom to top. A module imports its own package and the layers below it, never one
above nor a sibling of its own layer; ``tests/unit/test_layers.py`` fails on any import that runs back
up (the table there is this list):

    foundation   exceptions, ctk (the Chaos Toolkit edge), durations, fields, secrets, access, target,
                 registry, sse (an SSE stream read: by the load and by the proxy's stream faults),
                 promql (Prometheus's HTTP API: the safeguards' and the hypotheses' one key),
                 run/ (context, run directory, timeline, ledger, environment, the run's
                 proxied target), and the plumbing: _jsonfile, _filelock, _processes, _eventloop,
                 _aioserver, _readiness
    samples/     the record of every request: its format (versioned), writer, readers
    metrics/     per-phase metrics from the samples
    verdict/     hypotheses judged and the run's outcome decided: the typed RunSummary
    proxy/       the fault proxy
    faults/ | load/ | scrape/   the actors: faults break (through the proxy), load measures (into
                 samples), scrape keeps the server's own metrics
    safeguards/  live stop conditions over the load's windows, which remove the faults
    history/     the runs recorded
    report/      renders a RunSummary (and reads the history's trend)
    compare/     two sides' samples and a statistical verdict, rendered with report's kits
    sweep/       a capacity sweep: open-loop steps of rising rate, judged with compare's bootstrap
    experiment/  the file parsed with each stage's own spec parser, its faults planned
    gameday/     a game day's record, written as it happens, and its postmortem skeleton
    controls/ | console/ | sandbox/ | preflight | deploy/   the Chaos Toolkit control (with the run's
                 control endpoint, abort, gate and lock), the game day console (a client of that
                 endpoint), the system under test, the checks, an experiment run inside a cluster
    cli/         the ``chaosllm`` command, over everything
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
