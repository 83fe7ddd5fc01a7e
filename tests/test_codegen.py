"""The compiled path equals the interpreter: every op, kink, fan-out case and
domain fault (same message), chunked or fused, and the tiering cache."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.run import codegen, interpreter
from engine.run.interpreter import DomainFault


def program_of(text: str) -> engine.Circuit:
    return engine.parse_circuit(text, name="t")


def both(circuit: engine.Circuit, point: list[float], chunk: int = codegen.CHUNK):
    """(interpreter outcome, compiled outcome): results, or the fault's message."""
    program = circuit.program
    outcomes = []
    for run in (
        lambda: interpreter.interpret(program, point),
        lambda: codegen.run_compiled(program, codegen.compile_code(program, chunk=chunk), point),
    ):
        try:
            outcomes.append(run())
        except DomainFault as fault:
            outcomes.append(("fault", str(fault)))
    return outcomes


def same(a, b) -> bool:
    """Equal lists (==), and equal signs of zeros too."""
    if a[0] == "fault" or b[0] == "fault":
        return a == b
    return all(
        x == y and math.copysign(1, x) == math.copysign(1, y)
        for xs, ys in zip(a, b)
        for x, y in zip(xs, ys, strict=True)
    )


def unary_circuit(op: str) -> str:
    return f"inputs: {{a: 1}}\ngates:\n  y: {{op: {op}, in: [a]}}\n  f: {{op: mul, in: [y, 3]}}\n"


UNARY_POINTS = {
    "neg": [0.0, -0.0, 2.5],
    "exp": [0.0, -800.0, 1.5, 709.0, 710.0],
    "log": [1.0, 0.5, 0.0, -1.0, 1e-300],
    "sqrt": [4.0, 0.0, -1.0, 1e-300],
    "abs": [0.0, -0.0, -3.0, 3.0],
    "sigmoid": [0.0, -1000.0, 1000.0, -3.5, 2.0],
    "tanh": [0.0, -20.0, 0.3],
    "relu": [0.0, -0.0, -1.0, 2.0],
}


@pytest.mark.parametrize(("op", "x"), [(op, x) for op, xs in UNARY_POINTS.items() for x in xs])
def test_unary_ops_compiled_equal_interpreter(op: str, x: float) -> None:
    circuit = program_of(unary_circuit(op))
    interpreted, compiled = both(circuit, [x])
    assert same(interpreted, compiled), (interpreted, compiled)


BINARY_POINTS = [
    (2.0, 3.0),
    (3.0, 3.0),
    (-0.0, 0.0),
    (0.0, -0.0),
    (0.0, 0.0),
    (-2.0, 0.5),
    (1e200, 1e200),
    (5.0, 0.0),
    (0.0, 0.0),
    (-8.0, 1.0 / 3.0),
    (0.0, -1.0),
    (2.0, -1.0),
    (-2.0, 2.0),
]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "max", "min"])
@pytest.mark.parametrize(("a", "b"), BINARY_POINTS)
def test_binary_ops_compiled_equal_interpreter(op: str, a: float, b: float) -> None:
    circuit = program_of(
        f"inputs: {{a: 1, b: 2}}\ngates:\n  y: {{op: {op}, in: [a, b]}}\n  f: {{op: mul, in: [y, y]}}\n"
    )
    interpreted, compiled = both(circuit, [a, b])
    assert same(interpreted, compiled), (interpreted, compiled)


@pytest.mark.parametrize("op", ["add", "mul", "max", "min"])
@pytest.mark.parametrize("xs", [(1.0, 2.0, 3.0), (3.0, 3.0, 1.0), (2.0, 2.0, 2.0), (0.0, 5.0, -1.0)])
def test_variadic_ops_compiled_equal_interpreter(op: str, xs: tuple[float, ...]) -> None:
    circuit = program_of(f"inputs: {{a: 1, b: 2, c: 3}}\ngates:\n  f: {{op: {op}, in: [a, b, c, 0.5]}}\n")
    interpreted, compiled = both(circuit, list(xs))
    assert same(interpreted, compiled)


