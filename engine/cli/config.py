"""The project configuration: ``[tool.circuitflow]`` in the nearest ``pyproject.toml``.

Like ruff's and pytest's, it is found by walking up from the current folder to the
first ``pyproject.toml``; its values become the commands' defaults, and flags given
on the command line override them::

    [tool.circuitflow]
    paths = ["circuits"]          # check, batch, watch: what to read when no path is given
    exclude = ["**/tmp_*"]        # check, batch: .gitignore-style patterns
    tolerance = 1e-6              # eval, batch: the gradient check's tolerance
    jobs = 4                      # batch: worker processes
    timeout = 10.0                # batch: seconds per circuit

Paths in the file are relative to the folder that holds it.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Any

from engine.cli.usage import UsageError

FILE = "pyproject.toml"
_SECTION = "tool.circuitflow"

# key → (what it must be, the commands it applies to, each command's parameter name)
_KEYS: dict[str, tuple[str, dict[str, str]]] = {
    "paths": ("a list of paths", {"check": "paths", "batch": "paths", "watch": "paths"}),
    "exclude": ("a list of patterns", {"check": "exclude", "batch": "exclude"}),
    "tolerance": ("a non-negative number", {"eval": "check_tolerance", "batch": "check_tolerance"}),
    "jobs": ("a positive integer", {"batch": "jobs"}),
    "timeout": ("a positive number of seconds", {"batch": "timeout"}),
}


def find(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above `start` (the current folder), or None."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / FILE
        if path.is_file():
            return path
    return None


def default_map(start: Path | None = None) -> dict[str, dict[str, Any]]:
    """The commands' defaults from ``[tool.circuitflow]``: ``{command: {parameter: value}}``.

    Raises:
        UsageError: the file cannot be read, or the section holds an unknown key or a bad value.
    """
    path = find(start)
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read '{_shown(path)}': {exc}", "fix the TOML syntax") from None
    section = data.get("tool", {}).get("circuitflow")
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise UsageError(f"'{_shown(path)}': [{_SECTION}] must be a table", f"write it as a [{_SECTION}] section")
    defaults: dict[str, dict[str, Any]] = {}
    for key, value in section.items():
        if key not in _KEYS:
            raise UsageError(
                f"'{_shown(path)}': unknown key '{key}' in [{_SECTION}]", "allowed keys: " + ", ".join(_KEYS)
            )
        what, targets = _KEYS[key]
        checked = _check(key, value, path.parent)
        if checked is None:
            raise UsageError(f"'{_shown(path)}': '{key}' in [{_SECTION}] must be {what}, got {value!r}")
        for command, parameter in targets.items():
            defaults.setdefault(command, {})[parameter] = checked
    return defaults


def _check(key: str, value: Any, root: Path) -> Any:
    """`value` as the command's parameter takes it, or None when it is not valid for `key`."""
    if key in ("paths", "exclude"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        if key == "exclude":
            return value
        # relative to the file's folder, shown relative to the current one
        return [os.path.relpath(root / v) if not Path(v).is_absolute() else v for v in value]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if key == "jobs":
        return value if isinstance(value, int) and value >= 1 else None
    if key == "timeout":
        return float(value) if value > 0 else None
    return float(value) if value >= 0 else None


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
