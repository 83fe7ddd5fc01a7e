"""The op table: every gate kind's maths — name, arity, forward, local derivatives,
kink rule and domain rule — one small row per op.

``grad(xs, y)`` returns the partial derivative of the op's output with respect to
each input; the output ``y`` is passed in so that sigmoid's derivative is
``y*(1-y)`` and exp's is ``y``. There is no chain rule here: the evaluator
multiplies by the upstream gradient and accumulates. Where ``forward`` gave a
finite value, ``grad`` never raises: a partial that is infinite or undefined is
returned as ``inf`` or ``nan``, so an evaluator can take only the partials it
needs (see docs/evaluation.md).

Kink conventions follow PyTorch so results can be cross-checked: relu'(0) = 0,
abs'(0) = 0, and max/min split the gradient evenly among tied inputs.

Every float operation here is the definition the other backends reproduce: the
generated code (`engine.run.codegen`) and the numpy kernels (`engine.run.arrays`)
own their templates and compute the same operations in the same order. Adding an
op is one `Op(...)` row here plus one template in each backend (a test keeps the
three in step).
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
        forward: the value from the input values (may raise ArithmeticError or
            ValueError outside the domain).
        grad: local partials ``∂y/∂x_i`` from the inputs and the output; never raises
            where `forward` gave a finite value.
        formula: the forward rule, for documentation.
        grad_formula: the local derivatives, for documentation.
        kink: True where the op is not differentiable at these inputs (finite
            differences are unreliable there, and the convention above applies).
        fault: why these inputs are outside the op's domain (None: unknown).
        total: finite for every finite input (so never the origin of a fault).
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
    total: bool = False

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


def _add_all(*xs: float) -> float:
    """``x1 + x2 + …`` left to right: the one summation rule of every backend."""
    total = xs[0]
    for x in xs[1:]:
        total += x
    return total


def _sigmoid(x: float) -> float:
    # Two branches so exp never overflows: for x < 0 use e^x / (1 + e^x).
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def products_of_others(xs: Floats) -> tuple[float, ...]:
    """∂(x1·x2·…)/∂xi: the product of the inputs before i (left to right) times the
    product of those after it (right to left); not y / xi, so a zero input does not
    turn the other partials into 0/0. Where that overflows or underflows to 0 on
    the way although the product itself is representable (1e-300·1e200·1e200),
    the product is taken again with the exponents kept apart (`_scaled_product`)."""
    n = len(xs)
    if n == 2:
        return (xs[1], xs[0])
    prefix = [1.0] * (n + 1)
    for i, x in enumerate(xs):
        prefix[i + 1] = prefix[i] * x
    zeros = sum(1 for x in xs if x == 0.0)
    out = [0.0] * n
    suffix = 1.0
    for i in range(n - 1, -1, -1):
        partial = prefix[i] * suffix
        if not math.isfinite(partial) or (partial == 0.0 and zeros == (xs[i] == 0.0)):
            partial = _scaled_product([*xs[:i], *xs[i + 1 :]])
        out[i] = partial
        suffix = xs[i] * suffix
    return tuple(out)


def _scaled_product(xs: Floats) -> float:
    """``x1·x2·…`` with no overflow or underflow before the end: mantissas are
    multiplied and exponents added apart (math.frexp), then put together once."""
    mantissa, exponent = 1.0, 0
    for x in xs:
        m, e = math.frexp(x)
        m, f = math.frexp(mantissa * m)
        mantissa, exponent = m, exponent + e + f
    try:
        return math.ldexp(mantissa, exponent)
    except OverflowError:
        return math.copysign(math.inf, mantissa)


def _split_among_ties(xs: Floats, y: float) -> tuple[float, ...]:
    # PyTorch's convention for max/min: tied winners share the gradient evenly.
    winners = sum(1 for x in xs if x == y)
    share = 1.0 / winners
    return tuple(share if x == y else 0.0 for x in xs)


def _has_tie(xs: Floats, pick: Callable[..., float]) -> bool:
    y = pick(xs)
    return sum(1 for x in xs if x == y) > 1


def _pick_max(*xs: float) -> float:
    """The first largest input (a later input wins only if strictly larger)."""
    return max(xs)


def _pick_min(*xs: float) -> float:
    """The first smallest input (a later input wins only if strictly smaller)."""
    return min(xs)


def _pow_forward(a: float, b: float) -> float:
    # math.pow raises ValueError on a negative base with a fractional exponent
    # (where ** would return a complex number) and on 0 to a negative power.
    return math.pow(a, b)


def _pow_or_inf(a: float, b: float) -> float:
    # a^b where math.pow would raise: overflow and 0 to a negative power are
    # infinite, a negative base to a fractional power is not a number.
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf
    except ValueError:
        return math.inf if a == 0.0 else math.nan


def _pow_grad(xs: Floats, y: float) -> tuple[float, float]:
    a, b = xs
    da = b * _pow_or_inf(a, b - 1.0) if b != 0.0 else 0.0
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
        Op(
            "add", 2, None, _add_all, lambda xs, y: (1.0,) * len(xs), "x1 + x2 + … (left to right)", "1 for every input"
        ),
        Op("sub", 2, 2, lambda a, b: a - b, lambda xs, y: (1.0, -1.0), "a − b", "∂a = 1, ∂b = −1"),
        Op(
            "mul",
            2,
            None,
            lambda *xs: math.prod(xs),
            lambda xs, y: products_of_others(xs),
            "x1 · x2 · … (left to right)",
            "∂xi = product of the other inputs",
        ),
        Op(
            "div",
            2,
            2,
            lambda a, b: a / b,
            # −a/b² as −y/b: the same number without squaring b (b² underflows for |b| < 1e-162)
            lambda xs, y: (1.0 / xs[1], -y / xs[1]),
            "a / b",
            "∂a = 1/b, ∂b = −a/b² (computed as −y/b)",
            fault=lambda xs: "division by zero" if xs[1] == 0 else None,
        ),
        Op("neg", 1, 1, lambda a: -a, lambda xs, y: (-1.0,), "−a", "−1", total=True),
        Op(
            "pow",
            2,
            2,
            _pow_forward,
            _pow_grad,
            "a ^ b (b a wire or a constant)",
            "∂a = b·a^(b−1), ∂b = a^b·ln a (0 at a = 0, b > 0)",
            fault=_pow_fault,
        ),
        Op("exp", 1, 1, math.exp, lambda xs, y: (y,), "e^a", "e^a (the output)"),
        Op(
            "log",
            1,
            1,
            math.log,
            lambda xs, y: (1.0 / xs[0],),
            "ln a (a > 0)",
            "1/a",
            fault=lambda xs: "log of a non-positive number" if xs[0] <= 0 else None,
        ),
        Op(
            "sqrt",
            1,
            1,
            math.sqrt,
            lambda xs, y: (0.5 / y if y else math.inf,),
            "√a (a ≥ 0)",
            "1/(2√a) (infinite at 0: a domain fault in the backward pass)",
            fault=lambda xs: (
                "sqrt of a negative number" if xs[0] < 0 else "sqrt has an infinite slope at 0" if xs[0] == 0 else None
            ),
        ),
        Op(
            "abs",
            1,
            1,
            abs,
            lambda xs, y: (_sign(xs[0]),),
            "|a|",
            "sign(a); 0 at a = 0",
            kink=lambda xs: xs[0] == 0,
            total=True,
        ),
        Op(
            "max",
            2,
            None,
            _pick_max,
            _split_among_ties,
            "largest input",
            "1 for the largest input; tied inputs share it evenly",
            kink=lambda xs: _has_tie(xs, max),
            total=True,
        ),
        Op(
            "min",
            2,
            None,
            _pick_min,
            _split_among_ties,
            "smallest input",
            "1 for the smallest input; tied inputs share it evenly",
            kink=lambda xs: _has_tie(xs, min),
            total=True,
        ),
        Op(
            "sigmoid",
            1,
            1,
            _sigmoid,
            lambda xs, y: (y * (1.0 - y),),
            "1 / (1 + e^−a), stable for large |a|",
            "σ(a)·(1 − σ(a))",
            total=True,
        ),
        Op("tanh", 1, 1, math.tanh, lambda xs, y: (1.0 - y * y,), "tanh a", "1 − tanh²a", total=True),
        Op(
            "relu",
            1,
            1,
            lambda a: a if a > 0 else 0.0,
            lambda xs, y: (1.0 if xs[0] > 0 else 0.0,),
            "max(a, 0)",
            "1 for a > 0, else 0 (0 at a = 0)",
            kink=lambda xs: xs[0] == 0,
            total=True,
        ),
    )
}

OP_NAMES: tuple[str, ...] = tuple(OPS)
