"""The backward pass as the chain rule: one `Link` per edge of the circuit.

For every gate input that is a wire, a link records the gradient that reaches the
gate (``upstream`` = ∂output/∂gate, as the result has it), the gate's local
derivative with respect to that input (``local``, from the op table at the
result's values) and their product, the ``contribution`` the edge carries back.
A wire's gradient is the sum of the contributions of the links leaving it — the
rule that makes fan-out add up. Nothing is evaluated again: the values and the
gradients come from the `Result`; only the local derivatives are worked out here.

Literal constants get no link: their gradients are never reported. Nor do dead gates
(a gate that faults while the output does not depend on it has no numbers).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.circuit import Circuit
from engine.drawing.formulas import convention, local_text
from engine.ops import Floats
from engine.result import Result, fmt


@dataclass(frozen=True, slots=True)
class Link:
    """One edge of the backward pass: `source` feeds argument `position` of gate `target`.

    Attributes:
        source: the wire read by the gate.
        target: the gate (its output wire).
        position: which argument of the gate (0-based; a wire may appear twice).
        upstream: ∂output/∂target.
        local: ∂target/∂source at this argument (None where it is not finite and
            nothing flows back to make it matter).
        contribution: ``upstream · local``, the part of ∂output/∂source this edge carries.
        formula: the local derivative written over wire names (``z``, ``1``, ``f * (1 - f)``).
        note: the convention that decided a kink or a tie, if one did.
    """

    source: str
    target: str
    position: int
    upstream: float
    local: float | None
    contribution: float
    formula: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of one entry of a result's ``trace``."""
        data: dict[str, Any] = {
            "from": self.source,
            "to": self.target,
            "position": self.position,
            "upstream": self.upstream,
            "local": self.local,
            "contribution": self.contribution,
            "formula": self.formula,
        }
        if self.note:
            data["note"] = self.note
        return data


def argument_names(circuit: Circuit, gate: str) -> list[str]:
    """A gate's arguments as written: wire names, and constants as ``eval`` prints numbers."""
    return [ref if isinstance(ref, str) else fmt(ref) for ref in circuit.spec.gates[gate].in_]


def argument_values(circuit: Circuit, result: Result, gate: str) -> list[float]:
    """A gate's argument values from the result (constants as written)."""
    return [result.values[ref] if isinstance(ref, str) else float(ref) for ref in circuit.spec.gates[gate].in_]


def has_numbers(circuit: Circuit, result: Result, gate: str) -> bool:
    """Whether the result has the gate's value and those of its inputs (a dead gate has none)."""
    refs = circuit.spec.gates[gate].in_
    return gate in result.values and all(not isinstance(ref, str) or ref in result.values for ref in refs)


def trace(circuit: Circuit, result: Result) -> list[Link]:
    """Every wire-to-gate edge with its contribution, gates in reverse topological order.

    Args:
        circuit: the circuit `result` was evaluated from.
        result: an evaluated result (with values and gradients).

    Returns:
        The links of the output's gate first, then of each earlier gate; within a
        gate, in argument order. Empty when the result has no values.
    """
    if result.broken or not result.values:
        return []
    program = circuit.program
    links: list[Link] = []
    for step in reversed(program.steps):
        gate = program.wires[step.out]
        if not has_numbers(circuit, result, gate):
            continue  # a dead gate (it faults, and the output does not depend on it): nothing flows through it
        names = argument_names(circuit, gate)
        values = argument_values(circuit, result, gate)
        y = result.values[gate]
        upstream = result.grads[gate]
        partials = _partials(step.op.grad, values, y)
        note = convention(step.op.name, values, y)
        for position, (ref, partial) in enumerate(zip(circuit.spec.gates[gate].in_, partials, strict=True)):
            if not isinstance(ref, str):
                continue
            # As the evaluator does, nothing flows back through a gate whose upstream is 0.
            contribution = 0.0 if upstream == 0.0 or partial is None else upstream * partial
            formula = local_text(step.op.name, names, gate, position, values, y)
            links.append(Link(ref, gate, position, upstream, partial, contribution, formula, note))
    return links


def _partials(grad: Callable[[Floats, float], tuple[float, ...]], values: list[float], y: float) -> list[float | None]:
    try:
        partials = grad(values, y)
    except (ArithmeticError, ValueError):
        return [None] * len(values)
    return [p if math.isfinite(p) else None for p in partials]
