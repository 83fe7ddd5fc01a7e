"""Reference implementations of a `Dag` for the benchmark: the straight-line
floors (generated Python and numpy code, written independently of the engine),
micrograd and PyTorch. Each returns the output value and the gradient of every
input, so the benchmark can check that all agree.

All follow the same conventions as the engine: relu'(0) = 0, and max splits the
gradient evenly between tied inputs (relu outputs tie at 0 often).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.dag import Dag

Outcome = tuple[float, list[float]]  # (output value, gradient of each input)


def _names(dag: Dag) -> dict[str, str]:
    names = {name: f"x{i}" for i, name in enumerate(dag.inputs)}
    names.update({name: f"w{i}" for i, (name, _, _) in enumerate(dag.gates)})
    return names


def _arg(names: dict[str, str], a: str | float) -> str:
    return names[a] if isinstance(a, str) else f"({a!r})"


def _operands(names: dict[str, str], args: Sequence[str | float]) -> tuple[str, str]:
    """The first and (if any) second operand of a gate as expressions."""
    return _arg(names, args[0]), _arg(names, args[1]) if len(args) > 1 else ""


def _forward_lines(dag: Dag, names: dict[str, str], forward: dict[str, str]) -> list[str]:
    """One assignment per gate, from an op → expression-template table."""
    lines = []
    for name, op, args in dag.gates:
        a, b = _operands(names, args)
        lines.append(f"    {names[name]} = {forward[op].format(a=a, b=b)}")
    return lines


def python_floor_source(dag: Dag) -> str:
    """What a person would write by hand for the job: one statement per gate and per
    gradient term, all in locals of one function, ``if`` blocks for max and relu, a
    gradient's first term assigned rather than added to a zero, and only the output's
    value and the inputs' gradients returned."""
    names = _names(dag)
    lines = ["def run(X):", f"    {', '.join(names[n] for n in dag.inputs)}, = X"]
    forward = {
        "add": "{a} + {b}",
        "mul": "{a} * {b}",
        "max": "{a} if {a} >= {b} else {b}",
        "sigmoid": "1.0 / (1.0 + exp(-{a}))",
        "tanh": "tanh({a})",
        "relu": "{a} if {a} > 0.0 else 0.0",
        "exp": "exp({a})",
    }
    lines += _forward_lines(dag, names, forward)
    assigned = {dag.output}  # wires whose gradient variable holds a value
    lines.append(f"    g{names[dag.output]} = 1.0")
    for name, op, args in reversed(dag.gates):
        if name not in assigned:
            continue  # reaches no output: a person writes no code for it
        lines += _gradient_lines(op, args, names, names[name], assigned)
    grads = [f"g{names[n]}" if n in assigned else "0.0" for n in dag.inputs]
    lines.append(f"    return {names[dag.output]}, [{', '.join(grads)}]")
    return "\n".join(lines) + "\n"


def _gradient_lines(
    op: str, args: Sequence[str | float], names: dict[str, str], y: str, assigned: set[str]
) -> list[str]:
    """The gradient terms one gate sends to its inputs, as branches of (target, term) pairs."""
    a, b = _operands(names, args)
    gy = "g" + y
    first, second = args[0], args[-1]
    branches: list[tuple[str, list[tuple[str | float, str]]]]  # (condition, terms)
    if op == "add":
        branches = [("", [(first, gy), (second, gy)])]
    elif op == "mul":
        branches = [("", [(first, f"{gy} * {b}"), (second, f"{gy} * {a}")])]
    elif op == "max":
        branches = [
            (f"if {a} > {b}:", [(first, gy)]),
            (f"elif {b} > {a}:", [(second, gy)]),
            ("else:", [(first, f"0.5 * {gy}"), (second, f"0.5 * {gy}")]),
        ]
    elif op == "relu":
        branches = [(f"if {a} > 0.0:", [(first, gy)]), ("else:", [])]
    else:
        local = {"sigmoid": f"{gy} * {y} * (1.0 - {y})", "tanh": f"{gy} * (1.0 - {y} * {y})", "exp": f"{gy} * {y}"}
        branches = [("", [(first, local[op])])]
    targets = [t for _, terms in branches for t, _ in terms if isinstance(t, str)]
    before = set(assigned)
    lines = []
    for condition, terms in branches:
        indent = "    " if not condition else "        "
        if condition:
            lines.append("    " + condition)
        done: set[str] = set()
        body = []
        for target, term in terms:
            if isinstance(target, str):
                known = target in before or target in done
                body.append(f"{indent}g{names[target]} {'+=' if known else '='} {term}")
                done.add(target)
        # a branch that leaves a first-time gradient alone still gives it its value
        body += [f"{indent}g{names[t]} = 0.0" for t in dict.fromkeys(targets) if t not in before and t not in done]
        lines += body or [f"{indent}pass"]
    assigned.update(targets)
    return lines