def test_fan_out_accumulates_like_the_interpreter() -> None:
    circuit = program_of("inputs: {x: 3}\ngates:\n  s: {op: mul, in: [x, x]}\n  f: {op: add, in: [s, x]}\n")
    interpreted, compiled = both(circuit, [3.0])
    assert compiled == ([3.0, 9.0, 12.0], [7.0, 1.0, 1.0])
    assert same(interpreted, compiled)


@pytest.mark.parametrize(
    ("text", "point", "message"),
    [
        ("inputs: {x: 0}\ngates:\n  f: {op: log, in: [x]}\n", [0.0], "gate 'f' log(0.0): log of a non-positive number"),
        ("inputs: {x: 0}\ngates:\n  f: {op: div, in: [1, x]}\n", [0.0], "gate 'f' div(1.0, 0.0): division by zero"),
        (
            "inputs: {x: 0}\ngates:\n  f: {op: sqrt, in: [x]}\n",
            [0.0],
            "gate 'f' sqrt(0.0) (gradient): sqrt has an infinite slope at 0",
        ),
        (
            "inputs: {x: 1e200}\ngates:\n  m: {op: mul, in: [x, x]}\n  f: {op: tanh, in: [m]}\n",
            [1e200],
            "gate 'm' mul(1e+200, 1e+200): result overflows to infinity",
        ),
        (
            "inputs: {x: 800}\ngates:\n  f: {op: exp, in: [x]}\n",
            [800.0],
            "gate 'f' exp(800.0): result overflows to infinity",
        ),
    ],
)
def test_domain_faults_have_the_interpreters_message(text: str, point: list[float], message: str) -> None:
    interpreted, compiled = both(program_of(text), point)
    assert interpreted == compiled
    assert compiled[0] == "fault" and compiled[1].startswith("<string>: error[domain] " + message)


def test_dead_branch_with_infinite_slope_does_not_fault() -> None:
    # sqrt(0) has an infinite slope, but its upstream gradient is exactly 0.
    circuit = program_of("inputs: {x: 0}\ngates:\n  s: {op: sqrt, in: [x]}\n  f: {op: mul, in: [s, 0]}\n")
    interpreted, compiled = both(circuit, [0.0])
    assert same(interpreted, compiled)
    assert compiled[1][0] == 0.0


CIRCUITS = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.tuples(
                st.sampled_from(["add", "sub", "mul", "max", "min", "sigmoid", "tanh", "relu", "abs", "neg", "exp"]),
                st.integers(min_value=0, max_value=10**6),
                st.integers(min_value=0, max_value=10**6),
                st.sampled_from([None, None, None, 0.5, -2.0, 0.0]),
            ),
            min_size=1,
            max_size=n,
        ),
        st.lists(st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0]), min_size=3, max_size=3),
    )
)
ARITY = {"add": 2, "sub": 2, "mul": 2, "max": 2, "min": 2}


