"""The numpy backend's kernels: every op's forward and gradient over arrays of samples.

Each kernel computes the float operations of the op's row in `engine.ops` in the
same order (left-to-right sums and products, the same prefix/suffix products
for n-ary mul, ``−y/b`` for div, the two-branch sigmoid, tie shares of 1, ½ or
1/k), so a sample's numbers are the scalar evaluators' numbers. The one
exception is numpy's own exp, log, tanh and power, which may differ from the C
library's by an ulp (see docs/evaluation.md).

A forward kernel takes numpy and the argument arrays (literal constants come as
floats, which numpy broadcasts). A gradient kernel takes numpy, the arguments,
the output, the upstream gradient and the argument positions that take a
partial, and returns ``upstream · partial`` for each of those positions — or the
upstream array itself where the partial is 1.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.ops import products_of_others

Array = Any  # numpy.ndarray; numpy is imported lazily
Positions = Sequence[int]


@dataclass(frozen=True, slots=True)
class Kernel:
    """One op over arrays: ``forward(np, *xs)`` and ``grad(np, xs, y, gy, positions)``."""

    forward: Callable[..., Array]
    grad: Callable[[Any, Sequence[Array], Array, Array, Positions], list[Array]]


def _each(*partials: Callable[[Any, Sequence[Array], Array], Array | None]) -> Callable[..., list[Array]]:
    # One partial per argument position; None means a partial of 1 (the upstream passes as is).
    def grad(np: Any, xs: Sequence[Array], y: Array, gy: Array, positions: Positions) -> list[Array]:
        out = []
        for p in positions:
            partial = partials[p](np, xs, y)
            out.append(gy if partial is None else gy * partial)
        return out

    return grad


def _pass(np: Any, xs: Sequence[Array], y: Array, gy: Array, positions: Positions) -> list[Array]:
    return [gy] * len(positions)


def _mul_grad(np: Any, xs: Sequence[Array], y: Array, gy: Array, positions: Positions) -> list[Array]:
    n = len(xs)
    if n == 2:
        return [gy * xs[1 - p] for p in positions]
    prefix: list[Array] = [1.0]
    for x in xs[:-1]:
        prefix.append(prefix[-1] * x)
    suffix: list[Array] = [1.0] * (n + 1)
    for i in range(n - 1, 0, -1):
        suffix[i] = xs[i] * suffix[i + 1]
    zeros = functools.reduce(np.add, [np.equal(x, 0.0).astype(int) for x in xs])
    out = []
    for p in positions:
        partial = np.broadcast_to(prefix[p] * suffix[p + 1], np.shape(gy))
        # where the op takes the product again with exponents apart, so do these samples
        again = np.flatnonzero(~np.isfinite(partial) | ((partial == 0.0) & (zeros == np.equal(xs[p], 0.0))))
        if len(again):
            partial = partial.copy()
            columns = [np.broadcast_to(x, partial.shape) for x in xs]
            for s in again:
                partial[s] = products_of_others([float(c[s]) for c in columns])[p]
        out.append(gy * partial)
    return out


def _pick(np: Any, xs: Sequence[Array], better: str) -> Array:
    # Like builtin max/min: a later input replaces the winner only if strictly better. numpy's
    # maximum and minimum give their second operand on a tie (±0 included), so the winner goes second.
    pick = np.maximum if better == "greater" else np.minimum
    return functools.reduce(lambda acc, x: pick(x, acc), xs)


def _tie_grad(better: str) -> Callable[[Any, Sequence[Array], Array, Array, Positions], list[Array]]:
    """max's (``greater``) or min's (``less``) gradient: the winner's share is 1, each of k tied ones 1/k."""

    def grad(np: Any, xs: Sequence[Array], y: Array, gy: Array, positions: Positions) -> list[Array]:
        if len(xs) == 2:  # a's share is 1, ½ on a tie, else 0; b's is what is left (exact in these values)
            a, b = xs
            first = np.where(np.equal(a, b), 0.5, getattr(np, better)(a, b))
            return [gy * (first if p == 0 else 1.0 - first) for p in positions]
        hits = [np.equal(x, y) for x in xs]
        count = functools.reduce(np.add, [h.astype(float) for h in hits])
        share = 1.0 / count
        return [gy * np.where(hits[p], share, 0.0) for p in positions]

    return grad


def _sigmoid(np: Any, a: Array) -> Array:
    # The scalar op's two branches: 1/(1 + e^−a) for a ≥ 0, e^a/(1 + e^a) below; e^−|a| is both.
    # (masked ufuncs into one array: a fresh array per step costs page faults over big batches)
    e = np.abs(a)
    np.negative(e, out=e)
    np.exp(e, out=e)
    y = e + 1.0
    np.copyto(e, 1.0, where=a >= 0.0)  # the numerator: 1 for a ≥ 0, e^a below
    return np.divide(e, y, out=y)


def _pow_grad(np: Any, xs: Sequence[Array], y: Array, gy: Array, positions: Positions) -> list[Array]:
    a, b = xs
    out = []
    for p in positions:
        if p == 0:
            # np.power gives inf and nan where the op's _pow_or_inf does (overflow, 0^−k, (−a)^½)
            partial = np.where(np.not_equal(b, 0.0), b * np.power(a, b - 1.0), 0.0)
        else:
            positive = np.greater(a, 0.0)
            partial = np.where(
                positive,
                y * np.log(np.where(positive, a, 1.0)),
                np.where(np.equal(a, 0.0) & np.greater(b, 0.0), 0.0, np.nan),
            )
        out.append(gy * partial)
    return out


KERNELS: dict[str, Kernel] = {
    "add": Kernel(lambda np, *xs: functools.reduce(np.add, xs), _pass),
    "sub": Kernel(lambda np, a, b: a - b, lambda np, xs, y, gy, positions: [gy if p == 0 else -gy for p in positions]),
    "mul": Kernel(lambda np, *xs: functools.reduce(np.multiply, xs), _mul_grad),
    "div": Kernel(lambda np, a, b: a / b, _each(lambda np, xs, y: 1.0 / xs[1], lambda np, xs, y: -y / xs[1])),
    "neg": Kernel(lambda np, a: -a, lambda np, xs, y, gy, positions: [-gy]),
    "pow": Kernel(lambda np, a, b: np.power(a, b), _pow_grad),
    "exp": Kernel(lambda np, a: np.exp(a), _each(lambda np, xs, y: y)),
    "log": Kernel(lambda np, a: np.log(a), _each(lambda np, xs, y: 1.0 / xs[0])),
    "sqrt": Kernel(lambda np, a: np.sqrt(a), _each(lambda np, xs, y: 0.5 / y)),
    "abs": Kernel(
        lambda np, a: np.abs(a),
        _each(lambda np, xs, y: np.where(xs[0] > 0.0, 1.0, np.where(xs[0] < 0.0, -1.0, 0.0))),
    ),
    "max": Kernel(lambda np, *xs: _pick(np, xs, "greater"), _tie_grad("greater")),
    "min": Kernel(lambda np, *xs: _pick(np, xs, "less"), _tie_grad("less")),
    "sigmoid": Kernel(_sigmoid, _each(lambda np, xs, y: y * (1.0 - y))),
    "tanh": Kernel(lambda np, a: np.tanh(a), _each(lambda np, xs, y: 1.0 - y * y)),
    # maximum gives its second operand on a tie: relu(−0) is +0, as in the scalar op; the partial
    # is a boolean array, which multiplies as 1 and 0
    "relu": Kernel(lambda np, a: np.maximum(a, 0.0), _each(lambda np, xs, y: np.greater(xs[0], 0.0))),
}
