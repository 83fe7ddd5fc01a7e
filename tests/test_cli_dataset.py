"""`circuit eval FILE --inputs data.csv` through the installed command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CIRCUIT = shutil.which("circuit", path=str(Path(sys.executable).parent)) or "circuit"
SEED = Path(__file__).resolve().parents[1] / "circuits" / "seed.yaml"
HELP = "  help: change the inputs (e.g. with --set) or guard the gate's input so it stays in the op's domain\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CIRCUIT, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={"NO_COLOR": "1", "PATH": str(Path(sys.executable).parent)},
    )


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    shutil.copy(SEED, tmp_path / "seed.yaml")
    (tmp_path / "data.csv").write_text("x,z\n1,2\n3,4\n\n5,6\n", encoding="utf-8")
    return tmp_path


def test_csv_to_stdout(work: Path) -> None:
    done = run("eval", "seed.yaml", "--inputs", "data.csv", cwd=work)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "x,y,z,f,df/dx,df/dy,df/dz\n"
        "1.0,5.0,2.0,12.0,2.0,2.0,6.0\n"
        "3.0,5.0,4.0,32.0,4.0,4.0,8.0\n"
        "5.0,5.0,6.0,60.0,6.0,6.0,10.0\n"
    )


def test_json_to_a_file_with_set(work: Path) -> None:
    done = run(
        "eval",
        "seed.yaml",
        "--inputs",
        "data.csv",
        "--set",
        "y=1",
        "--format",
        "json",
        "--output",
        "out.json",
        cwd=work,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert json.loads((work / "out.json").read_text()) == {
        "path": "seed.yaml",
        "circuit": "seed",
        "status": "ok",
        "output": "f",
        "samples": 3,
        "rows": [2, 3, 5],
        "values": {"x": [1.0, 3.0, 5.0], "y": [1.0, 1.0, 1.0], "z": [2.0, 4.0, 6.0], "f": [4.0, 16.0, 36.0]},
        "grads": {"x": [2.0, 4.0, 6.0], "y": [2.0, 4.0, 6.0], "z": [2.0, 4.0, 6.0]},
    }
    assert [p.name for p in work.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_fault_names_the_gate_and_the_csv_row_and_writes_nothing(work: Path) -> None:
    (work / "log.yaml").write_text("inputs: {x: 1}\ngates:\n  f: {op: log, in: [x]}\n", encoding="utf-8")
    (work / "xs.csv").write_text("x\n1\n2\n-1\n", encoding="utf-8")
    (work / "out.csv").write_text("old\n", encoding="utf-8")
    done = run("eval", "log.yaml", "--inputs", "xs.csv", "--output", "out.csv", cwd=work)
    assert done.returncode == 1
    assert done.stderr == (
        "log.yaml:3:3: error[domain] gate 'f' log(-1.0): log of a non-positive number in row 4 of 'xs.csv'\n" + HELP
    )
    assert (work / "out.csv").read_text() == "old\n"


def test_bad_dataset_is_located(work: Path) -> None:
    (work / "bad.csv").write_text("x,zz\n1,2\n3,a\n5\n", encoding="utf-8")
    done = run("eval", "seed.yaml", "--inputs", "bad.csv", cwd=work)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "bad.csv:1:3: error[unknown-input] column 'zz' names no input of the circuit\n  help: did you mean 'z'?\n"
        "bad.csv:3:3: error[invalid-number] 'a' in column 'zz' is not a number\n"
        "  help: write a plain number like 2.5\n"
        "bad.csv:4:1: error[row-length] row has 1 cells, the header has 2\n"
        "  help: give every row one value per column\n"
    )
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--output", "o.csv"],
            "error: --output goes with --inputs\n  help: e.g. --inputs data.csv --output results.csv\n",
        ),
        (
            ["--inputs", "data.csv", "--check"],
            "error: --check evaluates one point; it does not combine with --inputs\n",
        ),
    ],
)
def test_usage_errors(work: Path, args: list[str], message: str) -> None:
    done = run("eval", "seed.yaml", *args, cwd=work)
    assert (done.returncode, done.stderr) == (2, message)


def test_missing_dataset(work: Path) -> None:
    done = run("eval", "seed.yaml", "--inputs", "nope.csv", cwd=work)
    assert done.returncode == 2  # a missing path named on the command line is a usage error
    assert done.stderr == (
        "error: no such file or folder: 'nope.csv'\n  help: check the path (it is relative to the current folder)\n"
    )
