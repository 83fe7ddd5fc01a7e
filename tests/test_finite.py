"""A fault is found by every tier even where its value is not checked where it is made
(engine.run.finite: an add, sub or mul reading it carries it on)."""

from __future__ import annotations

import functools

import pytest

import engine
from engine.program import Program
from engine.run import codegen
from engine.run.finite import checked_values

# log(x) faults at x = 0 (−∞) and x < 0 (NaN); what reads it decides whether its value is checked
CIRCUITS = {
    "read by an add": "  s: {op: add, in: [l, 1]}\n  f: {op: tanh, in: [s]}\n",
    "read by a mul with 0": "  s: {op: mul, in: [l, 0]}\n  f: {op: tanh, in: [s]}\n",
    "read by a sub of itself": "  s: {op: sub, in: [l, l]}\n  f: {op: tanh, in: [s]}\n",
    "read by exp only (−∞ becomes 0)": "  s: {op: exp, in: [l]}\n  f: {op: tanh, in: [s]}\n",
    "read by relu only": "  s: {op: relu, in: [l]}\n  f: {op: tanh, in: [s]}\n",
    "read by an add of an add": "  s: {op: add, in: [l, 1]}\n  t: {op: add, in: [s, 2]}\n  f: {op: sigmoid, in: [t]}\n",
}
MESSAGE = "<string>:3:3: error[domain] gate 'l' log({x}): log of a non-positive number"


def circuit_of(gates: str) -> engine.Circuit:
    return engine.parse_circuit("inputs: {x: 1}\ngates:\n  l: {op: log, in: [x]}\n" + gates, name="t")


def slots(program: Program, *names: str) -> list[int]:
    return [program.index[name] for name in names]


def test_a_value_an_add_sub_or_mul_reads_is_checked_there_instead() -> None:
    carried = circuit_of(CIRCUITS["read by an add of an add"]).program
    assert checked_values(carried) == slots(carried, "t")
    masked = circuit_of(CIRCUITS["read by exp only (−∞ becomes 0)"]).program
    assert checked_values(masked) == slots(masked, "l", "s")


@pytest.mark.parametrize("reader", CIRCUITS)
@pytest.mark.parametrize("x", [0.0, -1.0])
@pytest.mark.parametrize("tier", ["interpreter", "compiled", "compiled in chunks", "numpy"])
def test_every_tier_finds_the_fault(reader: str, x: float, tier: str, monkeypatch: pytest.MonkeyPatch) -> None:
    circuit = circuit_of(CIRCUITS[reader])
    if tier.startswith("compiled"):
        monkeypatch.setattr(codegen, "COMPILE_SECONDS_PER_TERM", 0.0)
        monkeypatch.setattr(codegen, "_TIER", codegen._Tier())  # this structure compiled afresh
        if tier.endswith("chunks"):
            monkeypatch.setattr(codegen, "compile_code", functools.partial(codegen.compile_code, chunk=1))
    with pytest.raises(engine.EvaluationError) as caught:
        if tier == "numpy":
            circuit.evaluate_samples({"x": [1.0, x, 2.0]})
        else:
            circuit.evaluate({"x": x})  # compiled at once, when asked to
    where = " in sample 1" if tier == "numpy" else ""
    assert str(caught.value).splitlines()[0] == MESSAGE.format(x=x) + where
    if tier.startswith("compiled"):
        code = codegen.compiled(circuit.program)
        assert (code.fused is None) == tier.endswith("chunks")
