"""``circuit eval``: one circuit (a file, or ``-`` for stdin) evaluated once, shown as a table or JSON.

Exit codes follow `engine.cli.usage`: an input (``--set``) or wire (``--wire``)
the circuit does not have is a usage error (2), like a missing file; an invalid,
failing or faulting circuit is 1.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from engine.cli.progress import delayed_bar
from engine.cli.render import render_issues, render_result
from engine.cli.usage import STDIN, ExitCode, UsageError, require_paths
from engine.errors import CircuitError, did_you_mean, printable
from engine.evaluating import evaluate_file
from engine.format.reading import read_limited
from engine.result import Result, fmt, to_json

_STDIN_NAME = "<stdin>"
"""How a circuit read from standard input is named in messages."""


def run_eval(
    path: Path,
    overrides: Mapping[str, float],
    *,
    check: bool,
    check_tolerance: float,
    as_json: bool,
    max_bytes: int,
    expect: bool | None,
    quiet: bool,
    wires: Sequence[str],
    all_wires: bool = False,
) -> int:
    """Evaluate one circuit and show the result; return the exit code."""
    require_paths([path])
    where, source = str(path), None
    if str(path) == STDIN:
        try:
            where, source = _STDIN_NAME, read_limited(sys.stdin.buffer, _STDIN_NAME, max_bytes)
        except CircuitError as error:
            render_issues(error.issues, sys.stderr)
            return ExitCode.FAILED
    with delayed_bar("checking gradients", sys.stderr) if check else nullcontext():
        result = evaluate_file(
            where,
            overrides,
            check=check,
            check_tolerance=check_tolerance,
            max_bytes=max_bytes,
            source=source,
            expect=expect,
        )
    if any(issue.code == "unknown-input" for issue in result.errors):
        render_issues(result.errors, sys.stderr)  # an input named by --set: the command line is wrong
        return ExitCode.USAGE
    if wires and not result.broken:
        _require_wires(result, wires)
        result = replace(
            result,
            values={w: result.values[w] for w in wires},
            grads={w: result.grads[w] for w in wires},
        )
    if as_json:
        sys.stdout.write(to_json(result.to_dict()) + "\n")
    elif quiet:
        if not result.broken:
            sys.stdout.write(summary(result) + "\n")
    else:
        render_result(result, sys.stdout, wires, all_wires=all_wires)
    sys.stdout.flush()
    failures = result.failures()
    render_issues(failures if quiet else [*failures, *(w.at(result.path) for w in result.warnings)], sys.stderr)
    return ExitCode.OK if result.ok else ExitCode.FAILED


def summary(result: Result) -> str:
    """``seed: f = -12 (checks: 6/6 passed)``: one line for ``--quiet``."""
    line = f"{printable(result.circuit)}: {result.output} = {fmt(result.value)}"
    run = [c for c in result.checks if not c.skipped]
    if run:
        line += f" (checks: {sum(c.passed for c in run)}/{len(run)} passed)"
    return line


def _require_wires(result: Result, wires: Sequence[str]) -> None:
    for wire in wires:
        if wire not in result.values:
            hint = did_you_mean(wire, result.values) or "wires: " + ", ".join(result.values)
            raise UsageError(f"'{result.path}' has no wire named '{wire}'", hint)
