"""Benchmark: do requested token lengths come out as asked, on the sandbox and on llama.cpp?

``--runs`` loads against each (the sandbox of its own; llama.cpp with SmolLM2-135M, 1 user) with a
workload of uniform input lengths (48-200 tokens) and output lengths (12-32 tokens). Prints, per run,
the median relative error of input lengths (served by ``usage.prompt_tokens`` after the template's
overhead: from the streams on the sandbox, from the 5 requests of the check before the load on
llama.cpp, whose streams carry no usage), of output lengths (``usage.completion_tokens`` or content
events), the template overhead and how outputs were held; then the medians over the runs. A closed
loop draws its lengths with seed 0, so the runs repeat the same requests.

    .venv/bin/python -m tests.benchmarks.workload_lengths [--runs 3] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from tests.benchmarks.own_sandbox import CHAOSLLM, own_sandbox
from tests.integration.helpers import LLAMA_MODEL_ALIAS, start_llama, stop

WORKLOAD = {"input_tokens": {"dist": "uniform", "min": 48, "max": 200},
            "output_tokens": {"dist": "uniform", "min": 12, "max": 32}}  # fmt: skip
KEY_ENV = "CHAOSLLM_BENCH_LLAMA_KEY"


def one_load(out: Path, where: list[str], seconds: int, env: dict[str, str]) -> tuple[float, float, dict]:
    cmd = [*CHAOSLLM, "load", *where, "--users", "1", "--duration", f"{seconds}s", "--warmup", "1s",
           "--workload", json.dumps(WORKLOAD), "--out", str(out)]  # fmt: skip
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=600)
    summary = json.loads((out / "summary.json").read_text())
    lengths, made = summary["phases"]["overall"]["lengths"], summary["load"]["workload_made"]
    served_in = lengths["input_error"] if lengths["input_error"] is not None else made["served_median_error"]
    return served_in, lengths["output_error"], made


def report(name: str, results: list[tuple[float, float, dict]]) -> None:
    for i, (inp, outp, made) in enumerate(results, start=1):
        print(f"{name} run {i}: input error {inp:.2%}, output error {outp:.2%}; template tokens "
              f"{made['template_tokens']}, tokenizer {made['tokenizer']}, output {made['output_control']}")  # fmt: skip
    med = statistics.median
    print(f"{name}: median of {len(results)}: input error {med(r[0] for r in results):.2%}, "
          f"output error {med(r[1] for r in results):.2%}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with own_sandbox(work, work / "history.sqlite") as env:
            where = ["--target", "sandbox", "--model", "sandbox-v1"]
            sandbox = [one_load(work / f"sandbox-{i}", where, args.seconds, env) for i in range(args.runs)]
        proc, url, key = start_llama(work)
        try:
            env = {**env, KEY_ENV: key}
            where = ["--url", url, "--model", LLAMA_MODEL_ALIAS, "--api-key-env", KEY_ENV]
            llama = [one_load(work / f"llama-{i}", where, args.seconds, env) for i in range(args.runs)]
        finally:
            stop(proc)
    report("sandbox", sandbox)
    report("llama.cpp", llama)


if __name__ == "__main__":
    main()
