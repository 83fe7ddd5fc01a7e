"""The circuit file format as frozen pydantic models, and its JSON Schema.

`CircuitFile` is what a valid YAML file *says*; it is checked for shape only
(keys, types, finite numbers, known ops). A gate is written one of four ways: an
expression string, ``{expr}``, ``{op, in}`` or ``{use, with}`` (a sub-circuit).
`engine.format.compose` turns expressions and sub-circuits into plain ``{op, in}``
gates: a `CircuitSpec`, the flat circuit the compiler sees. Wiring (unknown
wires, arity, cycles, the output) is checked by `engine.compile.graph`, which
sees the whole circuit at once.

`engine.format.validation` validates documents against these models and turns
pydantic's errors into located issues.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    PlainValidator,
    StringConstraints,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from engine.ops import OP_NAMES, OPS

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
        raise PydanticCustomError("not_a_number", "expected a number, got {kind}", {"kind": kind_of(value)})
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


# JSON has no NaN or infinities; YAML does, and the bounds keep the infinite ones out
_NUMBER_SCHEMA = {"type": "number", "minimum": -sys.float_info.max, "maximum": sys.float_info.max}
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
_NAMED_KEYS: JsonDict = {"propertyNames": {"pattern": IDENTIFIER}}  # patternProperties alone lets other keys through
_QUALIFIED_KEYS: JsonDict = {"propertyNames": {"pattern": QUALIFIED}}
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

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The schema must accept the shorthand too, or editors flag every `x: -2`.
        mapping = handler.resolve_ref_schema(handler(schema))
        shorthand = {**_NUMBER_SCHEMA, "description": "Shorthand for {value: N}."}
        return {"anyOf": [shorthand, mapping], "description": mapping.get("description"), "title": "InputSpec"}


class GateSpec(_Frozen):
    """A gate: an op applied to wires and constants; its output is the wire named by its key."""

    op: OpName = Field(description="The operation: " + ", ".join(OP_NAMES) + ".")
    in_: list[WireRef] = Field(
        alias="in",
        min_length=1,
        description="The op's inputs, in order: wire names or literal numbers.",
    )
    doc: str | None = Field(default=None, description="What this gate computes.")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Each op's arity, so that editors flag `log: [x, y]` as the loader does.
        gate = handler.resolve_ref_schema(handler(schema))
        by_arity: dict[tuple[int, int | None], list[str]] = {}
        for op in OPS.values():
            by_arity.setdefault((op.min_arity, op.max_arity), []).append(op.name)
        rules = []
        for (low, high), names in by_arity.items():
            size: dict[str, Any] = {"minItems": low, **({} if high is None else {"maxItems": high})}
            rules.append({"if": {"properties": {"op": {"enum": names}}}, "then": {"properties": {"in": size}}})
        return {**gate, "allOf": rules}


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

    values: dict[QualifiedName, Number] = Field(
        default_factory=dict, description="Expected value per wire.", json_schema_extra=_QUALIFIED_KEYS
    )
    grads: dict[QualifiedName, Number] = Field(
        default_factory=dict, description="Expected gradient of the output per wire.", json_schema_extra=_QUALIFIED_KEYS
    )
    tolerance: Number = Field(
        default=1e-9, description="Allowed relative+absolute difference.", json_schema_extra={"minimum": 0}
    )

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
        default_factory=dict, description="Input wires: a number, or {value, doc}.", json_schema_extra=_NAMED_KEYS
    )
    gates: dict[WireName, Gate] = Field(
        min_length=1,
        description="Gates by output wire name: an expression (`q: x + y`), `{expr, doc}`, `{op, in, doc}` "
        "(e.g. `q: {op: add, in: [x, y]}`) or a sub-circuit `{use, with}`.",
        json_schema_extra=_NAMED_KEYS,
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
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string '{_abridged(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return _show(value)


def _show(value: Any) -> str:
    if isinstance(value, float) and type(value) is not float:
        return _abridged(repr(value))  # a literal kept as written, e.g. 1e400
    if isinstance(value, float):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf") if math.isinf(value) else repr(value)
    if isinstance(value, int) and value.bit_length() > 1024:  # past the int-to-text limit, and useless in full
        return f"an integer of {value.bit_length():,} bits"
    return _abridged(str(value))


_SHOWN = 40


def _abridged(text: str) -> str:
    # a message quotes a value, not a whole file: long literals are cut, with their length
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN - 8]}… ({len(text):,} characters)"
