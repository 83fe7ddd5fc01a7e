"""What the renderings show, as plain data and text: the tables of a result (laid out
by rich), the check summary, and issues as text for output that is not a terminal
(the same lines rich would print there, without importing rich).

Tables have no layout of their own: one that skipped importing rich measured less
than 10% faster start-up for ``circuit eval`` into a pipe (benchmarks/bench_internals.py,
in the commit that removed it), so rich lays out every table.
Output that is not a terminal is never cut to a width: full names, every digit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from engine.cli.streams import UNICODE, Glyphs, is_terminal
from engine.errors import Issue, printable
from engine.result import Result, is_intermediate

NO_LIMIT = 1_000_000
"""The width given to rich for output that is not a terminal: nothing is ever cut."""


def wants_plain(stream: IO[str]) -> bool:
    """Whether `stream` gets no colour anyway (not a terminal, and colour not forced)."""
    return not is_terminal(stream) and "FORCE_COLOR" not in os.environ and "TTY_COMPATIBLE" not in os.environ


def issues_text(issues: list[Issue]) -> str:
    """Each issue as ``path:line:col: severity[code] message`` plus its hint line."""
    return "".join(issue.render() + "\n" for issue in issues)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """What a table shows (rich lays it out).

    Attributes:
        title: the line above the table.
        header: column names.
        rows: cells, as text.
        right: per column, whether it is right-aligned.
        styles: per row, a rich style (None: none).
    """

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    right: tuple[bool, ...]
    styles: list[str | None]


def result_tables(
    result: Result,
    fmt: Callable[[float | None], str],
    glyphs: Glyphs = UNICODE,
    wires: Sequence[str] = (),
    *,
    all_wires: bool = False,
) -> list[TableSpec]:
    """The result's tables: every wire (output first), or only `wires`, then the gradient check if one ran.

    An expression's intermediate results (``f.1``) are left out unless `all_wires` (or named in `wires`).
    """
    output = result.output or ""  # a result with tables always names its output
    shown = [w for w in result.values if w != output and (all_wires or not is_intermediate(w))]
    order = list(wires) or [output, *shown]
    d = glyphs.partial
    tables = [
        TableSpec(
            f"{printable(result.circuit)}: {result.output} = {fmt(result.value)}",
            ("wire", "value", f"{d}{result.output}/{d}wire"),
            [(wire, fmt(result.values[wire]), fmt(result.grads[wire])) for wire in order],
            (False, True, True),
            ["bold" if wire == result.output else None for wire in order],
        )
    ]
    grad_checks = [c for c in result.checks if c.kind == "grad_check"]
    if grad_checks:
        tables.append(
            TableSpec(
                "gradient check (centred differences)",
                ("input", "analytic", "numerical", "abs error", "rel error", ""),
                [
                    (
                        c.wire,
                        fmt(c.actual),
                        fmt(c.expected),
                        _error(c.abs_error),
                        _error(c.rel_error),
                        "FAIL" if not c.passed else "kink" if c.on_kink else "ok",
                    )
                    for c in grad_checks
                ],
                (False, True, True, True, True, False),
                [None if c.passed else "bold red" for c in grad_checks],
            )
        )
    return tables


def checks_summary(result: Result) -> str | None:
    """``checks: 5/6 passed`` plus the worst gradient-check error, or None without checks."""
    run = [c for c in result.checks if not c.skipped]
    skipped = len(result.checks) - len(run)
    if not result.checks:
        return None
    passed = sum(c.passed for c in run)
    parts = [f"{passed}/{len(run)} passed"] if run else []
    if skipped:
        parts.append(
            f"{skipped} expectation{'s' if skipped != 1 else ''} skipped (inputs overridden; --expect checks them)"
        )
    line = "checks: " + ", ".join(parts)
    grad_checks = [c for c in run if c.kind == "grad_check"]
    if grad_checks:
        worst = max(grad_checks, key=lambda c: c.abs_error or 0.0)
        if worst.abs_error is not None and worst.rel_error is not None:
            line += (
                f"; worst gradient-check error: abs {worst.abs_error:.3g}, rel {worst.rel_error:.3g} on '{worst.wire}'"
            )
    return line


def _error(x: float | None) -> str:
    # None: no finite-difference estimate (the check's reason says why)
    return "-" if x is None else f"{x:.2e}"
