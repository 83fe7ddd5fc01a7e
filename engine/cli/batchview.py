"""The terminal rendering of a batch: the summary table with its failures, and a progress bar."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from engine.batching.reports import render, summary_line, worst_grad_check
from engine.batching.runner import BatchReport
from engine.result import Result, fmt

_STATUS_STYLE = {"ok": "green", "failed": "yellow", "invalid": "red", "error": "red"}


def batch_text(report: BatchReport, format_: str, *, color: bool = False) -> str:
    """The report in `format_`: the table for ``text``, else the machine-readable formats."""
    return text(report, color=color) if format_ == "text" else render(report, format_)


def text(report: BatchReport, *, color: bool = False) -> str:
    """The summary table, the failures, and the final counts line."""
    from rich.console import Console
    from rich.table import Table

    checked = bool(report.args.get("check"))
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("circuit")
    table.add_column("status")
    table.add_column("output", justify="right")
    if checked:
        table.add_column("grad check", justify="right")
    table.add_column("time", justify="right")
    for result in report.results:
        output = f"{result.output} = {fmt(result.value)}" if result.output is not None else "-"
        row = [result.path or "-", f"[{_STATUS_STYLE[result.status]}]{result.status}[/]", output]
        if checked:
            row.append(worst_grad_check(result))
        table.add_row(*row, f"{result.elapsed_ms:.1f} ms")
    for path in report.skipped:
        table.add_row(path, "[dim]skipped[/]", "-", *(["-"] if checked else []), "-")
    buffer = io.StringIO()
    out = Console(file=buffer, force_terminal=color, no_color=not color, width=10_000, highlight=False)
    if report.results or report.skipped:
        out.print(table)
    failures = [issue.render() for r in report.results for issue in r.failures()]
    if failures:
        out.print()
        out.print("failures:", style="bold")
        for rendered in failures:
            head, _, rest = rendered.partition("\n")
            out.print(head, style="red", markup=False)
            if rest:
                out.print(rest, style="cyan", markup=False)
    if report.skipped:
        out.print(f"--fail-fast: {len(report.skipped)} circuit(s) not run", markup=False)
    out.print(summary_line(report), markup=False, style="bold")
    return _strip_trailing_spaces(buffer.getvalue())


@contextmanager
def progress(total: int, stream: IO[str]) -> Iterator[Callable[[Result], None]]:
    """A progress bar on `stream` while the batch runs, when it is a terminal.

    Yields:
        The callback to give each result to (does nothing off a terminal).
    """
    if not (hasattr(stream, "isatty") and stream.isatty()) or total == 0:
        yield lambda result: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[bad]}"),
        TimeElapsedColumn(),
        console=Console(file=stream),
        transient=True,
    )
    task = bar.add_task("batch", total=total, bad="")
    not_ok = 0

    def advance(result: Result) -> None:
        nonlocal not_ok
        not_ok += not result.ok
        bar.update(task, advance=1, bad=f"[red]{not_ok} not ok[/]" if not_ok else "")

    with bar:
        yield advance


def _strip_trailing_spaces(value: str) -> str:
    return "\n".join(line.rstrip() for line in value.split("\n"))
