"""Expressions in gates: the same values and gradients as the gates written out by hand (and as
sympy), errors placed at the character inside the expression, and hostile text refused fast."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.errors import CircuitError
from engine.format.expressions import MAX_CHARS, MAX_DEPTH

INPUTS = "inputs: {x: 0.7, y: 1.9, z: -1.3}\n"


def run(gates: str, output: str = "") -> engine.Result:
    text = INPUTS + "gates:\n" + gates + (f"output: {output}\n" if output else "")
    return engine.parse_circuit(text, name="t", path="t.yaml").evaluate()


def error(text: str) -> engine.Issue:
    with pytest.raises(CircuitError) as caught:
        engine.parse_circuit(text, name="t", path="t.yaml")
    return caught.value.first


def same_numbers(by_expr: engine.Result, by_hand: engine.Result) -> None:
    """Equal output, input gradients, and equal (value, gradient) pairs over all the other wires."""
    assert by_expr.status == by_hand.status == "ok"
    assert by_expr.value == by_hand.value
    for name in ("x", "y", "z"):
        assert by_expr.grads[name] == by_hand.grads[name], name
    pairs = sorted((by_expr.values[w], by_expr.grads[w]) for w in by_expr.values)
    assert pairs == sorted((by_hand.values[w], by_hand.grads[w]) for w in by_hand.values)


# Every form of the grammar, and the gates it stands for.
FORMS = [
    ("x + y", "  f: {op: add, in: [x, y]}\n"),
    ("x + y + z", "  f: {op: add, in: [x, y, z]}\n"),
    ("x - y", "  f: {op: sub, in: [x, y]}\n"),
    ("x * y * z", "  f: {op: mul, in: [x, y, z]}\n"),
    ("x / y", "  f: {op: div, in: [x, y]}\n"),
    ("x ** 2", "  f: {op: pow, in: [x, 2]}\n"),
    ("x ** y ** 2", "  p: {op: pow, in: [y, 2]}\n  f: {op: pow, in: [x, p]}\n"),
    ("-x", "  f: {op: neg, in: [x]}\n"),
    ("-x ** 2", "  p: {op: pow, in: [x, 2]}\n  f: {op: neg, in: [p]}\n"),
    ("+x * -2", "  f: {op: mul, in: [x, -2]}\n"),
    ("(x + y) * z", "  q: {op: add, in: [x, y]}\n  f: {op: mul, in: [q, z]}\n"),
    ("x + (y + z)", "  q: {op: add, in: [y, z]}\n  f: {op: add, in: [x, q]}\n"),
    ("(x + y) + z", "  q: {op: add, in: [x, y]}\n  f: {op: add, in: [q, z]}\n"),
    ("x * (2 + 3)", "  f: {op: mul, in: [x, 5]}\n"),
    ("2 * 3 * x", "  f: {op: mul, in: [2, 3, x]}\n"),
    ("1.5e-1 * x + .5", "  p: {op: mul, in: [0.15, x]}\n  f: {op: add, in: [p, 0.5]}\n"),
    ("x - y - z", "  p: {op: sub, in: [x, y]}\n  f: {op: sub, in: [p, z]}\n"),
    ("x / y / z", "  p: {op: div, in: [x, y]}\n  f: {op: div, in: [p, z]}\n"),
    ("exp(x) + log(y)", "  e: {op: exp, in: [x]}\n  l: {op: log, in: [y]}\n  f: {op: add, in: [e, l]}\n"),
    ("sqrt(y) * abs(z)", "  s: {op: sqrt, in: [y]}\n  a: {op: abs, in: [z]}\n  f: {op: mul, in: [s, a]}\n"),
    ("tanh(x) - relu(z)", "  t: {op: tanh, in: [x]}\n  r: {op: relu, in: [z]}\n  f: {op: sub, in: [t, r]}\n"),
    ("max(x, y, 0) ** 2", "  m: {op: max, in: [x, y, 0]}\n  f: {op: pow, in: [m, 2]}\n"),
    ("min(x, z)", "  f: {op: min, in: [x, z]}\n"),
    ("pow(x, y)", "  f: {op: pow, in: [x, y]}\n"),
    ("add(x, y, z) * neg(x)", "  a: {op: add, in: [x, y, z]}\n  n: {op: neg, in: [x]}\n  f: {op: mul, in: [a, n]}\n"),
    (
        "sub(x, y) + mul(x, y) + div(x, y)",
        "  s: {op: sub, in: [x, y]}\n  m: {op: mul, in: [x, y]}\n"
        "  d: {op: div, in: [x, y]}\n  f: {op: add, in: [s, m, d]}\n",
    ),
    ("sigmoid(x*y + z)", "  p: {op: mul, in: [x, y]}\n  s: {op: add, in: [p, z]}\n  f: {op: sigmoid, in: [s]}\n"),
    (
        "max(x, y, 0) ** 2 / (1 + exp(-z))",
        "  m: {op: max, in: [x, y, 0]}\n  p: {op: pow, in: [m, 2]}\n  n: {op: neg, in: [z]}\n"
        "  e: {op: exp, in: [n]}\n  d: {op: add, in: [1, e]}\n  f: {op: div, in: [p, d]}\n",
    ),
    ("x*x", "  f: {op: mul, in: [x, x]}\n"),  # fan-out: the gradient accumulates
]


@pytest.mark.parametrize(("expr", "gates"), FORMS, ids=[e for e, _ in FORMS])
def test_every_form_equals_its_gates(expr: str, gates: str) -> None:
    same_numbers(run(f"  f: '{expr}'\n"), run(gates, "f"))
    same_numbers(run(f"  f: {{expr: '{expr}', doc: the same}}\n"), run(gates, "f"))


def test_intermediates_are_named_after_their_gate() -> None:
    r = run("  n: sigmoid(x*y + z)\n")
    assert list(r.values) == ["x", "y", "z", "n.1", "n.2", "n"]
    assert r.values["n.1"] == pytest.approx(0.7 * 1.9)
    assert r.grads["n.2"] == pytest.approx(r.values["n"] * (1 - r.values["n"]))


def test_seed_as_one_expression_equals_the_seed() -> None:
    by_expr = engine.load_circuit("circuits/seed_expr.yaml").evaluate()
    by_hand = engine.load_circuit("circuits/seed.yaml").evaluate()
    assert by_expr.values == {"x": -2.0, "y": 5.0, "z": -4.0, "f.1": 3.0, "f": -12.0}
    assert by_expr.grads == {"x": -4.0, "y": -4.0, "z": 3.0, "f.1": -4.0, "f": 1.0}
    assert (by_expr.values["f.1"], by_expr.grads["f.1"]) == (by_hand.values["q"], by_hand.grads["q"])


def test_neuron_as_expressions_equals_the_neuron_gate_by_gate() -> None:
    by_expr = engine.load_circuit("circuits/neuron_expr.yaml").evaluate()
    by_hand = engine.load_circuit("circuits/neuron.yaml").evaluate()
    rename = {"s.1": "ax", "s.2": "by"}
    assert {rename.get(w, w): v for w, v in by_expr.values.items()} == by_hand.values
    assert {rename.get(w, w): g for w, g in by_expr.grads.items()} == by_hand.grads


def test_a_constant_subexpression_folds_only_where_the_op_is_defined() -> None:
    assert list(run("  f: x * (2 ** 3 - 1)\n").values) == ["x", "y", "z", "f"]
    # log(0) is not folded: it stays a gate, and faults where it is written
    text = INPUTS + "gates:\n  f: x * log(0)\n"
    with pytest.raises(engine.EvaluationError) as caught:
        engine.parse_circuit(text, path="t.yaml").evaluate()
    issue = caught.value.first
    assert (issue.code, issue.line, issue.column) == ("domain", 3, 10)


# ---- errors point inside the expression ----


@pytest.mark.parametrize(
    ("gate", "code", "column", "message", "hint"),
    [
        ("f: sigmoid(x * zz)", "unknown-wire", 18, "unknown wire 'zz' in gate 'f'", "did you mean 'z'?"),
        ('f: "sigmoid(x * zz)"', "unknown-wire", 19, "unknown wire 'zz' in gate 'f'", "did you mean 'z'?"),
        ("f: 'sigmoid(x * zz)'", "unknown-wire", 19, "unknown wire 'zz' in gate 'f'", "did you mean 'z'?"),
        ('f: "\\t\\x78 + zz"', "unknown-wire", 16, "unknown wire 'zz' in gate 'f'", "did you mean 'z'?"),
        ('f: "it\x27s + x"', "expr-syntax", 9, "unexpected character \x27\x27\x27", None),
        ("f: {expr: x + zz, doc: d}", "unknown-wire", 17, "unknown wire 'zz' in gate 'f'", "did you mean 'z'?"),
        ("f: x * expp(y)", "unknown-function", 10, "unknown function 'expp'", "did you mean 'exp'?"),
        ("f: x * logg(y)", "unknown-function", 10, "unknown function 'logg'", "did you mean 'log'?"),
        ("f: log(x, y)", "arity", 6, "'log' takes 1 argument, got 2", "call it as log(a)"),
        ("f: max(x)", "arity", 6, "'max' takes 2+ arguments, got 1", "call it as max(a, b, …)"),
        ("f: x + * y", "expr-syntax", 10, "unexpected '*'", None),
        ("f: (x + y", "expr-syntax", 6, "'(' is never closed", "add the missing ')'"),
        ("f: x +", "expr-syntax", 9, "the expression ends too early", None),
        ("f: 2x + y", "expr-syntax", 6, "'2x' is not a number", None),
        ("f: x ^ 2", "expr-syntax", 8, "unexpected character '^'", "write powers as a ** b"),
        ("f: x", "expr-trivial", 6, "the expression computes nothing: it is a single name", None),
        ("f: 010 * x", "invalid-number", 6, "'010' is not a finite number", None),
        ("f: 1e999 * x", "invalid-number", 6, "'1e999' is not a finite number", None),
    ],
)
def test_errors_point_at_the_character(gate: str, code: str, column: int, message: str, hint: str | None) -> None:
    issue = error(INPUTS + "gates:\n  q: x * y\n  " + gate + "\n")
    assert (issue.path, issue.line, issue.column, issue.code, issue.message) == ("t.yaml", 4, column, code, message)
    assert issue.hint
    if hint is not None:
        assert issue.hint == hint


def test_error_in_a_folded_expression_points_at_its_line() -> None:
    issue = error(INPUTS + "gates:\n  f: >-\n    x * y +\n    sigmoid(zz)\n")
    assert (issue.line, issue.column, issue.message) == (5, 13, "unknown wire 'zz' in gate 'f'")
    issue = error(INPUTS + 'gates:\n  f: "x * y +\n    sigmoid(zz)"\n')
    assert (issue.line, issue.column) == (4, 13)


def test_expression_and_wiring_errors_are_reported_together() -> None:
    with pytest.raises(CircuitError) as caught:
        engine.parse_circuit(INPUTS + "gates:\n  f: x + q\n  g: (y\n", path="t.yaml")
    assert [(i.line, i.column, i.code) for i in caught.value.issues] == [(3, 10, "unknown-wire"), (4, 6, "expr-syntax")]


def test_cli_renders_the_located_error(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("inputs: {x: 1, z: 2}\ngates:\n  n: sigmoid(x * zz)\n")
    proc = subprocess.run(["circuit", "eval", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == f"{path}:3:18: error[unknown-wire] unknown wire 'zz' in gate 'n'\n  help: did you mean 'z'?\n"


# ---- hostile expressions: refused at once, nothing executed ----

# (expression, code, 0-based index of the character the error points at)
HOSTILE = [
    ("(" * 100_000 + "x" + ")" * 100_000, "expr-too-long", 0),
    ("(" * 1000 + "x" + ")" * 1000, "expr-too-deep", MAX_DEPTH),
    ("-" * 5000 + "x", "expr-too-deep", MAX_DEPTH),
    ("x" + " + x" * 262_144, "expr-too-long", 0),  # 1 MB
    ("__import__('os')", "expr-syntax", 11),
    ("__import__('os').system('echo hacked')", "expr-syntax", 11),
    ("x.__class__ * 2", "unknown-wire", 0),
    ("().__class__", "expr-syntax", 2),
    ("lambda: 1", "expr-syntax", 0),
    ("(lambda q: q)(x)", "expr-syntax", 1),
    ("f'{x}'", "expr-syntax", 1),
    ("x[0]", "expr-syntax", 1),
    ("x if y else z", "expr-syntax", 2),
    ("x == y", "expr-syntax", 2),
    ("exp(x=1)", "expr-syntax", 5),
    ("sum(x for x in y)", "unknown-function", 0),
]


def quoted(expr: str) -> str:
    """A circuit whose gate holds `expr` in double quotes: line 3, its first character in column 7."""
    return INPUTS + 'gates:\n  f: "' + expr + '"\n'


@pytest.mark.parametrize(("expr", "code", "index"), HOSTILE, ids=[f"{c}-{e[:20]}" for e, c, _ in HOSTILE])
def test_hostile_expression_is_refused_with_a_located_error(expr: str, code: str, index: int) -> None:
    issue = error(quoted(expr))
    assert (issue.code, issue.line, issue.column) == (code, 3, 7 + index)
    assert issue.hint


def test_hostile_expressions_run_nothing(tmp_path: Path) -> None:
    # Were any text ever evaluated, this would write the marker file.
    marker = tmp_path / "hacked"
    for expr in (f"__import__('pathlib').Path('{marker}').write_text('x')", f"open('{marker}', 'w')"):
        with pytest.raises(CircuitError):
            engine.parse_circuit(quoted(expr))
    assert not marker.exists()
    assert MAX_CHARS < 1_000_000  # the 1 MB case above is refused by its length, before any parsing


# ---- random expressions: the same numbers as the gates written out, and as sympy ----

LEAVES = st.sampled_from(["x", "y", "z", "2", "0.5", "-1.5"])
UNARY = ["neg", "tanh", "sigmoid", "exp", "abs"]
BINARY = ["+", "-", "*"]


def _tree(leaves: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), leaves),
        st.tuples(st.sampled_from(BINARY), leaves, leaves),
        st.tuples(st.just("max"), leaves, leaves, leaves),
        st.tuples(st.just("pow2"), leaves),
    )


TREES = st.recursive(LEAVES, _tree, max_leaves=10)


def text_of(tree: object) -> str:
    """The expression, with every operation in parentheses (so none merges into a variadic gate)."""
    if isinstance(tree, str):
        return tree if not tree.startswith("-") else f"({tree})"
    op, *args = tree  # type: ignore[misc]
    inner = [text_of(a) for a in args]
    if op in BINARY:
        return f"({inner[0]} {op} {inner[1]})"
    if op == "pow2":
        return f"({inner[0]} ** 2)"
    if op == "neg":
        return f"(-{inner[0]})"
    return f"{op}({', '.join(inner)})"


def gates_of(tree: object) -> tuple[str, list[str]]:
    """The tree written gate by gate: (the wire or constant of its root, the gate lines)."""
    lines: list[str] = []

    def walk(node: object) -> str:
        if isinstance(node, str):
            return node
        op, *args = node  # type: ignore[misc]
        refs = [walk(a) for a in args]
        name = f"g{len(lines) + 1}"
        ops = {"+": "add", "-": "sub", "*": "mul", "pow2": "pow"}
        if op == "pow2":
            refs.append("2")
        lines.append(f"  {name}: {{op: {ops.get(op, op)}, in: [{', '.join(refs)}]}}")
        return name

    return walk(tree), lines


def sympy_of(tree: object, symbols: dict[str, sympy.Symbol], at: dict[sympy.Symbol, float]) -> tuple[sympy.Expr, bool]:
    """The tree as a sympy expression, and whether it sits on a kink at `at` (abs at 0, a tie in max),
    where the derivative is a convention rather than sympy's. max is its largest argument at `at`."""
    if isinstance(tree, str):
        return (symbols[tree] if tree in symbols else sympy.Float(tree)), False
    op, *args = tree  # type: ignore[misc]
    parts = [sympy_of(arg, symbols, at) for arg in args]
    a = [expr for expr, _ in parts]
    kinked = any(k for _, k in parts)
    if op == "max":
        values = [float(expr.evalf(30, subs=at)) for expr in a]
        top = max(values)
        kinked = kinked or sum(math.isclose(v, top, rel_tol=1e-12, abs_tol=1e-12) for v in values) > 1
        return a[values.index(top)], kinked
    if op == "abs":
        kinked = kinked or abs(float(a[0].evalf(30, subs=at))) < 1e-12
    table = {
        "+": lambda: a[0] + a[1],
        "-": lambda: a[0] - a[1],
        "*": lambda: a[0] * a[1],
        "neg": lambda: -a[0],
        "tanh": lambda: sympy.tanh(a[0]),
        "sigmoid": lambda: 1 / (1 + sympy.exp(-a[0])),
        "exp": lambda: sympy.exp(a[0]),
        "abs": lambda: sympy.Abs(a[0]),
        "pow2": lambda: a[0] ** 2,
    }
    return table[op](), kinked


