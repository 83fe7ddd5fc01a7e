"""The docs stay true: every command and Python example in README.md and docs/ runs and prints what it shows.

Examples run in a scratch folder holding copies of ``circuits/`` and ``schemas/``, the files of
``docs/examples/`` at its root, and the batch tests' mixed ``suite/``. A ``console`` block is a list of
``$ command`` lines, each followed by what it prints (stdout and stderr together). Outputs are compared
after one normalisation, applied to both sides: durations (``51.1 ms``, ``0.53 s``) and clock times
become placeholders, and runs of spaces or of table rules become one, since their widths follow the
durations. A block preceded by ``<!-- docs-test: skip REASON -->`` is not run (a command that never
ends, such as ``watch``); the reason is required.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.batch.mixed_suite import make_suite

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?P<skip><!-- docs-test: skip (?P<reason>[^>]+?) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    lang: str
    body: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _examples(lang: str) -> list[Example]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            if match["lang"] == lang:
                line = text.count("\n", 0, match.start("lang")) + 1
                found.append(Example(str(doc.relative_to(ROOT)), line, lang, match["body"], match["reason"]))
    return found


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    for folder in ("circuits", "schemas"):
        shutil.copytree(ROOT / folder, root / folder)
    for item in (ROOT / "docs" / "examples").iterdir():
        copy = shutil.copytree if item.is_dir() else shutil.copy
        copy(item, root / item.name)
    make_suite(root)
    return root


def _normalise(text: str) -> str:
    text = re.sub(r"\b\d\d:\d\d:\d\d\b", "<clock>", text)
    text = re.sub(r"-?\d+(\.\d+)? ?(ms|s)\b", "<time>", text)
    text = re.sub(r"\"elapsed_(ms|s)\": [0-9.e-]+", '"elapsed": <time>', text)
    text = re.sub(r"([━─═]){2,}", r"\1", text)
    text = re.sub(r"[ \t]+", " ", text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def _sessions(body: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` for each ``$ `` line of a console block."""
    sessions: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            sessions.append((line[2:], []))
        elif sessions:
            sessions[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in sessions]


def _env() -> dict[str, str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


CONSOLE = _examples("console")
PYTHON = _examples("python")


def test_docs_have_examples() -> None:
    assert len(CONSOLE) >= 3 and len(PYTHON) >= 2


@pytest.mark.parametrize("example", CONSOLE, ids=[e.id for e in CONSOLE])
def test_console_example(example: Example, scratch: Path) -> None:
    if example.skip:
        pytest.skip(example.skip)
    for command, expected in _sessions(example.body):
        argv = shlex.split(command)
        if argv[0] == "circuit":
            argv = [sys.executable, "-m", "engine", *argv[1:]]
        done = subprocess.run(argv, cwd=scratch, capture_output=True, text=True, timeout=120, env=_env())
        outputs = {_normalise(done.stdout + done.stderr), _normalise(done.stderr + done.stdout)}
        assert _normalise(expected) in outputs, f"{example.id}: $ {command}"


@pytest.mark.parametrize("example", PYTHON, ids=[e.id for e in PYTHON])
def test_python_example(example: Example, scratch: Path) -> None:
    if example.skip:
        pytest.skip(example.skip)
    script = scratch / f"example_{example.line}.py"
    script.write_text(example.body, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, script.name], cwd=scratch, capture_output=True, text=True, timeout=60, env=_env()
    )
    assert (done.returncode, done.stderr) == (0, ""), f"{example.id}\n{done.stderr}"


def test_readme_is_a_front_door() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


def test_quick_start_commands_are_the_ones_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e . && circuit eval circuits/seed.yaml" in readme
    assert re.search(r"pip install (-q )?-e \. && circuit eval circuits/seed\.yaml", ci)
    assert "pip install -e '.[test]' && python -m pytest" in readme
    assert "pip install -q -e '.[test]' && run_pytest\n" in ci
    assert 'python -m pytest -q -p no:cacheprovider "$@"' in ci


def test_every_op_is_documented() -> None:
    from engine.ops import OPS

    reference = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `(\w+)` \| (\S+) \|", reference, re.M)
    assert [(name, arity) for name, arity in documented if name in OPS] == [
        (name, op.arity_text()) for name, op in OPS.items()
    ]


def test_links_between_docs_resolve() -> None:
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if "://" not in target and not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_no_figure_is_typed_by_hand_into_performance() -> None:
    performance = ROOT / "docs" / "performance.md"
    if not performance.exists():
        pytest.skip("no performance document yet")
    text = performance.read_text(encoding="utf-8")
    outside = re.sub(r"<!-- bench:(\w+) -->.*?<!-- /bench:\1 -->", "", text, flags=re.S)
    assert not re.search(r"\d+(\.\d+)? ?(ms|µs|ns)\b", outside)
