"""Validating a constructed document against the format, and pydantic's errors → located `Issue`s.

Errors keep pydantic's ``loc`` tuples, which follow the YAML structure exactly
(inputs and wire references use plain validators in `engine.format.model`; the
tag a gate's union member adds to a loc is taken out again here), so the
loader's source map can place each one at its line and column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.errors import Issue, did_you_mean
from engine.format.model import (
    GATE_KINDS,
    CircuitFile,
    ExpectSpec,
    ExprGate,
    GateSpec,
    InputSpec,
    Loc,
    UseGate,
    kind_of,
)
from engine.format.scalars import OutOfRange, _leading_zero
from engine.ops import OP_NAMES


def validate(data: Any) -> tuple[CircuitFile | None, list[tuple[Loc, Issue, bool]]]:
    """Validate a constructed YAML document against the format.

    Returns:
        The spec (None when invalid) and the issues, each with its ``loc`` and
        whether it is about a mapping key (an unknown key) rather than a value.
    """
    try:
        spec = CircuitFile.model_validate(data)
    except ValidationError as exc:
        return None, [_translate(error, data) for error in exc.errors(include_url=False)]
    _share_fields_sets(gate for gate in spec.gates.values() if isinstance(gate, BaseModel))
    _share_fields_sets(spec.inputs.values())
    return spec, []


def _share_fields_sets(models: Iterable[BaseModel]) -> None:
    # Kept for its measured saving: docs/performance.md, section "internals".
    # pydantic gives every instance its own set of the fields that were given
    # (~216 bytes). Frozen gates given the same keys can share one: it is only
    # read (`model_fields_set`), and copies take their own.
    shared: dict[frozenset[str], set[str]] = {}
    for model in models:
        given = model.__pydantic_fields_set__
        object.__setattr__(model, "__pydantic_fields_set__", shared.setdefault(frozenset(given), given))


_FIELDS: dict[str, tuple[str, ...]] = {
    "": tuple(f.alias or n for n, f in CircuitFile.model_fields.items()),
    "input": tuple(InputSpec.model_fields),
    "gate": tuple(f.alias or n for n, f in GateSpec.model_fields.items()),
    "expr": tuple(ExprGate.model_fields),
    "use": tuple(f.alias or n for n, f in UseGate.model_fields.items()),
    "expect": tuple(ExpectSpec.model_fields),
}


def _untagged(loc: Loc) -> tuple[Loc, str]:
    # A gate's loc carries the tag of the way it is written (`gates, f, op, in, 0`):
    # take it out, so the loc follows the YAML again.
    if len(loc) >= 3 and loc[0] == "gates" and loc[2] in GATE_KINDS:
        return loc[:2] + loc[3:], str(loc[2])
    return loc, "op"


def _section(loc: Loc, kind: str = "op") -> str:
    # Which mapping an unknown key sits in, by the shape of its loc.
    if len(loc) == 3 and loc[0] == "gates":
        return "gate" if kind == "op" else kind
    if len(loc) == 3 and loc[0] == "inputs":
        return "input"
    if len(loc) == 2 and loc[0] == "expect":
        return "expect"
    return ""


_NAME_HINT = "wire names are identifiers: letters, digits and '_', not starting with a digit"


def _translate(error: Any, data: Any) -> tuple[Loc, Issue, bool]:
    kind: str = error["type"]
    loc, written = _untagged(tuple(error["loc"]))
    value = error.get("input")
    name = str(loc[-1]) if loc else ""
    key_loc = bool(loc) and loc[-1] == "[key]"
    if key_loc:
        loc = loc[:-1]
        return loc, Issue("invalid-name", f"'{loc[-1]}' is not a valid wire name", hint=_NAME_HINT), True
    if kind == "extra_forbidden":
        fields = _FIELDS[_section(loc, written)]
        hint = did_you_mean(name, fields) or "allowed keys: " + ", ".join(fields)
        return loc, Issue("unknown-key", f"unknown key '{name}'", hint=hint), True
    if kind == "missing":
        hint = _MISSING_HINTS.get(name, "see `circuit schema` for what each key takes")
        return loc, Issue("missing-key", f"missing required key '{name}'", hint=hint), False
    if kind == "literal_error":
        hint = did_you_mean(str(value), OP_NAMES) or "ops: " + ", ".join(OP_NAMES)
        return loc, Issue("unknown-op", f"unknown op '{value}'", hint=hint), False
    if kind in ("not_a_number", "not_finite"):
        return loc, Issue("invalid-number", error["msg"], hint=_number_hint(value)), False
    if kind == "bad_wire_ref":
        return (
            loc,
            Issue("invalid-name", error["msg"], hint="quote nothing: write a wire name like x_1, or a number like 2.5"),
            False,
        )
    if kind == "string_pattern_mismatch":
        return loc, Issue("invalid-name", f"'{value}' is not a valid wire name", hint=_NAME_HINT), False
    if kind in ("too_short",) and name == "gates":
        return (
            loc,
            Issue("empty", "a circuit needs at least one gate", hint="add a gate, e.g. `f: {op: add, in: [x, y]}`"),
            False,
        )
    if kind == "too_short":
        return loc, Issue("arity", f"'{name}' must list at least one input", hint="e.g. `in: [x, y]`"), False
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return loc, Issue("invalid-type", f"expected a mapping, got {kind_of(value)}", hint=_mapping_hint(loc)), False
    if kind == "list_type":
        return loc, Issue("invalid-type", f"expected a list, got {kind_of(value)}", hint="e.g. `in: [x, y]`"), False
    if kind == "string_type":
        return (
            loc,
            Issue("invalid-type", f"expected a string, got {kind_of(value)}", hint="quote it if it should be text"),
            False,
        )
    if kind == "negative_tolerance":
        return loc, Issue("invalid-number", error["msg"], hint="use a small positive number, e.g. 1.0e-9"), False
    message = error["msg"][:1].lower() + error["msg"][1:]
    return loc, Issue("invalid-value", message, hint="see `circuit schema` for what each key takes"), False


def _mapping_hint(loc: Loc) -> str:
    if len(loc) == 2 and loc[0] == "gates":
        return f"write a gate as `{loc[1]}: x + y` or `{loc[1]}: {{op: add, in: [x, y]}}`"
    if len(loc) == 2 and loc[0] == "inputs":
        return f"write an input as `{loc[1]}: 1.5` or `{loc[1]}: {{value: 1.5, doc: ...}}`"
    if not loc:
        return "start with keys like `inputs:`, `gates:` and `output:`"
    return _MAPPING_HINTS.get(str(loc[-1]), "see `circuit schema` for what each key takes")


_MISSING_HINTS = {
    "gates": "add a `gates:` mapping, e.g. `f: {op: add, in: [x, y]}`",
    "op": "add `op:` with one of: " + ", ".join(OP_NAMES),
    "in": "add `in:` listing the gate's inputs, e.g. `in: [x, y]`",
    "value": "give the input a number, e.g. `x: 1.5` or `x: {value: 1.5}`",
}
_MAPPING_HINTS = {
    "inputs": "write inputs as `name: number` lines",
    "gates": "write gates as `name: {op: add, in: [x, y]}` lines",
    "expect": "e.g. `expect: {values: {f: 1.0}}`",
    "values": "map wire names to expected values, e.g. `values: {f: -12}`",
    "grads": "map wire names to expected gradients, e.g. `grads: {x: -4}`",
}


_YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF"})
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")


def _number_hint(value: Any) -> str:
    if isinstance(value, bool):
        return "write 1 or 0 for a number; YAML reads true/false as booleans"
    if isinstance(value, OutOfRange):
        return "the number is too large: floats reach about 1.8e308"
    if isinstance(value, float | int):
        return "NaN and infinities are not allowed; use a finite number like 1.0e308"
    if isinstance(value, str):
        if value in _YAML11_WORDS:
            return f"'{value}' is text in YAML 1.2 (not a boolean or number); write a number"
        if _leading_zero(value):
            return "a leading zero is ambiguous (YAML 1.1 reads it as octal); drop the zero, or write 0o10 for octal"
        if _SEXAGESIMAL.match(value):
            return "YAML 1.1 read this as a base-60 number; write the plain number you mean"
        return "write a plain number like 2.5 or 1.0e-3 (no quotes, no units)"
    return "write a plain number like 2.5"
