"""What reaches the reader: full numbers and names off a terminal, names (never numbers) cut on
one, ASCII where the stream cannot encode box drawing or ∂, expectations skipped under --set."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import threading
from pathlib import Path

from tests.edges.cli import ROOT, SEED, circuit

LONG_A = "a_very_long_input_name_that_goes_on_and_on_for_quite_a_while"
LONG_B = "another_rather_long_input_name_for_the_second_argument"
LONG_P = "the_product_of_both_inputs_with_an_equally_long_name"


def longnames(tmp_path: Path) -> Path:
    path = tmp_path / "longnames.yaml"
    path.write_text(
        f"inputs:\n  {LONG_A}: 0.3\n  {LONG_B}: -0.7\n"
        f"gates:\n  {LONG_P}: {{op: mul, in: [{LONG_A}, {LONG_B}]}}\n"
        f"  f: {{op: tanh, in: [{LONG_P}]}}\n"
    )
    return path


def on_a_terminal(*args: str, columns: int) -> str:
    """stdout of ``circuit ARGS`` on a pseudo-terminal `columns` wide, escape sequences removed."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    proc = subprocess.Popen(["circuit", *args], stdout=follower, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    os.close(follower)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    proc.wait(timeout=120)
    reader.join(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_redirected_output_is_never_cut(tmp_path: Path) -> None:
    # as reported: `circuit eval longnames.yaml --check > out.txt` gave `-1.215940686e…`
    path = longnames(tmp_path)
    out = tmp_path / "out.txt"
    with out.open("w") as handle:
        proc = subprocess.run(["circuit", "eval", str(path), "--check"], stdout=handle, cwd=ROOT, timeout=120)
    assert proc.returncode == 0
    text = out.read_text()
    data = json.loads(circuit("eval", str(path), "--check", "--format", "json").stdout)
    for wire in (LONG_A, LONG_B, LONG_P):
        assert f"\n{wire} " in text
    for number in [*data["values"].values(), *data["grads"].values(), *(c["expected"] for c in data["checks"])]:
        assert repr(number).removesuffix(".0") in text, number
    assert "…" not in text


def test_a_terminal_cuts_names_but_never_numbers(tmp_path: Path) -> None:
    path = longnames(tmp_path)
    text = on_a_terminal("eval", str(path), "--check", columns=70)
    data = json.loads(circuit("eval", str(path), "--check", "--format", "json").stdout)
    for number in [*data["values"].values(), *data["grads"].values(), *(c["expected"] for c in data["checks"])]:
        assert repr(number).removesuffix(".0") in text, number
    assert f"{LONG_A} " not in text, "the long name is cut"
    assert "a_very_long_input_name_th… │" in text


def test_numbers_are_shown_in_full() -> None:
    path = ROOT / "circuits" / "neuron.yaml"
    text = circuit("eval", str(path)).stdout
    assert text.splitlines()[0] == "neuron: f = 0.8807970779778823"


def test_a_non_utf8_stdout_gets_ascii_tables() -> None:
    # as reported: `PYTHONIOENCODING=ascii circuit eval circuits/seed.yaml` was an internal error
    proc = circuit("eval", SEED, env={"PYTHONIOENCODING": "ascii"})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == (
        "seed: f = -12\n"
        "wire | value | df/dwire\n"
        "-----+-------+---------\n"
        "f    |   -12 |        1\n"
        "x    |    -2 |       -4\n"
        "y    |     5 |       -4\n"
        "z    |    -4 |        3\n"
        "q    |     3 |       -4\n"
        "checks: 6/6 passed\n"
    )


def test_a_non_utf8_stdout_escapes_what_it_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: ünï\ninputs: {x: 1}\ngates:\n  f: {op: neg, in: [x]}\n", encoding="utf-8")
    proc = circuit("eval", str(path), env={"PYTHONIOENCODING": "ascii"})
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.splitlines()[0] == "\\xfcn\\xef: f = -1"


def test_watch_on_a_non_utf8_stdout(folder: Path) -> None:
    proc = subprocess.Popen(
        ["circuit", "watch", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(4)]
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, "")
    assert lines[2:] == ["wire | value | df/dwire\n", "-----+-------+---------\n"]


def test_text_watch_into_a_closed_pipe_ends_quietly(folder: Path) -> None:
    # as reported: `circuit watch … | head -1` exited 1
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; circuit watch {folder} | head -1 >/dev/null"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stderr) == (0, "")


def test_set_skips_expectations_and_reports_them_skipped() -> None:
    # as reported: `circuit eval circuits/seed.yaml --set x=1.5` printed three error[expect] and exited 1
    proc = circuit("eval", SEED, "--set", "x=1.5")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.splitlines()[-1] == "checks: 6 expectations skipped (inputs overridden; --expect checks them)"
    data = json.loads(circuit("eval", SEED, "--set", "x=1.5", "--format", "json").stdout)
    assert data["status"] == "ok"
    assert [(c["kind"], c["wire"], c["passed"], c.get("skipped")) for c in data["checks"]] == [
        ("expect_value", "q", None, True),
        ("expect_value", "f", None, True),
        ("expect_grad", "x", None, True),
        ("expect_grad", "y", None, True),
        ("expect_grad", "z", None, True),
        ("expect_grad", "q", None, True),
    ]


def test_expect_checks_them_anyway() -> None:
    proc = circuit("eval", SEED, "--set", "x=1.5", "--expect")
    assert proc.returncode == 1
    assert proc.stderr.count("error[expect]") == 3
    assert proc.stdout.splitlines()[-1] == "checks: 3/6 passed"


def test_set_with_the_gradient_check_still_checks_gradients() -> None:
    proc = circuit("eval", SEED, "--set", "x=1.5", "--check")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[-1].startswith(
        "checks: 3/3 passed, 6 expectations skipped (inputs overridden; --expect checks them); worst gradient-check"
    )


def test_the_api_skips_expectations_with_overrides_too() -> None:
    import engine

    circuit_ = engine.load_circuit(ROOT / SEED)
    assert circuit_.evaluate({"x": 1.5}).status == "ok"
    assert circuit_.evaluate({"x": 1.5}, expect=True).status == "failed"
    assert all(c.passed and not c.skipped for c in circuit_.evaluate().checks)
