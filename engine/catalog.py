"""A set of circuit files: discovery of ``*.yaml`` / ``*.yml`` under files and folders.

`discover` is shared by ``check``, ``batch`` and ``watch`` so that all three see
the same files in the same (sorted) order.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

CIRCUIT_SUFFIXES = (".yaml", ".yml")


def is_circuit_file(path: Path) -> bool:
    """A YAML file that is not hidden (editors' temp files often are)."""
    return path.suffix in CIRCUIT_SUFFIXES and not path.name.startswith(".")


def discover(paths: Iterable[str | Path], exclude: Iterable[str] = ()) -> list[Path]:
    """Circuit files named by `paths` (files as given; folders searched recursively).

    Args:
        paths: files and folders.
        exclude: glob patterns matched against each file's path and name.

    Returns:
        Unique files, sorted by path. A file named explicitly is kept whatever its
        suffix; a missing path is kept too, so that loading it reports the problem.
    """
    patterns = tuple(exclude)
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file() and is_circuit_file(p)
                         and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1]))
        else:
            found.add(path)
    return sorted(p for p in found if not _excluded(p, patterns))


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    text = path.as_posix()
    return any(fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
