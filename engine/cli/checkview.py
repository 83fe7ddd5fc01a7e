"""``circuit check``: validate circuits without evaluating them, like a linter.

The diagnostics are this command's data, so they go to stdout (``circuit check .
> report.txt`` captures them); its JSON is a batch report (`BatchReport.to_dict`)
whose results have the shape of ``circuit eval --format json``: status ``ok`` for a
valid file, ``invalid`` with its errors otherwise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from engine.batching.runner import BatchReport
from engine.circuit import load_circuit
from engine.cli.render import render_issues
from engine.cli.usage import ExitCode, UsageError, require_paths
from engine.errors import CircuitError, github_annotation
from engine.format.files import discover
from engine.result import Result, to_json


def _check_file(path: Path, max_bytes: int) -> Result:
    """The result of validating one file: ``ok`` (with its warnings) or ``invalid``."""
    started = time.perf_counter()
    where = str(path)
    try:
        circuit = load_circuit(path, max_bytes=max_bytes)
    except CircuitError as error:
        return Result.from_error(error, where, path.stem, (time.perf_counter() - started) * 1000)
    return Result(
        where,
        circuit.name,
        "ok",
        circuit.output,
        warnings=tuple(w.at(where) for w in circuit.warnings),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def run_check(
    paths: Sequence[Path], *, exclude: Sequence[str], format_: str, max_bytes: int, quiet: bool = False
) -> int:
    """Check every circuit under `paths`; print the diagnostics in `format_`; return the exit code."""
    require_paths(paths)
    started = time.perf_counter()
    files = discover(paths, exclude)
    if not files:
        raise UsageError("no circuit files found (looked for *.yaml and *.yml)", "check the paths and --exclude")
    results = [_check_file(file, max_bytes) for file in files]
    invalid = sum(1 for r in results if r.status == "invalid")
    if format_ == "json":
        report = BatchReport(
            tuple(results),
            elapsed_s=time.perf_counter() - started,
            args={"command": "check", "paths": [str(p) for p in paths], "exclude": list(exclude)},
            generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        sys.stdout.write(to_json(report.to_dict()) + "\n")
    elif format_ == "github":
        for result in results:
            for issue in [*result.errors, *(() if quiet else result.warnings)]:
                sys.stdout.write(github_annotation(issue) + "\n")
    else:
        for result in results:
            render_issues([*result.errors, *(() if quiet else result.warnings)], sys.stdout)
        n = len(files)
        sys.stdout.write(f"{n} file{'s' if n != 1 else ''} checked: {n - invalid} valid, {invalid} invalid\n")
    return ExitCode.FAILED if invalid else ExitCode.OK
