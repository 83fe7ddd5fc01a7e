"""``circuit eval --explain`` and the trace: the chain rule edge by edge, and its sums."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.drawing.explain import explain
from engine.drawing.formulas import FORWARD, LOCAL
from engine.drawing.trace import trace
from engine.ops import OPS

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "circuits").glob("*.yaml"))
CIRCUIT = str(Path(sys.executable).parent / "circuit")

SEED = """\
seed: f = (x + y) * z, the classic first circuit of backpropagation
inputs: x = -2, y = 5, z = -4
forward, inputs to output:
  q = x + y = -2 + 5 = 3
  f = q * z = 3 * -4 = -12
backward, f to inputs (chain rule: ∂f/∂wire = Σ ∂f/∂gate · ∂gate/∂wire):
  ∂f/∂f = 1
  ∂f/∂q = ∂f/∂f · ∂f/∂q|local = 1 · z = 1 · -4 = -4
  ∂f/∂z = ∂f/∂f · ∂f/∂z|local = 1 · q = 1 · 3 = 3
  ∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4
  ∂f/∂y = ∂f/∂q · ∂q/∂y = -4 · 1 = -4
checks: 6/6 passed
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CIRCUIT, *args], capture_output=True, text=True, cwd=ROOT)


def test_seed_explanation_is_the_chain_rule_exactly() -> None:
    proc = run("eval", "circuits/seed.yaml", "--explain")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, SEED, "")


def test_seed_trace_in_json_is_one_entry_per_edge() -> None:
    proc = run("eval", "circuits/seed.yaml", "--explain", "--format", "json")
    data = json.loads(proc.stdout)
    plain = json.loads(run("eval", "circuits/seed.yaml", "--format", "json").stdout)
    assert {k: v for k, v in data.items() if k not in ("trace", "elapsed_ms")} == {
        k: v for k, v in plain.items() if k != "elapsed_ms"
    }
    assert data["trace"] == [
        {"from": "q", "to": "f", "position": 0, "upstream": 1.0, "local": -4.0, "contribution": -4.0, "formula": "z"},
        {"from": "z", "to": "f", "position": 1, "upstream": 1.0, "local": 3.0, "contribution": 3.0, "formula": "q"},
        {"from": "x", "to": "q", "position": 0, "upstream": -4.0, "local": 1.0, "contribution": -4.0, "formula": "1"},
        {"from": "y", "to": "q", "position": 1, "upstream": -4.0, "local": 1.0, "contribution": -4.0, "formula": "1"},
    ]


def test_fan_out_shows_each_contribution_and_their_sum() -> None:
    proc = run("eval", "circuits/fanout.yaml", "--explain")
    assert proc.stdout.splitlines()[6:12] == [
        "  ∂f/∂f = 1",
        "  ∂f/∂sq = ∂f/∂f · ∂f/∂sq|local = 1 · 1 = 1",
        "  ∂f/∂x (via f) = ∂f/∂f · ∂f/∂x|local = 1 · 1 = 1",
        "  ∂f/∂x (via sq, input 1) = ∂f/∂sq · ∂sq/∂x = 1 · x = 1 · 3 = 3",
        "  ∂f/∂x (via sq, input 2) = ∂f/∂sq · ∂sq/∂x = 1 · x = 1 · 3 = 3",
        "  ∂f/∂x = 1 + 3 + 3 = 7 (the 3 contributions add up)",
    ]


def test_formulas_are_shown_then_their_numbers() -> None:
    text = explain(
        *_evaluated("inputs: {s: 2, u: -0.5}\ngates:\n  h: {op: tanh, in: [u]}\n  f: {op: mul, in: [s, h]}\n")
    )
    assert text.splitlines()[-1] == (
        "  ∂f/∂u = ∂f/∂h · ∂h/∂u = 2 · (1 - h^2) = 2 · (1 - (-0.46211715726000974)^2) = 2 · 0.7864477329659274 "
        "= 1.5728954659318548"
    )


def test_kinks_and_ties_say_which_convention_applied() -> None:
    relu = explain(*_evaluated("inputs: {x: 0}\ngates:\n  f: {op: relu, in: [x]}\n"))
    assert relu.splitlines()[-1] == "  ∂f/∂x = ∂f/∂f · ∂f/∂x|local = 1 · 0 = 0 [relu'(0) = 0 by convention]"
    tie = explain(*_evaluated("inputs: {a: 2, b: 2}\ngates:\n  f: {op: max, in: [a, b]}\n"))
    note = "[2 inputs tie for the largest: they split the gradient evenly]"
    assert tie.splitlines()[-2:] == [
        f"  ∂f/∂a = ∂f/∂f · ∂f/∂a|local = 1 · 1/2 = 1 · 0.5 = 0.5 {note}",
        f"  ∂f/∂b = ∂f/∂f · ∂f/∂b|local = 1 · 1/2 = 1 · 0.5 = 0.5 {note}",
    ]


def test_a_wire_that_does_not_reach_the_output_says_so() -> None:
    text = explain(
        *_evaluated("inputs: {x: 1, y: 2}\ngates:\n  u: {op: neg, in: [y]}\n  f: {op: exp, in: [x]}\noutput: f\n")
    )
    assert "  ∂f/∂u = 0 ('u' does not reach 'f')" in text.splitlines()
    assert "  ∂f/∂y = ∂f/∂u · ∂u/∂y = 0 · -1 = 0 · -1 = 0" not in text  # a bare number is not repeated
    assert "  ∂f/∂y = ∂f/∂u · ∂u/∂y = 0 · -1 = 0" in text.splitlines()


