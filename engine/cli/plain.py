"""Plain-text renderings for output that is not a terminal: the same text rich
would print there, without importing rich (~30 ms of start-up on every
``circuit eval`` whose output is piped or redirected).

Where the plain layout could differ from rich's (a table wider than the
80-column default or ``COLUMNS``, a title wider than its table, non-ASCII
cells), the functions return None and the caller uses rich.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from engine.errors import Issue
from engine.result import Result, is_intermediate

_WIDTH = 80  # rich's width when the output is not a terminal (unless COLUMNS says otherwise)


def _width() -> int:
    try:
        return int(os.environ.get("COLUMNS", _WIDTH))
    except ValueError:
        return _WIDTH


def wants_plain(stream: IO[str]) -> bool:
    """Whether `stream` gets no colour anyway (not a terminal, and colour not forced)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return not tty and "FORCE_COLOR" not in os.environ and "TTY_COMPATIBLE" not in os.environ


def issues_text(issues: list[Issue]) -> str:
    """Each issue as ``path:line:col: severity[code] message`` plus its hint line."""
    return "".join(issue.render() + "\n" for issue in issues)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """What a table shows, for rich and for the plain layout alike.

    Attributes:
        title: the line above the table.
        header: column names.
        rows: cells, as text.
        right: per column, whether it is right-aligned.
        styles: per row, a rich style (None: plain).
    """

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    right: tuple[bool, ...]
    styles: list[str | None]


def result_tables(result: Result, fmt: Callable[[float | None], str], *, all_wires: bool = False) -> list[TableSpec]:
    """The result's tables: every wire (output first), then the gradient check if one ran.

    An expression's intermediate results (``f.1``) are left out unless `all_wires`.
    """
    output = result.output or ""  # a result with tables always names its output
    shown = [w for w in result.values if w != output and (all_wires or not is_intermediate(w))]
    order = [output, *shown]
    tables = [
        TableSpec(
            f"{result.circuit}: {result.output} = {fmt(result.value)}",
            ("wire", "value", f"∂{result.output}/∂wire"),
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


def result_text(result: Result, fmt: Callable[[float | None], str], *, all_wires: bool = False) -> str | None:
    """The result's tables and check summary, or None where rich must lay it out.

    Args:
        result: an evaluated result.
        fmt: formats one number (`engine.cli.render.fmt`).
        all_wires: show expressions' intermediate results too.
    """
    lines: list[str] = []
    for spec in result_tables(result, fmt, all_wires=all_wires):
        table = _table(spec.title, spec.header, spec.rows, spec.right)
        if table is None:
            return None
        lines += table
    summary = checks_summary(result)
    if summary:
        lines.append(summary)
    return "\n".join(lines) + "\n"


def checks_summary(result: Result) -> str | None:
    """``checks: 5/6 passed`` plus the worst gradient-check error, or None without checks."""
    if not result.checks:
        return None
    passed = sum(c.passed for c in result.checks)
    line = f"checks: {passed}/{len(result.checks)} passed"
    grad_checks = [c for c in result.checks if c.kind == "grad_check"]
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


def _table(
    title: str, header: tuple[str, ...], rows: list[tuple[str, ...]], right: tuple[bool, ...]
) -> list[str] | None:
    """rich's ``Table(show_edge=False, pad_edge=False)`` layout, or None where it would differ."""
    n = len(header)
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(n)]
    table_width = sum(widths) + 3 * (n - 1)
    if table_width > _width() or len(title) > table_width or not all(_simple(c) for row in rows for c in row):
        return None

    def line(cells: tuple[str, ...], sep: str) -> str:
        return sep.join(c.rjust(widths[i]) if right[i] else c.ljust(widths[i]) for i, c in enumerate(cells))

    rule = "╇".join("━" * (w + (1 if i in (0, n - 1) else 2)) for i, w in enumerate(widths))
    return [title, line(header, " ┃ "), rule, *(line(row, " │ ") for row in rows)]


def _simple(text: str) -> bool:
    # ASCII only: rich measures wide characters in cells differently.
    return text.isascii()
