"""The batch modules import only what the house allow-list gives them, and dask
only lazily (so that nothing else pays for it)."""

from __future__ import annotations

import ast
import sys

import pytest
from mixed_suite import REPO

ALLOWED = {
    "batching": set(),
    "pool": set(),
    "deadline": set(),
    "batchreport": {"rich"},
    "cluster": {"distributed"},
}


def third_party_imports(module: str) -> tuple[set[str], set[str]]:
    """(imported at module level, imported inside functions), third-party top-level names only."""
    tree = ast.parse((REPO / "engine" / f"{module}.py").read_text())
    top: set[str] = set()
    nested: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        roots = {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - {"engine", "__future__"}
        (top if node in tree.body else nested).update(roots)
    return top, nested


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_imports_follow_the_allow_list(module: str) -> None:
    top, nested = third_party_imports(module)
    assert top | nested <= ALLOWED[module]
    assert not top, "third-party modules are imported where used, not at import time"


def test_public_names_resolve_lazily() -> None:
    import engine

    for name in engine.__all__:
        assert getattr(engine, name) is not None
    assert callable(engine.batch) and engine.batch.__module__ == "engine.batching"
    assert set(engine.__all__) <= set(dir(engine))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        engine.nope  # noqa: B018
