"""The circuit file format as frozen pydantic models, its JSON Schema, and the
translation of pydantic's validation errors into located `Issue`s.

`CircuitFile` is what a valid YAML file *says*; it is checked for shape only
(keys, types, finite numbers, known ops). A gate is written one of four ways: an
expression string, ``{expr}``, ``{op, in}`` or ``{use, with}`` (a sub-circuit).
`engine.format.compose` turns expressions and sub-circuits into plain ``{op, in}``
gates: a `CircuitSpec`, the flat circuit the compiler sees. Wiring (unknown
wires, arity, cycles, the output) is checked by `engine.compile.graph`, which
sees the whole circuit at once.

Errors keep pydantic's ``loc`` tuples, which follow the YAML structure exactly
(inputs and wire references use plain validators; the tag a gate's union member
adds to a loc is taken out again), so the loader's source map can place each one
at its line and column.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    StringConstraints,
    Tag,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engine.errors import Issue, did_you_mean
from engine.format.scalars import _leading_zero
from engine.ops import OP_NAMES

Loc = tuple[str | int, ...]
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_IDENTIFIER_RE = re.compile(IDENTIFIER)
QUALIFIED = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$"
"""A wire name that may reach into sub-circuits and expressions: ``n1.s``, ``f.1``."""
_QUALIFIED_RE = re.compile(QUALIFIED)

SCHEMA_ID = "https://circuitflow.dev/schemas/circuit.schema.json"


def _number(value: Any) -> float:
    # Strict: YAML booleans and strings are not numbers, and only finite reals are.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("not_a_number", "expected a number, got {kind}", {"kind": _kind(value)})
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise PydanticCustomError("not_finite", "expected a finite number, got {value}", {"value": _show(value)})
    return number


def _wire_ref(value: Any) -> str | float:
    # A gate input is a wire name or a literal number (a constant).
    if isinstance(value, str):
        if not _IDENTIFIER_RE.fullmatch(value):
            raise PydanticCustomError("bad_wire_ref", "'{value}' is neither a wire name nor a number", {"value": value})
        return value
    return _number(value)


def _binding(value: Any) -> str | float:
    # A sub-circuit input is bound to a wire of the parent (qualified names allowed) or a number.
    if isinstance(value, str):
        if not _QUALIFIED_RE.fullmatch(value):
            raise PydanticCustomError("bad_wire_ref", "'{value}' is neither a wire name nor a number", {"value": value})
        return value
    return _number(value)


_NUMBER_SCHEMA = {"type": "number"}
Number = Annotated[float, PlainValidator(_number), WithJsonSchema(_NUMBER_SCHEMA)]
WireName = Annotated[str, StringConstraints(pattern=IDENTIFIER)]
QualifiedName = Annotated[str, StringConstraints(pattern=QUALIFIED)]
Binding = Annotated[
    str | float,
    PlainValidator(_binding),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": QUALIFIED}, _NUMBER_SCHEMA],
            "description": "A wire of this circuit (e.g. `x1`, `n1`, `n1.s`), or a number: the "
            "sub-circuit input's own value here (it stays a parameter, with a gradient).",
        }
    ),
]
WireRef = Annotated[
    str | float,
    PlainValidator(_wire_ref),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": IDENTIFIER}, _NUMBER_SCHEMA],
            "description": "A wire name, or a literal number (a constant).",
        }
    ),
]
OpName = Literal[OP_NAMES]  # type: ignore[valid-type]  # built from the op table


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class InputSpec(_Frozen):
    """An input wire: its default value and what it means."""

    value: Number = Field(description="The input's value (a finite number).")
    doc: str | None = Field(default=None, description="What this input means.")

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, data: Any) -> Any:
        # `x: -2` is shorthand for `x: {value: -2}`; wrapping (instead of a union
        # with float) keeps error locations free of union-member names.
        return data if isinstance(data, dict) else {"value": data}


class GateSpec(_Frozen):
    """A gate: an op applied to wires and constants; its output is the wire named by its key."""

    op: OpName = Field(description="The operation: " + ", ".join(OP_NAMES) + ".")
    in_: list[WireRef] = Field(
        alias="in",
        min_length=1,
        description="The op's inputs, in order: wire names or literal numbers.",
    )
    doc: str | None = Field(default=None, description="What this gate computes.")


EXPRESSION_DOC = (
    "An arithmetic expression over wires and numbers: + - * / ** (power), unary minus, parentheses, "
    "and calls of ops by name, e.g. `sigmoid(a*x + b*y + c)` or `max(x, y, 0) ** 2`. "
    "It becomes ordinary gates; intermediate results are wires named after the gate (`f.1`, `f.2`, …)."
)


class ExprGate(_Frozen):
    """A gate written as an arithmetic expression, with a doc."""

    expr: str = Field(description=EXPRESSION_DOC)
    doc: str | None = Field(default=None, description="What this gate computes.")


class UseGate(_Frozen):
    """An instance of another circuit file (a sub-circuit), named by its key."""

    use: str = Field(
        description="The circuit file to use, relative to this file, e.g. `neuron.yaml`. The key names the "
        "instance: `n1` is its output, `n1.s` any of its wires, `n1.a` an input left unbound (a parameter)."
    )
    with_: dict[WireName, Binding] = Field(
        default_factory=dict,
        alias="with",
        description="The sub-circuit's inputs bound to wires or numbers of this circuit, e.g. `{x: x1, a: 0.5}`. "
        "An input not bound to a wire becomes a parameter of this circuit, named `<instance>.<input>`.",
    )
    doc: str | None = Field(default=None, description="What this instance computes.")


def _gate_kind(value: Any) -> str:
    # Which way a gate is written; a mapping with neither `use` nor `expr` is an {op, in} gate,
    # so a missing `op` is reported as before.
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        if "use" in value:
            return "use"
        if "expr" in value:
            return "expr"
    return "op"


GATE_KINDS = frozenset({"text", "op", "expr", "use"})
_TextGate = Annotated[str, Tag("text"), WithJsonSchema({"type": "string", "description": EXPRESSION_DOC})]
Gate = Annotated[
    _TextGate | Annotated[GateSpec, Tag("op")] | Annotated[ExprGate, Tag("expr")] | Annotated[UseGate, Tag("use")],
    Discriminator(_gate_kind),
]


class ExpectSpec(_Frozen):
    """Expected values and gradients, checked on every evaluation."""

    values: dict[QualifiedName, Number] = Field(default_factory=dict, description="Expected value per wire.")
    grads: dict[QualifiedName, Number] = Field(
        default_factory=dict, description="Expected gradient of the output per wire."
    )
    tolerance: Number = Field(default=1e-9, description="Allowed relative+absolute difference.")

    @field_validator("tolerance")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if value < 0:
            raise PydanticCustomError("negative_tolerance", "tolerance must not be negative")
        return value


class CircuitFile(_Frozen):
    """A circuit: input wires, gates that compute new wires, and the output."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID},
        title="circuitflow circuit",
    )

    name: str | None = Field(default=None, description="Circuit name (default: the file name without extension).")
    description: str | None = Field(default=None, description="What the circuit computes.")
    inputs: dict[WireName, InputSpec] = Field(
        default_factory=dict, description="Input wires: a number, or {value, doc}."
    )
    gates: dict[WireName, Gate] = Field(
        min_length=1,
        description="Gates by output wire name: an expression (`q: x + y`), `{expr, doc}`, `{op, in, doc}` "
        "(e.g. `q: {op: add, in: [x, y]}`) or a sub-circuit `{use, with}`.",
    )
    output: QualifiedName | None = Field(
        default=None, description="The wire to differentiate (optional when exactly one gate is read by no other)."
    )
    expect: ExpectSpec | None = Field(default=None, description="Expected values and gradients.")


