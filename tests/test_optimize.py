"""`Circuit.optimize`: the guide's three examples, the strategies, stopping, faults and bad parameters."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.errors import CircuitError, Issue
from engine.format.dataset import read_csv
from engine.optimizing import OptimizeResult

ROOT = Path(__file__).resolve().parents[1]
CIRCUITS = ROOT / "circuits"


def _load(name: str) -> engine.Circuit:
    return engine.load_circuit(CIRCUITS / name)


def test_xy_one_analytic_step_is_the_guides() -> None:
    result = _load("multiply_gate.yaml").optimize("maximize", steps=1)
    assert isinstance(result, OptimizeResult)
    assert result.params == {"x": -1.97, "y": 2.98}
    assert result.value == pytest.approx(-5.8706, abs=1e-12)
    assert (result.start_value, result.steps, result.stopped, result.status) == (-6.0, 1, "steps", "ok")
    assert result.grad_norm == pytest.approx(math.hypot(3, -2))


def test_xy_numerical_step_matches_the_analytic_one() -> None:
    analytic = _load("multiply_gate.yaml").optimize("maximize", steps=1)
    numerical = _load("multiply_gate.yaml").optimize("maximize", strategy="numerical", steps=1)
    assert numerical.value == pytest.approx(analytic.value, abs=1e-6)
    for name, value in analytic.params.items():
        assert numerical.params[name] == pytest.approx(value, abs=1e-6)


def test_xy_random_search_improves_and_is_reproducible() -> None:
    circuit = _load("multiply_gate.yaml")
    first = circuit.optimize("maximize", strategy="random", steps=100, seed=7)
    again = circuit.optimize("maximize", strategy="random", steps=100, seed=7)
    other = circuit.optimize("maximize", strategy="random", steps=100, seed=8)
    assert first.value is not None and first.value > -6
    assert (first.params, first.trace) == (again.params, again.trace)
    assert first.params != other.params
    assert (first.optimizer, first.grad_norm) == (None, None)
    # every kept step improves; a nudge moves each parameter by at most the step size
    values = [p.value for p in first.trace]
    assert values == sorted(values)
    for before, after in zip(first.trace, first.trace[1:]):
        assert all(abs(a - b) <= 0.01 for a, b in zip(after.params, before.params))


def test_neuron_one_step_over_all_five_inputs() -> None:
    result = _load("neuron.yaml").optimize("maximize", steps=1)
    assert list(result.params) == ["a", "b", "c", "x", "y"]
    assert round(result.start_value or 0, 6) == 0.880797
    assert round(result.value or 0, 6) == 0.882550


def _svm_scores(circuit: engine.Circuit, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    data = read_csv(CIRCUITS / "svm.csv", circuit.program.inputs)
    samples = circuit.evaluate_samples({**params, **data.columns})
    return samples.values["score"], data.columns["label"]


def _first_all_correct(circuit: engine.Circuit, result: OptimizeResult) -> int:
    names = list(result.params)
    correct = []
    for point in result.trace:
        score, label = _svm_scores(circuit, dict(zip(names, point.params)))
        correct.append(bool(np.all(np.sign(score) == label)))
    first = correct.index(True)
    assert all(correct[first:]), "once all six points are classified correctly, they stay so"
    return first


def test_svm_sgd_classifies_all_six_points_within_500_steps() -> None:
    circuit = _load("svm.yaml")
    result = circuit.optimize("minimize", steps=500, data=CIRCUITS / "svm.csv")
    assert (result.status, result.steps, list(result.params)) == ("ok", 500, ["a", "b", "c"])
    assert result.start_value == pytest.approx(1.05)
    assert _first_all_correct(circuit, result) == 320
    momentum = circuit.optimize("minimize", optimizer="momentum", steps=500, data=CIRCUITS / "svm.csv")
    assert _first_all_correct(circuit, momentum) == 40


def test_until_grad_norm_stops_early() -> None:
    circuit = engine.parse_circuit(
        "inputs: {x: 3}\ngates:\n  s: {op: mul, in: [x, x]}\n", name="bowl"
    )  # f = x², gradient 2x: SGD at 0.25 halves x every step
    result = circuit.optimize("minimize", steps=1000, step_size=0.25, until_grad_norm=1e-3)
    assert result.stopped == "grad_norm"
    assert result.steps == 13  # 6/2^13 < 1e-3 ≤ 6/2^12
    assert result.grad_norm is not None and result.grad_norm < 1e-3
    assert result.params == {"x": 3 / 2**13}


def test_a_domain_fault_stops_at_the_last_good_point() -> None:
    text = "inputs: {x: 0.05}\ngates:\n  f: {op: log, in: [x]}\n"
    result = engine.parse_circuit(text, name="lg", path="lg.yaml").optimize("minimize", steps=10)
    assert (result.status, result.stopped, result.steps) == ("error", "fault", 0)
    assert result.params == {"x": 0.05} and result.value == math.log(0.05)
    assert result.errors == (
        Issue(
            "domain",
            "gate 'f' log(-0.15000000000000002): log of a non-positive number at step 1",
            "lg.yaml",
            3,
            3,
            hint="change the inputs (e.g. with --set) or guard the gate's input so it stays in the op's domain",
        ),
    )


def test_a_fault_over_data_names_the_row() -> None:
    circuit = engine.parse_circuit(
        "inputs: {w: 1, x: 1}\ngates:\n  wx: {op: mul, in: [w, x]}\n  f: {op: log, in: [wx]}\n", name="d", path="d.yaml"
    )
    result = circuit.optimize("minimize", params=["w"], steps=5, step_size=1.0, data={"x": [1.0, 2.0, 4.0]})
    # mean of 1/w·… : the gradient is 1 at w = 1, so w = 0 after a step: every row faults, the first is named
    assert (result.status, result.steps, result.params) == ("error", 0, {"w": 1.0})
    assert result.errors[0].message == "gate 'f' log(0.0): log of a non-positive number in sample 0 at step 1"
    assert (result.errors[0].line, result.errors[0].column) == (4, 3)


def test_minibatches_shuffle_per_epoch_and_report_the_whole_datas_objective() -> None:
    circuit = engine.parse_circuit(
        "inputs: {w: 0, x: 0, t: 0}\ngates:\n  e: {op: sub, in: [w, t]}\n  f: {op: mul, in: [e, e]}\n", name="mean"
    )
    data = {"t": [1.0, 2.0, 3.0, 4.0, 5.0], "x": [0.0] * 5}
    result = circuit.optimize("minimize", step_size=0.1, data=data, batch_size=2, epochs=4, seed=3)
    assert result.steps == 12  # 3 batches per epoch (2, 2, 1)
    again = circuit.optimize("minimize", step_size=0.1, data=data, batch_size=2, epochs=4, seed=3)
    assert again.trace == result.trace
    # the objective reported is the mean over all five rows
    w = result.params["w"]
    assert result.value == pytest.approx(sum((w - t) ** 2 for t in data["t"]) / 5)
    assert result.start_value == pytest.approx(11.0)


def test_full_batch_gradient_is_the_mean_over_rows() -> None:
    circuit = engine.parse_circuit("inputs: {w: 2, x: 0}\ngates:\n  f: {op: mul, in: [w, x]}\n", name="lin")
    result = circuit.optimize("maximize", steps=1, step_size=0.5, data={"x": [1.0, 2.0, 6.0]})
    assert result.trace[0].grads == (3.0,)
    assert result.params == {"w": 3.5}
    assert result.value == pytest.approx(3.5 * 3)


@pytest.mark.parametrize(
    ("params", "data", "expected"),
    [
        (
            ["f"],
            None,
            [("not-an-input", "'f' is a gate; only inputs can be optimised", 14, 3, "inputs: a, b, c, x, y")],
        ),
        (["aa"], None, [("unknown-param", "no input named 'aa' to optimise", None, None, "did you mean 'a'?")]),
        (["x"], {"x": [1.0]}, [("bound-param", "'x' is a column of the data, not a parameter", None, None, None)]),
        ([], None, [("no-params", "nothing to optimise: ", None, None, "add an input for each parameter")]),
        (
            None,
            {name: [1.0] for name in "abcxy"},
            [("no-params", "nothing to optimise: every input is a column of the data", None, None, None)],
        ),
    ],
)
def test_bad_parameters_are_located_errors(
    params: list[str] | None, data: dict[str, list[float]] | None, expected: list[tuple[object, ...]]
) -> None:
    circuit = _load("neuron.yaml")
    with pytest.raises(CircuitError) as caught:
        circuit.optimize("maximize", params, data=data)
    got = [(i.code, i.message, i.line, i.column, i.hint) for i in caught.value.issues]
    assert len(got) == len(expected)
    for issue, want in zip(got, expected):
        assert issue[0] == want[0] and issue[1].startswith(str(want[1])) and issue[2:4] == want[2:4]
        if want[4] is not None:
            assert issue[4] == want[4]


def test_settings_out_of_range_are_value_errors() -> None:
    circuit = _load("multiply_gate.yaml")
    with pytest.raises(ValueError, match="direction must be"):
        circuit.optimize("up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="step_size must be a positive number"):
        circuit.optimize(step_size=0.0)
    with pytest.raises(ValueError, match="batch_size and epochs go with data"):
        circuit.optimize(epochs=2)


def test_on_point_sees_every_step_and_the_json_fields() -> None:
    seen: list[int] = []
    result = _load("multiply_gate.yaml").optimize("maximize", steps=3, on_point=lambda p: seen.append(p.step))
    assert seen == [0, 1, 2, 3]
    assert list(result.to_dict()) == [
        "path",
        "circuit",
        "status",
        "strategy",
        "optimizer",
        "direction",
        "steps",
        "stopped",
        "start_value",
        "value",
        "start_params",
        "params",
        "grad_norm",
        "errors",
        "warnings",
        "elapsed_ms",
    ]


def test_a_mean_that_overflows_stops_the_run() -> None:
    circuit = engine.parse_circuit(
        "inputs: {w: 1, x: 0}\ngates:\n  f: {op: mul, in: [w, x]}\n", name="big", path="b.yaml"
    )
    result = circuit.optimize("minimize", ["w"], data={"x": [1e308, 1e308]})
    assert (result.status, result.stopped, result.steps) == ("error", "fault", 0)
    assert result.params == {"w": 1.0} and result.start_value is None
    assert [(i.code, i.message, i.line) for i in result.errors] == [
        ("domain", "the mean of 'f' (or of its gradient) over the data is not finite at step 0", 3)
    ]


def test_optimize_result_is_public() -> None:
    assert engine.OptimizeResult is OptimizeResult
