"""Where a benchmark's figures go: its own section of docs/performance.md.

Each script owns the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``
and rewrites it on every full run, so no figure there is typed by hand or outlives
the code it measured. The prose around the markers explains the tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def add_docs_option(parser: argparse.ArgumentParser) -> None:
    """``--docs PATH`` (the file whose section is rewritten) and ``--no-docs``."""
    parser.add_argument("--docs", type=Path, default=DOCS, help="the markdown file whose section is rewritten")
    parser.add_argument("--no-docs", action="store_true", help="only print the tables")


def machine() -> str:
    """One line saying where the figures were measured."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"Measured with Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the start."
    )


def write_section(name: str, body: str, path: Path = DOCS) -> None:
    """Replace what lies between the markers of section `name` in `path` with `body`.

    Raises:
        SystemExit: the file lacks the section's markers.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = path.read_text(encoding="utf-8")
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise SystemExit(f"{path}: expected one '{start}' … '{end}' pair")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    path.write_text(f"{head}{start}\n{body.strip()}\n{end}{tail}", encoding="utf-8")
    print(f"wrote section '{name}' of {path}", file=sys.stderr)
