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


def circuit_expression(
    inputs: Mapping[str, float], gates: Mapping[str, tuple[str, Sequence[str | float]]], output: str
) -> tuple[sp.Expr, dict[str, sp.Symbol]]:
    """The output of a circuit as one sympy expression of its input symbols."""
    symbols = {name: sp.Symbol(name, real=True) for name in inputs}
    exprs: dict[str, sp.Expr] = dict(symbols)
    pending = dict(gates)
    while pending:  # gates in any order: resolve those whose inputs are known
        for name, (op, refs) in list(pending.items()):
            if all(not isinstance(r, str) or r in exprs for r in refs):
                args = [exprs[r] if isinstance(r, str) else sp.Float(r, 30) for r in refs]
                exprs[name] = sympy_op(op, args)
                del pending[name]
    return exprs[output], symbols


def gradients(expr: sp.Expr, symbols: Mapping[str, sp.Symbol], point: Mapping[str, float]) -> dict[str, float]:
    """∂expr/∂input at `point`, evaluated with 30 significant digits."""
    subs = {symbols[n]: sp.Float(v, 30) for n, v in point.items()}
    return {name: float(sp.diff(expr, sym).evalf(30, subs=subs)) for name, sym in symbols.items()}


def value(expr: sp.Expr, symbols: Mapping[str, sp.Symbol], point: Mapping[str, float]) -> float:
    subs = {symbols[n]: sp.Float(v, 30) for n, v in point.items()}
    return float(expr.evalf(30, subs=subs))
