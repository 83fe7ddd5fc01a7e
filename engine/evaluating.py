"""One-shot evaluation of a file or its bytes, for the front ends: user errors become results.

`evaluate_file` (public) and `evaluate_source` never raise for user errors: they
turn them into a `Result` with status ``invalid`` or ``error``, which is what the
CLI, watch, batch and the service report.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from engine.circuit import DEFAULT_CHECK_TOLERANCE, Circuit, Compiler, parse_circuit
from engine.compile.graph import build_program
from engine.errors import CircuitError
from engine.format.compose import Uses
from engine.format.loader import DEFAULT_MAX_BYTES, decode
from engine.format.reading import read_bytes
from engine.result import Result


def evaluate_source(
    data: bytes,
    path: str,
    inputs: Mapping[str, float] | None = None,
    *,
    check: bool = False,
    check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
    compile: Compiler = build_program,
    uses: Uses | None = None,
    expect: bool | None = None,
) -> tuple[Result, Circuit | None]:
    """Decode, validate, compile and evaluate a file's bytes; user errors become the result's status.

    Returns:
        The result, and the circuit when it could be compiled.
    """
    started = time.perf_counter()
    circuit = None
    try:
        circuit = parse_circuit(decode(data, path), Path(path).stem, path=path, compile=compile, uses=uses)
        result = circuit.evaluate(inputs, check=check, check_tolerance=check_tolerance, expect=expect)
    except CircuitError as error:
        return Result.from_error(
            error,
            path,
            circuit.name if circuit else Path(path).stem,
            _since(started),
            circuit.warnings if circuit else (),
        ), circuit
    return replace(result, elapsed_ms=_since(started)), circuit


def read_source(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | Result:
    """A file's bytes, or the ``invalid`` result of a file that cannot be read."""
    started = time.perf_counter()
    try:
        return read_bytes(Path(path), max_bytes)
    except CircuitError as error:
        return Result.from_error(error, path, Path(path).stem, _since(started))


def evaluate_file(
    path: str | Path,
    inputs: Mapping[str, float] | None = None,
    *,
    check: bool = False,
    check_tolerance: float = DEFAULT_CHECK_TOLERANCE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    source: bytes | None = None,
    root: str | Path | None = None,
    expect: bool | None = None,
) -> Result:
    """Load and evaluate one file; user errors become the result's status, never exceptions.

    `source` is the file's content when it was read elsewhere (batch workers on
    other machines get the bytes, not the path; files it uses are read from the
    folder). With `root`, ``use:`` may only reach files inside that folder. `expect` is as for `Circuit.evaluate`.
    """
    started = time.perf_counter()
    where = str(path)
    data = read_source(where, max_bytes) if source is None else source
    if isinstance(data, Result):
        return data
    uses = Uses(root, max_bytes=max_bytes)
    result, _ = evaluate_source(
        data, where, inputs, check=check, check_tolerance=check_tolerance, uses=uses, expect=expect
    )
    return replace(result, elapsed_ms=_since(started))


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