def test_invalid_and_faulting_files_explain_nothing_and_fail() -> None:
    proc = run("eval", "circuits/seed.yaml", "--explain", "--set", "w=1")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("circuits/seed.yaml: error[unknown-input] no input named 'w'")
    proc = run("eval", "circuits/seed.yaml", "--explain", "--inputs", "x.csv")
    assert (proc.returncode, proc.stderr) == (
        2,
        "error: --explain evaluates one point; it does not combine with --inputs\n",
    )


def test_every_op_has_its_formulas() -> None:
    assert set(FORWARD) == set(LOCAL) == set(OPS)


def _evaluated(text: str) -> tuple[engine.Circuit, engine.Result]:
    circuit = engine.parse_circuit(text, "c")
    return circuit, circuit.evaluate()


def assert_contributions_add_up(circuit: engine.Circuit, result: engine.Result) -> None:
    sums: dict[str, float] = dict.fromkeys(result.grads, 0.0)  # a dead gate has no gradient
    for link in trace(circuit, result):
        sums[link.source] += link.contribution
    sums[circuit.output] += 1.0  # the seed of the backward pass
    for wire, total in sums.items():
        assert math.isclose(total, result.grads[wire], rel_tol=1e-12, abs_tol=1e-300), wire


def test_on_every_example_the_contributions_add_up_to_each_gradient() -> None:
    for path in EXAMPLES:
        circuit = engine.load_circuit(path)
        assert_contributions_add_up(circuit, circuit.evaluate())


UNARY = ("neg", "exp", "sigmoid", "tanh", "relu", "abs", "sqrt", "log")
BINARY = ("add", "mul", "max", "min", "sub", "div")


@st.composite
def circuits(draw: st.DrawFn) -> str:
    n_inputs = draw(st.integers(1, 4))
    lines = ["inputs:"] + [f"  x{i}: {draw(st.integers(-3, 3)) / 2}" for i in range(n_inputs)]
    wires = [f"x{i}" for i in range(n_inputs)]
    lines.append("gates:")
    for g in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            op = draw(st.sampled_from(UNARY))
            args = [draw(st.sampled_from(wires))]
        else:
            op = draw(st.sampled_from(BINARY))
            args = [draw(st.sampled_from(wires)) for _ in range(2 if op in ("sub", "div") else draw(st.integers(2, 3)))]
            if draw(st.integers(0, 4)) == 0:
                args[-1] = str(draw(st.integers(1, 3)))  # a literal constant
        lines.append(f"  g{g}: {{op: {op}, in: [{', '.join(args)}]}}")
        wires.append(f"g{g}")
    return "\n".join(lines) + f"\noutput: g{len(wires) - n_inputs - 1}\n"


@settings(max_examples=150, deadline=None)
@given(circuits())
def test_contributions_add_up_to_each_gradient_on_random_circuits(text: str) -> None:
    circuit = engine.parse_circuit(text, "c")
    try:
        result = circuit.evaluate()
    except engine.EvaluationError:
        return  # a domain fault: nothing to add up
    assert_contributions_add_up(circuit, result)
    explain(circuit, result)  # and the explanation can be written


def test_an_expression_is_explained_through_its_intermediate_wires() -> None:
    proc = run("eval", "circuits/seed_expr.yaml", "--explain")
    assert proc.stdout.splitlines()[2:11] == [
        "forward, inputs to output:",
        "  f.1 = x + y = -2 + 5 = 3",
        "  f = f.1 * z = 3 * -4 = -12",
        "backward, f to inputs (chain rule: ∂f/∂wire = Σ ∂f/∂gate · ∂gate/∂wire):",
        "  ∂f/∂f = 1",
        "  ∂f/∂f.1 = ∂f/∂f · ∂f/∂f.1|local = 1 · z = 1 · -4 = -4",
        "  ∂f/∂z = ∂f/∂f · ∂f/∂z|local = 1 · f.1 = 1 · 3 = 3",
        "  ∂f/∂x = ∂f/∂f.1 · ∂f.1/∂x = -4 · 1 = -4",
        "  ∂f/∂y = ∂f/∂f.1 · ∂f.1/∂y = -4 · 1 = -4",
    ]


def test_a_dead_branch_that_faults_has_no_numbers_but_is_explained_and_drawn() -> None:
    text = (
        "inputs: {x: 1, y: 0}\ngates:\n  u: {op: log, in: [y]}\n  v: {op: neg, in: [u]}\n  f: {op: exp, in: [x]}\n"
        "output: f\n"
    )
    circuit, result = _evaluated(text)
    lines = explain(circuit, result).splitlines()
    assert lines[3:6] == [
        "  f = exp(x) = exp(1) = 2.718281828459045",
        "  u = log(y): no value (a fault on a branch f does not depend on)",
        "  v = -u: no value (a fault on a branch f does not depend on)",
    ]
    assert lines[-1] == "  ∂f/∂y = 0 ('y' does not reach 'f')"
    assert_contributions_add_up(circuit, result)
    svg = engine.draw(circuit, result)
    assert 'data-wire="u"' in svg and 'data-wire="v"' in svg
