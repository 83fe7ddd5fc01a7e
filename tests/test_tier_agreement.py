"""The differential fence: the interpreter, the generated code and the numpy path give
the same statuses, values, gradients and faults, bit for bit (signs of zeros included),
on random circuits with constant-only gates, n-ary gates, ties, signed zeros, gates the
output does not read, and numbers at the edges of overflow and underflow.

numpy's own exp, log, tanh and power may differ from the C library's by an ulp, so the
numpy comparison draws from the ops whose numbers are exactly defined by IEEE arithmetic
(tests/test_samples.py compares the others to 1e-12); the two scalar tiers share the C
library and are compared on every op. The default suite runs a bounded number of
examples; ``-m slow`` runs many more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.ops import OPS
from engine.program import Program
from engine.run import arrays, codegen, interpreter
from engine.run.arrays import SampleFault
from engine.run.interpreter import DomainFault

EDGES = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.0,
    3.0,
    1e-200,
    -1e-200,
    1e-160,
    5e-324,
    1e154,
    1e200,
    -1e300,
    1e300,
    1.7976931348623157e308,
]
VARIADIC = ("add", "mul", "max", "min")
IEEE_OPS = ("add", "sub", "mul", "div", "neg", "abs", "max", "min", "relu", "sqrt")
ALL_OPS = tuple(OPS)
Gates = list[tuple[str, list[str | float]]]


@st.composite
def circuits(draw: st.DrawFn, ops: Sequence[str]) -> tuple[str, list[list[float]]]:
    """A circuit's YAML and 1–4 points (one value per input each)."""
    n_inputs = draw(st.integers(1, 3))
    wires = [f"x{i}" for i in range(n_inputs)]
    numbers = st.sampled_from(EDGES) | st.floats(-3, 3, allow_nan=False)
    lines = ["inputs:", *(f"  {w}: 1.0" for w in wires), "gates:"]
    for g in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(ops))
        arity = OPS[op].min_arity if op not in VARIADIC else draw(st.integers(2, 4))
        constant_only = draw(st.integers(0, 5)) == 0
        args = []
        for _ in range(arity):
            if constant_only or draw(st.integers(0, 3)) == 0:
                args.append(repr(draw(st.sampled_from(EDGES))))
            else:
                args.append(draw(st.sampled_from(wires[-4:] + wires[:1])))  # recent wires, and ties via repeats
        lines.append(f"  g{g}: {{op: {op}, in: [{', '.join(args)}]}}")
        wires.append(f"g{g}")
    lines.append(f"output: {draw(st.sampled_from(wires[n_inputs:]))}")
    points = draw(st.lists(st.lists(numbers, min_size=n_inputs, max_size=n_inputs), min_size=1, max_size=4))
    return "\n".join(lines) + "\n", points


def bits(xs: Sequence[float]) -> list[str]:
    """Exact float identity: hex keeps the sign of zero and every bit."""
    return [float(x).hex() for x in xs]


def scalar(program: Program, point: list[float], code: codegen.Compiled | None) -> Any:
    """One tier's outcome at a point: the fault, or the values, gradients and warned dead faults."""
    try:
        values, grads = (
            interpreter.interpret(program, point) if code is None else codegen.run_compiled(program, code, point)
        )
    except DomainFault as fault:
        return ("fault", str(fault))
    live = program.n_inputs + program.live
    assert all(map(math.isfinite, values[:live])) and all(map(math.isfinite, grads)), "a result is never NaN or inf"
    dead = [(fault.step, str(fault)) for fault in interpreter.forward_dead(program, values)]
    return bits(values), bits(grads), dead


def check_scalar_tiers(text: str, points: list[list[float]]) -> None:
    """The generated code (fused and cut into chunks) gives the interpreter's outcome at every point."""
    program = engine.parse_circuit(text, name="t").program
    for chunk in (1, 3, codegen.CHUNK):
        code = codegen.compile_code(program, chunk=chunk)
        for point in points:
            assert scalar(program, point, code) == scalar(program, point, None), (text, point, chunk)


def check_vectorised(text: str, points: list[list[float]]) -> None:
    """numpy over all points gives each point's interpreter outcome: the first faulting sample, or
    every value and gradient, and the same dead-gate faults and missing values."""
    program = engine.parse_circuit(text, name="t").program
    expected = [scalar(program, point, None) for point in points]
    faults = [i for i, outcome in enumerate(expected) if outcome[0] == "fault"]
    try:
        dead: list[arrays.DeadFault] = []
        values, grads = arrays.run_arrays(program, np.array(points, dtype=float).T, dead=dead)
    except SampleFault as fault:
        assert faults and (fault.sample, str(fault.fault)) == (faults[0], expected[faults[0]][1]), text
        return
    assert not faults, text
    n_wires, first_dead = len(program.wires), program.n_inputs + program.live
    missing: set[int] = set()  # dead gates with no values: faulting in any sample, or reading such a gate
    wanted_faults = []
    for index in range(program.live, len(program.steps)):
        step = program.steps[index]
        if any(a in missing for a in step.args):
            missing.add(step.out)
            continue
        faulted = [(i, message) for i, (_, _, d) in enumerate(expected) for s, message in d if s == index]
        if faulted:
            missing.add(step.out)
            wanted_faults.append(faulted[0])
    assert [(d.sample, str(d.fault)) for d in dead] == wanted_faults, text
    for i, (want_values, want_grads, _) in enumerate(expected):
        got_values = [values[s][i] if values[s] is not None else None for s in range(n_wires)]
        assert [s for s in range(n_wires) if got_values[s] is None] == sorted(missing), text
        for slot in range(n_wires):
            if slot not in missing:
                assert float(got_values[slot]).hex() == want_values[slot], (text, i, program.wires[slot])
            assert float(grads[slot][i]).hex() == want_grads[slot], (text, i, program.wires[slot])
        assert all(slot >= first_dead for slot in missing)


def bounded(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
    )


@bounded(300)
@given(circuits(ALL_OPS))
def test_compiled_code_equals_the_interpreter(case: tuple[str, list[list[float]]]) -> None:
    check_scalar_tiers(*case)


@bounded(300)
@given(circuits(IEEE_OPS))
def test_numpy_equals_the_interpreter(case: tuple[str, list[list[float]]]) -> None:
    check_vectorised(*case)


@pytest.mark.slow
@bounded(3_000)
@given(circuits(ALL_OPS))
def test_compiled_code_equals_the_interpreter_long(case: tuple[str, list[list[float]]]) -> None:
    check_scalar_tiers(*case)


@pytest.mark.slow
@bounded(3_000)
@given(circuits(IEEE_OPS))
def test_numpy_equals_the_interpreter_long(case: tuple[str, list[list[float]]]) -> None:
    check_vectorised(*case)


def test_a_rerun_sample_leaves_gates_of_constants_alone() -> None:
    # the checked sum 1e308 + 1 + 1e308 overflows, so the sample is rerun by the interpreter,
    # which finds no fault; c (constants only) is one number for every sample, not an array
    text = (
        "inputs: {x: 1.0}\ngates:\n  c: {op: add, in: [0.5, 0.5]}\n  a: {op: add, in: [x, 0.0]}\n"
        "  b: {op: sub, in: [a, c]}\noutput: b\n"
    )
    check_vectorised(text, [[1e308], [2.0]])
    check_scalar_tiers(text, [[1e308], [2.0]])
