"""Plain ``chaos run`` with chaoslib_ext installed: the same control, the same run directory, and a
failed hypothesis turns into Chaos Toolkit's exit code 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.helpers import proxy_faults, run_dirs

SHORT = Path(__file__).with_name("experiments") / "short.yaml"
CHAOS = str(Path(sys.executable).with_name("chaos"))


def test_chaos_run_reports_a_failed_hypothesis_as_deviated(sandbox, in_tmp):
    journal = in_tmp / "journal.json"
    result = subprocess.run(
        [
            CHAOS,
            "--log-file",
            str(in_tmp / "chaostoolkit.log"),
            "run",
            "--journal-path",
            str(journal),
            "--var",
            "ttft_p99_bound=1",
            "--var",
            "window=5s",
            str(SHORT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
        cwd=in_tmp,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(journal.read_text())
    assert data["status"] == "completed"  # what Chaos Toolkit alone would have said
    assert data["deviated"] is True
    assert data["chaosllm"]["exit_code"] == 1
    run = run_dirs(in_tmp / "reports")
    assert len(run) == 1
    summary = json.loads((run[0] / "summary.json").read_text())
    statuses = {h["name"]: h["status"] for h in summary["hypotheses"]}
    assert statuses["baseline TTFT p99 under the bound"] == "fail"
    assert statuses["the fault took effect"] == "pass"
    assert proxy_faults(sandbox["proxy"]["control_url"]) == {}
