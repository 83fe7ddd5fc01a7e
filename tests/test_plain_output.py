"""Output that is not a terminal is written without rich, and reads exactly as rich would print it."""

from __future__ import annotations

import io

import pytest

import engine
from engine.cli import render

CIRCUITS = [
    "inputs: {x: -2, y: 5, z: -4}\ngates:\n  q: {op: add, in: [x, y]}\n  f: {op: mul, in: [q, z]}\n"
    "expect:\n  values: {f: -12}\n",
    "inputs: {a: 0.123456789012, b: -1e-300}\ngates:\n  long_wire_name_here: {op: sigmoid, in: [a]}\n"
    "  f: {op: max, in: [long_wire_name_here, b, 0]}\n",
    "inputs: {x: 1, unused: 2}\ngates:\n  f: {op: relu, in: [x]}\n",
]


@pytest.mark.parametrize("text", CIRCUITS)
@pytest.mark.parametrize("check", [False, True])
def test_plain_result_and_issues_match_rich(text: str, check: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    circuit = engine.parse_circuit(text, name="t", path="t.yaml")
    result = circuit.evaluate(check=check)
    issues = [w.at("t.yaml") for w in result.warnings] or [engine.Issue("x", "a message", "t.yaml", 1, 2, "a hint")]
    plain_out, plain_err = io.StringIO(), io.StringIO()
    render.render_result(result, plain_out)
    render.render_issues(issues, plain_err)
    monkeypatch.setattr(render, "wants_plain", lambda stream: False)
    rich_out, rich_err = io.StringIO(), io.StringIO()
    render.render_result(result, rich_out)
    render.render_issues(issues, rich_err)
    assert plain_out.getvalue() == rich_out.getvalue()
    assert plain_err.getvalue() == rich_err.getvalue()
