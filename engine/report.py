"""Results and issues → text for people (rich tables), JSON for programs, and
GitHub workflow annotations for CI; reports written to files atomically.

Data goes to stdout, diagnostics to stderr. Colour only on a terminal, never
when NO_COLOR is set (rich honours both).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from engine.errors import Issue
from engine.plain import checks_summary, issues_text, result_tables, result_text, wants_plain
from engine.result import Result


def fmt(x: float | None) -> str:
    """A number as people read it: up to 10 significant digits, no trailing zeros."""
    return "-" if x is None else f"{x:.10g}"


def console(stream: IO[str] | None = None) -> Any:
    """A rich console on `stream` (stdout by default), coloured only on a terminal."""
    from rich.console import Console  # rich costs ~30 ms to import: only where used

    stream = stream or sys.stdout
    # NO_COLOR (no-color.org) turns off every escape sequence, bold included.
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(file=stream, highlight=False, soft_wrap=True, **({"color_system": None} if plain else {}))


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


def render_result(result: Result, stream: IO[str] | None = None) -> None:
    """A table of every wire (value, gradient), the output first, then the checks."""
    if result.broken:
        return
    if wants_plain(stream or sys.stdout):  # no colour: skip importing rich when the layout allows
        text = result_text(result, fmt)
        if text is not None:
            (stream or sys.stdout).write(text)
            return
    from rich.table import Table

    out = console(stream)
    for spec in result_tables(result, fmt):
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


def to_json(data: Any) -> str:
    """Compact, stable JSON (key order as built)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False)


def github_escape(text: str, *, prop: bool = False) -> str:
    """Escape text for a GitHub workflow command (``%``, newlines; ``:`` and ``,`` in properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotation(issue: Issue) -> str:
    """``::error file=…,line=…,col=…,title=…::message`` for one issue."""
    kind = "error" if issue.severity == "error" else "warning"
    props = [f"file={github_escape(issue.path or '', prop=True)}"]
    if issue.line is not None:
        props.append(f"line={issue.line}")
        if issue.column is not None:
            props.append(f"col={issue.column}")
    props.append(f"title={github_escape(issue.code, prop=True)}")
    message = issue.message + (f" (help: {issue.hint})" if issue.hint else "")
    return f"::{kind} {','.join(props)}::{github_escape(message)}"


def write_atomic(path: str | os.PathLike[str], data: str) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a part.

    The text goes to a temporary file in the same folder, is flushed to disk, and
    then renamed over `path` (a rename within one file system is atomic).
    """
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        mode = 0o666 & ~mask
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
