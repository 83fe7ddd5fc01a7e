"""Running a `Program`: forward values, backward gradients, domain faults, and the
numerical gradient check.

Plain Python over lists of floats — no networkx, pydantic or yaml here. Forward
runs the steps in topological order; backward seeds ∂output/∂output = 1 and walks
the steps in reverse, adding ``upstream · ∂y/∂x`` into every argument slot (``+=``,
so fan-out accumulates: f = x·x + x at x = 3 gives ∂f/∂x = 7).

A non-finite value anywhere (log of 0, overflow, 0/0, NaN) stops the evaluation
with a `DomainFault` naming the step; nothing returns NaN silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import EvaluationError, Issue
from engine.program import Program

_isfinite = math.isfinite


class DomainFault(EvaluationError):
    """A gate's inputs are outside its op's domain, or its result is not finite.

    Attributes:
        step: index of the faulting step in `Program.steps`.
        gate: the gate's wire name.
        phase: ``forward`` or ``backward``.
        inputs: the gate's input values.
        reason: why, in a few words (from the op's domain rule, or the non-finite
            `result` when there is one).
    """

    def __init__(
        self, program: Program, step: int, phase: str, inputs: Sequence[float], result: float | None = None
    ) -> None:
        self.step = step
        self.gate = program.gate_of(step)
        self.phase = phase
        self.inputs = tuple(inputs)
        self.reason = reason = _reason(program, step, self.inputs, result, phase)
        op = program.steps[step].op.name
        shown = ", ".join(_short(x) for x in self.inputs)
        where = "" if phase == "forward" else " (gradient)"
        super().__init__(
            [
                Issue(
                    "domain",
                    f"gate '{self.gate}' {op}({shown}){where}: {reason}",
                    hint="change the inputs (e.g. with --set) or guard the gate's input so it stays in the op's domain",
                )
            ]
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (EvaluationError, (self.issues,))


def _short(x: float) -> str:
    return repr(x) if _isfinite(x) else str(x)


def _reason(program: Program, step: int, xs: Sequence[float], y: float | None, phase: str) -> str:
    op = program.steps[step].op
    why = op.fault(xs)
    if why:
        return why
    if y is not None and math.isnan(y):
        return "result is not a number (NaN)"
    if phase == "backward":
        return "gradient is not finite"
    return "result overflows to infinity"


def forward(program: Program, inputs: Sequence[float]) -> list[float]:
    """Every slot's value, given the input values in slot order.

    Raises:
        DomainFault: a gate's result is not a finite number.
    """
    values = [*inputs, *([0.0] * (len(program.wires) - program.n_inputs)), *program.constants]
    for index, step in enumerate(program.steps):
        xs = [values[i] for i in step.args]
        try:
            y = step.op.forward(*xs)
        except (ArithmeticError, ValueError):
            raise DomainFault(program, index, "forward", xs) from None
        if not _isfinite(y):
            raise DomainFault(program, index, "forward", xs, y)
        values[step.out] = y
    return values


def backward(program: Program, values: Sequence[float]) -> list[float]:
    """∂output/∂slot for every slot, from the forward values.

    A step whose upstream gradient is exactly 0 contributes nothing and is
    skipped, so a branch that does not reach the output never faults here.

    Raises:
        DomainFault: a gradient contribution is not finite (e.g. sqrt at 0).
    """
    grads = [0.0] * len(values)
    grads[program.output] = 1.0
    steps = program.steps
    n_wires = len(program.wires)
    for index in range(len(steps) - 1, -1, -1):
        step = steps[index]
        upstream = grads[step.out]
        if upstream == 0.0:
            continue
        xs = [values[i] for i in step.args]
        y = values[step.out]
        try:
            local = step.op.grad(xs, y)
        except (ArithmeticError, ValueError):
            raise DomainFault(program, index, "backward", xs) from None
        for slot, partial in zip(step.args, local):
            if slot >= n_wires:
                continue  # a literal constant: its gradient is never reported (pow(x, 3) at x < 0)
            contribution = upstream * partial
            if not _isfinite(contribution):
                raise DomainFault(program, index, "backward", xs)
            grads[slot] += contribution
    return grads


def run(program: Program, inputs: Sequence[float]) -> tuple[list[float], list[float]]:
    """Forward then backward: (values, gradients), indexed by slot."""
    values = forward(program, inputs)
    return values, backward(program, values)


def kinked_steps(program: Program, values: Sequence[float]) -> list[int]:
    """Steps whose op sits exactly on a kink at these values (relu(0), abs(0), ties)."""
    return [i for i, step in enumerate(program.steps) if step.op.kink([values[j] for j in step.args])]


def upstream_inputs(program: Program, steps: Sequence[int]) -> set[int]:
    """Input slots that feed any of `steps` (a reverse sweep; no recursion)."""
    needed = [False] * program.n_slots
    for index in steps:
        for slot in program.steps[index].args:
            needed[slot] = True
    first_gate = program.n_inputs
    for step in reversed(program.steps):
        if needed[step.out]:
            for slot in step.args:
                needed[slot] = True
    return {slot for slot in range(first_gate) if needed[slot]}


@dataclass(frozen=True, slots=True)
class GradientCheck:
    """The analytic and the centred-difference gradient of the output for one input."""

    slot: int
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float


def numerical_gradients(
    program: Program, inputs: Sequence[float], analytic: Sequence[float], relative_step: float = 1e-6
) -> list[GradientCheck]:
    """Centred finite differences ``(f(x+h) − f(x−h)) / 2h`` for every input.

    Raises:
        DomainFault: a perturbed point leaves an op's domain.
    """
    checks = []
    point = list(inputs)
    for slot in range(program.n_inputs):
        x = point[slot]
        h = relative_step * max(1.0, abs(x))
        point[slot] = x + h
        above = forward(program, point)[program.output]
        point[slot] = x - h
        below = forward(program, point)[program.output]
        point[slot] = x
        numeric = (above - below) / (2.0 * h)
        a = analytic[slot]
        error = abs(a - numeric)
        scale = max(abs(a), abs(numeric))
        checks.append(GradientCheck(slot, a, numeric, error, error / scale if scale > 0 else 0.0))
    return checks
