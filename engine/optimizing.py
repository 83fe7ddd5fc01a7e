"""Optimising a circuit: which inputs are parameters, the objective over one point or a
dataset, a strategy run, and the `OptimizeResult` (`engine.format.edit` writes parameters back).

`Circuit.optimize` delegates here. The objective is the circuit's output, or with
data its mean over the examples (or a minibatch of them), evaluated by the
generated scalar code or the numpy path. The maths of the strategies and the
optimisers is `engine.run.optimize`'s.

This module takes the circuit as an argument and never imports `engine.circuit`
(which imports it), so the layers stay a straight line.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from engine.errors import CircuitError, EvaluationError, Issue, did_you_mean
from engine.format.dataset import Dataset, read_csv
from engine.format.loader import paused_gc
from engine.result import sample_label
from engine.run import arrays, codegen
from engine.run.interpreter import DomainFault
from engine.run.optimize import (
    OPTIMIZERS,
    STRATEGIES,
    Descent,
    Objective,
    OptimizerName,
    Stopped,
    Strategy,
    TracePoint,
    descend,
    make_optimizer,
)

if TYPE_CHECKING:
    from engine.circuit import Circuit

Direction = Literal["maximize", "minimize"]
Data = Dataset | Mapping[str, Any] | str | Path


@dataclass(frozen=True, slots=True)
class OptimizeResult:
    """How an optimisation went: the JSON fields of ``circuit optimize``, plus every step.

    Attributes:
        status: ``ok``, or ``error`` when a domain fault or a non-finite objective stopped the run.
        optimizer: None for the random strategy (it takes no gradient steps).
        steps: steps taken to the final (last good) parameters.
        stopped: ``steps``, ``grad_norm`` or ``fault``.
        start_value: the objective at the start (None if it faulted there).
        value: the objective at the final parameters.
        grad_norm: the norm of the last gradient computed (None for the random strategy).
        trace: every point visited, from the start.
    """

    path: str | None
    circuit: str
    status: Literal["ok", "error"]
    strategy: Strategy
    optimizer: OptimizerName | None
    direction: Direction
    steps: int
    stopped: Stopped
    start_value: float | None
    value: float | None
    start_params: dict[str, float]
    params: dict[str, float]
    grad_norm: float | None
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    elapsed_ms: float
    trace: tuple[TracePoint, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``circuit optimize --format json`` (the trace is left out)."""
        return {
            "path": self.path,
            "circuit": self.circuit,
            "status": self.status,
            "strategy": self.strategy,
            "optimizer": self.optimizer,
            "direction": self.direction,
            "steps": self.steps,
            "stopped": self.stopped,
            "start_value": self.start_value,
            "value": self.value,
            "start_params": self.start_params,
            "params": self.params,
            "grad_norm": self.grad_norm,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


def optimize(
    circuit: Circuit,
    direction: Direction = "maximize",
    params: Sequence[str] | None = None,
    strategy: Strategy = "analytic",
    optimizer: OptimizerName = "sgd",
    steps: int = 100,
    step_size: float = 0.01,
    data: Data | None = None,
    *,
    seed: int = 0,
    until_grad_norm: float | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    on_point: Callable[[TracePoint], None] | None = None,
) -> OptimizeResult:
    """Move `params` to make the circuit's output (its mean over `data`) larger or smaller.

    Args:
        circuit: the circuit (`Circuit.optimize` passes itself).
        direction: ``maximize`` or ``minimize``.
        params: the inputs to change (default: every input the data does not bind).
        strategy: ``analytic`` (backpropagation), ``numerical`` (centred differences) or
            ``random`` (keep a random nudge of at most `step_size` if it helps).
        optimizer: ``sgd``, ``momentum`` (0.9) or ``adam``: torch.optim's update rules.
        steps: steps to take (with `epochs`, epochs × batches per epoch instead).
        step_size: the learning rate (the random strategy's largest nudge).
        data: a CSV file, a `Dataset`, or columns by input name: one example per row.
        seed: seeds the random nudges and the minibatch shuffles.
        until_grad_norm: stop once the gradient norm falls under this.
        batch_size: examples per step (default: all of them), shuffled per epoch.
        epochs: passes over the data.
        on_point: called with each point reached (progress reports).

    Returns:
        The result; status ``error`` with the located fault when a domain fault or a
        non-finite objective stopped the run (the last good parameters are kept).

    Raises:
        CircuitError: parameters that are not inputs (or are bound by the data), no
            parameter at all, or a dataset that cannot be read.
        ValueError: an unknown direction, strategy or optimizer, or a setting out of range.
    """
    started = time.perf_counter()
    _check_settings(direction, strategy, optimizer, steps, step_size, until_grad_norm, batch_size, epochs, data)
    dataset = _dataset(circuit, data)
    names = parameters(circuit, params, dataset[0] if dataset else {})
    start = [circuit.defaults[name] for name in names]
    if dataset is None:
        objective, batches = _point_objective(circuit, names), 1
    else:
        objective, batches = _data_objective(circuit, names, *dataset, batch_size, seed)
        steps = steps if epochs is None else epochs * batches
    maximize = direction == "maximize"
    with paused_gc():  # a run builds no cycles, only many small records: collections would be waste
        descent = descend(
            objective,
            start,
            strategy=strategy,
            optimizer=None if strategy == "random" else make_optimizer(optimizer, step_size, maximize=maximize),
            steps=steps,
            step_size=step_size,
            maximize=maximize,
            until_grad_norm=until_grad_norm,
            seed=seed,
            batched=batches > 1,
            on_point=on_point,
        )
    return _result(
        circuit, descent, names, start, objective if batches > 1 else None, strategy, optimizer, direction, started
    )


def _check_settings(
    direction: str,
    strategy: str,
    optimizer: str,
    steps: int,
    step_size: float,
    until_grad_norm: float | None,
    batch_size: int | None,
    epochs: int | None,
    data: object,
) -> None:
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if steps < 0:
        raise ValueError(f"steps must not be negative, got {steps}")
    if not (step_size > 0 and math.isfinite(step_size)):
        raise ValueError(f"step_size must be a positive number, got {step_size!r}")
    if strategy == "random" and until_grad_norm is not None:
        raise ValueError("until_grad_norm needs a gradient: random search computes none")
    if data is None and (batch_size is not None or epochs is not None):
        raise ValueError("batch_size and epochs go with data")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if epochs is not None and epochs < 0:
        raise ValueError(f"epochs must not be negative, got {epochs}")


def _dataset(circuit: Circuit, data: Data | None) -> tuple[dict[str, Any], Callable[[int], str]] | None:
    # The data's columns, and how its examples are named in messages (a CSV's by line).
    if data is None:
        return None
    if isinstance(data, str | Path):
        data = read_csv(data, circuit.program.inputs)
    if isinstance(data, Dataset):
        return data.columns, data.row_label
    return dict(data), sample_label


def parameters(circuit: Circuit, names: Sequence[str] | None, bound: Mapping[str, Any]) -> list[str]:
    """The parameters to optimise: `names`, or every input the data does not bind.

    Raises:
        CircuitError: a name that is a gate or no wire, a name the data binds, or nothing to optimise.
    """
    program = circuit.program
    if names is None:
        chosen = [name for name in program.inputs if name not in bound]
    else:
        chosen = list(dict.fromkeys(names))
    issues = []
    for name in chosen:
        if name in circuit.defaults:
            if name in bound:
                issues.append(
                    Issue(
                        "bound-param",
                        f"'{name}' is a column of the data, not a parameter",
                        circuit.path,
                        hint="leave it out of --params, or drop its column from the data",
                    )
                )
        elif name in program.index:
            issues.append(
                circuit.source.place(
                    Issue(
                        "not-an-input",
                        f"'{name}' is a gate; only inputs can be optimised",
                        circuit.path,
                        hint="inputs: " + ", ".join(program.inputs) if program.inputs else "the circuit has no inputs",
                    ),
                    ("gates", name),
                    key=True,
                )
            )
        else:
            issues.append(_unknown_param(circuit, name))
    if not chosen and not issues:
        free = "every input is a column of the data" if program.inputs else "the circuit has no inputs"
        issues.append(
            Issue("no-params", f"nothing to optimise: {free}", circuit.path, hint="add an input for each parameter")
        )
    if issues:
        raise CircuitError(issues)
    return chosen


def _unknown_param(circuit: Circuit, name: str) -> Issue:
    known = circuit.program.inputs
    hint = (did_you_mean(name, known) or "inputs: " + ", ".join(known)) if known else "the circuit has no inputs"
    return Issue("unknown-param", f"no input named '{name}' to optimise", circuit.path, hint=hint)


def _point_objective(circuit: Circuit, names: Sequence[str]) -> Objective:
    # The output at one point: generated code (compiled once the structure has earned it).
    program = circuit.program
    point = circuit.input_values()
    slots = [program.index[name] for name in names]
    out = program.output

    def objective(params: Sequence[float], step: int, grads: bool) -> tuple[float, list[float] | None]:
        for slot, value in zip(slots, params):
            point[slot] = value
        try:
            values, slopes = codegen.evaluate(program, point)
        except DomainFault as fault:
            raise circuit.locate_fault(fault, f" at step {step}") from None
        return values[out], [slopes[slot] for slot in slots] if grads else None

    return objective


def _data_objective(
    circuit: Circuit,
    names: Sequence[str],
    columns: Mapping[str, Any],
    label: Callable[[int], str],
    batch_size: int | None,
    seed: int,
) -> tuple[Objective, int]:
    # The output's mean over the examples of step k's minibatch (all of them for k = -1 or full batches).
    np = arrays.numpy()
    matrix = circuit.input_matrix(columns, label)  # checked once: every number finite, columns of one length
    n = matrix.shape[1]
    size = n if batch_size is None else min(batch_size, n)
    per_epoch = -(-n // size)
    program = circuit.program
    slots = [program.index[name] for name in names]
    out = program.output
    rng = np.random.default_rng(seed)
    shuffle: list[Any] = [-1, None]  # the epoch drawn last, and its order of the rows

    def rows_of(step: int) -> Any:
        epoch, index = divmod(step, per_epoch)
        while shuffle[0] < epoch:  # steps only move forward: each epoch's order is drawn in turn
            shuffle[:] = [shuffle[0] + 1, rng.permutation(n)]
        return shuffle[1][index * size : (index + 1) * size]

    def objective(params: Sequence[float], step: int, grads: bool) -> tuple[float, list[float] | None]:
        rows = None if step < 0 or per_epoch == 1 else rows_of(step)
        inputs: list[Any] = list(matrix) if rows is None else list(matrix[:, rows])
        for slot, value in zip(slots, params):
            inputs[slot] = value  # the same for every example: numpy broadcasts it
        try:
            values, slopes = arrays.run_arrays(program, inputs, all_grads=False, backward=grads)
        except arrays.SampleFault as fault:
            sample = fault.sample if rows is None else int(rows[fault.sample])
            raise circuit.locate_fault(fault.fault, f" in {label(sample)} at step {step}") from None
        count = n if rows is None else len(rows)
        with np.errstate(all="ignore"):  # an overflowing mean is reported below, not warned about
            value = float(np.mean(values[out]))  # a float when the output does not depend on the data
        means = [slopes[slot] / count for slot in slots] if grads else None  # parameters' gradients come summed
        if not math.isfinite(value + math.fsum(means or ())):
            raise _not_finite(circuit, step)
        return value, means

    return objective, per_epoch


def _not_finite(circuit: Circuit, step: int) -> EvaluationError:
    output = circuit.output
    issue = Issue(
        "domain",
        f"the mean of '{output}' (or of its gradient) over the data is not finite at step {step}",
        circuit.path,
        hint="scale the data or the step size down",
    )
    return EvaluationError([circuit.source.place(issue, ("gates", output), key=True)])


def _result(
    circuit: Circuit,
    descent: Descent,
    names: Sequence[str],
    start: Sequence[float],
    full: Objective | None,
    strategy: Strategy,
    optimizer: OptimizerName,
    direction: Direction,
    started: float,
) -> OptimizeResult:
    points = descent.points
    final = points[-1] if points else None
    start_value = points[0].value if points else None
    value = final.value if final else None
    errors: tuple[Issue, ...] = descent.fault.issues if descent.fault else ()
    if full is not None and final is not None:  # minibatches: report the objective over all the data
        try:
            start_value = full(start, -1, False)[0]
            value = full(final.params, -1, False)[0]
        except EvaluationError as error:
            errors += error.issues
    return OptimizeResult(
        circuit.path,
        circuit.name,
        "error" if errors else "ok",
        strategy,
        None if strategy == "random" else optimizer,
        direction,
        final.step if final else 0,
        descent.stopped,
        start_value,
        value,
        dict(zip(names, start)),
        dict(zip(names, final.params if final else start)),
        descent.grad_norm,
        errors,
        circuit.warnings,
        (time.perf_counter() - started) * 1000,
        tuple(points),
    )
