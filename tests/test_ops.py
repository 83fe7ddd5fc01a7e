"""Every op's forward value and local gradients, against sympy and against finite differences."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import sympy as sp

from engine.ops import OPS
from tests.oracle import sympy_op

# Points away from kinks and domain edges, per op.
POINTS: dict[str, list[tuple[float, ...]]] = {
    "add": [(1.5, -2.25), (0.1, 0.2, 0.3, -4.0)],
    "sub": [(3.0, 7.5), (-1.25, 0.5)],
    "mul": [(-2.0, 3.0), (1.5, -0.5, 4.0), (0.0, 2.0, 3.0)],
    "div": [(1.0, 4.0), (-3.0, 0.5)],
    "neg": [(2.5,), (-0.75,)],
    "pow": [(2.0, 3.0), (1.7, -0.5), (-2.0, 3.0), (0.5, 2.5)],
    "exp": [(0.3,), (-4.0,)],
    "log": [(0.5,), (10.0,)],
    "sqrt": [(4.0,), (0.09,)],
    "abs": [(-3.0,), (2.5,)],
    "max": [(1.0, 3.0), (5.0, -1.0, 2.0)],
    "min": [(1.0, 3.0), (5.0, -1.0, 2.0)],
    "sigmoid": [(0.0,), (2.0,), (-3.5,)],
    "tanh": [(0.5,), (-1.2,)],
    "relu": [(1.5,), (-2.0,)],
}


def test_every_op_has_points() -> None:
    assert set(POINTS) == set(OPS)


CASES = [(name, xs) for name, points in POINTS.items() for xs in points]


@pytest.mark.parametrize(("name", "xs"), CASES, ids=[f"{n}{xs}" for n, xs in CASES])
def test_forward_and_grad_match_sympy(name: str, xs: tuple[float, ...]) -> None:
    op = OPS[name]
    symbols = sp.symbols(f"a0:{len(xs)}", real=True)
    expr = sympy_op(name, symbols)
    subs = dict(zip(symbols, (sp.Float(x, 30) for x in xs)))
    y = op.forward(*xs)
    assert y == pytest.approx(float(expr.evalf(30, subs=subs)), rel=1e-12, abs=1e-15)
    # a^b has no real derivative in b for a < 0: only ∂a is compared there
    n = 1 if name == "pow" and xs[0] < 0 else len(xs)
    expected = [float(sp.diff(expr, s).evalf(30, subs=subs)) for s in symbols[:n]]
    assert op.grad(xs, y)[:n] == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("name", "xs"), CASES, ids=[f"{n}{xs}" for n, xs in CASES])
def test_grad_matches_centred_differences(name: str, xs: tuple[float, ...]) -> None:
    op = OPS[name]
    y = op.forward(*xs)
    grads = op.grad(xs, y)
    n = 1 if name == "pow" and xs[0] < 0 else len(xs)  # (-2)^b is not real near b = 3
    for i, x in enumerate(xs[:n]):
        h = 1e-6 * max(1.0, abs(x))
        up = list(xs)
        down = list(xs)
        up[i], down[i] = x + h, x - h
        numeric = (op.forward(*up) - op.forward(*down)) / (2 * h)
        assert grads[i] == pytest.approx(numeric, rel=1e-6, abs=1e-7)


def test_kink_conventions_follow_pytorch() -> None:
    assert OPS["relu"].grad((0.0,), 0.0) == (0.0,)
    assert OPS["abs"].grad((0.0,), 0.0) == (0.0,)
    assert OPS["max"].grad((2.0, 2.0), 2.0) == (0.5, 0.5)
    assert OPS["min"].grad((1.0, 3.0, 1.0), 1.0) == (0.5, 0.0, 0.5)
    assert OPS["max"].grad((4.0, 4.0, 4.0, 1.0), 4.0) == pytest.approx((1 / 3, 1 / 3, 1 / 3, 0.0))
    assert [
        OPS[n].kink(xs)
        for n, xs in (("relu", (0.0,)), ("abs", (0.0,)), ("max", (2.0, 2.0)), ("min", (1.0, 2.0)), ("relu", (1e-300,)))
    ] == [True, True, True, False, False]


def test_sigmoid_is_stable_for_large_inputs() -> None:
    sigmoid = OPS["sigmoid"]
    assert sigmoid.forward(1000.0) == 1.0
    assert sigmoid.forward(-1000.0) == 0.0
    assert sigmoid.forward(-745.0) == pytest.approx(math.exp(-745.0))
    assert sigmoid.grad((-1000.0,), 0.0) == (0.0,)


def test_mul_grad_with_a_zero_input_is_the_product_of_the_others() -> None:
    assert OPS["mul"].grad((0.0, 2.0, 3.0), 0.0) == (6.0, 0.0, 0.0)


def test_pow_exponent_gradient_at_zero_base() -> None:
    assert OPS["pow"].grad((0.0, 2.0), 0.0) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("name", "xs", "reason"),
    [
        ("log", (0.0,), "log of a non-positive number"),
        ("log", (-1.0,), "log of a non-positive number"),
        ("div", (1.0, 0.0), "division by zero"),
        ("sqrt", (-4.0,), "sqrt of a negative number"),
        ("pow", (-8.0, 1 / 3), "negative base to a fractional power"),
        ("pow", (0.0, -1.0), "zero to a negative power"),
    ],
)
def test_domain_faults_raise_and_explain(name: str, xs: tuple[float, ...], reason: str) -> None:
    op = OPS[name]
    with pytest.raises((ValueError, ArithmeticError)):
        op.forward(*xs)
    assert op.fault(xs) == reason


def test_arity() -> None:
    assert [(n, op.arity_text()) for n, op in OPS.items()] == [
        ("add", "2+"),
        ("sub", "2"),
        ("mul", "2+"),
        ("div", "2"),
        ("neg", "1"),
        ("pow", "2"),
        ("exp", "1"),
        ("log", "1"),
        ("sqrt", "1"),
        ("abs", "1"),
        ("max", "2+"),
        ("min", "2+"),
        ("sigmoid", "1"),
        ("tanh", "1"),
        ("relu", "1"),
    ]


def test_every_op_has_every_backend() -> None:
    # The op table holds maths only; each backend writes every op in its own terms.
    from engine.ops import Op
    from engine.run.kernels import KERNELS
    from engine.run.templates import TEMPLATES

    assert list(TEMPLATES) == list(OPS) == list(KERNELS)
    assert [f.name for f in dataclasses.fields(Op)] == [
        "name",
        "min_arity",
        "max_arity",
        "forward",
        "grad",
        "formula",
        "grad_formula",
        "kink",
        "fault",
        "total",
    ]


EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-200, -1e-160, 5e-324, 1e200, -1e300, 1.7976931348623157e308]


@pytest.mark.parametrize("name", list(OPS))
def test_grad_never_raises_where_forward_is_finite(name: str) -> None:
    op = OPS[name]
    for arity in {op.min_arity, op.min_arity + 1} if op.max_arity is None else {op.min_arity}:
        for xs in itertools.product(EDGES, repeat=arity):
            try:
                y = op.forward(*xs)
            except (ArithmeticError, ValueError):
                continue
            if math.isfinite(y):
                partials = op.grad(xs, y)  # may be inf or nan, never an exception
                assert len(partials) == arity and all(isinstance(p, float) for p in partials), (name, xs)


def test_products_of_others_keep_a_representable_partial() -> None:
    from engine.ops import products_of_others

    # 1e200·1e200 overflows on the way, though the product with 1e-300 is 1e100 (2e400 is truly infinite)
    assert products_of_others([2.0, 1e-300, 1e200, 1e200]) == (1e100, math.inf, 2e-100, 2e-100)
    # 1e-200·1e-200 underflows to 0 on the way, though the product with 1e300 is 1e-100
    assert products_of_others([1e-200, 1e-200, 1e300, 2.0])[3] == pytest.approx(1e-100, rel=1e-15)
    # a product that is truly too small, or has a zero among the others, stays 0
    assert products_of_others([0.0, 3.0, 1e-200, 1e-200]) == (0.0, 0.0, 0.0, 0.0)
