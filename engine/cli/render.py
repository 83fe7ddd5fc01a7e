"""Results and issues → text for people (rich tables), JSON for programs, and
GitHub workflow annotations for CI; reports written to files atomically.

Data goes to stdout, diagnostics to stderr. Colour only on a terminal, never
when NO_COLOR is set (rich honours both).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import IO, Any

from engine.cli.plain import checks_summary, issues_text, result_tables, wants_plain
from engine.errors import Issue
from engine.result import Result, fmt


def console(stream: IO[str] | None = None) -> Any:
    """A rich console on `stream` (stdout by default), coloured only on a terminal."""
    from rich.console import Console  # rich costs ~30 ms to import: only where used

    stream = stream or sys.stdout
    # NO_COLOR (no-color.org) turns off every escape sequence, bold included.
    if os.environ.get("NO_COLOR"):
        return Console(file=stream, highlight=False, soft_wrap=True, color_system=None)
    return Console(file=stream, highlight=False, soft_wrap=True)


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


def render_result(result: Result, stream: IO[str] | None = None, *, all_wires: bool = False) -> None:
    """A table of every wire (value, gradient), the output first, then the checks.

    An expression's intermediate results (``f.1``) are shown only with `all_wires`.
    """
    if result.broken:
        return
    from rich.table import Table

    out = console(stream)
    for spec in result_tables(result, fmt, all_wires=all_wires):
        table = Table(title=spec.title, title_justify="left", show_edge=False, pad_edge=False)
        for name, right in zip(spec.header, spec.right):
            table.add_column(name, justify="right" if right else "left")
        for row, style in zip(spec.rows, spec.styles):
            table.add_row(*row, style=style)
        out.print(table)
    summary = checks_summary(result)
    if summary:
        out.print(summary, markup=False)


def result_issues(result: Result) -> list[Issue]:
    """Every issue of a result to show on stderr: errors, failed checks, warnings."""
    return [*result.failures(), *(w.at(result.path) for w in result.warnings)]
