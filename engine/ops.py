"""The op table: every gate kind, its forward function and its local derivatives.

One row per op, forward next to its derivative. ``grad(xs, y)`` returns the partial
derivative of the op's output with respect to each input; the output ``y`` is passed
in so that sigmoid's derivative is ``y*(1-y)`` and exp's is ``y``. There is no chain
rule here: the evaluator multiplies by the upstream gradient and accumulates.

Kink conventions follow PyTorch so results can be cross-checked: relu'(0) = 0,
abs'(0) = 0, and max/min split the gradient evenly among tied inputs.

Adding an op is one new `Op(...)` row in `OPS`; the schema's ``op`` literal, the
documentation table, the evaluator, the code generator (`code`, `grad_code`)
and the numpy path (`vforward`, `vgrad`) all read this table. The templates are
optional: without them an op still works, only slower.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Floats = Sequence[float]
Names = Sequence[str]
# Code templates: Python expressions built from argument expressions (and the
# output's name for derivatives); None where a template does not cover an arity,
# in which case generated code calls `forward` / `grad` themselves. Templates may
# call _exp, _log, _sqrt, _tanh and _fsum (math's functions, which
# `engine.run.codegen` provides to the generated code).
CodeTemplate = Callable[[Names], "str | None"]
GradTemplate = Callable[[Names, str, str], "tuple[str, ...] | str | None"]


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
        code: `forward` as a Python expression over argument expressions, for
            generated code; must compute exactly what `forward` computes.
        grad_code: the upstream gradient times each local partial, as Python
            expressions (argument names, output name, upstream name); equal
            (==) to ``upstream * grad(xs, y)[i]`` whenever all are finite. Or a
            block of statements adding into the inputs' gradients ``{d0}``,
            ``{d1}``, … (which may leave out adding an exact 0).
        masks: `grad_code` may pass a non-finite upstream on to no input at all
            (relu's ``if a > 0: d0 += g``), so generated code must check this
            gate's gradient itself.
        vforward: `forward` over numpy arrays of samples (numpy passed first).
        vgrad: the upstream gradient times each local partial, over numpy arrays
            of samples (numpy, inputs, output, upstream) — fused so that a
            partial of 1 costs no pass over the samples. It may return the
            upstream array itself, else fresh arrays; it multiplies (never
            masks with a constant 0), so a non-finite upstream stays non-finite.
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
    code: CodeTemplate = lambda xs: None
    grad_code: GradTemplate = lambda xs, y, g: None
    vforward: Callable[..., Any] | None = None
    vgrad: Callable[[Any, Sequence[Any], Any, Any], tuple[Any, ...]] | None = None
    total: bool = False
    masks: bool = False

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


def _times(*partials: str) -> GradTemplate:
    # upstream · partial; x·1.0 and x·(−1.0) are exact, so those need no multiplication.
    def chain(xs: Names, y: str, g: str) -> tuple[str, ...]:
        terms = (p.format(*xs, y=y) for p in partials)
        return tuple(g if t == "1.0" else f"-{g}" if t == "-1.0" else f"{g} * ({t})" for t in terms)

    return chain


def _binary(template: str) -> CodeTemplate:
    return lambda xs: template.format(*xs) if len(xs) == 2 else None


def _unary(template: str) -> CodeTemplate:
    return lambda xs: template.format(*xs)


# Templates compare floats with float literals: CPython specialises float–float
# comparisons, not float–int ones.
def _code_pick(cmp: str) -> CodeTemplate:
    # Builtin max/min keep the first argument unless a later one is strictly
    # better: the same choice (and the same value on ties) as `max(a, b)`.
    return lambda xs: f"({xs[1]} if {xs[1]} {cmp} {xs[0]} else {xs[0]})" if len(xs) == 2 else None


def _grad_pick(cmp: str) -> GradTemplate:
    # The winner takes the upstream gradient, tied inputs take half each: exactly
    # what multiplying by 1, ½ or 0 gives.
    def chain(xs: Names, y: str, g: str) -> str | None:
        if len(xs) != 2:
            return None
        a, b = xs
        # A statement block: the loser's "+= g·0" changes no accumulator, so it is
        # left out; the upstream always reaches an input (no mask, see Op.masks).
        return (
            f"if {a} {cmp} {b}:\n    {{d0}} += {g}\nelif {b} {cmp} {a}:\n    {{d1}} += {g}\n"
            f"else:\n    {{d0}} += 0.5 * {g}\n    {{d1}} += 0.5 * {g}"
        )

    return chain


def _v_split_among_ties(better: str) -> Callable[[Any, Sequence[Any], Any, Any], tuple[Any, ...]]:
    def chain(np: Any, xs: Sequence[Any], y: Any, gy: Any) -> tuple[Any, ...]:
        if len(xs) == 2:  # the winner's share: 1, ½ on a tie, else 0; the other input gets the rest
            a, b = xs
            first = gy * (getattr(np, better)(a, b) + 0.5 * (a == b))
            return (first, gy - first)
        hits = [x == y for x in xs]
        share = gy / sum(hits[1:], hits[0].astype(np.int32))  # bool + bool would be `or`
        return tuple(share * h for h in hits)

    return chain


def _v_products_of_others(np: Any, xs: Sequence[Any], gy: Any) -> tuple[Any, ...]:
    if len(xs) == 2:
        return (gy * xs[1], gy * xs[0])
    return tuple(gy * math.prod([*xs[:i], *xs[i + 1 :]]) for i in range(len(xs)))


def _v_sigmoid(np: Any, a: Any) -> Any:
    # exp(−a) may overflow to inf for a ≪ 0, giving exactly 0: no NaN, no exception.
    t = np.negative(a)
    np.exp(t, out=t)
    t += 1.0
    return np.divide(1.0, t, out=t)


def _v_pow_grad(np: Any, xs: Sequence[Any], y: Any, gy: Any) -> tuple[Any, Any]:
    a, b = xs
    da = np.where(b != 0.0, b * np.power(a, b - 1.0), 0.0)
    db = np.where(a > 0.0, y * np.log(np.where(a > 0.0, a, 1.0)), np.where((a == 0.0) & (b > 0.0), 0.0, np.nan))
    return (gy * da, gy * db)


def _v_pow(np: Any, a: Any, b: Any) -> Any:
    # math.pow raises where numpy returns nan/inf; both end as a domain fault.
    return np.power(a, b)


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op(
            "add",
            2,
            None,
            lambda *xs: math.fsum(xs) if len(xs) > 2 else xs[0] + xs[1],
            lambda xs, y: (1.0,) * len(xs),
            "x1 + x2 + …",
            "1 for every input",
            code=lambda xs: " + ".join(xs) if len(xs) == 2 else f"_fsum(({', '.join(xs)},))",
            grad_code=lambda xs, y, g: (g,) * len(xs),
            vforward=lambda np, *xs: functools.reduce(np.add, xs),
            vgrad=lambda np, xs, y, gy: (gy,) * len(xs),
        ),
        Op(
            "sub",
            2,
            2,
            lambda a, b: a - b,
            lambda xs, y: (1.0, -1.0),
            "a − b",
            "∂a = 1, ∂b = −1",
            code=_binary("{0} - {1}"),
            grad_code=_times("1.0", "-1.0"),
            vforward=lambda np, a, b: a - b,
            vgrad=lambda np, xs, y, gy: (gy, -gy),
        ),
        Op(
            "mul",
            2,
            None,
            lambda *xs: math.prod(xs),
            lambda xs, y: _products_of_others(xs),
            "x1 · x2 · …",
            "∂xi = product of the other inputs",
            code=lambda xs: " * ".join(xs),
            grad_code=lambda xs, y, g: _times("{1}", "{0}")(xs, y, g) if len(xs) == 2 else None,
            # math.prod starts from 1: one pass more over the samples than a plain product of two
            vforward=lambda np, *xs: xs[0] * xs[1] if len(xs) == 2 else math.prod(xs),
            vgrad=lambda np, xs, y, gy: _v_products_of_others(np, xs, gy),
        ),
        Op(
            "div",
            2,
            2,
            lambda a, b: a / b,
            lambda xs, y: (1.0 / xs[1], -xs[0] / (xs[1] * xs[1])),
            "a / b",
            "∂a = 1/b, ∂b = −a/b²",
            fault=lambda xs: "division by zero" if xs[1] == 0 else None,
            code=_binary("{0} / {1}"),
            grad_code=_times("1.0 / {1}", "-{0} / ({1} * {1})"),
            vforward=lambda np, a, b: a / b,
            vgrad=lambda np, xs, y, gy: (gy / xs[1], gy * (-xs[0] / (xs[1] * xs[1]))),
        ),
        Op(
            "neg",
            1,
            1,
            lambda a: -a,
            lambda xs, y: (-1.0,),
            "−a",
            "−1",
            code=_unary("(-{0})"),
            grad_code=_times("-1.0"),
            vforward=lambda np, a: -a,
            vgrad=lambda np, xs, y, gy: (-gy,),
            total=True,
        ),
        Op(
            "pow",
            2,
            2,
            _pow_forward,
            _pow_grad,
            "a ^ b (b a wire or a constant)",
            "∂a = b·a^(b−1), ∂b = a^b·ln a (0 at a = 0, b > 0)",
            fault=_pow_fault,
            vforward=_v_pow,
            vgrad=_v_pow_grad,
        ),
        Op(
            "exp",
            1,
            1,
            math.exp,
            lambda xs, y: (y,),
            "e^a",
            "e^a (the output)",
            code=_unary("_exp({0})"),
            grad_code=_times("{y}"),
            vforward=lambda np, a: np.exp(a),
            vgrad=lambda np, xs, y, gy: (gy * y,),
        ),
        Op(
            "log",
            1,
            1,
            math.log,
            lambda xs, y: (1.0 / xs[0],),
            "ln a (a > 0)",
            "1/a",
            fault=lambda xs: "log of a non-positive number" if xs[0] <= 0 else None,
            code=_unary("_log({0})"),
            grad_code=_times("1.0 / {0}"),
            vforward=lambda np, a: np.log(a),
            vgrad=lambda np, xs, y, gy: (gy / xs[0],),
        ),
        Op(
            "sqrt",
            1,
            1,
            math.sqrt,
            lambda xs, y: (0.5 / y,),
            "√a (a ≥ 0)",
            "1/(2√a) (infinite at 0: a domain fault in the backward pass)",
            fault=lambda xs: (
                "sqrt of a negative number" if xs[0] < 0 else "sqrt has an infinite slope at 0" if xs[0] == 0 else None
            ),
            code=_unary("_sqrt({0})"),
            grad_code=_times("0.5 / {y}"),
            vforward=lambda np, a: np.sqrt(a),
            vgrad=lambda np, xs, y, gy: (gy * (0.5 / y),),
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
            code=_unary("({0} if {0} > 0.0 else 0.0 - {0})"),
            grad_code=_times("1.0 if {0} > 0.0 else -1.0 if {0} < 0.0 else 0.0"),
            vforward=lambda np, a: np.abs(a),
            vgrad=lambda np, xs, y, gy: (gy * np.sign(xs[0]),),
            total=True,
        ),
        Op(
            "max",
            2,
            None,
            lambda *xs: max(xs),
            _split_among_ties,
            "largest input",
            "1 for the largest input; tied inputs share it evenly",
            kink=lambda xs: _has_tie(xs, max),
            code=_code_pick(">"),
            grad_code=_grad_pick(">"),
            vforward=lambda np, *xs: functools.reduce(np.maximum, xs),
            vgrad=_v_split_among_ties("greater"),
            total=True,
        ),
        Op(
            "min",
            2,
            None,
            lambda *xs: min(xs),
            _split_among_ties,
            "smallest input",
            "1 for the smallest input; tied inputs share it evenly",
            kink=lambda xs: _has_tie(xs, min),
            code=_code_pick("<"),
            grad_code=_grad_pick("<"),
            vforward=lambda np, *xs: functools.reduce(np.minimum, xs),
            vgrad=_v_split_among_ties("less"),
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
            code=_unary("(1.0 / (1.0 + _exp(-{0})) if {0} >= 0.0 else (_e := _exp({0})) / (1.0 + _e))"),
            grad_code=_times("{y} * (1.0 - {y})"),
            vforward=_v_sigmoid,
            vgrad=lambda np, xs, y, gy: (gy * (y - y * y),),
            total=True,
        ),
        Op(
            "tanh",
            1,
            1,
            math.tanh,
            lambda xs, y: (1.0 - y * y,),
            "tanh a",
            "1 − tanh²a",
            code=_unary("_tanh({0})"),
            grad_code=_times("1.0 - {y} * {y}"),
            vforward=lambda np, a: np.tanh(a),
            vgrad=lambda np, xs, y, gy: (gy * (1.0 - y * y),),
            total=True,
        ),
        Op(
            "relu",
            1,
            1,
            lambda a: a if a > 0 else 0.0,
            lambda xs, y: (1.0 if xs[0] > 0 else 0.0,),
            "max(a, 0)",
            "1 for a > 0, else 0 (0 at a = 0)",
            kink=lambda xs: xs[0] == 0,
            code=_unary("({0} if {0} > 0.0 else 0.0)"),
            grad_code=lambda xs, y, g: f"if {xs[0]} > 0.0:\n    {{d0}} += {g}",
            masks=True,
            vforward=lambda np, a: np.maximum(a, 0.0),
            vgrad=lambda np, xs, y, gy: (gy * (xs[0] > 0),),
            total=True,
        ),
    )
}

OP_NAMES: tuple[str, ...] = tuple(OPS)
