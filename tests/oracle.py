"""An independent gradient oracle: every op written again in sympy, differentiated symbolically.

Nothing here imports the engine's op implementations; only the op *names* connect the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp


def sympy_op(name: str, args: Sequence[sp.Expr]) -> sp.Expr:
    """The sympy expression of op `name` applied to `args`."""
    a = args[0]
    match name:
        case "add":
            return sp.Add(*args)
        case "sub":
            return args[0] - args[1]
        case "mul":
            return sp.Mul(*args)
        case "div":
            return args[0] / args[1]
        case "neg":
            return -a
        case "pow":
            return args[0] ** args[1]
        case "exp":
            return sp.exp(a)
        case "log":
            return sp.log(a)
        case "sqrt":
            return sp.sqrt(a)
        case "abs":
            return sp.Abs(a)
        case "max":
            return sp.Max(*args)
        case "min":
            return sp.Min(*args)
        case "sigmoid":
            return 1 / (1 + sp.exp(-a))
        case "tanh":
            return sp.tanh(a)
        case "relu":
            return sp.Max(a, 0)
    raise KeyError(name)


class OnKink(Exception):
    """The exact point sits on a kink (a tie in max/min, abs or relu at 0): no derivative to compare."""


def circuit_expression(
    inputs: Mapping[str, float], gates: Mapping[str, tuple[str, Sequence[str | float]]], output: str
) -> tuple[sp.Expr, dict[str, sp.Symbol]]:
    """The output of a circuit as one sympy expression of its input symbols (constants exact)."""
    symbols = {name: sp.Symbol(name, real=True) for name in inputs}
    exprs: dict[str, sp.Expr] = dict(symbols)
    needed, stack = set(), [output]  # only what the output reads: other gates may sit outside their domain
    while stack:
        name = stack.pop()
        if name in gates and name not in needed:
            needed.add(name)
            stack += [r for r in gates[name][1] if isinstance(r, str)]
    pending = {name: gate for name, gate in gates.items() if name in needed}
    while pending:  # gates in any order: resolve those whose inputs are known
        for name, (op, refs) in list(pending.items()):
            if all(not isinstance(r, str) or r in exprs for r in refs):
                args = [exprs[r] if isinstance(r, str) else sp.Rational(r) for r in refs]
                exprs[name] = sympy_op(op, args)
                del pending[name]
    return exprs[output], symbols


def _point(symbols: Mapping[str, sp.Symbol], point: Mapping[str, float]) -> dict[sp.Symbol, sp.Rational]:
    # Floats are dyadic rationals: substituting them exactly keeps every comparison
    # decidable (30-digit Floats turn an exact cancellation into '0.e-165', which
    # sympy refuses to compare).
    return {symbols[n]: sp.Rational(v) for n, v in point.items()}


def _ties(a: sp.Expr, b: sp.Expr) -> bool:
    # Equal to 40 of 60 digits: an exact tie sympy cannot prove evaluates to a zero with no digits.
    a, b = a.evalf(60), b.evalf(60)
    return bool(abs(a - b) <= sp.Float("1e-40", 60) * max(abs(a), abs(b)))


def _check_kinks(expr: sp.Expr, subs: Mapping[sp.Symbol, sp.Rational]) -> None:
    """Raise OnKink where a max/min's arguments tie, or abs's argument is 0, at the exact point."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Max | sp.Min):
            at = [a.subs(subs) for a in node.args]
            if any(_ties(a, b) for i, a in enumerate(at) for b in at[i + 1 :]):
                raise OnKink(str(node))
        elif isinstance(node, sp.Abs) and _ties(node.args[0].subs(subs), sp.Integer(0)):
            raise OnKink(str(node))


def gradients(expr: sp.Expr, symbols: Mapping[str, sp.Symbol], point: Mapping[str, float]) -> dict[str, float]:
    """∂expr/∂input at `point`, evaluated exactly and rounded at the end.

    Raises:
        OnKink: the exact point sits on a kink.
    """
    subs = _point(symbols, point)
    _check_kinks(expr, subs)
    return {name: float(sp.diff(expr, sym).subs(subs).evalf(30)) for name, sym in symbols.items()}


def value(expr: sp.Expr, symbols: Mapping[str, sp.Symbol], point: Mapping[str, float]) -> float:
    return float(expr.subs(_point(symbols, point)).evalf(30))
