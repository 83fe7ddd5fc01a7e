"""The public API, private helpers and module sizes (the layering itself is import-linter's contract in
pyproject.toml)."""

from __future__ import annotations

import ast
import re
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


# The schema and API models are named in the JSON Schema and OpenAPI documents they generate.
_NAMED_BY_THEIR_DOCUMENTS = {"format/model.py", "serve/schemas.py"}


def _defined(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [name for name in names if not name.startswith("_")]


def _interface(tree: ast.Module) -> str:
    """The module's public signatures as text: what its public names expose of other names."""
    parts: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            not node.name.startswith("_") or node.name == "__init__"
        ):
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            parts += [ast.unparse(a.annotation) for a in args if a.annotation is not None]
            parts += [ast.unparse(node.returns)] if node.returns is not None else []
        elif isinstance(node, ast.AnnAssign) and not ast.unparse(node.target).startswith("_"):
            parts.append(ast.unparse(node.annotation))
    for node in tree.body:  # public type aliases
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id[:1].isupper() for t in node.targets):
            parts.append(ast.unparse(node.value))
    return " ".join(parts)


def test_helpers_used_only_inside_their_module_are_private() -> None:
    # Public means used from outside: by another module, a test, a benchmark or the docs.
    root = ENGINE.parent
    engine_texts = {p: p.read_text(encoding="utf-8") for p in ENGINE.rglob("*.py")}
    outside = [p.read_text(encoding="utf-8") for d in ("tests", "benchmarks") for p in (root / d).rglob("*.py")]
    outside += [p.read_text(encoding="utf-8") for p in [root / "README.md", *(root / "docs").rglob("*.md")]]
    private_only: list[str] = []
    for path, text in engine_texts.items():
        module = str(path.relative_to(ENGINE))
        if path.name == "__init__.py" or module in _NAMED_BY_THEIR_DOCUMENTS:
            continue
        tree = ast.parse(text)
        interface = _interface(tree)
        for name in _defined(tree):
            used = re.compile(rf"\b{re.escape(name)}\b").search
            elsewhere = [t for p, t in engine_texts.items() if p != path] + outside
            if not used(interface) and not any(used(t) for t in elsewhere):
                private_only.append(f"{module}: {name}")
    assert private_only == []