class CircuitSpec(_Frozen):
    """The flat circuit the compiler sees: every gate an op applied to wires and constants.

    Built by `engine.format.compose` from a `CircuitFile` (never validated from
    YAML itself); wire names may be qualified (``n1.s``, ``f.1``).
    """

    name: str | None = None
    description: str | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    gates: dict[str, GateSpec]
    output: str | None = None
    expect: ExpectSpec | None = None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the circuit format, as published in ``schemas/``."""
    return CircuitFile.model_json_schema(by_alias=True)


def json_schema_text() -> str:
    """The JSON Schema as the exact text of ``schemas/circuit.schema.json``."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


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
        return loc, Issue("invalid-type", f"expected a mapping, got {_kind(value)}", hint=_mapping_hint(loc)), False
    if kind == "list_type":
        return loc, Issue("invalid-type", f"expected a list, got {_kind(value)}", hint="e.g. `in: [x, y]`"), False
    if kind == "string_type":
        return (
            loc,
            Issue("invalid-type", f"expected a string, got {_kind(value)}", hint="quote it if it should be text"),
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


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return _show(value)


def _show(value: Any) -> str:
    if isinstance(value, float) and type(value) is not float:
        return repr(value)  # a literal kept as written, e.g. 1e400
    if isinstance(value, float):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf") if math.isinf(value) else repr(value)
    return str(value)


_YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF"})
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")


def _number_hint(value: Any) -> str:
    if isinstance(value, bool):
        return "write 1 or 0 for a number; YAML reads true/false as booleans"
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
