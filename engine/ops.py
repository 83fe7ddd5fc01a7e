"""The op table: every gate kind, its forward function and its local derivatives.

One row per op, forward next to its derivative. ``grad(xs, y)`` returns the partial
derivative of the op's output with respect to each input; the output ``y`` is passed
in so that sigmoid's derivative is ``y*(1-y)`` and exp's is ``y``. There is no chain
rule here: the evaluator multiplies by the upstream gradient and accumulates.

Kink conventions follow PyTorch so results can be cross-checked: relu'(0) = 0,
abs'(0) = 0, and max/min split the gradient evenly among tied inputs.

Adding an op is one new `Op(...)` row in `OPS`; the schema's ``op`` literal, the
documentation table and the evaluator all read this table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Floats = Sequence[float]


@dataclass(frozen=True, slots=True)
class Op:
    """One gate kind.

    Attributes:
        name: the ``op:`` value in YAML.
        min_arity: fewest inputs.
        max_arity: most inputs (None: unbounded).
        forward: the value from the input values.
        grad: local partials ``∂y/∂x_i`` from the inputs and the output.
        formula: the forward rule, for documentation.
        grad_formula: the local derivatives, for documentation.
        kink: True where the op is not differentiable at these inputs (finite
            differences are unreliable there, and the convention above applies).
        fault: why these inputs are outside the op's domain (None: unknown).
    """

    name: str
    min_arity: int
    max_arity: int | None
    forward: Callable[..., float]
    grad: Callable[[Floats, float], tuple[float, ...]]
    formula: str
    grad_formula: str
    kink: Callable[[Floats], bool] = lambda xs: False
    fault: Callable[[Floats], str | None] = lambda xs: None

    def arity_text(self) -> str:
        """``2``, ``1`` or ``2+`` — how many inputs the op takes."""
        if self.max_arity is None:
            return f"{self.min_arity}+"
        if self.min_arity == self.max_arity:
            return str(self.min_arity)
        return f"{self.min_arity}-{self.max_arity}"

    def accepts(self, n: int) -> bool:
        """Whether the op takes `n` inputs."""
        return n >= self.min_arity and (self.max_arity is None or n <= self.max_arity)


def _sigmoid(x: float) -> float:
    # Two branches so exp never overflows: for x < 0 use e^x / (1 + e^x).
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _products_of_others(xs: Floats) -> tuple[float, ...]:
    # ∂(x1·x2·…)/∂xi = product of the other inputs; computed directly (not y / xi)
    # so that a zero input does not turn the other partials into 0/0.
    n = len(xs)
    if n == 2:
        return (xs[1], xs[0])
    prefix = [1.0] * (n + 1)
    for i, x in enumerate(xs):
        prefix[i + 1] = prefix[i] * x
    out = [0.0] * n
    suffix = 1.0
    for i in range(n - 1, -1, -1):
        out[i] = prefix[i] * suffix
        suffix *= xs[i]
    return tuple(out)


def _split_among_ties(xs: Floats, y: float) -> tuple[float, ...]:
    # PyTorch's convention for max/min: tied winners share the gradient evenly.
    winners = sum(1 for x in xs if x == y)
    share = 1.0 / winners
    return tuple(share if x == y else 0.0 for x in xs)


def _has_tie(xs: Floats, pick: Callable[..., float]) -> bool:
    y = pick(xs)
    return sum(1 for x in xs if x == y) > 1


def _pow_forward(a: float, b: float) -> float:
    # math.pow raises ValueError on a negative base with a fractional exponent
    # (where ** would return a complex number) and on 0 to a negative power.
    return math.pow(a, b)


def _pow_grad(xs: Floats, y: float) -> tuple[float, float]:
    a, b = xs
    da = b * math.pow(a, b - 1.0) if b != 0.0 else 0.0
    if a > 0.0:
        db = y * math.log(a)
    elif a == 0.0 and b > 0.0:
        db = 0.0  # a^b is flat in b at a = 0 (PyTorch's convention)
    else:
        db = math.nan  # a^b is not real-differentiable in b for a < 0
    return (da, db)


def _pow_fault(xs: Floats) -> str | None:
    a, b = xs
    if a < 0 and not float(b).is_integer():
        return "negative base to a fractional power"
    if a == 0 and b < 0:
        return "zero to a negative power"
    return None


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op("add", 2, None, lambda *xs: math.fsum(xs) if len(xs) > 2 else xs[0] + xs[1],
           lambda xs, y: (1.0,) * len(xs),
           "x1 + x2 + …", "1 for every input"),
        Op("sub", 2, 2, lambda a, b: a - b,
           lambda xs, y: (1.0, -1.0),
           "a − b", "∂a = 1, ∂b = −1"),
        Op("mul", 2, None, lambda *xs: math.prod(xs),
           lambda xs, y: _products_of_others(xs),
           "x1 · x2 · …", "∂xi = product of the other inputs"),
        Op("div", 2, 2, lambda a, b: a / b,
           lambda xs, y: (1.0 / xs[1], -xs[0] / (xs[1] * xs[1])),
           "a / b", "∂a = 1/b, ∂b = −a/b²",
           fault=lambda xs: "division by zero" if xs[1] == 0 else None),
        Op("neg", 1, 1, lambda a: -a,
           lambda xs, y: (-1.0,),
           "−a", "−1"),
        Op("pow", 2, 2, _pow_forward, _pow_grad,
           "a ^ b (b a wire or a constant)", "∂a = b·a^(b−1), ∂b = a^b·ln a (0 at a = 0, b > 0)",
           fault=_pow_fault),
        Op("exp", 1, 1, math.exp,
           lambda xs, y: (y,),
           "e^a", "e^a (the output)"),
        Op("log", 1, 1, math.log,
           lambda xs, y: (1.0 / xs[0],),
           "ln a (a > 0)", "1/a",
           fault=lambda xs: "log of a non-positive number" if xs[0] <= 0 else None),
        Op("sqrt", 1, 1, math.sqrt,
           lambda xs, y: (0.5 / y,),
           "√a (a ≥ 0)", "1/(2√a) (infinite at 0: a domain fault in the backward pass)",
           fault=lambda xs: "sqrt of a negative number" if xs[0] < 0 else
           "sqrt has an infinite slope at 0" if xs[0] == 0 else None),
        Op("abs", 1, 1, abs,
           lambda xs, y: (_sign(xs[0]),),
           "|a|", "sign(a); 0 at a = 0",
           kink=lambda xs: xs[0] == 0),
        Op("max", 2, None, lambda *xs: max(xs),
           _split_among_ties,
           "largest input", "1 for the largest input; tied inputs share it evenly",
           kink=lambda xs: _has_tie(xs, max)),
        Op("min", 2, None, lambda *xs: min(xs),
           _split_among_ties,
           "smallest input", "1 for the smallest input; tied inputs share it evenly",
           kink=lambda xs: _has_tie(xs, min)),
        Op("sigmoid", 1, 1, _sigmoid,
           lambda xs, y: (y * (1.0 - y),),
           "1 / (1 + e^−a), stable for large |a|", "σ(a)·(1 − σ(a))"),
        Op("tanh", 1, 1, math.tanh,
           lambda xs, y: (1.0 - y * y,),
           "tanh a", "1 − tanh²a"),
        Op("relu", 1, 1, lambda a: a if a > 0 else 0.0,
           lambda xs, y: (1.0 if xs[0] > 0 else 0.0,),
           "max(a, 0)", "1 for a > 0, else 0 (0 at a = 0)",
           kink=lambda xs: xs[0] == 0),
    )
}

OP_NAMES: tuple[str, ...] = tuple(OPS)
