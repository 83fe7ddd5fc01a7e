"""User text (names, keys, paths) reaches terminals and reports escaped: never as control
characters, never as rich markup, never as XML that does not parse."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import junitparser
import pytest

from engine.errors import Issue, github_annotation, printable
from tests.edges.cli import circuit

CLEAR = "\x1b[2J"
FORGE = "\x1b[31mx\n fake: f = 1"


def test_printable_escapes_every_control_character() -> None:
    assert printable(f"a{CLEAR}b") == "a\\x1b[2Jb"
    assert printable(FORGE) == "\\x1b[31mx\\n fake: f = 1"
    assert printable("tab\there\rcr\x00nul\x7fdel\x85nel\x9bcsi") == "tab\\there\\rcr\\x00nul\\x7fdel\\x85nel\\x9bcsi"
    assert printable("rtl\u202eoverride\u2028ls\ufeffbom\ud800") == "rtl\\u202eoverride\\u2028ls\\ufeffbom\\ud800"
    assert printable("plain text, ünïcödé and ∂ stay") == "plain text, ünïcödé and ∂ stay"


def test_every_issue_rendering_is_escaped() -> None:
    issue = Issue("invalid-name", f"'{FORGE}' is not a valid wire name", f"d{CLEAR}.yaml", 3, 3, f"h{CLEAR}")
    assert issue.render() == (
        "d\\x1b[2J.yaml:3:3: error[invalid-name] '\\x1b[31mx\\n fake: f = 1' is not a valid wire name\n"
        "  help: h\\x1b[2J"
    )
    assert github_annotation(issue) == (
        "::error file=d\\x1b[2J.yaml,line=3,col=3,title=invalid-name"
        "::'\\x1b[31mx\\n fake: f = 1' is not a valid wire name (help: h\\x1b[2J)"
    )


def forged(tmp_path: Path) -> Path:
    """A circuit whose name and a gate key carry escape sequences and a newline."""
    path = tmp_path / "forged.yaml"
    path.write_text(
        'name: "\\e[2J\\e[31mred\\n fake: f = 1"\ninputs: {x: 1}\ngates:\n  "g\\e[2J": {op: neg, in: [x]}\n',
        encoding="utf-8",
    )
    return path


def test_no_control_character_reaches_the_terminal_from_check(tmp_path: Path) -> None:
    proc = circuit("check", str(forged(tmp_path)))
    assert proc.returncode == 1
    assert "\x1b" not in proc.stdout + proc.stderr
    assert f"{tmp_path}/forged.yaml:4:3: error[invalid-name] 'g\\x1b[2J' is not a valid wire name\n" in proc.stdout


def test_no_control_character_reaches_the_terminal_from_eval(tmp_path: Path) -> None:
    path = tmp_path / "named.yaml"
    path.write_text('name: "\\e[2J\\e[31mred\\n fake: f = 1"\ninputs: {x: 1}\ngates:\n  f: {op: neg, in: [x]}\n')
    proc = circuit("eval", str(path))
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == "\\x1b[2J\\x1b[31mred\\n fake: f = 1: f = -1"
    assert "\x1b" not in proc.stdout and "\n fake" not in proc.stdout


@pytest.mark.parametrize("fmt", ["text", "github", "junit"])
def test_batch_reports_escape_names_and_paths(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    forged(tmp_path).rename(folder / "bad\x1b[2J.yaml")
    proc = circuit("batch", str(folder), "-j", "1", "--format", fmt)
    assert proc.returncode == 1
    assert "\x1b" not in proc.stdout + proc.stderr
    if fmt == "junit":
        root = ET.fromstring(proc.stdout)
        case = root.find("testsuite/testcase")
        assert case is not None and case.get("name") == "bad\\x1b[2J.yaml"
        suite = junitparser.JUnitXml.fromstring(proc.stdout)
        assert [c.name for s in suite for c in s] == ["bad\\x1b[2J.yaml"]
    else:
        assert "bad\\x1b[2J.yaml" in proc.stdout


def test_a_path_with_markup_does_not_crash_the_batch_text(tmp_path: Path) -> None:
    # as reported: a path containing `[/x]` raised MarkupError; `[bold red]y.yaml` printed as `y.yaml`
    folder = tmp_path / "a[" / "x]"  # a path that holds `[/x]`
    folder.mkdir(parents=True)
    seed = Path(__file__).parents[2] / "circuits" / "seed.yaml"
    (folder / "[bold red]y.yaml").write_text(seed.read_text())
    proc = circuit("batch", str(folder), "-j", "1")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert f"{folder}/[bold red]y.yaml" in proc.stdout


def test_a_circuit_name_with_markup_evaluates(tmp_path: Path) -> None:
    # as reported: `name: "[/oops] my circuit"` crashed `circuit eval`
    path = tmp_path / "c.yaml"
    path.write_text('name: "[/oops] my circuit"\ninputs: {x: 2}\ngates:\n  f: {op: neg, in: [x]}\n')
    for env in ({}, {"FORCE_COLOR": "1"}):
        proc = circuit("eval", str(path), env=env)
        assert (proc.returncode, proc.stderr) == (0, "")
        assert "[/oops] my circuit: f = -2" in proc.stdout


def test_a_control_character_in_a_file_name_keeps_the_junit_xml_readable(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    seed = Path(__file__).parents[2] / "circuits" / "seed.yaml"
    (folder / "a\x01\x1fb.yaml").write_text(seed.read_text())
    proc = circuit("batch", str(folder), "-j", "1", "--format", "junit")
    assert proc.returncode == 0
    names = [case.get("name") for case in ET.fromstring(proc.stdout).iter("testcase")]
    assert names == ["a\\x01\\x1fb.yaml"]
