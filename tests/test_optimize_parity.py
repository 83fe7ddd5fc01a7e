"""The optimisers follow torch.optim: trajectories against a plain-Python reference written here
from torch's documented update rules (textbook form), over random circuits, with and without data."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine

OPS = {"add": 2, "sub": 2, "mul": 2, "tanh": 1, "sigmoid": 1}


@st.composite
def circuits(draw: st.DrawFn) -> str:
    n_inputs = draw(st.integers(2, 4))
    wires = [f"i{k}" for k in range(n_inputs)]
    lines = ["inputs:"]
    lines += [f"  {w}: {draw(st.floats(-1.5, 1.5, allow_nan=False)).__repr__()}" for w in wires]
    lines.append("gates:")
    for k in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(sorted(OPS)))
        args = [draw(st.sampled_from(wires)) for _ in range(OPS[op])]
        lines.append(f"  g{k}: {{op: {op}, in: [{', '.join(args)}]}}")
        wires.append(f"g{k}")
    # a bounded output keeps 30 steps of any optimiser finite
    lines.append(f"  out: {{op: tanh, in: [{wires[-1]}]}}")
    lines.append("output: out")
    return "\n".join(lines) + "\n"


def _reference(
    gradient: object, start: list[float], optimizer: str, lr: float, steps: int, maximize: bool
) -> list[list[float]]:
    """torch.optim's rules: SGD p -= lr·g; momentum b = 0.9·b + g (b₁ = g₁); Adam with bias corrections."""
    params = list(start)
    path = [list(params)]
    buf: list[float] | None = None
    m = [0.0] * len(params)
    v = [0.0] * len(params)
    for t in range(1, steps + 1):
        g = gradient(params)  # type: ignore[operator]
        if maximize:
            g = [-x for x in g]
        if optimizer == "sgd":
            params = [p - lr * x for p, x in zip(params, g)]
        elif optimizer == "momentum":
            buf = list(g) if buf is None else [0.9 * b + x for b, x in zip(buf, g)]
            params = [p - lr * b for p, b in zip(params, buf)]
        else:
            m = [0.9 * a + 0.1 * x for a, x in zip(m, g)]
            v = [0.999 * a + 0.001 * x * x for a, x in zip(v, g)]
            m_hat = [a / (1 - 0.9**t) for a in m]
            v_hat = [a / (1 - 0.999**t) for a in v]
            params = [p - lr * a / (math.sqrt(b) + 1e-8) for p, a, b in zip(params, m_hat, v_hat)]
        path.append(list(params))
    return path


def _same(got: list[list[float]], want: list[list[float]]) -> bool:
    return len(got) == len(want) and all(
        abs(a - b) <= 1e-9 * max(1.0, abs(b)) for row, ref in zip(got, want) for a, b in zip(row, ref)
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=circuits(),
    optimizer=st.sampled_from(["sgd", "momentum", "adam"]),
    maximize=st.booleans(),
    lr=st.sampled_from([0.01, 0.05, 0.2]),
    data=st.data(),
)
def test_trajectories_match_the_torch_rules(
    text: str, optimizer: str, maximize: bool, lr: float, data: st.DataObject
) -> None:
    circuit = engine.parse_circuit(text, name="random")
    inputs = list(circuit.program.inputs)
    names = data.draw(st.lists(st.sampled_from(inputs), min_size=1, unique=True))
    steps = 30

    def gradient(params: list[float]) -> list[float]:
        result = circuit.evaluate(dict(zip(names, params)))
        return [result.grads[name] for name in names]

    result = circuit.optimize(
        "maximize" if maximize else "minimize",
        names,
        optimizer=optimizer,  # type: ignore[arg-type]
        steps=steps,
        step_size=lr,
    )
    assert result.ok
    want = _reference(gradient, [circuit.defaults[n] for n in names], optimizer, lr, steps, maximize)
    assert _same([list(p.params) for p in result.trace], want)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=circuits(), optimizer=st.sampled_from(["sgd", "momentum", "adam"]), data=st.data())
def test_trajectories_over_data_use_the_mean_gradient(text: str, optimizer: str, data: st.DataObject) -> None:
    circuit = engine.parse_circuit(text, name="random")
    inputs = list(circuit.program.inputs)
    bound = data.draw(st.lists(st.sampled_from(inputs), min_size=1, max_size=len(inputs) - 1, unique=True))
    names = [name for name in inputs if name not in bound]
    rows = data.draw(st.integers(1, 5))
    columns = {
        name: data.draw(st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=rows, max_size=rows)) for name in bound
    }

    def gradient(params: list[float]) -> list[float]:
        totals = [0.0] * len(names)
        for row in range(rows):
            point = {**dict(zip(names, params)), **{name: column[row] for name, column in columns.items()}}
            grads = circuit.evaluate(point).grads
            totals = [t + grads[name] for t, name in zip(totals, names)]
        return [t / rows for t in totals]

    result = circuit.optimize("minimize", optimizer=optimizer, steps=20, step_size=0.05, data=columns)  # type: ignore[arg-type]
    assert result.ok and list(result.params) == names
    want = _reference(gradient, [circuit.defaults[n] for n in names], optimizer, 0.05, 20, False)
    assert _same([list(p.params) for p in result.trace], want)
