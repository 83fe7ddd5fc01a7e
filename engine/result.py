"""The outcome of evaluating one circuit: values, gradients, checks, issues.

`Result.to_dict()` is the JSON contract shared by ``circuit eval``, ``batch`` and
``watch``::

    {"path", "circuit", "status", "output", "value", "values", "grads",
     "checks", "errors", "warnings", "elapsed_ms"}

``status`` is ``ok``, ``failed`` (evaluated, but an expectation or gradient check
failed), ``invalid`` (could not be loaded or validated) or ``error`` (an
evaluation fault).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import CircuitError, EvaluationError, Issue

Status = Literal["ok", "failed", "invalid", "error"]
STATUSES: tuple[Status, ...] = ("ok", "failed", "invalid", "error")


class WireNumbers(Mapping[str, float]):
    """Wire name → number, read from the slot list one evaluation filled.

    Evaluating a circuit fills lists indexed by slot; this view answers by wire
    name without building a dict per evaluation (that cost more than evaluating a
    big circuit). It is an ordinary read-only mapping: equal to a dict with the
    same items, iterated in slot order (inputs, then gates in evaluation order),
    materialised by `dict(view)`; pickled, it becomes a plain dict.
    """

    __slots__ = ("_names", "_index", "_slots", "_dense")

    def __init__(self, names: Sequence[str], index: Mapping[str, int], slots: Sequence[float]) -> None:
        """`names` are wires in slot order, `index` their slots, `slots` may hold more (constants, and
        the slots of wires left out: gates without a value)."""
        self._names = names
        self._index = index
        self._slots = slots
        # names[i] at slot i for every i: zip then pairs them, the fast way
        self._dense = not names or index[names[-1]] == len(names) - 1

    def __getitem__(self, wire: str) -> float:
        return self._slots[self._index[wire]]

    def __contains__(self, wire: object) -> bool:
        return wire in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WireNumbers):
            return self._names == other._names and self.as_dict() == other.as_dict()
        if isinstance(other, Mapping):
            return self.as_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like a dict

    def __repr__(self) -> str:
        return repr(self.as_dict())

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (self.as_dict(),))

    def as_dict(self) -> dict[str, float]:
        """A new dict of every wire's number, in slot order."""
        if self._dense:
            return dict(zip(self._names, self._slots))
        return {name: self._slots[self._index[name]] for name in self._names}


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation or gradient-check comparison.

    ``kind`` is ``expect_value``, ``expect_grad`` or ``grad_check`` (for which
    ``expected`` is the finite-difference estimate and ``actual`` the analytic
    gradient). ``on_kink`` marks a gradient check at a non-differentiable point,
    whose mismatch is a warning rather than a failure. Every number is finite;
    a number that could not be had is None, and ``reason`` says why (the check
    then fails).
    """

    kind: str
    wire: str
    expected: float | None
    actual: float | None
    passed: bool
    line: int | None = None
    column: int | None = None
    abs_error: float | None = None
    rel_error: float | None = None
    on_kink: bool = False
    reason: str | None = None
    skipped: bool = False

    def describe(self) -> str:
        """One sentence for a failed check."""
        if self.reason is not None:
            what = "gradient check" if self.kind == "grad_check" else "expectation"
            return f"{what} failed for '{self.wire}': {self.reason}"
        if self.kind == "grad_check":
            return (
                f"gradient check failed for '{self.wire}': analytic {self.actual!r}, "
                f"numerical {self.expected!r} (abs error {self.abs_error:.3g}, rel error {self.rel_error:.3g})"
            )
        what = "value" if self.kind == "expect_value" else "gradient"
        return f"{what} of '{self.wire}' is {self.actual!r}, expected {self.expected!r}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "wire": self.wire,
            "expected": self.expected,
            "actual": self.actual,
            "passed": None if self.skipped else self.passed,
        }
        if self.skipped:
            data["skipped"] = True
        if self.line is not None:
            data["line"], data["column"] = self.line, self.column
        if self.kind == "grad_check":
            data["abs_error"], data["rel_error"], data["on_kink"] = self.abs_error, self.rel_error, self.on_kink
        if self.reason is not None:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True, slots=True)
class Result:
    """Values and gradients by wire name for one evaluation, plus check outcomes.

    Owned by the caller; evaluating never mutates the circuit or its program.
    """

    path: str | None
    circuit: str
    status: Status
    output: str | None = None
    value: float | None = None
    values: Mapping[str, float] = field(default_factory=dict)
    grads: Mapping[str, float] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def broken(self) -> bool:
        """No values: the circuit is invalid or its evaluation faulted."""
        return self.status in ("invalid", "error")

    def failures(self) -> list[Issue]:
        """Errors plus failed checks, as located issues (what a report lists)."""
        issues = list(self.errors)
        for check in self.checks:
            if not check.passed and not check.skipped:
                issues.append(
                    Issue(
                        "grad-check" if check.kind == "grad_check" else "expect",
                        check.describe(),
                        self.path,
                        check.line,
                        check.column,
                    )
                )
        return issues

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (see the module docstring)."""
        return {
            "path": self.path,
            "circuit": self.circuit,
            "status": self.status,
            "output": self.output,
            "value": self.value,
            "values": _as_dict(self.values),
            "grads": _as_dict(self.grads),
            "checks": [c.to_dict() for c in self.checks],
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
            "elapsed_ms": round(self.elapsed_ms, 3),
        }

    @classmethod
    def from_error(
        cls,
        error: CircuitError,
        path: str | None,
        circuit: str,
        elapsed_ms: float = 0.0,
        warnings: tuple[Issue, ...] = (),
    ) -> Result:
        """The result of a circuit that could not be loaded (invalid) or evaluated (error)."""
        status: Status = "error" if isinstance(error, EvaluationError) else "invalid"
        return cls(
            path,
            circuit,
            status,
            errors=tuple(i.at(path) for i in error.issues),
            warnings=warnings,
            elapsed_ms=elapsed_ms,
        )


