"""A `BatchReport` → versioned JSON, JUnit XML and GitHub annotations for CI
(the terminal table and progress bar are `engine.cli.batchview`'s; report files
are written with `engine.format.files.write_output`).

Text is a summary table (status, output value, worst gradient-check error when
checked, time per circuit), the failures as ``path:line:col: error[code] message``
lines, and a final line of counts by status and the total time. The JSON shape is
`BatchReport.to_dict`; the JUnit file has one test case per circuit (failed
expectations and gradient checks are ``<failure>``, invalid files and faults are
``<error>``), which CI systems display as test results. It keeps to the JUnit
schema Jenkins validates against (the xUnit plugin's ``junit-10.xsd``), which
the tests check: no attribute beyond it (no ``file`` on a test case, no
``skipped`` on ``<testsuites>``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from engine.batching.runner import BatchReport
from engine.errors import github_annotation, printable
from engine.result import Result, to_json


def render(report: BatchReport, format_: str) -> str:
    """The report as text in `format_`: ``json``, ``junit`` or ``github`` (the terminal table is the CLI's)."""
    if format_ == "json":
        return to_json(report.to_dict()) + "\n"
    if format_ == "junit":
        return junit(report)
    if format_ == "github":
        return github(report)
    raise ValueError(f"no machine-readable batch format {format_!r}")


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


# XML 1.0 cannot hold most control characters, even as character references
_xml_text = printable


def junit(report: BatchReport) -> str:
    """JUnit XML: one ``<testcase>`` per circuit in one ``<testsuite>``."""
    counts = report.summary
    attrs = {
        "tests": str(counts["total"]),
        "failures": str(counts["failed"]),
        "errors": str(counts["invalid"] + counts["error"]),
        "time": f"{report.elapsed_s:.3f}",
    }
    suites = ET.Element("testsuites", {"name": "circuitflow", **attrs})
    suite = ET.SubElement(
        suites,
        "testsuite",
        {"name": "circuitflow batch", **attrs, "skipped": str(counts["skipped"]), "timestamp": report.generated_at},
    )
    for result in report.results:
        case = _testcase(suite, result.path or result.circuit, result.elapsed_ms / 1000)
        failures = result.failures()
        if result.status in ("failed", "invalid", "error") and failures:
            tag = "failure" if result.status == "failed" else "error"
            first = failures[0]
            element = ET.SubElement(case, tag, {"message": _xml_text(first.message), "type": first.code})
            element.text = "\n".join(issue.render() for issue in failures)  # rendered issues are escaped
    for path in report.skipped:
        case = _testcase(suite, path, 0.0)
        ET.SubElement(case, "skipped", {"message": "not run: --fail-fast stopped the batch"})
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


#: The class name of circuits in the current folder (which has no name of its own to show).
_ROOT_CLASSNAME = "circuitflow"


def _testcase(suite: ET.Element, path: str, seconds: float) -> ET.Element:
    """A ``<testcase>``: its class name is the circuit's folder, its name the file's name."""
    where = Path(path)
    folder = where.parent.as_posix()
    return ET.SubElement(
        suite,
        "testcase",
        {
            "classname": _xml_text(_ROOT_CLASSNAME if folder == "." else folder),
            "name": _xml_text(where.name),
            "time": f"{seconds:.3f}",
        },
    )


def github(report: BatchReport) -> str:
    """A GitHub workflow error annotation per failure, then the counts line.

    Warnings are left out: a folder of generated circuits can hold thousands, and
    GitHub shows only the first few annotations of each kind per step.
    """
    lines = [github_annotation(issue) for r in report.results for issue in r.failures()]
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def exit_code(report: BatchReport) -> int:
    """0 when every circuit ran and is ok, else 1."""
    return 0 if report.ok else 1
