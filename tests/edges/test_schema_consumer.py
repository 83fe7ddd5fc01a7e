"""The published JSON Schema, read by a real validator (`jsonschema`), agrees with the loader.

Every example circuit and every test file the loader accepts (or refuses only for
reasons beyond the schema: wiring, cycles, domain faults) validates; every test file
refused for its shape is refused by the schema too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import engine
from engine.format.loader import parse_document

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "circuit.schema.json").read_text(encoding="utf-8"))
EXAMPLES = sorted((ROOT / "circuits").glob("*.yaml"))
BAD = sorted((ROOT / "tests" / "circuits" / "bad").glob("*.yaml"))

# Rules a JSON Schema cannot state: wiring, cycles, domain faults, duplicate keys
# (gone once the YAML is a mapping) and NaN (JSON has none, so no keyword tests it).
BEYOND_THE_SCHEMA = {
    "ambiguous-output",
    "cycle",
    "domain",
    "duplicate-key",
    "duplicate-wire",
    "invalid-number-nan",
    "self-loop",
    "unknown-expect-wire",
    "unknown-output",
    "unknown-wire",
    # expressions are text to the schema, and a used file is another file
    "expr-syntax",
    "expr-unknown-wire",
    "unknown-function",
    "use-missing",
}


def validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA)


def document(path: Path) -> Any | None:
    """The YAML document as the format reads it (YAML 1.2 scalars), or None where it is not YAML."""
    try:
        data, _, _ = parse_document(path.read_text(encoding="utf-8"), str(path))
    except engine.CircuitError:
        return None
    return data


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_circuit_is_valid(path: Path) -> None:
    errors = [e.message for e in validator().iter_errors(document(path))]
    assert errors == []


def test_the_input_shorthand_is_valid() -> None:
    # the reported failure: `$.inputs.x: -2 is not of type 'object'`
    data = {"inputs": {"x": -2, "y": {"value": 5, "doc": "y"}}, "gates": {"f": {"op": "add", "in": ["x", "y"]}}}
    assert [e.message for e in validator().iter_errors(data)] == []


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_test_files_are_judged_alike(path: Path) -> None:
    data = document(path)
    if data is None:  # refused before there is a document (YAML syntax, tabs, control characters)
        pytest.skip("not a YAML document")
    errors = list(validator().iter_errors(data))
    if path.stem in BEYOND_THE_SCHEMA:
        assert [e.message for e in errors] == [], "a file valid in shape must satisfy the schema"
    else:
        assert errors, f"the loader refuses {path.name} ({path.read_text().splitlines()[0]}); the schema must too"


def test_inputs_with_names_that_are_not_identifiers_are_refused() -> None:
    data = {"inputs": {"2x": 1}, "gates": {"f": {"op": "neg", "in": [1]}}}
    assert [e.message for e in validator().iter_errors(data)] == ["'2x' does not match '^[A-Za-z_][A-Za-z0-9_]*$'"]


def test_check_jsonschema_accepts_every_example() -> None:
    """The command from the report, as an editor's or CI's schema check runs it (it reads YAML 1.2 itself)."""
    examples = [str(p.relative_to(ROOT)) for p in EXAMPLES]
    proc = subprocess.run(
        ["check-jsonschema", "--schemafile", "schemas/circuit.schema.json", *examples],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok -- validation done"), proc.stdout + proc.stderr


def test_check_and_eval_json_follow_the_report_schema(tmp_path: Path) -> None:
    """`check --format json` is a batch report; an eval result with skipped expectations is a valid result."""
    report_schema = json.loads((ROOT / "schemas" / "batch-report.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(report_schema)
    check = subprocess.run(
        ["circuit", "check", "circuits", "tests/circuits/bad", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(check.stdout)
    assert [e.message for e in cls(report_schema).iter_errors(report)] == []
    evaluated = subprocess.run(
        ["circuit", "eval", "circuits/seed.yaml", "--set", "x=1", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(evaluated.stdout)
    wrapped = {**report, "results": [result], "summary": {**report["summary"]}}
    assert [e.message for e in cls(report_schema).iter_errors(wrapped)] == []
