"""The file format: YAML 1.2 scalars, duplicate keys, the JSON Schema and the example files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import engine
from engine.format.loader import parse_document, resolve_plain
from engine.format.model import json_schema_text

ROOT = Path(__file__).parent.parent
MODELINE = "# yaml-language-server: $schema=../schemas/circuit.schema.json\n"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e3", 1000.0),
        ("1e-9", 1e-9),
        ("1.0e-9", 1e-9),
        ("-2", -2),
        ("+3", 3),
        ("0", 0),
        ("-0", 0),
        (".5", 0.5),
        ("2.", 2.0),
        ("0o17", 15),
        ("0x1F", 31),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("010", "010"),
        ("12:30", "12:30"),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("~", None),
        ("null", None),
        ("", None),
        ("x", "x"),
        ("-.inf", -math.inf),
        (".Inf", math.inf),
    ],
)
def test_yaml_12_core_schema_scalars(text: str, value: object) -> None:
    resolved = resolve_plain(text)
    assert resolved == value and type(resolved) is type(value)


def test_nan_resolves_to_nan() -> None:
    assert math.isnan(resolve_plain(".nan"))


def test_quoted_scalars_stay_strings() -> None:
    data, _, _ = parse_document("a: '1'\nb: \"true\"\nc: 1\n")
    assert data == {"a": "1", "b": "true", "c": 1}


def test_source_map_positions() -> None:
    data, source, issues = parse_document("inputs:\n  x: 1\ngates:\n  f: {op: neg, in: [x, 2]}\n")
    assert issues == []
    assert source.locate(("gates", "f", "in", 1)) == (4, 24)
    assert source.locate(("gates", "f"), key=True) == (4, 3)
    assert source.locate(("gates", "f", "missing")) == (4, 6), "a missing key resolves to its parent"


def test_input_with_doc() -> None:
    c = engine.parse_circuit("inputs:\n  x: {value: 2, doc: the x}\ngates:\n  f: {op: neg, in: [x], doc: minus x}\n")
    assert (c.defaults, c.spec.inputs["x"].doc, c.spec.gates["f"].doc) == ({"x": 2.0}, "the x", "minus x")


def test_committed_schema_matches_the_models() -> None:
    committed = (ROOT / "schemas" / "circuit.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema_text(), "run `circuit schema > schemas/circuit.schema.json`"


def test_schema_lists_every_op_and_describes_fields() -> None:
    schema = json.loads(json_schema_text())
    gate = schema["$defs"]["GateSpec"]
    assert gate["properties"]["op"]["enum"] == list(engine.OPS)
    assert gate["additionalProperties"] is False
    assert all("description" in prop for prop in schema["properties"].values())


@pytest.mark.parametrize("path", sorted((ROOT / "circuits").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_starts_with_the_modeline_and_has_expectations(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith(MODELINE)
    assert engine.load_circuit(path).spec.expect is not None
