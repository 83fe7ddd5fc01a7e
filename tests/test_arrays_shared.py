"""The numpy path's shared lane: inputs given as floats (parameters) stay floats, and their
gradients come summed over the samples; faults are still found and located."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.run import arrays

TEXT = """\
inputs: {w: 0.5, b: -0.25, x: 0, t: 0}
gates:
  wx: {op: mul, in: [w, x]}
  s: {op: add, in: [wx, b]}
  h: {op: tanh, in: [s]}
  e: {op: sub, in: [h, t]}
  sq: {op: mul, in: [e, e]}
  ww: {op: mul, in: [w, w]}
  pull: {op: mul, in: [0.1, ww]}
  loss: {op: add, in: [sq, pull]}
"""


@settings(max_examples=30, deadline=None)
@given(
    x=st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=20),
    w=st.floats(-2, 2, allow_nan=False),
    b=st.floats(-2, 2, allow_nan=False),
)
def test_shared_inputs_give_the_same_values_and_summed_gradients(x: list[float], w: float, b: float) -> None:
    circuit = engine.parse_circuit(TEXT, name="loss")
    program = circuit.program
    t = [0.5 * v for v in x]
    matrix = circuit.input_matrix({"w": w, "b": b, "x": x, "t": t})
    full_values, full_grads = arrays.run_arrays(program, matrix, all_grads=False)
    rows = [w, b, matrix[2], matrix[3]]
    values, grads = arrays.run_arrays(program, rows, all_grads=False)
    index = program.index
    assert np.allclose(values[index["loss"]], full_values[index["loss"]], rtol=1e-15, atol=0)
    assert isinstance(values[index["pull"]], float)  # a gate of shared values only stays one number
    for name in ("w", "b"):
        assert isinstance(grads[index[name]], float)
        assert grads[index[name]] == pytest.approx(float(full_grads[index[name]].sum()), rel=1e-12, abs=1e-12)
    for name in ("x", "t"):
        assert np.allclose(grads[index[name]], full_grads[index[name]], rtol=1e-15, atol=0)


def test_a_fault_seen_only_in_a_shared_gradient_is_found() -> None:
    # sqrt(w) at w = 0 is fine forward; its infinite slope shows only in w's summed gradient
    circuit = engine.parse_circuit(
        "inputs: {w: 0, x: 1}\ngates:\n  r: {op: sqrt, in: [w]}\n  f: {op: mul, in: [r, x]}\n", name="s", path="s.yaml"
    )
    with pytest.raises(arrays.SampleFault) as caught:
        arrays.run_arrays(circuit.program, [0.0, np.array([1.0, 2.0, 3.0])], all_grads=False)
    assert caught.value.sample == 0
    assert caught.value.fault.first.message == "gate 'r' sqrt(0.0) (gradient): sqrt has an infinite slope at 0"
    result = circuit.optimize("minimize", ["w"], data={"x": [1.0, 2.0, 3.0]})
    assert (result.status, result.stopped, result.steps) == ("error", "fault", 0)
    assert result.errors[0].message == (
        "gate 'r' sqrt(0.0) (gradient): sqrt has an infinite slope at 0 in sample 0 at step 0"
    )
    assert (result.errors[0].line, result.errors[0].column) == (3, 3)


def test_a_forward_fault_names_the_first_faulting_row() -> None:
    circuit = engine.parse_circuit(
        "inputs: {w: 1, x: 1}\ngates:\n  d: {op: sub, in: [x, w]}\n  f: {op: log, in: [d]}\n", name="l"
    )
    with pytest.raises(arrays.SampleFault) as caught:
        arrays.run_arrays(circuit.program, [1.0, np.array([3.0, 2.0, 0.5, 1.0])], all_grads=False)
    assert caught.value.sample == 2
    assert caught.value.fault.first.message == "gate 'f' log(-0.5): log of a non-positive number"


def test_values_only() -> None:
    circuit = engine.parse_circuit(TEXT, name="loss")
    values, grads = arrays.run_arrays(
        circuit.program, [0.5, -0.25, np.array([1.0, 2.0]), np.array([0.0, 1.0])], backward=False
    )
    assert all(g is None for g in grads)
    assert values[circuit.program.index["loss"]].shape == (2,)