def random_circuit(spec) -> str:
    _, gates, _ = spec
    lines = ["inputs: {a: 1, b: 2, c: 3}", "gates:"]
    wires = ["a", "b", "c"]
    for i, (op, r1, r2, constant) in enumerate(gates):
        first = wires[r1 % len(wires)]
        args = [first]
        if ARITY.get(op) == 2:
            args.append(repr(constant) if constant is not None else wires[r2 % len(wires)])
        if op == "exp":
            op = "tanh" if i % 2 else "exp"
        lines.append(f"  w{i}: {{op: {op}, in: [{', '.join(args)}]}}")
        wires.append(f"w{i}")
    lines.append(f"output: {wires[-1]}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CIRCUITS, st.sampled_from([1, 2, 3, 1000]))
def test_random_circuits_compiled_equal_interpreter(spec, chunk: int) -> None:
    circuit = program_of(random_circuit(spec))
    interpreted, compiled = both(circuit, spec[2], chunk=chunk)
    assert same(interpreted, compiled), random_circuit(spec)


def test_tiering_compiles_once_time_spent_interpreting_pays_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "inputs: {x: 1.5, y: 2}\ngates:\n  q: {op: mul, in: [x, y, 7.25]}\n  f: {op: tanh, in: [q]}\n"
    circuit = program_of(text)
    monkeypatch.setattr(codegen, "COMPILE_SECONDS_PER_TERM", 3600.0)
    assert codegen._TIER.get(circuit.program.key) is None
    first = circuit.evaluate()
    assert codegen._TIER.get(circuit.program.key) is None  # one-shot: interpreted, nothing compiled
    monkeypatch.setattr(codegen, "COMPILE_SECONDS_PER_TERM", 0.0)
    second = circuit.evaluate()
    compiled = codegen._TIER.get(circuit.program.key)
    assert compiled is not None
    third = circuit.evaluate()
    assert (first.values, first.grads) == (second.values, second.grads) == (third.values, third.grads)
    # a value-only edit keeps the structure, so the compiled code is reused
    edited = program_of(text.replace("x: 1.5", "x: -4"))
    assert codegen.compiled(edited.program) is compiled
    assert edited.evaluate().value == math.tanh(-4 * 2 * 7.25)


def test_a_structures_first_evaluation_is_interpreted_whatever_it_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    # however long the first call interprets, it never also pays for a compile: the second
    # call compiles, once the time already spent has paid for it
    circuit = program_of("inputs: {x: 0.5}\ngates:\n  a: {op: exp, in: [x]}\n  f: {op: mul, in: [a, x]}\n")
    monkeypatch.setattr(codegen, "COMPILE_SECONDS_PER_TERM", 1e-15)
    first = circuit.evaluate()
    assert codegen._TIER.get(circuit.program.key) is None
    second = circuit.evaluate()
    assert codegen._TIER.get(circuit.program.key) is not None
    assert first.value == second.value == math.exp(0.5) * 0.5
    assert first.grads == second.grads == {"x": math.exp(0.5) * 1.5, "a": 0.5, "f": 1.0}


def test_tiering_prices_a_compile_by_the_code_it_generates() -> None:
    # one gate with 20,000 inputs generates as much code as 10,000 binary gates: a one-shot
    # evaluation must interpret it rather than pay for compiling it
    names = [f"x{i}" for i in range(20_000)]
    text = "inputs:\n" + "".join(f"  {n}: 1\n" for n in names) + f"gates:\n  f: {{op: add, in: [{', '.join(names)}]}}\n"
    circuit = program_of(text)
    assert codegen._terms(circuit.program) == 20_001
    assert circuit.evaluate().value == 20_000.0
    assert codegen._TIER.get(circuit.program.key) is None


def test_compiled_domain_fault_is_located_at_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codegen, "COMPILE_SECONDS_PER_TERM", 0.0)
    circuit = program_of("inputs: {x: 2}\ngates:\n  l: {op: log, in: [x]}\n  f: {op: neg, in: [l]}\n")
    circuit.evaluate()
    assert codegen._TIER.get(circuit.program.key) is not None
    with pytest.raises(engine.EvaluationError) as caught:
        circuit.evaluate({"x": -1.0})
    assert str(caught.value) == (
        "<string>:3:3: error[domain] gate 'l' log(-1.0): log of a non-positive number\n"
        "  help: change the inputs (e.g. with --set) or guard the gate's input so it stays "
        "in the op's domain"
    )


