"""Benchmark scripts write their tables into ``docs/performance.md``, between markers, never by hand."""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
from pathlib import Path

PERFORMANCE = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def write_section(name: str, body: str, document: Path = PERFORMANCE) -> None:
    """Replace the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` with `body`.

    The section is appended (under a heading) when the document does not have it yet; the file is
    replaced atomically, so a reader never sees half a table.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = document.read_text(encoding="utf-8") if document.exists() else "# Performance\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + f"\n\n## {name}\n\n{block}\n"
    fd, temp = tempfile.mkstemp(dir=document.parent, prefix=".performance.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, document)


def add_docs_option(parser: argparse.ArgumentParser) -> None:
    """``--docs PATH`` (the document whose section a run rewrites) and ``--no-docs`` (only print)."""
    parser.add_argument("--docs", type=Path, default=PERFORMANCE, help="the document whose section is rewritten")
    parser.add_argument("--no-docs", action="store_true", help="only print the tables")


def machine() -> str:
    """One sentence saying where the figures were measured."""
    return (
        f"Measured with Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start."
    )
