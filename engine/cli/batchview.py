"""The terminal rendering of a batch: the summary table with its failures, and a progress bar."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import IO

from engine.batching.reports import render, summary_line, worst_grad_check
from engine.batching.runner import BatchReport
from engine.errors import printable
from engine.result import Result, fmt

_STATUS_STYLE = {"ok": "green", "failed": "yellow", "invalid": "red", "error": "red"}


def batch_text(
    report: BatchReport, format_: str, *, color: bool = False, quiet: bool = False, wires: Sequence[str] = ()
) -> str:
    """The report in `format_`: the table for ``text``, else the machine-readable formats.

    Args:
        report: the batch's outcome.
        format_: ``text``, ``json``, ``junit`` or ``github``.
        color: colour the text.
        quiet: text lists only the circuits that are not ok.
        wires: text gets a column per wire; json keeps only these wires' values and gradients.
    """
    if format_ == "text":
        return text(report, color=color, quiet=quiet, wires=wires)
    if wires and format_ == "json":
        keep = [
            replace(
                r,
                values={w: v for w, v in r.values.items() if w in wires},
                grads={w: g for w, g in r.grads.items() if w in wires},
            )
            for r in report.results
        ]
        report = replace(report, results=tuple(keep))
    return render(report, format_)


def text(report: BatchReport, *, color: bool = False, quiet: bool = False, wires: Sequence[str] = ()) -> str:
    """The summary table, the failures, and the final counts line (names and paths shown as they are, escaped)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    checked = bool(report.args.get("check"))
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("circuit")
    table.add_column("status")
    table.add_column("output", justify="right")
    for wire in wires:
        table.add_column(Text(wire), justify="right")
    if checked:
        table.add_column("grad check", justify="right")
    table.add_column("time", justify="right")
    for result in report.results:
        if quiet and result.ok:
            continue
        output = f"{result.output} = {fmt(result.value)}" if result.output is not None else "-"
        row = [
            Text(printable(result.path or "-")),
            Text(result.status, style=_STATUS_STYLE[result.status]),
            Text(output),
            *(Text(fmt(result.values[w]) if w in result.values else "-") for w in wires),
        ]
        if checked:
            row.append(Text(worst_grad_check(result)))
        table.add_row(*row, Text(f"{result.elapsed_ms:.1f} ms"))
    for path in report.skipped:
        dash = [Text("-")] * (len(wires) + checked)
        table.add_row(Text(printable(path)), Text("skipped", style="dim"), Text("-"), *dash, Text("-"))
    buffer = io.StringIO()
    out = Console(file=buffer, force_terminal=color, no_color=not color, width=10_000, highlight=False)
    if table.row_count:
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
