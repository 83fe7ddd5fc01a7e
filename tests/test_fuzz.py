"""Mangled circuits never crash the loader: every outcome is a result, or issues
placed inside the file, each with a hint.

The example circuits are cut, spliced and sprinkled with YAML's own punctuation
by hypothesis; whatever comes out must load and evaluate, or be refused with
`CircuitError` issues whose line and column point into the text.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine

EXAMPLES = sorted((Path(__file__).parents[1] / "circuits").glob("*.yaml"))
TEXTS = [path.read_text(encoding="utf-8") for path in EXAMPLES]
# What YAML gives meaning to, plus things a schema cares about.
PIECES = [
    ":",
    " ",
    "\n",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "#",
    "&a",
    "*a",
    "!!str",
    "'",
    '"',
    "?",
    "|",
    ">",
    "\t",
    "%",
    "@",
    "`",
    "0",
    "1e3",
    ".nan",
    "-.inf",
    "true",
    "no",
    "null",
    "~",
    "010",
    "12:30",
    "x",
    "op",
    "in",
    "gates",
    "inputs",
    "output",
    "expect",
    "add",
    "mul",
    "max",
    "log",
    "pow",
    "\u00e9",
    "\x00",
    "\ufeff",
]

MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace", "duplicate", "swap", "cut"]),
        st.integers(min_value=0, max_value=10**6),
        st.integers(min_value=0, max_value=10**6),
        st.sampled_from(PIECES),
    ),
    min_size=1,
    max_size=6,
)


def mutate(text: str, mutations: list[tuple[str, int, int, str]]) -> str:
    for kind, a, b, piece in mutations:
        if kind in ("duplicate", "swap"):
            lines = text.splitlines(keepends=True) or [""]
            i, j = a % len(lines), b % len(lines)
            if kind == "duplicate":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
            continue
        at = a % (len(text) + 1)
        if kind == "insert":
            text = text[:at] + piece + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + b % 12 :]
        elif kind == "replace":
            text = text[:at] + piece + text[at + b % 6 :]
        else:  # the file ends early, as if half-saved
            text = text[:at]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(TEXTS))), MUTATIONS)
def test_mangled_circuits_load_or_are_refused_in_place(which: int, mutations) -> None:
    text = mutate(TEXTS[which], mutations)
    lines = text.splitlines() or [""]
    try:
        circuit = engine.parse_circuit(text, name="fuzz")
    except engine.CircuitError as error:
        assert error.issues
        for issue in error.issues:
            assert issue.hint, issue.render()
            assert issue.message and "Traceback" not in issue.message
            if issue.line is not None:
                assert 1 <= issue.line <= len(lines) + 1, issue.render()
                if issue.column is not None:
                    assert 1 <= issue.column <= len(lines[issue.line - 1] if issue.line <= len(lines) else "") + 2, (
                        issue.render()
                    )
        return
    try:
        result = circuit.evaluate(check=True)
    except engine.EvaluationError as error:
        assert all(issue.hint and issue.line for issue in error.issues)
        return
    assert result.status in ("ok", "failed")
