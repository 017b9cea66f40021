"""Benchmark: our load client's TTFT error against NVIDIA AIPerf's, on the same calibration server, the
same streams, in one run.

The calibration server writes each request's first content event 50 ms after the request arrived
(then one every 10 ms, 20 tokens), so a client's TTFT minus 50 ms is its error (plus loopback; the
server's own lateness is in both clients' figures alike). At each concurrency, for each run: our
Locust user for ``--seconds`` (``chaosllm calibrate``'s measurement, 1 process at 50 streams and 2 at
200, what this 2-core machine allows), then ``aiperf profile`` with ``--concurrency`` N for as many
requests (its own warmup first). AIPerf's TTFT is per request from its ``profile_export.jsonl``.
Printed: both errors' p50/p99 (median of the runs) and ours / AIPerf's p99.

AIPerf runs from its own virtualenv (its dependencies are not ours), made once under
``~/.cache/chaosllm/aiperf`` from PyPI; ``--tokenizer`` is a local directory with a ``tokenizer.json``
built here with ``tokenizers`` (AIPerf's builtin one downloads its encoding), and token counts come
from the server (``--use-server-token-count``).

    .venv/bin/python -m tests.benchmarks.aiperf_side_by_side [--streams 50 200] [--runs 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaoslib_ext.load.calibrate import calibrate
from tests.integration.helpers import start_calibration_server

FIRST_MS = 50.0
TOKENS = 20
AIPERF_VERSION = "0.13.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chaosllm" / "aiperf"


def aiperf() -> Path:
    """The ``aiperf`` command, installed once into its own virtualenv."""
    exe = CACHE / "bin" / "aiperf"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CACHE)], check=True)
        pip = [str(CACHE / "bin" / "python"), "-m", "pip", "install", "-q", f"aiperf=={AIPERF_VERSION}"]
        subprocess.run(pip, check=True)
    return exe


def tokenizer_dir(root: Path) -> Path:
    """A word-level tokenizer.json (and the config that names its class) for AIPerf's prompts."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["[UNK]", *(f"w{i}" for i in range(2000))]
    tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()  # type: ignore[assignment]
    root.mkdir(parents=True, exist_ok=True)
    tok.save(str(root / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]", "model_max_length": 100000}
    (root / "tokenizer_config.json").write_text(json.dumps(config))
    return root


@dataclass
class Errors:
    client: str
    streams: int
    requests: int
    p50_ms: float
    p99_ms: float


def run_ours(url: str, streams: int, seconds: float) -> Errors:
    processes = 1 if streams <= 100 else 2
    result = calibrate(streams, seconds, processes, tokens=TOKENS, ttft_ms=FIRST_MS, server_url=url)
    ttft = result.ttft_ms
    assert ttft.p50 is not None
    assert ttft.p99 is not None
    return Errors(f"ours ({processes} proc)", streams, ttft.count, ttft.p50 - FIRST_MS, ttft.p99 - FIRST_MS)


def run_aiperf(url: str, streams: int, requests: int, work: Path, tokenizer: Path) -> Errors:
    out = work / f"aiperf-{streams}"
    argv = [str(aiperf()), "profile", "--model", "calibration", "--url", url, "--endpoint-type", "chat",
            "--streaming", "--concurrency", str(streams), "--request-count", str(requests),
            "--warmup-request-count", str(streams), "--tokenizer", str(tokenizer), "--use-server-token-count",
            "--extra-inputs", f"max_tokens:{TOKENS}", "--artifact-dir", str(out)]  # fmt: skip
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    ttft = []
    for line in (out / "profile_export.jsonl").read_text().splitlines():
        record = json.loads(line)
        metric = record.get("metrics", {}).get("time_to_first_token")
        if metric is not None and record.get("metadata", {}).get("benchmark_phase") == "profiling":
            ttft.append(float(metric["value"]))
    values = np.array(ttft) - FIRST_MS
    return Errors("AIPerf", streams, len(values), float(np.percentile(values, 50)), float(np.percentile(values, 99)))


def main(argv: list[str] | None = None) -> dict[int, tuple[Errors, Errors]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="our measured time per run")
    args = parser.parse_args(argv)
    runs: dict[tuple[str, int], list[Errors]] = {}
    with tempfile.TemporaryDirectory(prefix="chaosllm-aiperf-") as tmp:
        work = Path(tmp)
        tokenizer = tokenizer_dir(work / "tokenizer")
        server, url = start_calibration_server(work, subprocess.DEVNULL, FIRST_MS, 10.0, "--tokens", str(TOKENS))
        try:
            for n in range(args.runs):
                for streams in args.streams:
                    ours = run_ours(url, streams, args.seconds)
                    theirs = run_aiperf(url, streams, max(ours.requests, 10 * streams), work / f"run{n}", tokenizer)
                    for e in (ours, theirs):
                        runs.setdefault((e.client.split(" ")[0], streams), []).append(e)
                        print(f"run {n + 1}: {e}", file=sys.stderr, flush=True)
        finally:
            server.terminate()
            server.wait()
    out = {}
    print(f"TTFT error (TTFT - the server's {FIRST_MS:g} ms), median of {args.runs} run(s)")
    print(f"{'client':<16} {'streams':>7} {'requests':>9} {'error p50 ms':>13} {'error p99 ms':>13}")
    for streams in args.streams:
        pair = []
        for client in ("ours", "AIPerf"):
            es = runs[(client, streams)]
            m = Errors(es[0].client, streams, int(statistics.median(e.requests for e in es)),
                       statistics.median(e.p50_ms for e in es), statistics.median(e.p99_ms for e in es))  # fmt: skip
            pair.append(m)
            print(f"{m.client:<16} {streams:>7} {m.requests:>9} {m.p50_ms:>13.2f} {m.p99_ms:>13.2f}")
        ratio = pair[0].p99_ms / pair[1].p99_ms
        print(f"{streams} streams: ours / AIPerf p99 error = 1/{1 / ratio:.1f} (target <= 1/10)")
        out[streams] = (pair[0], pair[1])
    return out


if __name__ == "__main__":
    main()
