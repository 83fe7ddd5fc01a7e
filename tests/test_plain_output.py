"""Issues written to output that is not a terminal skip rich, and read exactly as rich would print them."""

from __future__ import annotations

import io

import pytest

import engine
from engine.cli import render

CIRCUITS = [
    "inputs: {x: -2, y: 5, z: -4}\ngates:\n  q: {op: add, in: [x, y]}\n  f: {op: mul, in: [q, z]}\n"
    "expect:\n  values: {f: -12}\n",
    "inputs: {x: 1, unused: 2}\ngates:\n  f: {op: relu, in: [x]}\n",
]


@pytest.mark.parametrize("text", CIRCUITS)
def test_plain_issues_match_rich(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = engine.parse_circuit(text, name="t", path="t.yaml").evaluate()
    issues = [w.at("t.yaml") for w in result.warnings] or [engine.Issue("x", "a message", "t.yaml", 1, 2, "a hint")]
    plain = io.StringIO()
    render.render_issues(issues, plain)
    monkeypatch.setattr(render, "wants_plain", lambda stream: False)
    rich = io.StringIO()
    render.render_issues(issues, rich)
    assert plain.getvalue() == rich.getvalue()