def _computes(tree: object) -> bool:
    """Reads a wire (an expression of numbers only may fold to one number, which computes nothing)."""
    return not isinstance(tree, str) and any(name in repr(tree) for name in ("'x'", "'y'", "'z'"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES.filter(_computes), st.tuples(*[st.floats(-2, 2).map(lambda v: round(v, 3))] * 3))
def test_random_expressions_equal_their_gates_and_sympy(tree: object, point: tuple[float, float, float]) -> None:
    x, y, z = point
    inputs = f"inputs: {{x: {x!r}, y: {y!r}, z: {z!r}}}\n"
    try:
        by_expr = engine.parse_circuit(inputs + f"gates:\n  f: '{text_of(tree)}'\n").evaluate()
    except engine.EvaluationError:
        return  # overflow of exp(exp(…)): a domain fault, as it would be gate by gate
    root, lines = gates_of(tree)
    by_hand = engine.parse_circuit(inputs + "gates:\n" + "\n".join(lines) + f"\noutput: {root}\n").evaluate()
    assert by_expr.value == by_hand.value
    for name in ("x", "y", "z"):
        assert by_expr.grads.get(name, 0.0) == by_hand.grads.get(name, 0.0)
    symbols = {name: sympy.Symbol(name, real=True) for name in ("x", "y", "z")}
    at = {symbols["x"]: x, symbols["y"]: y, symbols["z"]: z}
    expression, kinked = sympy_of(tree, symbols, at)
    assert by_expr.value == pytest.approx(float(expression.evalf(30, subs=at)), rel=1e-9, abs=1e-12)
    if not kinked:
        for name, symbol in symbols.items():
            expected = float(sympy.diff(expression, symbol).evalf(30, subs=at))
            assert by_expr.grads.get(name, 0.0) == pytest.approx(expected, rel=1e-7, abs=1e-9), name
