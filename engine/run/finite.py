"""Where the compiled and numpy tiers look for a fault: the forward values whose check catches them all.

Those tiers check nothing per gate: they sum a few values afterwards and send a sample whose sum is
not finite to the interpreter, which finds the fault exactly (or none). A fault shows as a
non-finite value first produced by an op that is not total (finite inputs can make it non-finite).
Such a value need not be checked where it is made when the gate is also read by an add, sub or mul:
these give a non-finite result for a non-finite operand (∞ − ∞ and ∞ · 0 are NaN), and they are not
total either, so the value shows in theirs — checked there, or passed on again the same way.
"""

from __future__ import annotations

from engine.program import Program

_CARRIERS = frozenset({"add", "sub", "mul"})
"""Ops whose result is non-finite whenever an operand is, and which are not total themselves."""


def checked_values(program: Program) -> list[int]:
    """Slots of the live gates whose values, summed, are finite only if no live gate faulted."""
    steps = program.steps[: program.live]
    carried: set[int] = set()  # slots read by a live carrier
    for step in steps:
        if step.op.name in _CARRIERS:
            carried.update(step.args)
    return [step.out for step in steps if not step.op.total and step.out not in carried]
