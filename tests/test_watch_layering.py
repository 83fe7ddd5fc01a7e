"""Watch keeps the house layering: watchdog lives in one module, which knows nothing of circuits."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).parent.parent / "engine"


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_watcher_imports_watchdog() -> None:
    users = sorted(p.name for p in ENGINE.glob("*.py") if any(n.split(".")[0] == "watchdog" for n in imports(p)))
    assert users == ["watcher.py"]


def test_the_watcher_knows_nothing_of_circuits() -> None:
    assert not any(name.startswith("engine") for name in imports(ENGINE / "watcher.py"))


def test_importing_engine_does_not_load_watchdog() -> None:
    code = "import sys, engine; print(sorted(m for m in sys.modules if m.split('.')[0] == 'watchdog'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"
