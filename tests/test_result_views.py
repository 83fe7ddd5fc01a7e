"""A result's values and gradients are read-only mappings over the evaluated slots:
every wire is there, they compare equal to dicts, and they serialise and pickle as dicts."""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping

import pytest

import engine
from engine.result import to_json

SEED = "inputs: {x: -2, y: 5, z: -4}\ngates:\n  q: {op: add, in: [x, y]}\n  f: {op: mul, in: [q, z]}\n"
VALUES = {"x": -2.0, "y": 5.0, "z": -4.0, "q": 3.0, "f": -12.0}
GRADS = {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}


def test_views_read_every_wire_in_slot_order() -> None:
    r = engine.parse_circuit(SEED).evaluate()
    assert isinstance(r.values, Mapping) and isinstance(r.grads, Mapping)
    assert (list(r.values), list(r.values.values()), len(r.values)) == (list(VALUES), list(VALUES.values()), 5)
    assert list(r.grads.items()) == list(GRADS.items())
    assert ("q" in r.values, "nope" in r.values, 3 in r.values) == (True, False, False)
    assert (r.values.get("q"), r.values.get("nope"), r.grads["z"]) == (3.0, None, 3.0)
    with pytest.raises(KeyError):
        r.values["nope"]


def test_views_equal_dicts_both_ways_and_each_other() -> None:
    r = engine.parse_circuit(SEED).evaluate()
    again = engine.parse_circuit(SEED).evaluate()
    assert r.values == VALUES and VALUES == r.values and r.grads == GRADS
    assert r.values != GRADS and r.values != {**VALUES, "extra": 1.0} and r.values != [1.0]
    assert r.values == again.values and r.grads == again.grads
    assert dict(r.values) == VALUES and r.values.as_dict() == VALUES  # type: ignore[attr-defined]
    assert repr(r.values) == repr(VALUES)


def test_literal_constants_are_no_wires() -> None:
    r = engine.parse_circuit("inputs: {x: 2}\ngates:\n  f: {op: mul, in: [x, 3]}\n").evaluate()
    assert (r.values, r.grads) == ({"x": 2.0, "f": 6.0}, {"x": 3.0, "f": 1.0})


def test_views_serialise_and_pickle_as_dicts() -> None:
    r = engine.parse_circuit(SEED).evaluate()
    data = r.to_dict()
    assert (type(data["values"]), data["values"], data["grads"]) == (dict, VALUES, GRADS)
    assert json.loads(to_json(data))["grads"] == GRADS
    copied = pickle.loads(pickle.dumps(r))
    assert (type(copied.values), copied.values, copied.grads) == (dict, VALUES, GRADS)


def test_views_of_a_chunked_evaluation_hold_every_wire() -> None:
    # over codegen.CHUNK steps: compiled in two chunks
    lines = ["inputs: {x: 0.5}", "gates:", "  g0: {op: tanh, in: [x]}"]
    lines += [
        f"  g{i}: {{op: {'tanh' if i % 2 else 'add'}, in: [g{i - 1}{', x' if i % 2 == 0 else ''}]}}"
        for i in range(1, 6_000)
    ]
    circuit = engine.parse_circuit("\n".join(lines) + "\n")
    interpreted = circuit.evaluate()
    from engine.run import codegen

    codegen.compiled(circuit.program)
    compiled = circuit.evaluate()
    assert codegen.is_compiled(circuit.program) and len(compiled.values) == 6_001
    assert compiled.values == interpreted.values and compiled.grads == interpreted.grads


def test_a_view_without_some_wires_pairs_every_name_with_its_own_slot() -> None:
    from engine.result import WireNumbers

    view = WireNumbers(("x", "f", "fine"), {"x": 0, "f": 1, "fine": 3}, [0.0, 1.0, float("nan"), -0.5, 2.0])
    assert dict(view) == view.as_dict() == {"x": 0.0, "f": 1.0, "fine": -0.5}
    assert view == {"x": 0.0, "f": 1.0, "fine": -0.5} and list(view) == ["x", "f", "fine"]
