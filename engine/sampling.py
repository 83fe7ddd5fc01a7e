"""Many samples through one circuit: named inputs in, named numpy arrays of values and gradients out.

`Circuit.evaluate_samples` and `Circuit.input_matrix` delegate here. The numeric work is
`engine.run.arrays`; this module turns names into slots, validates the inputs, and locates a
fault at its gate and sample. It sits below `engine.circuit` and names `Circuit` for annotations
only, so the facade can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.errors import CircuitError, Issue
from engine.format.loader import paused_gc
from engine.result import Array, GradsWanted, Samples, sample_label

if TYPE_CHECKING:
    from engine.circuit import Circuit


def input_matrix(circuit: Circuit, inputs: Mapping[str, Any], label: Callable[[int], str] = sample_label) -> Array:
    """The (n_inputs, n_samples) float array: the file's values, overridden by `inputs`.

    Each override is a number (the same for every sample) or a sequence/array of
    one number per sample; all sequences must have the same length.

    Raises:
        CircuitError: an unknown input, mismatched lengths, or a non-finite number.
    """
    from engine.run.arrays import numpy

    np = numpy()
    program = circuit.program
    columns: dict[str, Array] = {}
    n = None
    for name, given in inputs.items():
        if name not in circuit.defaults:
            raise circuit.unknown_input(name)
        try:
            column = np.asarray(given, dtype=float)
        except (TypeError, ValueError):
            raise CircuitError(
                [
                    Issue(
                        "invalid-number",
                        f"input '{name}' must be numbers, got {given!r:.60}",
                        circuit.path,
                        hint="pass a number or a sequence of numbers",
                    )
                ]
            ) from None
        if column.ndim > 1:
            raise CircuitError(
                [
                    Issue(
                        "invalid-number",
                        f"input '{name}' must be one-dimensional, got shape {column.shape}",
                        circuit.path,
                        hint="pass one number per sample",
                    )
                ]
            )
        if column.ndim == 1:
            if n is not None and len(column) != n:
                raise CircuitError(
                    [
                        Issue(
                            "sample-count",
                            f"input '{name}' has {len(column)} samples, others have {n}",
                            circuit.path,
                            hint="give every input as many samples",
                        )
                    ]
                )
            n = len(column)
        bad = np.flatnonzero(~np.isfinite(column.reshape(-1)))
        if len(bad):
            where = f" in {label(int(bad[0]))}" if column.ndim == 1 else ""
            raise CircuitError(
                [
                    Issue(
                        "invalid-number",
                        f"input '{name}' must be a finite number{where}, got {column.reshape(-1)[bad[0]]}",
                        circuit.path,
                        hint="NaN and infinities are not allowed",
                    )
                ]
            )
        columns[name] = column
    n = 1 if n is None else n
    matrix = np.empty((program.n_inputs, n))
    for slot, name in enumerate(program.inputs):
        matrix[slot] = columns.get(name, circuit.defaults[name])
    return matrix


def evaluate_samples(
    circuit: Circuit,
    inputs: Mapping[str, Any],
    label: Callable[[int], str] = sample_label,
    grads: GradsWanted = "inputs",
) -> Samples:
    """Forward values of every wire and backward gradients, for every sample.

    Args:
        circuit: the circuit.
        inputs: input name → a number or one number per sample (others keep the file's value).
        label: names a sample (by index) in messages, e.g. a CSV row.
        grads: ``"inputs"`` for the inputs' gradients, ``"all"`` for every wire's
            (one more array per gate to keep: slower and larger over big batches).

    Raises:
        CircuitError: bad inputs (see `input_matrix`).
        EvaluationError: a domain fault, at the gate's line, naming the first faulting sample.
    """
    from engine.run.arrays import DeadFault, SampleFault, run_arrays

    if grads not in ("inputs", "all"):
        raise ValueError(f"grads must be 'inputs' or 'all', got {grads!r}")
    matrix = input_matrix(circuit, inputs, label)
    program = circuit.program
    try:
        with paused_gc():
            dead: list[DeadFault] = []
            values, slopes = run_arrays(program, matrix, all_grads=grads == "all", dead=dead)
    except SampleFault as fault:
        raise circuit.locate_fault(fault.fault, f" in {label(fault.sample)}") from None
    wires = program.wires
    named = wires if grads == "all" else program.inputs
    return Samples(
        circuit.name,
        program.output_name,
        matrix.shape[1],
        {w: v for w, v in zip(wires, values) if v is not None},
        {w: g for w, g, v in zip(named, slopes, values) if v is not None},
        tuple(circuit.dead_gate_warning(d.fault, f" in {label(d.sample)}") for d in dead),
    )
