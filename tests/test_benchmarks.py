"""The benchmark scripts run end to end at tiny sizes and write their section of the
performance page (their figures are not asserted: speed is measured, not tested)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def run_benchmark(script: str, args: list[str], docs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args, "--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=ROOT,
    )


def section(docs: Path, name: str) -> str:
    found = re.search(rf"<!-- bench:{name} -->\n(.*?)<!-- /bench:{name} -->", docs.read_text(), re.S)
    assert found, f"no section '{name}'"
    return found.group(1)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A copy of the performance page, for the scripts to write into."""
    return Path(shutil.copy(ROOT / "docs" / "performance.md", tmp_path / "performance.md"))


def test_every_script_has_its_section_and_the_page_its_prose(docs: Path) -> None:
    scripts = sorted(BENCHMARKS.glob("bench_*.py"))
    assert len(scripts) >= 6
    for script in scripts:
        names = re.findall(r'write_section\(\s*"([\w-]+)"', script.read_text())
        assert len(names) == 1, f"{script.name} writes one section"
        section(docs, names[0])
        assert f"`benchmarks/{script.name}`" in docs.read_text()


def test_bench_perf(docs: Path) -> None:
    args = ["--sizes", "30,120", "--chunk-gates", "120", "--batch-gates", "25", "--samples", "64"]
    done = run_benchmark("bench_perf.py", [*args, "--budget", "0.01", "--startup-repeats", "1"], docs)
    assert done.returncode == 0, done.stderr
    lines = section(docs, "perf").splitlines()
    assert lines[0].startswith("Measured with Python ")
    assert lines[2].startswith("| circuit (forward + backward) | **`evaluate()` ÷ floor** |")
    assert any(line.startswith("| random DAG, 120 gates | **") for line in lines)
    assert any(line.startswith("| 120 (one function) (default) |") for line in lines)
    assert any(line.startswith("| batch: 25 gates × 64 samples |") for line in lines)
    assert any(line.startswith("| `circuit eval` of the 120-gate file") for line in lines)
    assert any(line.startswith("- met: ") or line.startswith("- NOT met: ") for line in lines)


def test_bench_batch(docs: Path) -> None:
    done = run_benchmark("bench_batch.py", ["--small", "20", "--large", "2", "--gates", "200", "--repeat", "1"], docs)
    assert done.returncode == 0, done.stderr
    lines = section(docs, "batch").splitlines()
    assert [line.split(" |")[0] for line in lines[4:6]] == ["| 20 small", "| 2 large"]
    assert any(line.startswith("Start-up: `circuit --help` ") for line in lines)


def test_bench_watch(docs: Path) -> None:
    done = run_benchmark("bench_watch.py", ["--sizes", "5", "--saves", "3"], docs)
    assert done.returncode in (0, 1), done.stderr  # 1 only means a target was missed on a busy machine
    rows = [line for line in section(docs, "watch").splitlines() if line.startswith("| 5 |")]
    saves = [row.split(" | ")[1] for row in rows]
    assert saves == ["in-place, values", "atomic rename, values", "in-place, structural"]


def test_bench_internals(docs: Path) -> None:
    done = run_benchmark("bench_internals.py", ["--gates", "300", "--repeats", "1"], docs)
    assert done.returncode == 0, done.stderr
    rows = [line for line in section(docs, "internals").splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 3 and all(row.endswith("% |") for row in rows[1:])  # a header, then one row a trick
