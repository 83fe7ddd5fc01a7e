"""The drawing benchmark runs and writes its section between its markers (a smoke run, tiny sizes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_bench_draw_writes_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n<!-- bench:draw -->\nold\n<!-- /bench:draw -->\n\nafter\n", encoding="utf-8")
    script = ROOT / "benchmarks" / "bench_draw.py"
    args = [sys.executable, str(script), "--sizes", "20", "40", "--budget", "0.01", "--doc", str(doc)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\n<!-- bench:draw -->\n| gates | SVG, whole |")
    assert "| 20 | " in text and "| 40 | " in text and "old" not in text
    assert text.endswith("<!-- /bench:draw -->\n\nafter\n")
