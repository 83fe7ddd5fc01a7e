"""A `BatchReport` → text for people, versioned JSON, JUnit XML and GitHub
annotations for CI; a progress bar while it runs (files are written with
`engine.report.write_atomic`).

Text is a summary table (status, output value, worst gradient-check error when
checked, time per circuit), the failures as ``path:line:col: error[code] message``
lines, and a final line of counts by status and the total time. The JSON shape is
`BatchReport.to_dict`; the JUnit file has one test case per circuit (failed
expectations and gradient checks are ``<failure>``, invalid files and faults are
``<error>``), which CI systems display as test results.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from engine.batching import BatchReport
from engine.report import fmt, github_annotation, to_json
from engine.result import Result

_STATUS_STYLE = {"ok": "green", "failed": "yellow", "invalid": "red", "error": "red"}


def render(report: BatchReport, format_: str, *, color: bool = False) -> str:
    """The report as text in `format_`: ``text``, ``json``, ``junit`` or ``github``."""
    if format_ == "json":
        return to_json(report.to_dict()) + "\n"
    if format_ == "junit":
        return junit(report)
    if format_ == "github":
        return github(report)
    return text(report, color=color)


def summary_line(report: BatchReport) -> str:
    """``7 circuits in 0.53 s: 4 ok, 1 failed, 1 invalid, 1 error`` (statuses with no circuit left out)."""
    counts = report.summary
    parts = [f"{counts[s]} {s}" for s in ("ok", "failed", "invalid", "error", "skipped") if counts[s]]
    total = counts["total"]
    return f"{total} circuit{'s' if total != 1 else ''} in {report.elapsed_s:.2f} s: {', '.join(parts) or 'none'}"


def worst_grad_check(result: Result) -> str:
    """The largest absolute gradient-check error of a result, or ``-`` without a check."""
    errors = [c.abs_error for c in result.checks if c.kind == "grad_check" and c.abs_error is not None]
    return f"{max(errors):.2g}" if errors else "-"


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


def _strip_trailing_spaces(value: str) -> str:
    return "\n".join(line.rstrip() for line in value.split("\n"))


# XML 1.0 cannot hold most control characters, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def junit(report: BatchReport) -> str:
    """JUnit XML: one ``<testcase>`` per circuit in one ``<testsuite>``."""
    counts = report.summary
    attrs = {"tests": str(counts["total"]), "failures": str(counts["failed"]),
             "errors": str(counts["invalid"] + counts["error"]), "skipped": str(counts["skipped"]),
             "time": f"{report.elapsed_s:.3f}"}
    suites = ET.Element("testsuites", {"name": "circuitflow", **attrs})
    suite = ET.SubElement(suites, "testsuite", {"name": "circuitflow batch", **attrs,
                                                "timestamp": report.generated_at})
    for result in report.results:
        case = _testcase(suite, result.path or result.circuit, result.elapsed_ms / 1000)
        failures = result.failures()
        if result.status in ("failed", "invalid", "error") and failures:
            tag = "failure" if result.status == "failed" else "error"
            first = failures[0]
            element = ET.SubElement(case, tag, {"message": _xml_text(first.message), "type": first.code})
            element.text = _xml_text("\n".join(issue.render() for issue in failures))
    for path in report.skipped:
        case = _testcase(suite, path, 0.0)
        ET.SubElement(case, "skipped", {"message": "not run: --fail-fast stopped the batch"})
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _testcase(suite: ET.Element, path: str, seconds: float) -> ET.Element:
    where = Path(path)
    return ET.SubElement(suite, "testcase", {"classname": where.parent.as_posix(), "name": where.name,
                                             "file": path, "time": f"{seconds:.3f}"})


def github(report: BatchReport) -> str:
    """A GitHub workflow error annotation per failure, then the counts line.

    Warnings are left out: a folder of generated circuits can hold thousands, and
    GitHub shows only the first few annotations of each kind per step.
    """
    lines = [github_annotation(issue) for r in report.results for issue in r.failures()]
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


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

    bar = Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[bad]}"),
                   TimeElapsedColumn(), console=Console(file=stream), transient=True)
    task = bar.add_task("batch", total=total, bad="")
    not_ok = 0

    def advance(result: Result) -> None:
        nonlocal not_ok
        not_ok += not result.ok
        bar.update(task, advance=1, bad=f"[red]{not_ok} not ok[/]" if not_ok else "")

    with bar:
        yield advance


def exit_code(report: BatchReport) -> int:
    """0 when every circuit ran and is ok, else 1."""
    return 0 if report.ok else 1

