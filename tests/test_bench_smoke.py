"""The benchmark script runs end to end at tiny sizes (all implementations agree)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_perf.py"


@pytest.mark.timeout(300)
def test_benchmark_runs_at_tiny_sizes() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--sizes",
            "30,120",
            "--batch-gates",
            "25",
            "--samples",
            "64",
            "--budget",
            "0.01",
            "--startup-repeats",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=BENCH.parents[1],
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("| circuit (fwd+bwd) | circuitflow ns/gate | straight-line floor |")
    assert any(line.startswith("| random DAG, 120 gates |") for line in lines)
    assert any(line.startswith("| batch: 25 gates × 64 samples |") for line in lines)
    assert any(line.startswith("| `circuit eval` of the 120-gate file") for line in lines)
    assert any(line.startswith("- met: ") or line.startswith("- NOT met: ") for line in lines)
