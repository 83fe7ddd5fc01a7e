"""Running a `Program`: the reference tier — forward values, backward gradients,
domain faults, and the numerical gradient check.

Plain Python over lists of floats — no networkx, pydantic or yaml here. Forward
runs the live steps (those the output depends on) in topological order; backward
seeds ∂output/∂output = 1 and walks them in reverse, adding ``upstream · ∂y/∂x``
into the slot of every argument that depends on an input (``+=``, so fan-out
accumulates: f = x·x + x at x = 3 gives ∂f/∂x = 7). The other tiers reproduce
exactly these numbers (docs/evaluation.md).

A non-finite value in a live step or an accumulated gradient (log of 0, overflow,
0/0, NaN) stops the evaluation with a `DomainFault` naming the step; nothing
returns NaN silently. Steps the output does not depend on run last
(`forward_dead`): their faults are returned, not raised.
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

    Only the live steps (those the output depends on) are run; the slots of the
    others hold 0.0 until `forward_dead` fills them.

    Raises:
        DomainFault: a live gate's result is not a finite number.
    """
    values = [*inputs, *([0.0] * (len(program.wires) - program.n_inputs)), *program.constants]
    steps = program.steps
    for index in range(program.live):
        step = steps[index]
        xs = [values[i] for i in step.args]
        try:
            y = step.op.forward(*xs)
        except (ArithmeticError, ValueError):
            raise DomainFault(program, index, "forward", xs) from None
        if not _isfinite(y):
            raise DomainFault(program, index, "forward", xs, y)
        values[step.out] = y
    return values


def forward_dead(program: Program, values: list[float]) -> list[DomainFault]:
    """Run the steps the output does not depend on, in place; their faults are returned, not raised.

    A faulting gate's slot, and that of every gate reading it, is set to NaN
    (no value); the faults name the gates that faulted themselves.
    """
    faults = []
    steps = program.steps
    for index in range(program.live, len(steps)):
        step = steps[index]
        xs = [values[i] for i in step.args]
        if not all(map(_isfinite, xs)):
            values[step.out] = math.nan  # reads a gate without a value
            continue
        y, fault = forward_step(program, index, xs)
        if fault is not None:
            faults.append(fault)
        values[step.out] = y
    return faults


def forward_step(program: Program, index: int, xs: Sequence[float]) -> tuple[float, DomainFault | None]:
    """One step's value at `xs`, or NaN and its fault."""
    try:
        y = program.steps[index].op.forward(*xs)
    except (ArithmeticError, ValueError):
        return math.nan, DomainFault(program, index, "forward", xs)
    if not _isfinite(y):
        return math.nan, DomainFault(program, index, "forward", xs, y)
    return y, None


def backward(program: Program, values: Sequence[float]) -> list[float]:
    """∂output/∂slot for every slot, from the forward values.

    Reverse topological sweep over the live steps. A step whose upstream gradient
    is exactly 0 contributes nothing and is skipped. Partials are taken only for
    the arguments that depend on an input (`Step.partials`); constants keep a
    gradient of 0. Each contribution ``upstream · partial`` is added to the
    argument's gradient; a sum that is not finite is a fault of that step.

    Raises:
        DomainFault: a gradient is not finite (e.g. sqrt at 0).
    """
    grads = [0.0] * len(values)
    grads[program.output] = 1.0
    steps = program.steps
    for index in range(program.live - 1, -1, -1):
        step = steps[index]
        upstream = grads[step.out]
        if upstream == 0.0 or not step.partials:
            continue
        xs = [values[i] for i in step.args]
        local = step.op.grad(xs, values[step.out])
        args = step.args
        for position in step.partials:
            slot = args[position]
            total = grads[slot] + upstream * local[position]
            if not _isfinite(total):
                raise DomainFault(program, index, "backward", xs)
            grads[slot] = total
    return grads


def interpret(program: Program, inputs: Sequence[float]) -> tuple[list[float], list[float]]:
    """Forward then backward: (values, gradients), indexed by slot."""
    values = forward(program, inputs)
    return values, backward(program, values)


def kinked_steps(program: Program, values: Sequence[float]) -> list[int]:
    """Live steps whose op sits exactly on a kink at these values (relu(0), abs(0), ties)."""
    steps = program.steps
    return [i for i in range(program.live) if steps[i].op.kink([values[j] for j in steps[i].args])]


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
    """The analytic and the centred-difference gradient of the output for one input.

    ``numeric`` and the errors are None when no finite estimate exists; ``reason``
    then says why (a perturbed point faults, or the estimate overflows).
    """

    slot: int
    analytic: float
    numeric: float | None
    abs_error: float | None
    rel_error: float | None
    reason: str | None = None


def numerical_gradients(
    program: Program, inputs: Sequence[float], analytic: Sequence[float], relative_step: float = 1e-6
) -> list[GradientCheck]:
    """Centred finite differences ``(f(x+h) − f(x−h)) / 2h`` for every input.

    Every number returned is finite: an input whose estimate cannot be made finite
    gets a check with no estimate and a reason.
    """
    checks = []
    point = list(inputs)
    for slot in range(program.n_inputs):
        x = point[slot]
        a = analytic[slot]
        h = relative_step * max(1.0, abs(x))
        try:
            point[slot] = x + h
            above = forward(program, point)[program.output]
            point[slot] = x - h
            below = forward(program, point)[program.output]
        except DomainFault as fault:
            checks.append(
                GradientCheck(slot, a, None, None, None, f"the perturbed point faults: {fault.first.message}")
            )
            continue
        finally:
            point[slot] = x
        numeric = (above - below) / (2.0 * h)
        error = abs(a - numeric)
        if not _isfinite(error):
            checks.append(GradientCheck(slot, a, None, None, None, "the finite-difference estimate overflows"))
            continue
        scale = max(abs(a), abs(numeric))
        checks.append(GradientCheck(slot, a, numeric, error, error / scale if scale > 0 else 0.0))
    return checks
