"""Discovery: .gitignore-style --exclude (components, anchored globs, **), hidden folders pruned
before they are walked, --exclude for check as for batch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.format.files import discover
from tests.edges.cli import ROOT, circuit

SEED = (ROOT / "circuits" / "seed.yaml").read_text()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/{good/a, good/sub/b, bad/c, bad/tmp_e, tmp_x/f, g}.yaml plus hidden .venv and .git files."""
    root = tmp_path / "root"
    for name in ["good/a", "good/sub/b", "bad/c", "bad/tmp_e", "tmp_x/f", "g", ".venv/lib/d", ".git/h", "good/.i"]:
        path = root / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SEED)
    return root


def found(root: Path, *exclude: str) -> list[str]:
    return [p.relative_to(root).as_posix() for p in discover([root], exclude)]


def test_everything_but_hidden_files_and_folders(tree: Path) -> None:
    assert found(tree) == ["bad/c.yaml", "bad/tmp_e.yaml", "g.yaml", "good/a.yaml", "good/sub/b.yaml", "tmp_x/f.yaml"]


@pytest.mark.parametrize(
    ("pattern", "left"),
    [
        ("good", ["bad/c.yaml", "bad/tmp_e.yaml", "g.yaml", "tmp_x/f.yaml"]),  # a component anywhere
        ("good/*", ["bad/c.yaml", "bad/tmp_e.yaml", "g.yaml", "tmp_x/f.yaml"]),  # anchored at the root searched
        ("**/tmp_*", ["bad/c.yaml", "g.yaml", "good/a.yaml", "good/sub/b.yaml"]),  # files and folders at any depth
        ("sub/", ["bad/c.yaml", "bad/tmp_e.yaml", "g.yaml", "good/a.yaml", "tmp_x/f.yaml"]),  # folders only
        ("*.yaml", []),
        ("c.yaml", ["bad/tmp_e.yaml", "g.yaml", "good/a.yaml", "good/sub/b.yaml", "tmp_x/f.yaml"]),
    ],
)
def test_gitignore_style_patterns(tree: Path, pattern: str, left: list[str]) -> None:
    assert found(tree, pattern) == left


def test_patterns_also_match_the_path_as_given(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree.parent)
    assert [p.as_posix() for p in discover(["root"], ["root/bad"])] == [
        "root/g.yaml",
        "root/good/a.yaml",
        "root/good/sub/b.yaml",
        "root/tmp_x/f.yaml",
    ]
    assert discover(["root/good/a.yaml"], ["good"]) == [], "a file named on the command line is excluded too"


def test_negation_brings_a_file_back(tree: Path) -> None:
    assert found(tree, "*.yaml", "!g.yaml") == ["g.yaml"]


def test_hidden_and_excluded_folders_are_never_entered(tree: Path) -> None:
    # every folder opened is recorded by an audit hook in a fresh interpreter
    script = (
        "import sys, os\n"
        "opened = []\n"
        "sys.addaudithook(lambda e, a: opened.append(str(a[0])) if e == 'os.scandir' else None)\n"
        "from engine.format.files import discover\n"
        "discover([sys.argv[1]], ['tmp_x'])\n"
        "print('\\n'.join(sorted(os.path.relpath(p, sys.argv[1]) for p in opened)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tree)], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    )
    assert proc.stdout.split() == [".", "bad", "good", "good/sub"]


@pytest.mark.parametrize("command", ["check", "batch"])
def test_check_and_batch_take_exclude(tree: Path, command: str) -> None:
    args = [command, str(tree), "--exclude", "good", "--exclude", "**/tmp_*", "--format", "json"]
    proc = circuit(*args, *(["-j", "1"] if command == "batch" else []))
    assert proc.returncode == 0
    paths = [Path(r["path"]).relative_to(tree).as_posix() for r in json.loads(proc.stdout)["results"]]
    assert paths == ["bad/c.yaml", "g.yaml"]
