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

Inputs may also be given as plain floats shared by every sample (an optimiser's
parameters over a dataset): gates of shared values only then stay one float, and
a shared slot's gradient is summed over the samples as it arrives, so no array is
made or kept per parameter (the page faults of 31 parameter arrays over 100k
samples cost more than the whole forward pass).

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
) -> tuple[list[Array], list[Array]]:
    """Values and gradients of every slot, per sample.

    Args:
        program: the evaluation plan.
        inputs: a float array of shape (n_inputs, n_samples), finite; or a list of one
            row per input, each an array of one value per sample or a float shared by
            every sample (a parameter). Given floats, the *shared lane* is used: gates
            of shared values only stay floats, and the gradient of every shared slot
            is its sum over the samples (a float) — no array per parameter is made.
        all_grads: keep the gradient of every slot; when False, only those of the
            inputs, the constants and the output are kept (the others are None).
        backward: compute gradients at all (when False every gradient is None:
            values only, for an objective that needs no gradient).

    Returns:
        (values, grads): one array of shape (n_samples,) per slot (a float for shared slots).

    Raises:
        SampleFault: the first sample flagged by the checks whose evaluation faults
            (the lowest index, unless a fault shows only in a shared slot's sum).
    """
    np = numpy()
    n_in = program.n_inputs
    lane = not hasattr(inputs, "shape")
    n = inputs.shape[1] if not lane else max((len(r) for r in inputs if hasattr(r, "shape")), default=1)
    n_wires = len(program.wires)
    steps = program.steps
    values: list[Array] = [inputs[i] for i in range(n_in)]
    values += [None] * len(steps)
    values += program.constants  # plain floats: numpy broadcasts them, like literals in code
    shared = [lane and isinstance(v, float) for v in values]
    checked: Array = None
    grads: list[Array] = [None] * program.n_slots
    borrowed = [False] * program.n_slots
    with np.errstate(all="ignore"):
        for step in steps:
            args = [values[a] for a in step.args]
            if lane and all(shared[a] for a in step.args):  # the same for every sample: one float
                y = _safe(step.op.forward, *args)
                shared[step.out] = True
            else:
                y = (step.op.vforward or _per_sample_forward(step.op))(np, *args)
                if getattr(y, "shape", None) != (n,):  # a gate of constants only
                    y = np.full(n, y, dtype=float)
            values[step.out] = y
            if not step.op.total:
                if checked is None:
                    checked = np.zeros(n)
                np.add(checked, y, out=checked)
        if backward:
            grads[program.output] = float(n) if shared[program.output] else np.ones(n)
        for step in reversed(steps if backward else ()):
            gy = grads[step.out]
            if gy is None:
                continue
            xs = [values[a] for a in step.args]
            if shared[step.out]:  # gy is the sum over the samples: the scalar rule applies to it
                parts: Sequence[Any] = [gy * p for p in _safe_grad(step.op, xs, values[step.out], len(xs))]
            else:
                parts = (step.op.vgrad or _per_sample_grad(step.op))(np, xs, values[step.out], gy)
            if not all_grads and step.out != program.output:
                grads[step.out] = None  # passed on: free it for the next arrays to reuse
            for slot, c in zip(step.args, parts):
                if lane and slot >= n_wires:
                    continue  # a literal constant: its gradient is never reported (as in the interpreter)
                g = grads[slot]
                if shared[slot]:
                    total = c if shared[step.out] else float(np.sum(c))
                    grads[slot] = total if g is None else g + total
                    continue
                if getattr(c, "shape", None) != (n,):
                    c = np.full(n, c, dtype=float)
                if g is None:
                    grads[slot] = c
                    borrowed[slot] = c is gy  # shared with the upstream: never add into it in place
                elif borrowed[slot]:
                    grads[slot] = g + c
                    borrowed[slot] = False
                else:
                    np.add(g, c, out=g)
        bad = np.zeros(n, dtype=bool) if checked is None else ~np.isfinite(checked)
        every = False  # a shared slot's sum is not finite: which sample is unknown
        for slot in [*range(n_in), *range(n_wires, program.n_slots)]:
            if grads[slot] is None:
                continue
            if shared[slot]:
                every = every or not math.isfinite(grads[slot])
            else:
                bad |= ~np.isfinite(grads[slot])
    zeros = None
    kept: Sequence[int] = range(program.n_slots) if all_grads else [*range(n_in), *range(n_wires, program.n_slots)]
    for slot in kept if backward else ():
        if grads[slot] is None:
            if shared[slot]:
                grads[slot] = 0.0
                continue
            zeros = np.zeros(n) if zeros is None else zeros
            grads[slot] = zeros
    flagged = np.flatnonzero(bad)
    if len(flagged) or every:
        _rerun(program, inputs, values, grads, flagged, backward, every)
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
    grads: list[Array],
    flagged: Sequence[int],
    backward: bool = True,
    every: bool = False,
) -> None:
    # The flagged samples, one by one through the interpreter, which raises at a fault;
    # with `every`, then all the others too, and the shared slots' sums are rebuilt.
    seen: set[int] = set()
    n_wires = len(program.wires)
    rows = [inputs[i] for i in range(program.n_inputs)]
    # Arrays written below may be shared (a borrowed gradient, the common zeros):
    # give every slot its own copy first.
    for table in (values, grads):
        for slot, array in enumerate(table[:n_wires] if table is values else table):
            if array is None or isinstance(array, float):
                continue  # floats are shared slots: rebuilt below, never written per sample
            if id(array) in seen or slot < program.n_inputs and table is values:
                table[slot] = array.copy()
            seen.add(id(table[slot]))
    order = list(flagged)
    if every:
        done = set(order)
        n = max((len(r) for r in rows if hasattr(r, "shape")), default=1)
        order += [sample for sample in range(n) if sample not in done]
    sums = {slot: 0.0 for slot, g in enumerate(grads) if isinstance(g, float)} if every else {}
    for sample in order:
        point = [float(row[sample]) if hasattr(row, "shape") else float(row) for row in rows]
        try:
            if backward:
                v, g = interpreter.run(program, point)
            else:
                v, g = interpreter.forward(program, point), []
        except DomainFault as fault:
            raise SampleFault(int(sample), fault) from None
        for slot in range(program.n_slots):
            if slot < n_wires and not isinstance(values[slot], float):
                values[slot][sample] = v[slot]
            column = grads[slot]
            if slot in sums:
                sums[slot] += g[slot]
            elif column is not None and not isinstance(column, float):
                column[sample] = g[slot]
    for slot, total in sums.items():
        grads[slot] = total
