"""The generated-Python backend's templates: every op's forward and gradient as code.

Each template computes exactly the float operations of the op's row in
`engine.ops` (same operations, same order), so generated code and the
interpreter give equal numbers. A template may decline (return None) for an
arity it does not cover; generated code then calls the op's own ``forward`` /
``grad``, which is equal by construction.

Templates build Python expressions from argument expressions (locals such as
``v3`` or float literals such as ``(2.5)``); they may call ``_exp``, ``_log``,
``_sqrt`` and ``_tanh`` (math's functions, provided by `engine.run.codegen`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Names = Sequence[str]
CodeTemplate = Callable[[Names], "str | None"]
# Upstream times each local partial (argument names, output name, upstream name):
# one expression per argument, or a statement block adding into ``{d0}``, ``{d1}``, …
GradTemplate = Callable[[Names, str, str], "tuple[str, ...] | str | None"]

_INLINE_ARITY = 32
"""Widest n-ary add/mul written inline (``a + b + c``); wider gates call the op (the parser nests each ``+``)."""


@dataclass(frozen=True, slots=True)
class Template:
    """One op's code.

    Attributes:
        forward: the value as an expression.
        grad: ``upstream · ∂y/∂x_i`` per argument, or a statement block.
        masks: the gradient is a statement block that may pass a non-finite
            upstream to no input that is checked (max/min won by a constant,
            relu at a ≤ 0), so generated code checks this gate's gradient itself.
    """

    forward: CodeTemplate
    grad: GradTemplate
    masks: bool = False


def _call(xs: Names) -> None:
    return None


def _call_grad(xs: Names, y: str, g: str) -> None:
    return None


def _times(*partials: str) -> GradTemplate:
    # upstream · partial; x·1.0 and x·(−1.0) are exact, so those need no multiplication.
    def chain(xs: Names, y: str, g: str) -> tuple[str, ...]:
        terms = (p.format(*xs, y=y) for p in partials)
        return tuple(g if t == "1.0" else f"-{g}" if t == "-1.0" else f"{g} * ({t})" for t in terms)

    return chain


def _unary(template: str) -> CodeTemplate:
    return lambda xs: template.format(*xs)


def _chain(operator: str) -> CodeTemplate:
    # Left-associative: ((a + b) + c), as the op table's left-to-right loop.
    return lambda xs: f" {operator} ".join(xs) if len(xs) <= _INLINE_ARITY else None


# Templates compare floats with float literals: CPython specialises float–float
# comparisons, not float–int ones.
def _pick(cmp: str) -> CodeTemplate:
    # Builtin max/min keep the first argument unless a later one is strictly
    # better: the same choice (and the same value on ties) as `max(a, b)`.
    return lambda xs: f"({xs[1]} if {xs[1]} {cmp} {xs[0]} else {xs[0]})" if len(xs) == 2 else None


def _grad_pick(cmp: str) -> GradTemplate:
    # The winner takes the upstream gradient, tied inputs take half each: exactly
    # what multiplying by 1, ½ or 0 gives (adding g·0 changes no finite sum).
    def chain(xs: Names, y: str, g: str) -> str | None:
        if len(xs) != 2:
            return None
        a, b = xs
        return (
            f"if {a} {cmp} {b}:\n    {{d0}} += {g}\nelif {b} {cmp} {a}:\n    {{d1}} += {g}\n"
            f"else:\n    {{d0}} += 0.5 * {g}\n    {{d1}} += 0.5 * {g}"
        )

    return chain


TEMPLATES: dict[str, Template] = {
    "add": Template(_chain("+"), lambda xs, y, g: (g,) * len(xs)),
    "sub": Template(_chain("-"), _times("1.0", "-1.0")),
    "mul": Template(_chain("*"), lambda xs, y, g: _times("{1}", "{0}")(xs, y, g) if len(xs) == 2 else None),
    "div": Template(_unary("{0} / {1}"), _times("1.0 / {1}", "-{y} / {1}")),
    "neg": Template(_unary("(-{0})"), _times("-1.0")),
    "pow": Template(_call, _call_grad),
    "exp": Template(_unary("_exp({0})"), _times("{y}")),
    "log": Template(_unary("_log({0})"), _times("1.0 / {0}")),
    # 0.5 / 0 raises where the op returns inf: generated code then hands over to the interpreter
    "sqrt": Template(_unary("_sqrt({0})"), _times("0.5 / {y}")),
    "abs": Template(
        _unary("({0} if {0} > 0.0 else 0.0 - {0})"), _times("1.0 if {0} > 0.0 else -1.0 if {0} < 0.0 else 0.0")
    ),
    "max": Template(_pick(">"), _grad_pick(">"), masks=True),
    "min": Template(_pick("<"), _grad_pick("<"), masks=True),
    "sigmoid": Template(
        _unary("(1.0 / (1.0 + _exp(-{0})) if {0} >= 0.0 else (_e := _exp({0})) / (1.0 + _e))"),
        _times("{y} * (1.0 - {y})"),
    ),
    "tanh": Template(_unary("_tanh({0})"), _times("1.0 - {y} * {y}")),
    "relu": Template(
        _unary("({0} if {0} > 0.0 else 0.0)"), lambda xs, y, g: f"if {xs[0]} > 0.0:\n    {{d0}} += {g}", masks=True
    ),
}
