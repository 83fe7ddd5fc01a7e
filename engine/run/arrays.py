"""Running a `Program` over many samples at once with numpy: values and
gradients per sample, with the kernels of `engine.run.kernels` (an op without
one is run sample by sample with its scalar functions).

numpy is imported only here, and only when a batch is evaluated. Each wire's
values (and gradients) across samples are one array; live steps run in
topological order, then in reverse, exactly as the scalar interpreter does
(partials only for `Step.partials`), with no check per gate. A gate of
constants only is computed once, by the op's scalar function. Non-finite values
are found afterwards, cheaply:

* forward, only ops that are not `Op.total` can turn finite inputs into a
  non-finite result, so the sum of their outputs is checked (those that
  `engine.run.finite` shows to be checked anyway where they are read are left out);
* backward, every gradient contribution is the upstream gradient times a local
  partial (kernels multiply, never mask), so a non-finite gradient anywhere
  reaches an input's gradient; only those are checked.

Samples flagged either way are rerun one by one by the scalar interpreter, which
either reports the fault exactly (`SampleFault`, naming the sample) or finds none
(an overflowing sum, a 0·∞ in a branch it skips) and supplies the values.
Gates the output does not depend on run last, on request; a fault there is
returned (the gate has no values), not raised.

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
from dataclasses import dataclass
from typing import Any

from engine.ops import Op
from engine.program import Program, Step
from engine.run import interpreter
from engine.run.finite import checked_values
from engine.run.interpreter import DomainFault
from engine.run.kernels import KERNELS

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


@dataclass(frozen=True, slots=True)
class DeadFault:
    """A gate the output does not depend on faulted in `sample`: it has no values."""

    sample: int
    fault: DomainFault


def run_arrays(
    program: Program,
    inputs: Array,
    *,
    all_grads: bool = True,
    backward: bool = True,
    dead: list[DeadFault] | None = None,
) -> tuple[list[Array], list[Array]]:
    """Values and gradients of every slot, per sample.

    Args:
        program: the evaluation plan.
        inputs: a float array of shape (n_inputs, n_samples), finite; or a list of one
            row per input, each an array of one value per sample or a float shared by
            every sample (a parameter). Given floats, the *shared lane* is used: gates
            of shared values only stay floats, and the gradient of every shared slot
            is its sum over the samples (a float) — no array per parameter is made.
        all_grads: keep the gradient of every wire; when False, only those of the
            inputs and the output are kept (the others may be None).
        backward: compute gradients at all (when False every gradient is None:
            values only, for an objective that needs no gradient).
        dead: when given, the gates the output does not depend on are run too, and
            their faults added to it (such a gate, and those reading it, get None);
            otherwise their values are None.

    Returns:
        (values, grads): one array of shape (n_samples,) per slot (a float for shared slots).

    Raises:
        SampleFault: the first sample flagged by the checks whose evaluation faults
            (the lowest index, unless a fault shows only in a shared slot's sum).
    """
    np = numpy()
    n_in = program.n_inputs
    lane = not hasattr(inputs, "shape")
    n = inputs.shape[1] if not lane else max((len(r) for r in inputs if getattr(r, "ndim", 0) == 1), default=1)
    steps = program.steps
    values: list[Array] = [inputs[i] for i in range(n_in)]
    values += [None] * len(steps)
    # numpy scalars, which numpy broadcasts like literals in code (and which give inf, not ZeroDivisionError)
    values += [np.float64(c) for c in program.constants]
    # one number for every sample: literal constants, gates of such numbers, and (given as floats) parameters
    shared = [lane and isinstance(v, float) for v in values[:n_in]] + [False] * len(steps)
    shared += [True] * len(program.constants)
    checked = np.zeros(n)
    to_check = set(checked_values(program))
    grads: list[Array] = [None] * program.n_slots
    with np.errstate(all="ignore"):
        for step in steps[: program.live]:
            y = values[step.out] = _forward(np, step, values, shared)
            shared[step.out] = isinstance(y, float)
            if step.out in to_check:
                np.add(checked, y, out=checked)
        if backward:
            _backward(np, program, values, grads, shared, n, all_grads, lane)
        every = False  # a shared slot's sum is not finite: which sample is unknown
        for slot in range(n_in):
            g = grads[slot]
            if g is None:
                continue
            if shared[slot]:
                every = every or not math.isfinite(g)
            else:  # one pass: a non-finite gradient makes the sum non-finite too
                np.add(checked, g, out=checked)
        bad = ~np.isfinite(checked)
    kept = range(len(program.wires)) if all_grads else range(n_in)
    zeros = None
    for slot in kept if backward else ():
        g = grads[slot]
        if g is None and not (lane and shared[slot]):
            zeros = np.zeros(n) if zeros is None else zeros
            grads[slot] = zeros
        else:  # an own copy, and −0.0 → 0.0: scalar sums start at +0.0
            grads[slot] = 0.0 if g is None else g + 0.0
    flagged = np.flatnonzero(bad)
    if len(flagged) or every:
        _rerun(program, inputs, values, grads, flagged, backward, every)
    if dead is not None:
        dead += _run_dead(np, program, values, shared, n)
    if not lane:
        for slot in range(n_in, len(program.wires)):
            if isinstance(values[slot], float):  # a gate of constants only
                values[slot] = np.full(n, values[slot])
    return values, grads


def _forward(np: Any, step: Step, values: list[Any], shared: list[bool]) -> Any:
    xs = [values[a] for a in step.args]
    if all(shared[a] for a in step.args):  # the same for every sample: the scalar op, once
        y = _safe(step.op.forward, *map(float, xs))
        return np.float64(y if math.isfinite(y) else math.nan)  # a fault is a NaN every sample sees
    kernel = KERNELS.get(step.op.name)
    return (kernel.forward if kernel else _per_sample_forward(step.op))(np, *xs)


def _backward(
    np: Any,
    program: Program,
    values: list[Any],
    grads: list[Any],
    shared: list[bool],
    n: int,
    all_grads: bool,
    lane: bool,
) -> None:
    borrowed = [False] * program.n_slots
    # the output's gradient, summed over the samples when it is the same for all of them (a parameter's lane)
    grads[program.output] = float(n) if lane and shared[program.output] else np.ones(n)
    steps = program.steps
    for index in range(program.live - 1, -1, -1):
        step = steps[index]
        gy = grads[step.out]
        if gy is None or not step.partials:
            continue
        xs = [values[a] for a in step.args]
        if shared[step.out]:  # gy is the sum over the samples: the scalar rule applies to it
            local = _safe_grad(step.op, [float(x) for x in xs], float(values[step.out]), len(xs))
            parts: Sequence[Any] = [gy * local[p] for p in step.partials]
        else:
            kernel = KERNELS.get(step.op.name)
            chain = kernel.grad if kernel else _per_sample_grad(step.op)
            parts = chain(np, xs, values[step.out], gy, step.partials)
        if not all_grads and step.out != program.output:
            grads[step.out] = None  # passed on: free it for the next arrays to reuse
        for position, c in zip(step.partials, parts):
            slot = step.args[position]
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


def _run_dead(np: Any, program: Program, values: list[Any], shared: list[bool], n: int) -> list[DeadFault]:
    """Values of the gates the output does not depend on; a gate faulting in any sample gets none."""
    faults: list[DeadFault] = []
    steps = program.steps
    with np.errstate(all="ignore"):
        for index in range(program.live, len(steps)):
            step = steps[index]
            if any(values[a] is None for a in step.args):
                continue  # reads a gate without values
            y = _forward(np, step, values, shared)
            shared[step.out] = isinstance(y, float)
            broken = np.flatnonzero(~np.isfinite(np.broadcast_to(y, (n,))))
            if len(broken):
                sample = int(broken[0])
                xs = [float(np.broadcast_to(values[a], (n,))[sample]) for a in step.args]
                _, fault = interpreter.forward_step(program, index, xs)
                y = float(np.broadcast_to(y, (n,))[sample])
                faults.append(DeadFault(sample, fault or DomainFault(program, index, "forward", xs, y)))
                continue
            values[step.out] = y
    return faults


def _per_sample_forward(op: Op) -> Any:
    # An op without array code still works: its scalar forward, sample by sample
    # (errors become NaN, which the checks then send to the interpreter).
    def forward(np: Any, *xs: Any) -> Any:
        n = max(getattr(x, "shape", (1,))[0] for x in xs)
        columns = [np.broadcast_to(x, (n,)) for x in xs]
        return np.array([_safe(op.forward, *(float(c[i]) for c in columns)) for i in range(n)])

    return forward


def _per_sample_grad(op: Op) -> Any:
    def chain(np: Any, xs: Sequence[Any], y: Any, gy: Any, positions: Sequence[int]) -> list[Any]:
        n = len(y)
        columns = [np.broadcast_to(x, (n,)) for x in xs]
        rows = [_safe_grad(op, [float(c[i]) for c in columns], float(y[i]), len(xs)) for i in range(n)]
        return [gy * np.array([row[k] for row in rows]) for k in positions]

    return chain


def _safe(function: Any, *xs: float) -> float:
    try:
        return float(function(*xs))
    except (ArithmeticError, ValueError):
        return math.nan


def _safe_grad(op: Op, xs: list[float], y: float, n: int) -> tuple[float, ...]:
    # a sample whose forward faulted (and is rerun by the interpreter) may be outside grad's domain
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
    last_live = program.n_inputs + program.live
    rows = [inputs[i] for i in range(program.n_inputs)]
    # Arrays written below may be shared (a borrowed gradient, the common zeros):
    # give every slot its own copy first.
    for table in (values, grads):
        for slot, array in enumerate(table[:last_live] if table is values else table):
            if getattr(array, "ndim", 0) != 1:
                continue  # none, or one number for every sample: rebuilt below, never written per sample
            if id(array) in seen or slot < program.n_inputs and table is values:
                table[slot] = array.copy()
            seen.add(id(table[slot]))
    order = list(flagged)
    if every:
        done = set(order)
        n = max((len(r) for r in rows if getattr(r, "ndim", 0) == 1), default=1)
        order += [sample for sample in range(n) if sample not in done]
    sums = {slot: 0.0 for slot, g in enumerate(grads) if isinstance(g, float)} if every else {}
    for sample in order:
        point = [float(row[sample]) if getattr(row, "ndim", 0) == 1 else float(row) for row in rows]
        try:
            if backward:
                v, g = interpreter.interpret(program, point)
            else:
                v, g = interpreter.forward(program, point), []
        except DomainFault as fault:
            raise SampleFault(int(sample), fault) from None
        for slot in range(last_live):
            if getattr(values[slot], "ndim", 0) == 1:
                values[slot][sample] = v[slot]
        for slot in range(len(g)):
            column = grads[slot]
            if slot in sums:
                sums[slot] += g[slot]
            elif getattr(column, "ndim", 0) == 1:
                column[sample] = g[slot]
    for slot, total in sums.items():
        grads[slot] = total