@pytest.mark.parametrize("op", ["relu", "max", "min"])
@pytest.mark.parametrize("chunk", [1, 1000])
def test_gradient_overflow_behind_a_mask_is_still_found(op: str, chunk: int) -> None:
    # f = (r · 1e300) · 1e300 is finite (r = 0), but ∂f/∂r overflows; r's gate
    # then masks the infinity away from the input. The interpreter faults at q.
    args = "[p]" if op == "relu" else "[p, 0]"
    x = -1.0 if op == "min" else 1.0
    circuit = program_of(
        f"inputs: {{x: {x}}}\ngates:\n  p: {{op: neg, in: [x]}}\n  r: {{op: {op}, in: {args}}}\n"
        "  q: {op: mul, in: [r, 1e300]}\n  f: {op: mul, in: [q, 1e300]}\n"
    )
    interpreted, compiled = both(circuit, [x], chunk=chunk)
    assert interpreted == compiled
    assert (
        compiled[0] == "fault"
        and "gate 'q' mul(" in compiled[1]
        and "(gradient): gradient is not finite" in compiled[1]
    )


def test_an_op_without_code_templates_is_called_from_generated_code() -> None:
    import dataclasses

    from engine import ops

    circuit = program_of("inputs: {x: 2}\ngates:\n  s: {op: sqrt, in: [x]}\n  f: {op: mul, in: [s, s, 3]}\n")
    bare = {name: dataclasses.replace(op, name=f"bare_{name}") for name, op in ops.OPS.items()}  # no template
    steps = tuple(dataclasses.replace(s, op=bare[s.op.name]) for s in circuit.program.steps)
    circuit = dataclasses.replace(circuit, program=dataclasses.replace(circuit.program, steps=steps))
    for point in ([2.0], [0.0], [-1.0]):
        interpreted, compiled = both(circuit, point)
        assert same(interpreted, compiled), point


def test_a_program_that_cannot_be_compiled_keeps_being_interpreted(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def refuse(program, **kwargs):
        calls.append(program.key)
        raise RecursionError("too deep")

    monkeypatch.setattr(codegen, "COMPILE_SECONDS_PER_TERM", 0.0)
    monkeypatch.setattr(codegen, "compile_code", refuse)
    circuit = program_of("inputs: {x: 0.25}\ngates:\n  a: {op: exp, in: [x]}\n  f: {op: sqrt, in: [a]}\n")
    first, second = circuit.evaluate(), circuit.evaluate()
    assert first.values == second.values and first.value == math.sqrt(math.exp(0.25))
    assert calls == [circuit.program.key]  # tried once, then left alone
    assert codegen._TIER.get(circuit.program.key) is None


def test_no_text_from_the_file_reaches_generated_source() -> None:
    # Wire names, docs and descriptions never enter the compiled source: locals are
    # numbered and constants are float literals.
    text = (
        "description: \"__import__('os').system('x')\"\n"
        "inputs: {import_os: 1.5, system_call: {value: 2, doc: \"exec('1')\"}}\n"
        "gates:\n  eval_me: {op: mul, in: [import_os, system_call, 2.5e-3], doc: \"open('f')\"}\n"
        "  exec_me: {op: max, in: [eval_me, -0.0]}\n"
    )
    program = program_of(text).program
    sources = [codegen._fused_source(program, {})]
    sources += list(codegen._chunk_sources(program, 1, {}))
    for source in sources:
        for word in ("import_os", "system_call", "eval_me", "exec_me", "__import__", "exec(", "open("):
            assert word not in source
    assert "(0.0025)" in sources[0] and "(-0.0)" in sources[0]


def test_source_with_text_in_it_is_never_compiled() -> None:
    for source in (
        "def f():\n    return '__import__'\n",
        "def f():\n    return b\\x41\n",
        "def f():\n    return {1: 2}\n",
        "def f():\n    return \u00e9\n",
    ):
        with pytest.raises(ValueError, match="generated code would contain .*: refused"):
            codegen._compile_function(source, "f", {})


def test_a_non_finite_constant_never_becomes_source() -> None:
    with pytest.raises(ValueError, match="not finite"):
        codegen._literal(float("inf"))
