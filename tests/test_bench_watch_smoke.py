"""The watch benchmark runs end to end at a tiny size (its figures are not asserted: speed is measured, not tested)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_watch.py"


@pytest.mark.timeout(120)
def test_bench_watch_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "5", "--saves", "3"], capture_output=True, text=True, timeout=100
    )
    assert done.returncode in (0, 1), done.stderr  # 1 only means a target was missed on a busy machine
    lines = done.stdout.splitlines()
    assert lines[1].split() == ["gates", "save", "median", "ms", "p95", "ms", "max", "ms", "eval", "ms", "target"]
    assert [line.split()[0] for line in lines[2:]] == ["5", "5", "5"]
    assert done.stderr == ""
