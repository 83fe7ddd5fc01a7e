"""``circuit eval FILE --inputs data.csv``: every row of a dataset through a circuit, written as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.circuit import Circuit, load_circuit
from engine.cli.progress import delayed_bar
from engine.cli.render import render_issues
from engine.cli.usage import write_failed
from engine.errors import CircuitError
from engine.format.dataset import read_csv
from engine.format.files import write_output


def results_csv(inputs: Sequence[str], output: str, values: Mapping[str, Any], grads: Mapping[str, Any]) -> str:
    """One row per sample: every input, the output, then ∂output/∂input for every input."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([*inputs, output, *(f"d{output}/d{name}" for name in inputs)])
    # Numbers never need quoting: joining their reprs writes what csv.writer would, faster.
    # A block of rows at a time, so the strings of only one block exist at once (and
    # joined blocks, not a StringIO, which would hold 4 bytes per character).
    arrays = [values[name] for name in inputs] + [values[output]] + [grads[name] for name in inputs]
    blocks = [header.getvalue()]
    for start in range(0, len(arrays[0]), _ROWS_PER_BLOCK):
        texts = [map(repr, array[start : start + _ROWS_PER_BLOCK].tolist()) for array in arrays]
        blocks.append("".join(f"{line}\n" for line in map(",".join, zip(*texts))))
    return "".join(blocks)


_ROWS_PER_BLOCK = 4096


def results_json(
    path: str,
    circuit: str,
    inputs: Sequence[str],
    output: str,
    values: Mapping[str, Any],
    grads: Mapping[str, Any],
    rows: Sequence[int],
) -> str:
    """Columns as JSON: the samples' lines, every input and the output, and every input's gradient."""
    data = {
        "path": path,
        "circuit": circuit,
        "status": "ok",
        "output": output,
        "samples": len(rows),
        "rows": list(rows),
        "values": {name: values[name].tolist() for name in [*inputs, output]},
        "grads": {name: grads[name].tolist() for name in inputs},
    }
    return json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n"


def evaluate_dataset(
    circuit_path: str | Path,
    dataset_path: str | Path,
    overrides: Mapping[str, float],
    *,
    as_json: bool,
    output: str | Path | None,
    max_bytes: int,
) -> int:
    """``circuit eval FILE --inputs data.csv``: evaluate every row, write the results.

    Returns:
        The exit code: 0 written, 1 an invalid circuit or dataset or a domain fault
        (reported on stderr at ``path:line:col``; nothing is written), 2 an unknown
        input named by ``--set``.

    Raises:
        UsageError: the output cannot be written.
    """
    try:
        circuit = load_circuit(circuit_path, max_bytes=max_bytes)
        render_issues([w.at(circuit.path) for w in circuit.warnings], sys.stderr)
    except CircuitError as error:
        render_issues(error.issues, sys.stderr)
        return 1
    try:
        circuit.input_values(overrides)  # unknown or non-finite --set values: the command line is wrong
    except CircuitError as error:
        render_issues(error.issues, sys.stderr)
        return 2
    try:
        with delayed_bar(f"evaluating {Path(dataset_path).name}", sys.stderr):
            text = _results(circuit, circuit_path, dataset_path, overrides, as_json)
    except CircuitError as error:
        render_issues(error.issues, sys.stderr)
        return 1
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            write_output(output, text)
        except OSError as exc:
            raise write_failed(str(output), exc) from None
    return 0


def _results(
    circuit: Circuit, circuit_path: str | Path, dataset_path: str | Path, overrides: Mapping[str, float], as_json: bool
) -> str:
    known = list(circuit.program.inputs)
    data = read_csv(dataset_path, known)
    given: dict[str, Any] = dict(overrides)
    given.update(data.columns)
    samples = circuit.evaluate_samples(given, label=data.row_label)
    render_issues(list(samples.warnings), sys.stderr)
    if as_json:
        return results_json(
            str(circuit_path), circuit.name, known, samples.output, samples.values, samples.grads, data.lines
        )
    return results_csv(known, samples.output, samples.values, samples.grads)
