"""Vectorised evaluation equals scalar evaluation sample by sample; faults name
the gate and the sample; bad batches are refused with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine

# Random circuits over a few inputs (a, b, c): ops drawn with fan-out and constants.
CIRCUITS = st.integers(min_value=1, max_value=30).flatmap(
    lambda n: st.lists(
        st.tuples(
            st.sampled_from(["add", "sub", "mul", "max", "min", "sigmoid", "tanh", "relu", "abs", "neg", "exp"]),
            st.integers(min_value=0, max_value=10**6),
            st.integers(min_value=0, max_value=10**6),
            st.sampled_from([None, None, None, 0.5, -2.0, 0.0]),
        ),
        min_size=1,
        max_size=n,
    )
)


def random_circuit(gates) -> str:
    lines = ["inputs: {a: 1, b: 2, c: 3}", "gates:"]
    wires = ["a", "b", "c"]
    for i, (op, r1, r2, constant) in enumerate(gates):
        args = [wires[r1 % len(wires)]]
        if op in ("add", "sub", "mul", "max", "min"):
            args.append(repr(constant) if constant is not None else wires[r2 % len(wires)])
            if op != "sub" and r2 % 3 == 0:  # variadic: a third input
                args.append(wires[(r1 + r2) % len(wires)])
        if op == "exp" and i % 2:
            op = "tanh"  # fewer overflows
        lines.append(f"  w{i}: {{op: {op}, in: [{', '.join(args)}]}}")
        wires.append(f"w{i}")
    lines.append(f"output: {wires[-1]}")
    return "\n".join(lines) + "\n"


SEED = "inputs: {x: -2, y: 5, z: -4}\ngates:\n  q: {op: add, in: [x, y]}\n  f: {op: mul, in: [q, z]}\n"


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * (1.0 + abs(a))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    CIRCUITS,
    st.lists(st.tuples(*[st.floats(min_value=-3, max_value=3, allow_subnormal=False)] * 3), min_size=1, max_size=12),
)
def test_vectorised_equals_scalar_sample_by_sample(spec, batch) -> None:
    circuit = engine.parse_circuit(random_circuit(spec), name="t")
    columns = {name: [row[i] for row in batch] for i, name in enumerate("abc")}
    try:
        samples = circuit.evaluate_samples(columns, grads="all")
    except engine.EvaluationError as error:
        index = int(str(error).split(" in sample ")[1].split("\n")[0])
        with pytest.raises(engine.EvaluationError) as scalar:
            circuit.evaluate(dict(zip("abc", batch[index])))
        assert str(error).replace(f" in sample {index}", "") == str(scalar.value)
        with pytest.raises(engine.EvaluationError) as lean_error:
            circuit.evaluate_samples(columns)
        assert str(lean_error.value) == str(error)
        for row in batch[:index]:  # earlier samples evaluate
            circuit.evaluate(dict(zip("abc", row)))
        return
    lean = circuit.evaluate_samples(columns)  # the default: the inputs' gradients only
    assert samples.n == lean.n == len(batch)
    assert set(lean.grads) == set("abc") and set(lean.values) == set(samples.values)
    for i, row in enumerate(batch):
        result = circuit.evaluate(dict(zip("abc", row)))
        for wire in result.values:
            assert close(result.values[wire], samples.values[wire][i])
            assert close(result.grads[wire], samples.grads[wire][i])
            assert close(result.values[wire], lean.values[wire][i])
        for name in "abc":
            assert close(result.grads[name], lean.grads[name][i])


def test_seed_over_a_batch() -> None:
    circuit = engine.parse_circuit(SEED, name="seed")
    inputs = {"x": np.array([-2.0, 1.0]), "z": [-4, 2]}
    values = {"x": [-2.0, 1.0], "y": [5.0, 5.0], "z": [-4.0, 2.0], "q": [3.0, 6.0], "f": [-12.0, 12.0]}
    assert circuit.evaluate_samples(inputs).to_dict() == {
        "circuit": "seed",
        "output": "f",
        "samples": 2,
        "values": values,
        "grads": {"x": [-4.0, 2.0], "y": [-4.0, 2.0], "z": [3.0, 6.0]},
    }
    assert circuit.evaluate_samples(inputs, grads="all").to_dict()["grads"] == {
        "x": [-4.0, 2.0],
        "y": [-4.0, 2.0],
        "z": [3.0, 6.0],
        "q": [-4.0, 2.0],
        "f": [1.0, 1.0],
    }


def test_an_input_the_output_does_not_depend_on_gets_zeros() -> None:
    circuit = engine.parse_circuit(
        "inputs: {x: 1, u: 2}\ngates:\n  f: {op: exp, in: [x]}\n  g: {op: neg, in: [u]}\noutput: f\n", name="t"
    )
    for wanted in ("inputs", "all"):
        samples = circuit.evaluate_samples({"x": [0.0, 1.0]}, grads=wanted)
        assert samples.grads["u"].tolist() == [0.0, 0.0]
        assert samples.grads["x"].tolist() == [1.0, np.exp(1.0)]
    assert circuit.evaluate_samples({"x": [0.0]}, grads="all").grads["g"].tolist() == [0.0]


def test_fault_names_the_gate_and_the_first_faulting_sample() -> None:
    circuit = engine.parse_circuit("inputs: {x: 1}\ngates:\n  f: {op: log, in: [x]}\n", name="t")
    with pytest.raises(engine.EvaluationError) as caught:
        circuit.evaluate_samples({"x": [1.0, 2.0, -1.0, 0.0]})
    assert caught.value.issues[0].render() == (
        "<string>:3:3: error[domain] gate 'f' log(-1.0): log of a non-positive number in sample 2\n"
        "  help: change the inputs (e.g. with --set) or guard the gate's input so it stays in the op's domain"
    )


def test_dead_branch_infinity_is_not_a_fault_and_gets_the_interpreters_values() -> None:
    circuit = engine.parse_circuit(
        "inputs: {x: 1}\ngates:\n  s: {op: sqrt, in: [x]}\n  f: {op: mul, in: [s, 0]}\n", name="t"
    )
    samples = circuit.evaluate_samples({"x": [4.0, 0.0]})
    assert samples.values["s"].tolist() == [2.0, 0.0]
    assert samples.grads["x"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"w": [1.0]}, "<string>: error[unknown-input] no input named 'w'"),
        ({"x": [1.0, 2.0], "y": [1.0]}, "<string>: error[sample-count] input 'y' has 1 samples, others have 2"),
        (
            {"x": [1.0, float("nan")]},
            "<string>: error[invalid-number] input 'x' must be a finite number in sample 1, got nan",
        ),
        ({"x": [[1.0]]}, "<string>: error[invalid-number] input 'x' must be one-dimensional, got shape (1, 1)"),
    ],
)
def test_bad_batches_are_refused(inputs, message: str) -> None:
    circuit = engine.parse_circuit(SEED, name="seed")
    with pytest.raises(engine.CircuitError) as caught:
        circuit.evaluate_samples(inputs)
    assert str(caught.value).split("\n")[0] == message


def test_an_op_without_array_code_runs_sample_by_sample() -> None:
    import dataclasses

    from engine import ops

    bare = dataclasses.replace(ops.OPS["log"], name="bare_log")  # a name no kernel has
    circuit = engine.parse_circuit("inputs: {x: 1}\ngates:\n  l: {op: log, in: [x]}\n  f: {op: mul, in: [l, 2]}\n")
    program = circuit.program
    steps = tuple(dataclasses.replace(s, op=bare) if s.op.name == "log" else s for s in program.steps)
    circuit = dataclasses.replace(circuit, program=dataclasses.replace(program, steps=steps))
    samples = circuit.evaluate_samples({"x": [1.0, 4.0]})
    assert samples.values["f"].tolist() == [0.0, 2 * np.log(4.0)]
    assert samples.grads["x"].tolist() == [2.0, 0.5]
    with pytest.raises(engine.EvaluationError) as caught:
        circuit.evaluate_samples({"x": [1.0, 0.0]})
    assert "gate 'l' bare_log(0.0): log of a non-positive number in sample 1" in str(caught.value)


def test_variadic_ops_with_constants_over_a_batch() -> None:
    circuit = engine.parse_circuit(
        "inputs: {x: 1}\ngates:\n  f: {op: max, in: [x, x, 0.5]}\n"
        "  g: {op: min, in: [f, x, 3, 2]}\n  m: {op: mul, in: [g, x, -1.5]}\n"
        "  h: {op: add, in: [m, f, x, 0.25]}\n",
        name="t",
    )
    points = [1.0, 0.5, -1.0, 2.5, 0.0]
    samples = circuit.evaluate_samples({"x": points}, grads="all")
    for i, x in enumerate(points):
        result = circuit.evaluate({"x": x})
        for wire in result.values:
            assert close(result.values[wire], samples.values[wire][i])
            assert close(result.grads[wire], samples.grads[wire][i])


def test_grads_wanted_must_be_inputs_or_all() -> None:
    with pytest.raises(ValueError, match="grads must be 'inputs' or 'all', got 'wires'"):
        engine.parse_circuit(SEED).evaluate_samples({"x": [1.0]}, grads="wires")  # type: ignore[arg-type]
