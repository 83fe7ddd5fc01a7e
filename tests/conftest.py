"""Fixtures shared by the test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.watchkit import seed


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder `circuits/` holding `seed.yaml` (f = (x + y)·z at x = -2)."""
    root = tmp_path / "circuits"
    root.mkdir()
    (root / "seed.yaml").write_text(seed(-2))
    return root
