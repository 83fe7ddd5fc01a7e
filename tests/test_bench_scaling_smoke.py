"""The scaling benchmark runs end to end at small sizes (its figures come from the full run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_scaling_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_scaling.py", "--quick", "--no-write"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "×" in line]
    assert [row.split(" | ")[0] for row in rows][-6:] == [
        "| misspelt references",
        "| one wide gate (eval)",
        "| long chain (load + eval)",
        "| wide CSV header (`eval --inputs`)",
        "| misspelt CSV header (`eval --inputs`)",
        "| files in one watch (initial events)",
    ]
