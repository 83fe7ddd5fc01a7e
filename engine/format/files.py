"""Finding circuit files: which paths are circuits, and walking folders for them."""

from __future__ import annotations

import fnmatch
import os
import tempfile
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
            found.update(
                p
                for p in path.rglob("*")
                if is_circuit_file(p)
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
            )
        else:
            found.add(path)
    return sorted(p for p in found if not _excluded(p, patterns))


def common_folder(paths: Iterable[str | Path]) -> str | None:
    """The folder holding every one of `paths` (a file stands for its own folder); None for no paths.

    Watch and batch let ``use:`` reach only files inside it.
    """
    folders = [str(Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent) for p in paths]
    return os.path.commonpath(folders) if folders else None


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    text = path.as_posix()
    return any(fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern) for pattern in patterns)


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
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
        if isinstance(data, str):
            data = data.encode("utf-8")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
