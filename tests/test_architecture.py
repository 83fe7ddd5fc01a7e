"""The public API and module sizes (the layering itself is import-linter's contract in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

import engine

ENGINE = Path(engine.__file__).parent


def test_public_surface() -> None:
    assert sorted(engine.__all__) == sorted(name for name in engine.__all__ if hasattr(engine, name))
    assert {
        "load_circuit",
        "parse_circuit",
        "evaluate_file",
        "Circuit",
        "Result",
        "CircuitError",
        "LoadError",
        "SchemaError",
        "GraphError",
        "EvaluationError",
    } <= set(engine.__all__)


def test_modules_stay_small() -> None:
    sizes = {str(p.relative_to(ENGINE)): len(p.read_text(encoding="utf-8").splitlines()) for p in ENGINE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 520} == {}