def python_floor(dag: Dag) -> Callable[[Sequence[float]], Outcome]:
    """The compiled hand-written floor: ``run(inputs) -> (output value, gradient of each input)``."""
    namespace: dict[str, Any] = {"exp": math.exp, "tanh": math.tanh}
    exec(compile(python_floor_source(dag), "<floor>", "exec"), namespace)  # noqa: S102 - generated here
    return namespace["run"]  # type: ignore[no-any-return]


def numpy_floor_source(dag: Dag) -> str:
    """Straight-line numpy: one array expression per gate and per gradient term.

    Every wire's value is kept (circuitflow returns them all); a gate's gradient is
    deleted once passed on, so the allocator reuses its memory for the next one.
    """
    names = _names(dag)
    lines = ["def run(X):", f"    {', '.join(names[n] for n in dag.inputs)}, = X"]
    forward = {
        "add": "{a} + {b}",
        "mul": "{a} * {b}",
        "max": "np.maximum({a}, {b})",
        "sigmoid": "1.0 / (1.0 + np.exp(-{a}))",
        "tanh": "np.tanh({a})",
        "relu": "np.maximum({a}, 0.0)",
        "exp": "np.exp({a})",
    }
    lines += _forward_lines(dag, names, forward)
    grads = {n: "g" + v for n, v in names.items()}
    touched = {dag.output}
    lines.append(f"    {grads[dag.output]} = np.ones(X.shape[1])")
    for name, op, args in reversed(dag.gates):
        y, gy = names[name], grads[name]
        if name not in touched:
            continue
        a, b = _operands(names, args)
        terms: list[tuple[str | float, str]] = []
        if op == "add":
            terms = [(args[0], gy), (args[1], gy)]
        elif op == "mul":
            terms = [(args[0], f"{gy} * {b}"), (args[1], f"{gy} * {a}")]
        elif op == "max":
            lines.append(f"    t = {gy} * ((({a}) > ({b})) + 0.5 * (({a}) == ({b})))")
            terms = [(args[0], "t"), (args[1], f"{gy} - t")]
        elif op == "sigmoid":
            terms = [(args[0], f"{gy} * ({y} - {y} * {y})")]
        elif op == "tanh":
            terms = [(args[0], f"{gy} * (1.0 - {y} * {y})")]
        elif op == "relu":
            terms = [(args[0], f"{gy} * ({a} > 0.0)")]
        elif op == "exp":
            terms = [(args[0], f"{gy} * {y}")]
        for target, term in terms:
            if isinstance(target, str):
                if target in touched:
                    lines.append(f"    {grads[target]} = {grads[target]} + {term}")
                else:
                    touched.add(target)
                    lines.append(f"    {grads[target]} = {term}")
        if name != dag.output:
            lines.append(f"    del {gy}")
    out = names[dag.output]
    lines.append(f"    return {out}, [{', '.join(grads[n] for n in dag.inputs)}]")
    return "\n".join(lines) + "\n"


def numpy_floor(dag: Dag) -> Callable[[Any], tuple[Any, list[Any]]]:
    """The compiled straight-line numpy floor: ``run(X) -> (values of the output, input grads)``."""
    import numpy as np

    namespace: dict[str, Any] = {"np": np}
    exec(compile(numpy_floor_source(dag), "<numpy floor>", "exec"), namespace)  # noqa: S102 - generated here
    run = namespace["run"]

    def guarded(X: Any) -> tuple[Any, list[Any]]:
        with np.errstate(all="ignore"):
            return run(X)  # type: ignore[no-any-return]

    return guarded


