"""The optimize benchmark runs end to end at tiny sizes: every trajectory agrees with torch.optim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_optimize.py"


@pytest.mark.slow
def test_benchmark_runs_at_tiny_sizes(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    docs = tmp_path / "performance.md"
    docs.write_text("# Performance\n\nintro\n\n<!-- bench:optimize -->\nold\n<!-- /bench:optimize -->\n\nafter\n")
    done = subprocess.run(
        [sys.executable, str(BENCH), "--steps", "20", "--rows", "300", "--parity-steps", "100", "--rounds", "1"]
        + ["--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=BENCH.parents[1],
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "| neuron (5 parameters) | adam | 100 |" in done.stdout
    assert "| SVM over svm.csv (3 parameters) | momentum | 100 |" in done.stdout
    assert any(line.startswith("| one epoch, 300 rows, 50-gate loss, full batch |") for line in lines)
    assert sum(line.startswith(("- met: ", "- NOT met: ")) for line in lines) == 2
    text = docs.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nintro\n\n<!-- bench:optimize -->\nMeasured with Python")
    assert text.endswith("<!-- /bench:optimize -->\n\nafter\n") and "old" not in text
