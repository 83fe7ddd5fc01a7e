"""The batch benchmark runs end to end (at a tiny size; the real run is by hand)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mixed_suite import REPO


@pytest.mark.timeout(180)
def test_benchmark_runs_small() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_batch.py"),
            "--small",
            "20",
            "--large",
            "2",
            "--gates",
            "200",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("small     20 circuits | pure")
    assert lines[2].startswith("large      2 circuits | pure")
    assert lines[3].startswith("start-up: circuit --help ")
