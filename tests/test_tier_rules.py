"""The evaluation rules every tier shares, each pinned by the exact case that once broke it:
gates the output does not read, partials of constants, the gradient check's overflow,
one summation rule, constant gates over a dataset, n-ary products, and JSON without NaN."""

from __future__ import annotations

import ast
import json
import math
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.cli.dataset import results_json
from engine.format.model import json_schema_text
from engine.result import to_json
from engine.run import codegen

DEAD = "inputs:\n  x: 0\ngates:\n  f: {op: add, in: [x, 1.0]}\n  dead: {op: log, in: [x]}\noutput: f\n"
CONSTANT_EXPONENT = (
    "inputs: {x: 2}\ngates:\n  c: {op: max, in: [1.0, 2.0, 3.0]}\n  p: {op: pow, in: [-2.0, c]}\n"
    "  f: {op: mul, in: [p, x]}\n"
)
TINY_DIVISOR = "inputs: {x: 2}\ngates:\n  f: {op: div, in: [x, 1e-200]}\n"
OVERFLOWING_CHECK = (
    "inputs: {x: 0}\ngates:\n  a: {op: mul, in: [x, 1e300]}\n  r: {op: relu, in: [a]}\n  f: {op: mul, in: [r, 1e14]}\n"
)
CANCELLING_SUM = (
    "inputs: {x: 0.1, y: 0.2, z: -0.3}\ngates:\n  s: {op: add, in: [x, y, z]}\n  f: {op: div, in: [1.0, s]}\n"
)


