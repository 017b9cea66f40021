"""A clone is all a user gets: nothing in the repository reads or cites a file outside it."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
OUTSIDE = re.compile(r"\.\./shared|parents\[2\] / \"shared\"|\bDESIGN\.md\b|STYLE(-REVIEW)?\.md")


def tracked_text_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in listed.decode().split("\0"):
        path = ROOT / name
        if name and path.is_file() and path.suffix in (".py", ".md", ".yaml", ".yml", ".toml", ".json", ""):
            yield name, path.read_text(encoding="utf-8", errors="replace")


def test_no_tracked_file_reads_or_cites_a_file_outside_the_repository():
    found = [
        f"{name}:{n}: {line.strip()}"
        for name, text in tracked_text_files()
        if name != "tests/unit/test_self_contained.py"
        for n, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_the_chaos_mesh_crds_ship_inside_the_package():
    from chaoslib_ext.faults.chaosmesh.schemas import kinds_by_plural

    assert kinds_by_plural()["networkchaos"] == "NetworkChaos"
    assert kinds_by_plural()["podchaos"] == "PodChaos"
