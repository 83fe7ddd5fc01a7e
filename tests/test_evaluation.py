"""Forward values, backward gradients, expectations, the gradient check and the Python API."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.errors import Issue

ROOT = Path(__file__).parent.parent
CIRCUITS = sorted((ROOT / "circuits").glob("*.yaml"))


def circuit(text: str) -> engine.Circuit:
    return engine.parse_circuit(text, name="t", path="t.yaml")


def test_seed_values_and_gradients() -> None:
    r = engine.load_circuit(ROOT / "circuits" / "seed.yaml").evaluate()
    assert (r.status, r.output, r.value) == ("ok", "f", -12.0)
    assert r.values == {"x": -2.0, "y": 5.0, "z": -4.0, "q": 3.0, "f": -12.0}
    assert r.grads == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}


@pytest.mark.parametrize("path", CIRCUITS, ids=[p.stem for p in CIRCUITS])
def test_every_example_passes_its_expectations_and_gradient_check(path: Path) -> None:
    result = engine.load_circuit(path).evaluate(check=True)
    assert result.status == "ok", result.failures()
    assert result.checks and all(c.passed for c in result.checks)
    assert {c.kind for c in result.checks} >= {"expect_value", "expect_grad", "grad_check"}


def test_fan_out_accumulates() -> None:
    r = circuit("inputs: {x: 3}\ngates:\n  sq: {op: mul, in: [x, x]}\n  f: {op: add, in: [sq, x]}\n").evaluate()
    assert (r.value, r.grads["x"]) == (12.0, 7.0)


def test_max_of_a_wire_with_itself_splits_the_gradient() -> None:
    r = circuit("inputs: {x: 2}\ngates:\n  m: {op: max, in: [x, x]}\n").evaluate()
    assert (r.value, r.grads["x"]) == (2.0, 1.0)  # ½ + ½


def test_kinks_follow_pytorch() -> None:
    text = (
        "inputs: {a: 0, b: 0, c: 1}\ngates:\n  r: {op: relu, in: [a]}\n  s: {op: abs, in: [b]}\n"
        "  m: {op: max, in: [c, 1, r]}\n  f: {op: add, in: [r, s, m]}\n"
    )
    r = circuit(text).evaluate()
    assert (r.grads["a"], r.grads["b"], r.grads["c"]) == (0.0, 0.0, 0.5)


def test_overrides_and_name_defaults() -> None:
    c = engine.parse_circuit("inputs: {x: 1, y: 2}\ngates:\n  f: {op: mul, in: [x, y]}\n", name="given")
    assert c.name == "given"
    assert c.evaluate({"x": 1.5}).value == 3.0
    assert c.evaluate().value == 2.0, "an override lasts one evaluation"
    with pytest.raises(engine.CircuitError) as info:
        c.evaluate({"z": 1.0})
    assert info.value.first.message == "no input named 'z'"
    with pytest.raises(engine.CircuitError, match="must be a finite number"):
        c.evaluate({"x": float("nan")})


def test_constants_and_pow_with_a_constant_exponent_of_a_negative_base() -> None:
    r = circuit("inputs: {x: -2}\ngates:\n  f: {op: pow, in: [x, 3]}\n").evaluate()
    assert (r.value, r.grads["x"]) == (-8.0, 12.0)
    assert set(r.grads) == {"x", "f"}, "constants get no gradient entry"


def test_pow_with_a_wire_exponent() -> None:
    r = circuit("inputs: {a: 2, b: 3}\ngates:\n  f: {op: pow, in: [a, b]}\n").evaluate()
    assert r.grads["a"] == 12.0
    assert r.grads["b"] == pytest.approx(8 * 0.6931471805599453)


def test_output_may_be_an_intermediate_wire_and_other_gates_still_evaluate() -> None:
    c = circuit("inputs: {x: 2}\ngates:\n  a: {op: mul, in: [x, 3]}\n  b: {op: neg, in: [a]}\noutput: a\n")
    r = c.evaluate()
    assert (r.output, r.value, r.values["b"], r.grads["b"], r.grads["x"]) == ("a", 6.0, -6.0, 0.0, 3.0)
    assert [w.render() for w in c.warnings] == [
        "t.yaml:4:3: warning[unused-gate] gate 'b' does not affect the output 'a'\n"
        "  help: remove it, or wire it into the circuit"
    ]


def test_unused_input_is_a_warning_not_an_error() -> None:
    c = circuit("inputs: {x: 2, unused: 1}\ngates:\n  f: {op: neg, in: [x]}\n")
    assert [(w.code, w.line, w.column, w.severity) for w in c.warnings] == [("unused-input", 1, 16, "warning")]
    assert c.evaluate().status == "ok"


@pytest.mark.parametrize(
    ("gate", "x", "message"),
    [
        ("log", 0, "gate 'f' log(0.0): log of a non-positive number"),
        ("sqrt", -1, "gate 'f' sqrt(-1.0): sqrt of a negative number"),
        ("sqrt", 0, "gate 'f' sqrt(0.0) (gradient): sqrt has an infinite slope at 0"),
        ("exp", 1000, "gate 'f' exp(1000.0): result overflows to infinity"),
    ],
)
def test_domain_faults_name_the_gate_its_inputs_and_line(gate: str, x: float, message: str) -> None:
    c = circuit(f"inputs: {{x: {x}}}\ngates:\n  f: {{op: {gate}, in: [x]}}\n")
    with pytest.raises(engine.EvaluationError) as info:
        c.evaluate()
    issue = info.value.first
    assert (issue.path, issue.line, issue.column, issue.code, issue.message) == ("t.yaml", 3, 3, "domain", message)


def test_division_by_zero_and_overflow_in_mul() -> None:
    c = circuit(
        "inputs: {x: 1e200, y: 0}\ngates:\n  m: {op: mul, in: [x, x]}\n  d: {op: div, in: [x, y]}\n"
        "  f: {op: add, in: [m, d]}\n"
    )
    with pytest.raises(engine.EvaluationError, match=r"gate 'm' mul\(1e\+200, 1e\+200\): result overflows"):
        c.evaluate()
    with pytest.raises(engine.EvaluationError, match=r"gate 'd' div\(1.0, 0.0\): division by zero"):
        c.evaluate({"x": 1.0})


def test_overflow_in_the_backward_pass() -> None:
    c = circuit("inputs: {x: 1e-200}\ngates:\n  f: {op: div, in: [1, x]}\n")
    with pytest.raises(engine.EvaluationError) as info:
        c.evaluate()
    assert info.value.first.message == "gate 'f' div(1.0, 1e-200) (gradient): gradient is not finite"


def test_a_dead_branch_never_faults_in_the_backward_pass() -> None:
    c = circuit("inputs: {x: 0}\ngates:\n  s: {op: sqrt, in: [x]}\n  f: {op: mul, in: [x, 2]}\noutput: f\n")
    assert c.evaluate().grads == {"x": 2.0, "s": 0.0, "f": 1.0}


def test_failed_expectation_names_wire_values_and_line() -> None:
    c = circuit("inputs: {x: 2}\ngates:\n  f: {op: mul, in: [x, x]}\nexpect:\n  values: {f: 5}\n  grads: {x: 4}\n")
    r = c.evaluate()
    assert r.status == "failed"
    assert [i.render() for i in r.failures()] == ["t.yaml:5:15: error[expect] value of 'f' is 4.0, expected 5.0"]


def test_expect_tolerance() -> None:
    text = "inputs: {x: 2}\ngates:\n  f: {op: mul, in: [x, x]}\nexpect:\n  values: {f: 4.001}\n"
    assert circuit(text).evaluate().status == "failed"
    assert circuit(text + "  tolerance: 1e-3\n").evaluate().status == "ok"


def test_gradient_check_reports_worst_errors_per_input() -> None:
    r = circuit("inputs: {x: 0.5, y: 2}\ngates:\n  f: {op: mul, in: [x, y]}\n").evaluate(check=True)
    checks = [c for c in r.checks if c.kind == "grad_check"]
    assert [(c.wire, c.actual) for c in checks] == [("x", 2.0), ("y", 0.5)]
    assert all(c.passed and c.abs_error is not None and c.abs_error < 1e-8 for c in checks)


def test_gradient_check_on_a_kink_warns_instead_of_failing() -> None:
    c = circuit("inputs: {x: 0, y: 1}\ngates:\n  r: {op: relu, in: [x]}\n  f: {op: add, in: [r, y]}\n")
    r = c.evaluate(check=True)
    x_check = next(ch for ch in r.checks if ch.wire == "x")
    assert (x_check.actual, x_check.on_kink, x_check.passed) == (0.0, True, True)
    assert x_check.expected == pytest.approx(0.5)  # finite differences straddle the kink
    assert r.status == "ok"
    assert [(w.code, w.line, w.column) for w in r.warnings] == [("kink", 3, 3)]


def test_gradient_check_fails_beyond_tolerance() -> None:
    # Finite differences on 1/x near 0 are inaccurate, so a tight tolerance fails.
    r = circuit("inputs: {x: 0.001}\ngates:\n  f: {op: div, in: [1, x]}\n").evaluate(check=True, check_tolerance=1e-12)
    assert r.status == "failed"
    assert r.failures()[0].message.startswith("gradient check failed for 'x': analytic -1000000")


def test_result_json_contract() -> None:
    r = engine.load_circuit(ROOT / "circuits" / "seed.yaml").evaluate()
    data = r.to_dict()
    assert list(data) == [
        "path",
        "circuit",
        "status",
        "output",
        "value",
        "values",
        "grads",
        "checks",
        "errors",
        "warnings",
        "elapsed_ms",
    ]
    assert data["checks"][0] == {
        "kind": "expect_value",
        "wire": "q",
        "expected": 3.0,
        "actual": 3.0,
        "passed": True,
        "line": 13,
        "column": 15,
    }


def test_evaluate_file_turns_errors_into_statuses(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("gates:\n  f: {op: log, in: [0]}\n")
    r = engine.evaluate_file(bad)
    assert (r.status, r.circuit, r.value) == ("error", "bad", None)
    assert r.errors == (
        Issue(
            "domain",
            "gate 'f' log(0.0): log of a non-positive number",
            str(bad),
            2,
            3,
            "change the inputs (e.g. with --set) or guard the gate's input so it stays in the op's domain",
        ),
    )
    bad.write_text("gates: 3\n")
    assert engine.evaluate_file(bad).status == "invalid"


def test_program_is_not_mutated_by_evaluation() -> None:
    c = circuit("inputs: {x: 3}\ngates:\n  f: {op: mul, in: [x, x]}\n")
    before = c.program
    first = c.evaluate()
    second = c.evaluate()
    assert c.program is before and first.grads == second.grads == {"x": 6.0, "f": 1.0}


def test_deep_chain_has_no_recursion_limit() -> None:
    lines = ["inputs: {x0: 0.5}", "gates:"]
    lines += [f"  x{i + 1}: {{op: tanh, in: [x{i}]}}" for i in range(5000)]
    r = circuit("\n".join(lines) + "\n").evaluate()
    assert r.output == "x5000" and 0 < r.grads["x0"] < 1