def micrograd_run(dag: Dag) -> Callable[[Sequence[float]], Outcome]:
    """micrograd 0.1.0 (its `Value`, plus the ops it lacks written in its own style)."""
    from micrograd.engine import Value

    def unary(a: Any, data: float, local: Callable[[float], float]) -> Any:
        out = Value(data, (a,), "f")

        def _backward() -> None:
            a.grad += local(out.data) * out.grad

        out._backward = _backward
        return out

    def maximum(a: Any, b: Any) -> Any:
        b = b if isinstance(b, Value) else Value(b)
        out = Value(a.data if a.data >= b.data else b.data, (a, b), "max")

        def _backward() -> None:
            share = 0.5 if a.data == b.data else 1.0
            if a.data >= b.data:
                a.grad += share * out.grad
            if b.data >= a.data:
                b.grad += share * out.grad

        out._backward = _backward
        return out

    def sigmoid(a: Any) -> Any:
        return unary(a, 1.0 / (1.0 + math.exp(-a.data)), lambda y: y * (1.0 - y))

    def tanh(a: Any) -> Any:
        return unary(a, math.tanh(a.data), lambda y: 1.0 - y * y)

    def exp(a: Any) -> Any:
        return unary(a, math.exp(a.data), lambda y: y)

    table: dict[str, Callable[..., Any]] = {
        "add": lambda a, b: a + b,
        "mul": lambda a, b: a * b,
        "max": maximum,
        "sigmoid": sigmoid,
        "tanh": tanh,
        "relu": lambda a: a.relu(),
        "exp": exp,
    }

    def run(point: Sequence[float]) -> Outcome:
        wires: dict[str, Any] = {name: Value(x) for name, x in zip(dag.inputs, point, strict=True)}
        for name, op, args in dag.gates:
            wires[name] = table[op](*[wires[a] if isinstance(a, str) else a for a in args])
        out = wires[dag.output]
        out.backward()
        return out.data, [wires[name].grad for name in dag.inputs]

    return run


def torch_scalar(dag: Dag) -> Callable[[Sequence[float]], Outcome]:
    """PyTorch autograd over 0-d float64 tensors, one op per gate."""
    import torch

    table = _torch_table(torch)

    def run(point: Sequence[float]) -> Outcome:
        leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
        wires: dict[str, Any] = dict(zip(dag.inputs, leaves, strict=True))
        for name, op, args in dag.gates:
            wires[name] = table[op](*[wires[a] if isinstance(a, str) else a for a in args])
        out = wires[dag.output]
        out.backward()
        return float(out.detach()), [float(leaf.grad) if leaf.grad is not None else 0.0 for leaf in leaves]

    return run


def torch_vectorised(dag: Dag) -> Callable[[Any], tuple[Any, list[Any]]]:
    """PyTorch autograd over float64 tensors of all samples."""
    import torch

    table = _torch_table(torch)

    def run(X: Any) -> tuple[Any, list[Any]]:
        leaves = [torch.tensor(row, dtype=torch.float64, requires_grad=True) for row in X]
        wires: dict[str, Any] = dict(zip(dag.inputs, leaves, strict=True))
        for name, op, args in dag.gates:
            wires[name] = table[op](*[wires[a] if isinstance(a, str) else a for a in args])
        out = wires[dag.output]
        out.backward(torch.ones_like(out))
        return out.detach().numpy(), [leaf.grad.numpy() if leaf.grad is not None else 0.0 for leaf in leaves]

    return run


def _torch_table(torch: Any) -> dict[str, Callable[..., Any]]:
    def maximum(a: Any, b: Any) -> Any:
        if not isinstance(b, torch.Tensor):
            b = torch.tensor(b, dtype=torch.float64)
        return torch.maximum(a, b)  # ties split the gradient evenly

    return {
        "add": lambda a, b: a + b,
        "mul": lambda a, b: a * b,
        "max": maximum,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "exp": torch.exp,
    }
