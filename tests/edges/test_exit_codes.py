"""One exit-code rule for every command: 0 ok, 1 a circuit invalid/failing/faulting, 2 usage.

Usage errors are bad flags, unknown inputs or wires named on the command line,
missing paths named on the command line and output that cannot be written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.edges.cli import SEED, circuit

BAD = "tests/circuits/bad/unknown-op.yaml"
MISSING_HINT = "  help: check the path (it is relative to the current folder)\n"


@pytest.mark.parametrize(
    "args",
    [
        ["eval", SEED, "--frobnicate"],
        ["check", SEED, "--frobnicate"],
        ["batch", SEED, "--frobnicate"],
        ["watch", SEED, "--frobnicate"],
        ["schema", "--frobnicate"],
        ["frobnicate"],
    ],
    ids=lambda a: a[0],
)
def test_bad_flags_exit_2(args: list[str]) -> None:
    proc = circuit(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "No such option: --frobnicate" in proc.stderr or "No such command 'frobnicate'" in proc.stderr


@pytest.mark.parametrize("command", ["eval", "check", "batch", "watch"])
def test_a_missing_path_on_the_command_line_exits_2(command: str) -> None:
    proc = circuit(command, "nope.yaml")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "error: no such file or folder: 'nope.yaml'\n" + MISSING_HINT


@pytest.mark.parametrize("command", ["eval", "check", "batch"])
def test_an_invalid_circuit_exits_1(command: str) -> None:
    proc = circuit(command, BAD, *(["-j", "1"] if command == "batch" else []))
    assert proc.returncode == 1
    assert "tests/circuits/bad/unknown-op.yaml:5:11: error[unknown-op] unknown op 'mull'" in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", ["eval", "check", "batch"])
def test_a_valid_circuit_exits_0(command: str) -> None:
    assert circuit(command, SEED, *(["-j", "1"] if command == "batch" else [])).returncode == 0


def test_schema_exits_0() -> None:
    assert circuit("schema").returncode == 0


def test_set_of_an_unknown_input_exits_2() -> None:
    # as reported: `--set xx=1` (no such input) was 1
    proc = circuit("eval", SEED, "--set", "xx=1")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "circuits/seed.yaml: error[unknown-input] no input named 'xx'\n  help: did you mean 'x'?\n"


def test_set_of_an_unknown_input_with_a_dataset_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\n1\n")
    proc = circuit("eval", SEED, "--inputs", str(data), "--set", "xx=1")
    assert proc.returncode == 2
    assert "error[unknown-input] no input named 'xx'" in proc.stderr


def test_an_unknown_wire_exits_2() -> None:
    proc = circuit("eval", SEED, "--wire", "qq")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "error: 'circuits/seed.yaml' has no wire named 'qq'\n  help: did you mean 'q'?\n"


def test_a_missing_dataset_exits_2() -> None:
    proc = circuit("eval", SEED, "--inputs", "nope.csv")
    assert proc.returncode == 2
    assert proc.stderr == "error: no such file or folder: 'nope.csv'\n" + MISSING_HINT


def test_a_dataset_with_bad_rows_exits_1(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\nabc\n")
    assert circuit("eval", SEED, "--inputs", str(data)).returncode == 1


@pytest.mark.parametrize("command", ["eval", "batch"])
def test_output_that_cannot_be_written_exits_2(command: str, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\n1\n")
    target = tmp_path / "out"
    target.mkdir()
    args = ["eval", SEED, "--inputs", str(data)] if command == "eval" else ["batch", SEED, "-j", "1"]
    proc = circuit(*args, "--output", str(target))
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")


def test_a_full_disk_is_an_io_error_not_a_bug() -> None:
    with open("/dev/full", "w") as full:
        import subprocess

        proc = subprocess.run(["circuit", "eval", SEED], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == (
        "error: cannot write to 'stdout': No space left on device\n"
        "  help: stdout is closed or full; redirect it elsewhere\n"
    )


@pytest.mark.parametrize("command", [["eval", SEED], ["check", SEED], ["schema"]])
def test_a_closed_stdout_is_an_io_error_not_a_bug(command: list[str]) -> None:
    import subprocess

    proc = subprocess.run(["sh", "-c", 'circuit "$@" >&-', "sh", *command], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == (
        "error: cannot write to 'stdout': stdout is closed\n  help: stdout is closed or full; redirect it elsewhere\n"
    )


def test_a_closed_stderr_changes_no_exit_code() -> None:
    import subprocess

    proc = subprocess.run(["sh", "-c", f"circuit eval {BAD} 2>&-"], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (1, "")


@pytest.mark.parametrize(
    ("command", "reader"),
    [("circuit eval circuits/seed.yaml --format json", "head -c1"), ("circuit schema", "head -1")],
)
def test_a_closed_pipe_is_a_normal_end(command: str, reader: str) -> None:
    import subprocess

    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | {reader} >/dev/null"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
