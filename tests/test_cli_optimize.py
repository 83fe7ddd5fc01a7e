"""`circuit optimize` through the installed command: output, JSON, trace, plot, progress, errors."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

CIRCUIT = shutil.which("circuit", path=str(Path(sys.executable).parent)) or "circuit"
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CIRCUIT, *args], capture_output=True, text=True, cwd=cwd, timeout=120, env={**os.environ, "NO_COLOR": "1"}
    )


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    for name in ("multiply_gate.yaml", "neuron.yaml", "svm.yaml", "svm.csv"):
        shutil.copy(ROOT / "circuits" / name, tmp_path / name)
    return tmp_path


def test_text_output(work: Path) -> None:
    done = run("optimize", "multiply_gate.yaml", "--maximize", "--steps", "1", cwd=work)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "multiply_gate: maximize 'f' by analytic gradient, sgd\n"
        "          ┃ start ┃     end\n"
        "━━━━━━━━━━╇━━━━━━━╇━━━━━━━━\n"
        "x         │    -2 │   -1.97\n"
        "y         │     3 │    2.98\n"
        "objective │    -6 │ -5.8706\n"
        "stopped after 1 step; gradient norm 3.60555\n"
    )


def test_json_output_on_data(work: Path) -> None:
    done = run(
        "optimize", "svm.yaml", "--minimize", "--data", "svm.csv", "--steps", "500", "--format", "json", cwd=work
    )
    assert (done.returncode, done.stderr) == (0, "")
    data = json.loads(done.stdout)
    assert data.pop("elapsed_ms") > 0
    assert data == {
        "path": "svm.yaml",
        "circuit": "svm",
        "status": "ok",
        "strategy": "analytic",
        "optimizer": "sgd",
        "direction": "minimize",
        "steps": 500,
        "stopped": "steps",
        "start_value": pytest.approx(1.05),
        "value": pytest.approx(0.1802606206946706, rel=1e-12),
        "start_params": {"a": 1.0, "b": -2.0, "c": -1.0},
        "params": pytest.approx({"a": 1.4890567468079985, "b": -0.19948545814711305, "c": -1.0516666666666679}),
        "grad_norm": pytest.approx(0.221573, rel=1e-5),
        "errors": [],
        "warnings": [],
    }


def test_trace_csv_and_json(work: Path) -> None:
    done = run("optimize", "multiply_gate.yaml", "--maximize", "--steps", "2", "--trace", "t.csv", cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "t.csv").read_text(encoding="utf-8") == (
        "step,objective,x,y,grad_x,grad_y\n"
        "0,-6.0,-2.0,3.0,3.0,-2.0\n"
        "1,-5.8706,-1.97,2.98,2.98,-1.97\n"
        "2,-5.74357406,-1.9402,2.9603,,\n"
    )
    done = run("optimize", "multiply_gate.yaml", "--maximize", "--steps", "2", "--trace", "t.json", cwd=work)
    assert done.returncode == 0, done.stderr
    assert json.loads((work / "t.json").read_text(encoding="utf-8")) == [
        {"step": 0, "objective": -6.0, "params": {"x": -2.0, "y": 3.0}, "grads": {"x": 3.0, "y": -2.0}},
        {"step": 1, "objective": -5.8706, "params": {"x": -1.97, "y": 2.98}, "grads": {"x": 2.98, "y": -1.97}},
        {"step": 2, "objective": -5.74357406, "params": {"x": -1.9402, "y": 2.9603}, "grads": None},
    ]


def test_random_trace_has_no_gradients(work: Path) -> None:
    done = run(
        "optimize", "multiply_gate.yaml", "--maximize", "--strategy", "random", "--steps", "3", "--trace", "t.csv",
        cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = (work / "t.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "step,objective,x,y,grad_x,grad_y"
    assert len(lines) == 5 and all(line.endswith(",,") for line in lines[1:])


@pytest.mark.parametrize(("name", "magic"), [("plot.svg", b"<?xml"), ("plot.png", b"\x89PNG")])
def test_plot(work: Path, name: str, magic: bytes) -> None:
    args = ["optimize", "svm.yaml", "--minimize", "--data", "svm.csv", "--steps", "50", "--plot", name]
    done = run(*args, cwd=work)
    assert done.returncode == 0, done.stderr
    first = (work / name).read_bytes()
    assert first.startswith(magic)
    if name.endswith(".svg"):
        assert b"objective" in first and b"gradient norm" in first
    assert run(*args, cwd=work).returncode == 0
    assert (work / name).read_bytes() == first  # no dates inside: the same run draws the same file


def test_plot_without_matplotlib_names_the_extra(work: Path) -> None:
    script = (
        "import sys; sys.modules['matplotlib'] = None\n"  # as if it were not installed
        "from engine.cli.app import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "optimize", "multiply_gate.yaml", "--maximize", "--plot", "p.svg"],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert (
        "Invalid value for '--plot': plots need matplotlib, from the optional 'plot' extra: "
        "pip install 'circuitflow[plot]'" in " ".join(done.stderr.split())
    )
    assert not (work / "p.svg").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --maximize and --minimize"),
        (["--maximize", "--minimize"], "give exactly one of --maximize and --minimize"),
        (["--maximize", "--epochs", "2"], "goes with --data"),
        (["--maximize", "--trace", "t.txt"], "'t.txt' is neither .csv nor .json"),
        (["--maximize", "--plot", "p.pdf"], "'p.pdf' is neither .svg nor .png"),
        (["--maximize", "--step-size", "0"], "0 is not a positive number"),
        (["--maximize", "--optimizer", "rmsprop"], "'rmsprop' is not one of 'sgd', 'momentum', 'adam'"),
        (["--maximize", "--strategy", "random", "--until-grad-norm", "1e-3"], "random search computes no gradient"),
    ],
)
def test_usage_errors(work: Path, args: list[str], message: str) -> None:
    done = run("optimize", "multiply_gate.yaml", *args, cwd=work)
    assert (done.returncode, done.stdout) == (2, "")
    assert message in " ".join(done.stderr.split())


def test_bad_params_are_located_errors(work: Path) -> None:
    done = run("optimize", "neuron.yaml", "--maximize", "--params", "a,f,bb", cwd=work)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "neuron.yaml:14:3: error[not-an-input] 'f' is a gate; only inputs can be optimised\n"
        "  help: inputs: a, b, c, x, y\n"
        "neuron.yaml: error[unknown-param] no input named 'bb' to optimise\n"
        "  help: did you mean 'b'?\n"
    )


def test_a_fault_stops_with_the_last_good_point(work: Path) -> None:
    (work / "lg.yaml").write_text("inputs: {x: 0.05}\ngates:\n  f: {op: log, in: [x]}\n", encoding="utf-8")
    done = run("optimize", "lg.yaml", "--minimize", "--format", "json", cwd=work)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert (data["status"], data["stopped"], data["steps"], data["params"]) == ("error", "fault", 0, {"x": 0.05})
    assert done.stderr == (
        "lg.yaml:3:3: error[domain] gate 'f' log(-0.15000000000000002): log of a non-positive number at step 1\n"
        "  help: change the inputs (e.g. with --set) or guard the gate's input so it stays in the op's domain\n"
    )


def test_a_bad_dataset_is_located(work: Path) -> None:
    (work / "bad.csv").write_text("x,y,label\n1,2,1\n1,oops,1\n", encoding="utf-8")
    done = run("optimize", "svm.yaml", "--minimize", "--data", "bad.csv", cwd=work)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "bad.csv:3:3: error[invalid-number] 'oops' in column 'y' is not a number\n"
        "  help: write a plain number like 2.5\n"
    )


def test_epochs_and_batches(work: Path) -> None:
    done = run(
        "optimize", "svm.yaml", "--minimize", "--data", "svm.csv", "--epochs", "5", "--batch-size", "4",
        "--format", "json", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"] == 10  # 2 batches per epoch


def test_progress_bar_on_a_terminal(work: Path) -> None:
    # a long run with stderr on a pseudo-terminal shows the bar; off a terminal nothing is drawn (see above)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [CIRCUIT, "optimize", "neuron.yaml", "--maximize", "--steps", "400000", "--step-size", "1e-9"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                seen += os.read(leader, 65536)
            except OSError:
                break
    process.wait(timeout=120)
    os.close(leader)
    assert process.returncode == 0
    assert b"step" in seen and b"/400000" in seen and b"objective" in seen
