"""Running a `Program` over many samples at once with numpy: values and
gradients per sample, driven by the same op table (`Op.vforward`, `Op.vgrad`;
an op without them is run sample by sample with its scalar functions).

numpy is imported only here, and only when a batch is evaluated. Each wire's
values (and gradients) across samples are one array; steps run in topological
order, then in reverse, exactly as the scalar interpreter does, with no check per
gate. Non-finite values are found afterwards, cheaply:

* forward, only ops that are not `Op.total` can turn finite inputs into a
  non-finite result, so the sum of their outputs is checked;
* backward, every gradient contribution is the upstream gradient times a local
  partial, so a non-finite gradient anywhere reaches an input's (or a
  constant's) gradient; only those are checked.

Samples flagged either way are rerun one by one by the scalar interpreter, which
either reports the fault exactly (`SampleFault`, naming the sample) or finds none
(an overflowing sum, a 0·∞ in a dead branch it skips) and supplies the values.

Unless every wire's gradient is asked for, a gate's gradient array is dropped as
soon as it has been passed on to the gate's inputs. Over a large batch this is
what sets the speed: the freed arrays are reused at once by the allocator, while
keeping them makes every new array land on fresh pages of memory, and the page
faults cost more than the arithmetic (2.2× the time for 200 gates × 100k samples).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from engine.ops import Op
from engine.program import Program
from engine.run import interpreter
from engine.run.interpreter import DomainFault

Array = Any  # numpy.ndarray; numpy is imported lazily


class SampleFault(Exception):
    """A domain fault in one sample of a batch.

    Attributes:
        sample: the sample's index (0-based).
        fault: the scalar interpreter's fault for that sample.
    """

    def __init__(self, sample: int, fault: DomainFault) -> None:
        super().__init__(f"sample {sample}: {fault}")
        self.sample = sample
        self.fault = fault


def numpy() -> Any:
    """The numpy module (imported on first use)."""
    import numpy as np

    return np


def run(
    program: Program, inputs: Array, *, all_grads: bool = True, backward: bool = True
) -> tuple[list[Array], list[Array | None]]:
    """Values and gradients of every slot, per sample.

    Args:
        program: the evaluation plan.
        inputs: a float array of shape (n_inputs, n_samples), finite.
        all_grads: keep the gradient of every slot; when False, only those of the
            inputs, the constants and the output are kept (the others are None).
        backward: compute gradients at all (when False every gradient is None:
            values only, for an objective that needs no gradient).

    Returns:
        (values, grads): one array of shape (n_samples,) per slot.

    Raises:
        SampleFault: the first sample (lowest index) whose evaluation faults.
    """
    np = numpy()
    n = inputs.shape[1]
    n_in = program.n_inputs
    n_wires = len(program.wires)
    steps = program.steps
    values: list[Array] = [inputs[i] for i in range(n_in)]
    values += [None] * len(steps)
    values += program.constants  # plain floats: numpy broadcasts them, like literals in code
    checked: Array = None
    grads: list[Array] = [None] * program.n_slots
    borrowed = [False] * program.n_slots
    with np.errstate(all="ignore"):
        for step in steps:
            y = (step.op.vforward or _per_sample_forward(step.op))(np, *[values[a] for a in step.args])
            if getattr(y, "shape", None) != (n,):  # a gate of constants only
                y = np.full(n, y, dtype=float)
            values[step.out] = y
            if not step.op.total:
                checked = y + 0.0 if checked is None else np.add(checked, y, out=checked)
        if backward:
            grads[program.output] = np.ones(n)
        for step in reversed(steps if backward else ()):
            gy = grads[step.out]
            if gy is None:
                continue
            xs = [values[a] for a in step.args]
            chain = step.op.vgrad or _per_sample_grad(step.op)
            parts = chain(np, xs, values[step.out], gy)
            if not all_grads and step.out != program.output:
                grads[step.out] = None  # passed on: free it for the next arrays to reuse
            for slot, c in zip(step.args, parts):
                if getattr(c, "shape", None) != (n,):
                    c = np.full(n, c, dtype=float)
                g = grads[slot]
                if g is None:
                    grads[slot] = c
                    borrowed[slot] = c is gy  # shared with the upstream: never add into it in place
                elif borrowed[slot]:
                    grads[slot] = g + c
                    borrowed[slot] = False
                else:
                    np.add(g, c, out=g)
        bad = np.zeros(n, dtype=bool) if checked is None else ~np.isfinite(checked)
        for slot in [*range(n_in), *range(n_wires, program.n_slots)]:
            if grads[slot] is not None:
                bad |= ~np.isfinite(grads[slot])
    zeros = None
    kept: Sequence[int] = range(program.n_slots) if all_grads else [*range(n_in), *range(n_wires, program.n_slots)]
    kept = kept if backward else ()
    for slot in kept:
        if grads[slot] is None:
            zeros = np.zeros(n) if zeros is None else zeros
            grads[slot] = zeros
    flagged = np.flatnonzero(bad)
    if len(flagged):
        _rerun(program, inputs, values, grads, flagged, backward)
    return values, grads


def _per_sample_forward(op: Op) -> Any:
    # An op without array code still works: its scalar forward, sample by sample
    # (errors become NaN, which the checks then send to the interpreter).
    def forward(np: Any, *xs: Any) -> Any:
        n = max(getattr(x, "shape", (1,))[0] for x in xs)
        columns = [np.broadcast_to(x, (n,)) for x in xs]
        return np.array([_safe(op.forward, *(float(c[i]) for c in columns)) for i in range(n)])

    return forward


def _per_sample_grad(op: Op) -> Any:
    def chain(np: Any, xs: Sequence[Any], y: Any, gy: Any) -> tuple[Any, ...]:
        n = len(y)
        columns = [np.broadcast_to(x, (n,)) for x in xs]
        rows = [_safe_grad(op, [float(c[i]) for c in columns], float(y[i]), len(xs)) for i in range(n)]
        return tuple(gy * np.array([row[k] for row in rows]) for k in range(len(xs)))

    return chain


def _safe(function: Any, *xs: float) -> float:
    try:
        return float(function(*xs))
    except (ArithmeticError, ValueError):
        return math.nan


def _safe_grad(op: Op, xs: list[float], y: float, n: int) -> tuple[float, ...]:
    try:
        return tuple(op.grad(xs, y))
    except (ArithmeticError, ValueError):
        return (math.nan,) * n


def _rerun(
    program: Program,
    inputs: Array,
    values: list[Array],
    grads: list[Array | None],
    flagged: Sequence[int],
    backward: bool = True,
) -> None:
    # Arrays written below may be shared (a borrowed gradient, the common zeros):
    # give every slot its own copy first.
    seen: set[int] = set()
    n_wires = len(program.wires)
    for table in (values, grads):
        for slot, array in enumerate(table[:n_wires] if table is values else table):
            if array is None:
                continue
            if id(array) in seen or slot < program.n_inputs and table is values:
                table[slot] = array.copy()
            seen.add(id(table[slot]))
    for sample in flagged:
        point = [float(x) for x in inputs[:, sample]]
        try:
            if backward:
                v, g = interpreter.run(program, point)
            else:
                v, g = interpreter.forward(program, point), []
        except DomainFault as fault:
            raise SampleFault(int(sample), fault) from None
        for slot in range(program.n_slots):
            if slot < n_wires:
                values[slot][sample] = v[slot]
            column = grads[slot]
            if column is not None:
                column[sample] = g[slot]
