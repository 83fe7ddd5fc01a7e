"""The compiled evaluation plan of one circuit structure: plain, immutable data.

A `Program` numbers every wire with a *slot*: inputs first (in file order), then
the gates that reach the output (the *live* gates) in topological order, then the
gates that do not (evaluated only to show their values), then hidden slots for
literal constants. Each `Step` applies one op to argument slots and writes one
output slot, and says which of its arguments get a partial derivative: those
that depend on an input (a literal, or a gate of constants only, needs none). Evaluating a
program never mutates it; values and gradients live in lists owned by the call.

Programs depend only on structure (wire names, ops, wiring, constants, output),
never on input values, so one program serves every evaluation of a circuit and
every value-only edit of its file; `Program.key` is that structural identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.ops import Op


@dataclass(frozen=True, slots=True)
class Step:
    """``slots[out] = op(slots[args[0]], slots[args[1]], …)``.

    ``partials`` are the positions in ``args`` of the arguments that depend on an
    input: the only ones the backward pass takes a partial derivative for. A step
    with none is a constant (every argument a literal or another constant).
    """

    op: Op
    out: int
    args: tuple[int, ...]
    partials: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Program:
    """An evaluation plan.

    Attributes:
        wires: wire names by slot; inputs occupy slots ``0 … n_inputs-1``.
        n_inputs: how many input wires.
        constants: values of the hidden constant slots, which follow the wires.
        steps: one per gate, in topological order (gate ``wires[n_inputs + i]`` is ``steps[i]``).
        output: the slot whose gradient is seeded with 1.
        key: structural identity (same key ⇔ same plan), used to cache compiled code.
        live: how many steps reach the output: ``steps[:live]``; the rest affect nothing
            the output depends on (their faults are warnings).
    """

    wires: tuple[str, ...]
    n_inputs: int
    constants: tuple[float, ...]
    steps: tuple[Step, ...]
    output: int
    key: str
    live: int
    index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.index:
            self.index.update((name, slot) for slot, name in enumerate(self.wires))

    @property
    def n_slots(self) -> int:
        return len(self.wires) + len(self.constants)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Input wire names, in slot order."""
        return self.wires[: self.n_inputs]

    @property
    def output_name(self) -> str:
        return self.wires[self.output]

    def gate_of(self, step: int) -> str:
        """The wire name written by step number `step`."""
        return self.wires[self.steps[step].out]
