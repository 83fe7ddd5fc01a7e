"""Property test: on random valid circuits, analytic gradients agree with sympy to 1e-9 relative."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import engine
from engine.ops import OPS
from tests.oracle import OnKink, circuit_expression, gradients, value

VARIADIC = ("add", "mul", "max", "min")
BINARY = ("sub", "div", "pow")
UNARY = ("neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu")
assert set(VARIADIC + BINARY + UNARY) == set(OPS)


@st.composite
def circuits(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, tuple[str, list[str | float]]]]:
    n_inputs = draw(st.integers(1, 4))
    inputs = {f"x{i}": draw(st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 1e-3)) for i in range(n_inputs)}
    wires = list(inputs)
    gates: dict[str, tuple[str, list[str | float]]] = {}
    for g in range(draw(st.integers(1, 9))):
        op = draw(st.sampled_from(VARIADIC + BINARY + UNARY))
        arity = draw(st.integers(2, 3)) if op in VARIADIC else 2 if op in BINARY else 1
        # Prefer recent wires (deep chains) but allow any earlier wire (fan-out).
        refs: list[str | float] = [draw(st.sampled_from(wires)) for _ in range(arity)]
        if op == "pow":
            refs[1] = draw(st.sampled_from([2.0, 3.0, 0.5, refs[1]]))
        elif arity > 1 and draw(st.booleans()):
            refs[-1] = draw(st.sampled_from([0.5, -1.5, 2.0]))
        name = f"g{g}"
        gates[name] = (op, refs)
        wires.append(name)
    return inputs, gates


def to_yaml(inputs: dict[str, float], gates: dict[str, tuple[str, list[str | float]]], output: str) -> str:
    lines = ["inputs:"] + [f"  {n}: {v!r}" for n, v in inputs.items()] + ["gates:"]
    lines += [
        f"  {n}: {{op: {op}, in: [{', '.join(str(r) if isinstance(r, str) else repr(r) for r in refs)}]}}"
        for n, (op, refs) in gates.items()
    ]
    return "\n".join([*lines, f"output: {output}", ""])


@pytest.mark.timeout(600)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(circuits())
def test_gradients_agree_with_sympy(circuit: tuple[dict[str, float], dict[str, tuple[str, list[str | float]]]]) -> None:
    inputs, gates = circuit
    output = list(gates)[-1]
    parsed = engine.parse_circuit(to_yaml(inputs, gates, output), name="random")
    try:
        result = parsed.evaluate()
    except engine.EvaluationError:
        assume(False)  # a domain fault (log of a negative, overflow): not this property's concern
        return
    values = [result.values[w] for w in result.values]
    # Magnitudes sympy's comparisons (Max/Min) handle reliably at 30 digits.
    assume(all(abs(v) < 1e6 and (v == 0 or abs(v) > 1e-100) for v in values))
    # Exactly on a kink sympy's derivative is undefined; such points are tested separately.
    for name, (op, refs) in gates.items():
        if name in result.values:  # a gate the output does not read may have no value
            xs = [result.values[r] if isinstance(r, str) else r for r in refs]
            assume(not OPS[op].kink(xs))
    expr, symbols = circuit_expression(inputs, gates, output)
    try:
        expected = gradients(expr, symbols, inputs)
    except OnKink:
        assume(False)  # rounded floats broke a tie the exact maths has: no derivative to compare
        return
    assert result.value == pytest.approx(value(expr, symbols, inputs), rel=1e-9, abs=1e-12)
    assert {n: result.grads[n] for n in inputs} == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_the_oracle_sees_a_tie_that_rounding_hides() -> None:
    # σ(x) + σ(−x) is exactly 1, so max(·, 1) sits on its kink; 30-digit Floats made this a
    # zero with no digits ('0.e-190'), which sympy's Max refuses to compare
    inputs = {"x0": 0.7}
    gates: dict[str, tuple[str, list[str | float]]] = {
        "g0": ("sigmoid", ["x0"]),
        "g1": ("neg", ["x0"]),
        "g2": ("sigmoid", ["g1"]),
        "g3": ("add", ["g0", "g2"]),
        "g4": ("max", ["g3", 1.0]),
        "g5": ("mul", ["g4", "x0"]),
    }
    expr, symbols = circuit_expression(inputs, gates, "g5")
    with pytest.raises(OnKink):
        gradients(expr, symbols, inputs)


def test_the_oracle_compares_tiny_numbers_exactly() -> None:
    inputs = {"x0": 1.5}
    gates: dict[str, tuple[str, list[str | float]]] = {
        "g0": ("mul", ["x0", 1e-140]),
        "g1": ("relu", ["g0"]),
        "g2": ("mul", ["g1", "x0"]),
        "dead": ("log", [0.0]),  # outside its domain, and not read by the output
    }
    expr, symbols = circuit_expression(inputs, gates, "g2")
    assert gradients(expr, symbols, inputs) == {"x0": pytest.approx(3e-140, rel=1e-15)}