def circuit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run(["circuit", *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=env)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def compile_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every structure is compiled on its first evaluation (the generated-code tier)."""
    monkeypatch.setattr(codegen, "COMPILE_SECONDS_PER_TERM", 0.0)


# Gates that do not reach the output


def test_a_dead_gates_fault_is_a_warning_cli(tmp_path: Path) -> None:
    write(tmp_path, "dead.yaml", DEAD)
    proc = circuit("eval", "dead.yaml", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (
        0,
        "dead: f = 1\nwire ┃ value ┃ ∂f/∂wire\n━━━━━╇━━━━━━━╇━━━━━━━━━\n"
        "f    │     1 │        1\nx    │     0 │        1\n",
    )
    assert proc.stderr == (
        "dead.yaml:5:3: warning[unused-gate] gate 'dead' does not affect the output 'f'\n"
        "  help: remove it, or wire it into the circuit\n"
        "dead.yaml:5:3: warning[domain] gate 'dead' log(0.0): log of a non-positive number\n"
        "  help: the output 'f' does not depend on 'dead', so it has no value; remove the gate or change its inputs\n"
    )


@pytest.mark.parametrize("tier", ["interpreted", "compiled"])
def test_a_dead_gates_fault_is_a_warning_in_every_tier(tier: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if tier == "compiled":
        monkeypatch.setattr(codegen, "COMPILE_SECONDS_PER_TERM", 0.0)
    text = DEAD.replace("output: f\n", "  after: {op: neg, in: [dead]}\n  fine: {op: neg, in: [x]}\noutput: f\n")
    c = engine.parse_circuit(text, name="dead")
    for _ in range(3):  # the first evaluation interprets; the next ones run compiled code when asked to
        r = c.evaluate()
        assert (r.status, r.value, r.values, r.grads) == (
            "ok",
            1.0,
            {"x": 0.0, "f": 1.0, "fine": -0.0},
            {"x": 1.0, "f": 1.0, "fine": 0.0},
        )
        assert [(w.code, w.severity, w.line) for w in r.warnings] == [
            ("unused-gate", "warning", 5),
            ("unused-gate", "warning", 6),
            ("unused-gate", "warning", 7),
            ("domain", "warning", 5),
        ]


def test_a_dead_gates_fault_over_a_batch_names_the_first_sample(tmp_path: Path) -> None:
    c = engine.parse_circuit(DEAD, name="dead")
    samples = c.evaluate_samples({"x": [1.0, 0.0, -1.0]})
    assert set(samples.values) == {"x", "f"} and samples.value.tolist() == [2.0, 1.0, 0.0]
    assert [w.render() for w in samples.warnings] == [
        "<string>:5:3: warning[domain] gate 'dead' log(0.0): log of a non-positive number in sample 1\n"
        "  help: the output 'f' does not depend on 'dead', so it has no value; remove the gate or change its inputs"
    ]
    write(tmp_path, "dead.yaml", DEAD)
    write(tmp_path, "data.csv", "x\n1\n0\n")
    proc = circuit("eval", "dead.yaml", "--inputs", "data.csv", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "x,f,df/dx\n1.0,2.0,1.0\n0.0,1.0,1.0\n")
    assert proc.stderr == (
        "dead.yaml:5:3: warning[unused-gate] gate 'dead' does not affect the output 'f'\n"
        "  help: remove it, or wire it into the circuit\n"
        "dead.yaml:5:3: warning[domain] gate 'dead' log(0.0): log of a non-positive number in row 3 of 'data.csv'\n"
        "  help: the output 'f' does not depend on 'dead', so it has no value; remove the gate or change its inputs\n"
    )


def test_an_expectation_on_a_gate_without_a_value_fails_with_a_reason() -> None:
    r = engine.parse_circuit(DEAD + "expect:\n  values: {dead: 1.0}\n", name="dead").evaluate()
    assert r.status == "failed"
    assert [c.to_dict() for c in r.checks] == [
        {
            "kind": "expect_value",
            "wire": "dead",
            "expected": 1.0,
            "actual": None,
            "passed": False,
            "line": 8,
            "column": 18,
            "reason": "it has no value",
        }
    ]
    assert r.failures()[0].message == "expectation failed for 'dead': it has no value"


# Partials of constants


@pytest.mark.usefixtures("compile_at_once")
def test_a_gate_of_constants_takes_no_partial_in_any_tier() -> None:
    c = engine.parse_circuit(CONSTANT_EXPONENT, name="p")
    results = [c.evaluate() for _ in range(3)]  # interpreted, then compiled
    for r in results:
        assert (r.status, r.value) == ("ok", -16.0)
        assert r.values == {"x": 2.0, "c": 3.0, "p": -8.0, "f": -16.0}
        assert r.grads == {"x": -8.0, "c": 0.0, "p": 0.0, "f": 1.0}
    samples = c.evaluate_samples({"x": [2.0, 3.0]}, grads="all")
    assert samples.grads["x"].tolist() == [-8.0, -8.0] and samples.grads["c"].tolist() == [0.0, 0.0]


@pytest.mark.usefixtures("compile_at_once")
def test_a_tiny_constant_divisor_has_no_partial_to_underflow() -> None:
    c = engine.parse_circuit(TINY_DIVISOR, name="d")
    for _ in range(3):
        r = c.evaluate()
        assert (r.status, r.value, r.grads["x"]) == ("ok", 2e200, 1e200)


@pytest.mark.parametrize(("name", "text", "value"), [("p", CONSTANT_EXPONENT, -16.0), ("d", TINY_DIVISOR, 2e200)])
def test_many_copies_in_one_batch_agree_and_the_json_report_is_written(
    tmp_path: Path, name: str, text: str, value: float
) -> None:
    folder = tmp_path / "copies"
    folder.mkdir()
    for i in range(50):
        write(folder, f"{name}{i:02}.yaml", text)
    proc = circuit("batch", "copies", "--format", "json", "--jobs", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"] == {"total": 50, "ok": 50, "failed": 0, "invalid": 0, "error": 0, "skipped": 0}
    assert {r["value"] for r in report["results"]} == {value}
    assert len({json.dumps(r["grads"]) for r in report["results"]}) == 1


# The gradient check's overflow


def test_an_overflowing_finite_difference_is_a_failed_check(tmp_path: Path) -> None:
    write(tmp_path, "ovf.yaml", OVERFLOWING_CHECK)
    proc = circuit("eval", "ovf.yaml", "--check", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.endswith(
        "gradient check (centred differences)\n"
        "input ┃ analytic ┃ numerical ┃ abs error ┃ rel error ┃     \n"
        "━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━\n"
        "x     │        0 │         - │         - │         - │ FAIL\n"
        "checks: 0/1 passed\n"
    )
    assert proc.stderr.startswith(
        "ovf.yaml:1:10: error[grad-check] gradient check failed for 'x': the finite-difference estimate overflows\n"
    )
    proc = circuit("eval", "ovf.yaml", "--check", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["checks"] == [
        {
            "kind": "grad_check",
            "wire": "x",
            "expected": None,
            "actual": 0.0,
            "passed": False,
            "line": 1,
            "column": 10,
            "abs_error": None,
            "rel_error": None,
            "on_kink": True,
            "reason": "the finite-difference estimate overflows",
        }
    ]
    proc = circuit("batch", "ovf.yaml", "--check", "--format", "json", "--jobs", "1", cwd=tmp_path)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["summary"]["failed"] == 1


def test_a_perturbed_point_outside_the_domain_is_a_failed_check_not_an_error() -> None:
    r = engine.parse_circuit("inputs: {x: 1e-7}\ngates:\n  f: {op: sqrt, in: [x]}\n", name="s").evaluate(check=True)
    assert r.status == "failed"
    assert [(c.wire, c.expected, c.passed, c.reason) for c in r.checks] == [
        ("x", None, False, "the perturbed point faults: gate 'f' sqrt(-9e-07): sqrt of a negative number")
    ]


def test_json_writers_refuse_nan_and_infinity() -> None:
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            to_json({"value": bad})
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            results_json(
                "c.yaml", "c", ["x"], "f", {"x": np.array([1.0]), "f": np.array([bad])}, {"x": np.ones(1)}, [2]
            )
    assert json.loads(json_schema_text())["$schema"]


def test_every_json_writer_in_the_package_refuses_nan() -> None:
    package = Path(engine.__file__).parent
    writers = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr in ("dump", "dumps") and ast.unparse(func.value) == "json":
                assert isinstance(node, ast.Call)
                options = {k.arg: ast.unparse(k.value) for k in node.keywords}
                writers.append((path.relative_to(package).as_posix(), options.get("allow_nan")))
    assert writers and {allow for _, allow in writers} == {"False"}, writers


# One summation rule, constant gates and n-ary products over datasets


def test_eval_and_a_dataset_sum_the_same_way(tmp_path: Path) -> None:
    write(tmp_path, "sum.yaml", CANCELLING_SUM)
    write(tmp_path, "data.csv", "x,y,z\n0.1,0.2,-0.3\n")
    one = circuit("eval", "sum.yaml", "--format", "json", cwd=tmp_path)
    many = circuit("eval", "sum.yaml", "--inputs", "data.csv", cwd=tmp_path)
    assert (one.returncode, many.returncode) == (0, 0)
    assert json.loads(one.stdout)["value"] == 1.8014398509481984e16 == (0.1 + 0.2 - 0.3) ** -1
    assert many.stdout == (
        "x,y,z,f,df/dx,df/dy,df/dz\n"
        "0.1,0.2,-0.3,1.8014398509481984e+16,-3.2451855365842673e+32,-3.2451855365842673e+32,-3.2451855365842673e+32\n"
    )
    assert json.loads(one.stdout)["grads"]["x"] == -3.2451855365842673e32


def test_a_dataset_through_a_sigmoid_of_a_constant(tmp_path: Path) -> None:
    write(tmp_path, "sig.yaml", "inputs: {x: 1}\ngates:\n  s: {op: sigmoid, in: [2.0]}\n  f: {op: mul, in: [x, s]}\n")
    write(tmp_path, "data.csv", "x\n1\n2\n")
    proc = circuit("eval", "sig.yaml", "--inputs", "data.csv", cwd=tmp_path)
    s = 1.0 / (1.0 + math.exp(-2.0))
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == f"x,f,df/dx\n1.0,{s!r},{s!r}\n2.0,{2 * s!r},{s!r}\n"


@pytest.mark.usefixtures("compile_at_once")
def test_an_n_ary_product_whose_partial_overflows_on_the_way(tmp_path: Path) -> None:
    # ∂f/∂x = 1e-300·1e200·1e200 = 1e100; 1e200·1e200 alone overflows
    text = "inputs: {x: 1}\ngates:\n  f: {op: mul, in: [x, 1e-300, 1e200, 1e200]}\n"
    c = engine.parse_circuit(text, name="m")
    for _ in range(3):
        assert c.evaluate().grads == {"x": 1e100, "f": 1.0}
    assert c.evaluate_samples({"x": [1.0, -2.0]}).grads["x"].tolist() == [1e100, 1e100]
    write(tmp_path, "m.yaml", text)
    write(tmp_path, "data.csv", "x\n1\n")
    proc = circuit("eval", "m.yaml", "--inputs", "data.csv", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "x,f,df/dx\n1.0,1e+100,1e+100\n")


@pytest.mark.timeout(120)
def test_watch_json_stays_ok_while_the_structure_gets_compiled(tmp_path: Path) -> None:
    from tests.test_watch_cli import Watch
    from tests.watchkit import save_atomic

    (tmp_path / "w").mkdir()
    path = write(tmp_path / "w", "p.yaml", CONSTANT_EXPONENT)
    watch = Watch("--format", "json", "w", cwd=tmp_path)
    events = [watch.event()]
    for x in range(3, 23):  # enough evaluations for the structure to earn its compiled code
        save_atomic(path, CONSTANT_EXPONENT.replace("x: 2", f"x: {x}"))
        events.append(watch.event())
        while events[-1]["result"]["values"]["x"] != float(x):
            events.append(watch.event())
    assert {(e["result"]["status"], e["result"]["grads"]["x"], e["result"]["grads"]["c"]) for e in events} == {
        ("ok", -8.0, 0.0)
    }
    code, stderr = watch.finish(signal.SIGTERM)
    assert (code, stderr) == (0, "")
