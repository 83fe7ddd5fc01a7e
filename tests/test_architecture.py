"""The module layering: which third-party packages each module may import, and the public API."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import engine

ENGINE = Path(engine.__file__).parent

# Third-party imports allowed per module (anything else from outside the standard
# library is a layering violation). Modules not listed may import no third party.
ALLOWED: dict[str, set[str]] = {
    "model": {"pydantic", "pydantic_core"},
    "loader": {"yaml"},
    "graph": {"networkx", "pydantic"},
    "report": {"rich"},
    "watchview": {"rich"},
    "batchreport": {"rich"},
    "cluster": {"dask", "distributed"},
    "cli": {"typer"},
    "watcher": {"watchdog"},
    "batch": {"dask", "distributed"},
    "vectorized": {"numpy"},
    "dataset": {"numpy"},
    "samples": {"numpy"},
    "codegen": {"numpy"},
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_third_party_imports_follow_the_allow_list() -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    violations = {}
    for path in sorted(ENGINE.glob("*.py")):
        third_party = imports(path) - stdlib - {"engine"}
        extra = third_party - ALLOWED.get(path.stem, set())
        if extra:
            violations[path.stem] = sorted(extra)
    assert violations == {}


def test_evaluator_is_plain_python() -> None:
    for module in ("evaluator", "program", "ops", "errors", "result"):
        assert imports(ENGINE / f"{module}.py") - set(sys.stdlib_module_names) - {"__future__", "engine"} == set()


def test_public_surface() -> None:
    assert sorted(engine.__all__) == sorted(name for name in engine.__all__ if hasattr(engine, name))
    assert {"load_circuit", "parse_circuit", "evaluate_file", "Circuit", "Result", "CircuitError",
            "LoadError", "SchemaError", "GraphError", "EvaluationError"} <= set(engine.__all__)


def test_modules_stay_small() -> None:
    sizes = {p.stem: len(p.read_text(encoding="utf-8").splitlines()) for p in ENGINE.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 450} == {}
