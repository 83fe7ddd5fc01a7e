"""Every op written out for people: its forward rule and its local derivatives as formulas.

`forward_text(op, args)` gives ``x + y`` or ``sigmoid(s)``; `local_text(op, args, y, i)`
gives ∂y/∂(input i) over the same names (``z`` for the first input of ``q * z``).
Called once with wire names and once with their values, the same function shows a
derivation step and its numbers: ``1 · z = 1 · -4``. An op whose derivative depends on
where the inputs are (max, relu, abs) is written as the branch that applies, and
`convention` says which rule decided a kink or a tie.

This table is the drawing's own text for each op, as generated code owns its
templates; a test keeps it covering every op of `engine.ops.OPS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.result import fmt

Names = Sequence[str]
Floats = Sequence[float]


def _infix(symbol: str) -> Callable[[Names], str]:
    return lambda xs: f" {symbol} ".join(xs)


def _call(name: str) -> Callable[[Names], str]:
    return lambda xs: f"{name}({', '.join(xs)})"


FORWARD: dict[str, Callable[[Names], str]] = {
    "add": _infix("+"),
    "sub": _infix("-"),
    "mul": _infix("*"),
    "div": _infix("/"),
    "neg": lambda xs: f"-{xs[0]}",
    "pow": _infix("^"),
    "exp": _call("exp"),
    "log": _call("log"),
    "sqrt": _call("sqrt"),
    "abs": _call("abs"),
    "max": _call("max"),
    "min": _call("min"),
    "sigmoid": _call("sigmoid"),
    "tanh": _call("tanh"),
    "relu": _call("relu"),
}


def _others(xs: Names, i: int) -> str:
    return " * ".join(x for j, x in enumerate(xs) if j != i)


def _pick_local(xs: Floats, i: int, y: float) -> str:
    winners = sum(1 for x in xs if x == y)
    if xs[i] != y:
        return "0"
    return "1" if winners == 1 else f"1/{winners}"


# ∂y/∂x_i as text over names `xs` and the output's name `y`. Ops whose derivative is
# a branch (max, min, relu, abs) choose it from the values `vs` and output value `vy`.
Local = Callable[[Names, str, int, Floats, float], str]

LOCAL: dict[str, Local] = {
    "add": lambda xs, y, i, vs, vy: "1",
    "sub": lambda xs, y, i, vs, vy: "1" if i == 0 else "-1",
    "mul": lambda xs, y, i, vs, vy: _others(xs, i),
    "div": lambda xs, y, i, vs, vy: f"1 / {xs[1]}" if i == 0 else f"-{xs[0]} / {xs[1]}^2",
    "neg": lambda xs, y, i, vs, vy: "-1",
    "pow": lambda xs, y, i, vs, vy: (
        (f"{xs[1]} * {xs[0]}^({xs[1]} - 1)" if vs[1] != 0 else "0") if i == 0 else f"{y} * log({xs[0]})"
    ),
    "exp": lambda xs, y, i, vs, vy: y,
    "log": lambda xs, y, i, vs, vy: f"1 / {xs[0]}",
    "sqrt": lambda xs, y, i, vs, vy: f"1 / (2 * {y})",
    "abs": lambda xs, y, i, vs, vy: "1" if vs[0] > 0 else "-1" if vs[0] < 0 else "0",
    "max": lambda xs, y, i, vs, vy: _pick_local(vs, i, vy),
    "min": lambda xs, y, i, vs, vy: _pick_local(vs, i, vy),
    "sigmoid": lambda xs, y, i, vs, vy: f"{y} * (1 - {y})",
    "tanh": lambda xs, y, i, vs, vy: f"1 - {y}^2",
    "relu": lambda xs, y, i, vs, vy: "1" if vs[0] > 0 else "0",
}


def forward_text(op: str, names: Names) -> str:
    """The op applied to `names`: ``x + y``, ``sigmoid(s)``."""
    return FORWARD[op](names)


def local_text(op: str, names: Names, out: str, i: int, values: Floats, value: float) -> str:
    """∂out/∂(input `i`) written over `names` and `out` (the branch that applies at `values`)."""
    return LOCAL[op](names, out, i, values, value)


def numbers(values: Floats) -> list[str]:
    """Values as the derivation shows them (as ``eval`` prints them)."""
    return [fmt(v) for v in values]


def convention(op: str, values: Floats, value: float) -> str | None:
    """Which rule decided the derivative where the op has a kink or a tie, else None."""
    if op in ("relu", "abs") and values[0] == 0:
        return f"{op}'(0) = 0 by convention"
    if op in ("max", "min"):
        tied = sum(1 for x in values if x == value)
        if tied > 1:
            which = "largest" if op == "max" else "smallest"
            return f"{tied} inputs tie for the {which}: they split the gradient evenly"
    if op == "pow" and values[0] == 0 and values[1] > 0:
        return "d(a^b)/db = 0 at a = 0 by convention"
    return None
