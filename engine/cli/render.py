"""Results and issues → text for people (rich tables), JSON for programs, and
GitHub workflow annotations for CI; reports written to files atomically.

Data goes to stdout, diagnostics to stderr. Colour only on a terminal, never
when NO_COLOR is set (rich honours both).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import IO, Any

from engine.cli.plain import NO_LIMIT, TableSpec, checks_summary, issues_text, result_tables, wants_plain
from engine.cli.streams import Glyphs, glyphs, is_terminal
from engine.errors import Issue
from engine.result import Result, fmt

_MIN_NAME = 8
"""Names are shortened on a terminal, but never below this many characters."""


def console(stream: IO[str] | None = None) -> Any:
    """A rich console on `stream` (stdout by default), coloured only on a terminal.

    Off a terminal the console has no width limit, so nothing is cut or wrapped.
    """
    from rich.console import Console  # rich costs ~30 ms to import: only where used

    stream = stream or sys.stdout
    # NO_COLOR (no-color.org) turns off every escape sequence, bold included.
    width = None if is_terminal(stream) else NO_LIMIT
    if os.environ.get("NO_COLOR"):
        return Console(file=stream, highlight=False, soft_wrap=True, color_system=None, width=width)
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


def render_issues(issues: Iterable[Issue], stream: IO[str] | None = None) -> None:
    """Write each issue as ``path:line:col: severity[code] message`` plus its hint."""
    issues = list(issues)
    if not issues:
        return
    if wants_plain(stream or sys.stderr):  # no colour: skip importing rich
        (stream or sys.stderr).write(issues_text(issues))
        return
    out = console(stream or sys.stderr)
    for issue in issues:
        style = "bold red" if issue.severity == "error" else "yellow"
        head, _, rest = issue.render().partition("\n")
        out.print(head, style=style, markup=False, highlight=False)
        if rest:
            out.print(rest, style="cyan", markup=False, highlight=False)


def render_result(
    result: Result, stream: IO[str] | None = None, wires: Sequence[str] = (), *, all_wires: bool = False
) -> None:
    """A table of every wire (value, gradient), the output first, then the checks.

    Args:
        result: an evaluated result (nothing is shown for a broken one).
        stream: where to write (stdout by default).
        wires: show only these wires.
        all_wires: show expressions' intermediate results (``f.1``) too.
    """
    if result.broken:
        return
    stream = stream or sys.stdout
    marks = glyphs(stream)
    from rich.table import Table
    from rich.text import Text

    out = console(stream)
    for spec in result_tables(result, fmt, marks, wires, all_wires=all_wires):
        if is_terminal(stream):
            spec = _names_cut(spec, out.width, marks)
        table = Table(title=Text(spec.title), title_justify="left", show_edge=False, pad_edge=False)
        for name, right in zip(spec.header, spec.right):
            table.add_column(Text(name), justify="right" if right else "left", no_wrap=True)
        for row, style in zip(spec.rows, spec.styles):
            table.add_row(*(Text(cell) for cell in row), style=style)
        # a terminal too narrow even for the numbers: the lines wrap, no digit is dropped
        width = out.width
        out.width = max(width, _width_of(spec))
        out.print(table)
        out.width = width
    summary = checks_summary(result)
    if summary:
        out.print(summary, markup=False)


def _width_of(spec: TableSpec) -> int:
    widths = [max(len(spec.header[i]), *(len(row[i]) for row in spec.rows)) for i in range(len(spec.header))]
    return sum(widths) + 3 * (len(widths) - 1)


def _names_cut(spec: TableSpec, width: int, marks: Glyphs) -> TableSpec:
    """`spec` with its first column (names) shortened to fit `width`; numbers are never shortened."""
    others = sum(max(len(spec.header[i]), *(len(r[i]) for r in spec.rows)) for i in range(1, len(spec.header)))
    room = max(width - others - 3 * (len(spec.header) - 1), _MIN_NAME)
    cut = len(marks.ellipsis)

    def short(name: str) -> str:
        return name if len(name) <= room else name[: room - cut] + marks.ellipsis

    return replace(spec, rows=[(short(row[0]), *row[1:]) for row in spec.rows])


def result_issues(result: Result) -> list[Issue]:
    """Every issue of a result to show on stderr: errors, failed checks, warnings."""
    return [*result.failures(), *(w.at(result.path) for w in result.warnings)]
