"""The HTTP API's request and response bodies as pydantic models (its OpenAPI schema), and `dumps`.

Responses are written by the handlers as JSON text (`dumps` of what
`Result.to_dict` builds); these models describe them for ``/openapi.json`` and
``/docs``, and the schemathesis tests hold the two together.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field


def dumps(data: Any) -> bytes:
    """`data` as compact JSON (pydantic's serializer: a third of the time `json.dumps` takes for a result)."""
    return pydantic_core.to_json(data)


class IssueModel(BaseModel):
    """A located diagnostic: ``path:line:col: error[code] message`` plus a hint."""

    code: str
    message: str
    line: int | None
    column: int | None
    hint: str | None


class CheckModel(BaseModel):
    """One expectation or gradient-check comparison."""

    kind: Literal["expect_value", "expect_grad", "grad_check"]
    wire: str
    expected: float
    actual: float
    passed: bool
    line: int | None = None
    column: int | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    on_kink: bool | None = None


class TraceModel(BaseModel):
    """One edge of the backward pass: the gradient it carries back (upstream × local)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from", description="The wire read by the gate.")
    to: str = Field(description="The gate.")
    position: int = Field(description="Which argument of the gate (0-based).")
    upstream: float = Field(description="∂output/∂gate.")
    local: float | None = Field(description="∂gate/∂wire at this argument (null where it is not finite).")
    contribution: float = Field(description="upstream × local: this edge's part of ∂output/∂wire.")
    formula: str = Field(description="The local derivative over wire names.")
    note: str | None = Field(default=None, description="The convention that decided a kink or a tie.")


class ResultModel(BaseModel):
    """The result contract of ``circuit eval --format json``."""

    path: str | None
    circuit: str
    status: Literal["ok", "failed", "invalid", "error"]
    output: str | None
    value: float | None
    values: dict[str, float]
    grads: dict[str, float]
    checks: list[CheckModel]
    errors: list[IssueModel]
    warnings: list[IssueModel]
    elapsed_ms: float
    trace: list[TraceModel] | None = Field(default=None, description="The chain rule, edge by edge (with explain).")


class GateModel(BaseModel):
    """A gate: its op and operands (wire names or constants)."""

    op: str
    in_: list[str | float] = Field(alias="in")


class CircuitModel(ResultModel):
    """A served circuit: its latest result, inputs with their file values, gates, docs, last good result."""

    name: str = Field(description="The circuit's name in URLs.")
    stale: bool = Field(description="The file is broken now; `last_good` is what its picture shows.")
    changed_at: str = Field(description="When this state was reached (ISO 8601, UTC).")
    description: str | None
    inputs: dict[str, float] = Field(description="Input names and their values in the file.")
    gates: dict[str, GateModel]
    docs: dict[str, str] = Field(description="The `doc` of inputs and gates that have one.")
    last_good: ResultModel | None = Field(description="When stale: the last result with values.")


class SummaryModel(BaseModel):
    """A circuit's line in the list."""

    name: str
    path: str
    circuit: str
    status: Literal["ok", "failed", "invalid", "error"]
    stale: bool
    output: str | None
    value: float | None
    error_count: int
    warning_count: int
    changed_at: str


class EvaluateRequest(BaseModel):
    """A what-if question: the circuit at other input values (the file is not changed)."""

    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, float] = Field(default_factory=dict, description="Input values overriding the file's.")
    check: bool = Field(default=False, description="Also compare gradients with finite differences.")
    explain: bool = Field(default=False, description="Add the chain rule, edge by edge, as `trace`.")


class ProblemModel(BaseModel):
    """A request the service refuses (not found, too large, wrong host or origin, …)."""

    errors: list[IssueModel]


class HealthModel(BaseModel):
    """The service is up."""

    status: Literal["ok"]
    circuits: int
    subscribers: int