def _as_dict(numbers: Mapping[str, float]) -> dict[str, float]:
    return numbers.as_dict() if isinstance(numbers, WireNumbers) else dict(numbers)


Array = Any  # numpy.ndarray
GradsWanted = Literal["inputs", "all"]


@dataclass(frozen=True, slots=True)
class Samples:
    """Values of every wire and gradients, one array entry per sample.

    Attributes:
        circuit: the circuit's name.
        output: the output wire.
        n: how many samples.
        values: wire name → array of its value per sample.
        grads: input name (or, when every wire's was asked for, wire name) →
            array of ∂output/∂wire per sample.
        warnings: faults of gates the output does not depend on (those gates,
            and the gates reading them, have no values).
    """

    circuit: str
    output: str
    n: int
    values: dict[str, Array]
    grads: dict[str, Array]
    warnings: tuple[Issue, ...] = ()

    @property
    def value(self) -> Array:
        """The output's value per sample."""
        return self.values[self.output]

    def to_dict(self) -> dict[str, Any]:
        """Columns as lists: ``{"circuit", "output", "samples", "values", "grads"}``."""
        return {
            "circuit": self.circuit,
            "output": self.output,
            "samples": self.n,
            "values": {k: v.tolist() for k, v in self.values.items()},
            "grads": {k: g.tolist() for k, g in self.grads.items()},
        }


def sample_label(index: int) -> str:
    """How a sample is named in messages by default: ``sample 0``, ``sample 1``, …"""
    return f"sample {index}"


def is_intermediate(wire: str) -> bool:
    """An expression's intermediate result (``f.1``, ``n1.s.2``): its last name part is a number."""
    return wire.rpartition(".")[2].isdigit()


def group_of(wire: str) -> str:
    """What a wire belongs to: its name before the last dot (``n1`` for ``n1.s``; ``''`` at top level).

    A sub-circuit instance's wires share its name as their group (``n1.s``,
    ``n1.out`` → ``n1``); an expression's intermediates share their gate's
    (``n1.s.1`` → ``n1.s``).
    """
    return wire.rpartition(".")[0]


def fmt(x: float | None) -> str:
    """A number in full: the shortest text that reads back as the same float (``-12``, ``0.1``, ``1e-300``).

    Never rounded or cut: a table shows what the JSON holds.
    """
    if x is None:
        return "-"
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def to_json(data: Any) -> str:
    """Compact, stable JSON (key order as built)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False)
