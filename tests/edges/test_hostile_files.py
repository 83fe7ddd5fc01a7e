"""Hostile files: huge integer literals, FIFOs, exotic line breaks, lone surrogates, and one number
grammar for files, ``--set`` and dataset cells."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

import engine
from engine.format.scalars import parse_number
from tests.edges.cli import ROOT, SEED, circuit
from tests.test_watch_cli import Watch
from tests.watchkit import save_in_place, seed

HUGE = "1" * 5000  # past Python's 4,300-digit int-string limit


def huge_file(tmp_path: Path, literal: str = HUGE) -> Path:
    path = tmp_path / "huge.yaml"
    path.write_text(f"inputs:\n  x: 1\n  y: {literal}\ngates:\n  f: {{op: add, in: [x, y]}}\n")
    return path


@pytest.mark.parametrize("command", ["eval", "check"])
def test_a_huge_integer_is_an_invalid_number_at_its_place(tmp_path: Path, command: str) -> None:
    path = huge_file(tmp_path)
    proc = circuit(command, str(path))
    assert proc.returncode == 1
    assert (
        f"{path}:3:6: error[invalid-number] expected a finite number, got 11111111111111111111111111111111… "
        "(5,000 characters)\n  help: the number is too large: floats reach about 1.8e308\n"
    ) in proc.stdout + proc.stderr
    assert "internal error" not in proc.stderr


@pytest.mark.parametrize(
    "literal", ["0x" + "f" * 5000, "0o" + "7" * 5000, "-" + HUGE, "1" * 400, "0x" + "f" * 300, HUGE + ".5", HUGE + "e3"]
)
def test_huge_literals_of_every_shape(literal: str) -> None:
    with pytest.raises(engine.CircuitError) as caught:
        engine.parse_circuit(f"inputs:\n  x: 1\n  y: {literal}\ngates:\n  f: {{op: add, in: [x, y]}}\n")
    assert [(i.code, i.line, i.column) for i in caught.value.issues] == [("invalid-number", 3, 6)]


def test_huge_literals_that_are_small_numbers_are_fine() -> None:
    circuit_ = engine.parse_circuit(f"inputs: {{x: 0x{'0' * 5000}1}}\ngates:\n  f: {{op: neg, in: [x]}}\n")
    assert circuit_.defaults == {"x": 1.0}


def test_a_huge_integer_in_a_folder_keeps_the_other_results(tmp_path: Path) -> None:
    huge_file(tmp_path)
    (tmp_path / "seed.yaml").write_text((ROOT / SEED).read_text())
    proc = circuit("check", str(tmp_path), "--format", "json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert [(r["circuit"], r["status"]) for r in report["results"]] == [("huge", "invalid"), ("seed", "ok")]


def test_saving_a_huge_integer_into_a_watched_file_does_not_kill_watch(folder: Path) -> None:
    watch = Watch("--format", "json", "circuits", cwd=folder.parent)
    watch.event()
    save_in_place(folder / "seed.yaml", seed(1).replace("x: 1", f"x: {HUGE}"))
    stale = watch.event()
    assert [e["code"] for e in stale["errors"]] == ["invalid-number"]
    save_in_place(folder / "seed.yaml", seed(2))
    assert watch.event()["result"]["status"] == "ok"
    code, stderr = watch.finish(signal.SIGINT)
    assert code == 0 and "Traceback" not in stderr


FIFO_MESSAGE = "error[io] is not a regular file (it is a FIFO)\n"


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", [["eval"], ["check"], ["batch", "-j", "1", "--timeout", "1"]])
def test_a_fifo_is_refused_without_waiting(fifo: Path, command: list[str]) -> None:
    # as reported: these blocked forever on the FIFO
    proc = circuit(*command, str(fifo), SEED) if command[0] != "eval" else circuit("eval", str(fifo))
    assert proc.returncode == 1
    assert f"{fifo}: {FIFO_MESSAGE}" in proc.stdout + proc.stderr


def test_a_fifo_in_a_watched_folder_freezes_nothing(folder: Path) -> None:
    watch = Watch("--format", "json", "circuits", cwd=folder.parent)
    assert watch.event()["path"] == "circuits/seed.yaml"
    os.mkfifo(folder / "p.yaml")
    save_in_place(folder / "seed.yaml", seed(3))
    events = [watch.event(), watch.event()]
    by_path = {e["path"]: e for e in events}
    assert by_path["circuits/seed.yaml"]["result"]["status"] == "ok"
    assert by_path["circuits/p.yaml"]["result"]["errors"][0]["message"] == "is not a regular file (it is a FIFO)"
    code, _ = watch.finish(signal.SIGINT)
    assert code == 0


def test_a_nel_in_a_comment_is_not_a_line_break() -> None:
    # as reported: a NEL inside a comment broke the file, and the error was one line off
    text = "inputs: {x: 1}\n# a comment \x85 with: [ a NEL\ngates:\n  f: {op: neg, in: [y]}\n"
    with pytest.raises(engine.CircuitError) as caught:
        engine.parse_circuit(text)
    assert [(i.code, i.line, i.column) for i in caught.value.issues] == [("unknown-wire", 4, 21)]


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"])
def test_yaml_11_line_breaks_are_ordinary_characters(char: str) -> None:
    text = f'name: "a{char}b"\ninputs: {{x: 1}}\ngates:\n  f: {{op: neg, in: [x]}}\n  g{char}: {{op: neg, in: [x]}}\n'
    with pytest.raises(engine.CircuitError) as caught:
        engine.parse_circuit(text)
    assert [(i.code, i.line, i.column, i.message) for i in caught.value.issues] == [
        ("invalid-name", 5, 3, f"'g{char}' is not a valid wire name")
    ]
    ok = engine.parse_circuit(f'name: "a{char}b"\ninputs: {{x: 1}}\ngates:\n  f: {{op: neg, in: [x]}}\n')
    assert ok.name == f"a{char}b"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_position_counts_lines_as_yaml_does(newline: str) -> None:
    # a parser error, a schema error, a control character, a tab, an encoding error: one line numbering
    lines = ["inputs: {x: 1}", "gates:", "  f: {op: neg, in: [y]}"]
    cases = {
        "unknown-wire": (lines, (3, 21)),
        "unknown-op": (["inputs: {x: 1}", "gates:", "  f: {op: nope, in: [x]}"], (3, 11)),
        "control-char": (["inputs: {x: 1}", "gates:", "  f: {op: neg, in: [x]}\x07"], (3, 24)),
        "tab-indent": (["inputs: {x: 1}", "gates:", "\tf: {op: neg, in: [x]}"], (3, 1)),
        "yaml-syntax": (["inputs: {x: 1}", "gates:", "  f: {op: neg, in: [x}"], (3, 22)),
    }
    for code, (text_lines, place) in cases.items():
        with pytest.raises(engine.CircuitError) as caught:
            engine.parse_circuit(newline.join(text_lines) + newline)
        assert (caught.value.first.code, (caught.value.line, caught.value.column)) == (code, place), newline
    data = newline.join(["inputs: {x: 1}", "gates:", "  f: {op: neg, in: [x]} # \xff"]).encode("utf-8")
    data = data.replace(b"\xc3\xbf", b"\xff")
    with pytest.raises(engine.CircuitError) as caught:
        engine.format.loader.decode(data, "f.yaml")
    assert (caught.value.line, caught.value.column) == (3, 27)


def test_a_lone_surrogate_is_a_circuit_error() -> None:
    # as reported: parse_circuit raised UnicodeEncodeError
    with pytest.raises(engine.CircuitError) as caught:
        engine.parse_circuit("inputs: {x: 1}\ngates:\n  f: {op: neg, in: [x]}  # \ud800\n")
    assert [(i.code, i.line, i.column, i.message) for i in caught.value.issues] == [
        ("encoding", 3, 28, "lone surrogate U+D800 is not a character")
    ]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1.5", 1.5),
        ("-2", -2.0),
        ("1e3", 1000.0),
        ("0x10", 16.0),
        ("0o17", 15.0),
        (".5", 0.5),
        ("1_000", None),
        ("\u0661\u0662", None),  # Arabic-Indic 12
        ("010", None),
        ("inf", None),
        (".inf", None),
        ("nan", None),
        ("true", None),
        ("1e400", None),
        ("", None),
    ],
)
def test_one_number_grammar_for_files_set_and_datasets(tmp_path: Path, text: str, number: float | None) -> None:
    assert parse_number(text) == number
    file = tmp_path / "c.yaml"
    file.write_text(f"inputs: {{x: {text or '~'}}}\ngates:\n  f: {{op: neg, in: [x]}}\n", encoding="utf-8")
    in_file = circuit("eval", str(file), "--format", "json")
    with_set = circuit("eval", str(tmp_path / "c.yaml"), "--set", f"x={text}", "--format", "json")
    data = tmp_path / "d.csv"
    data.write_text(f"x\n{text or '~'}\n", encoding="utf-8")
    in_csv = circuit("eval", str(file), "--inputs", str(data), "--format", "json")
    if number is None:
        assert in_file.returncode == 1
        assert with_set.returncode == 2
        assert in_csv.returncode != 0
    else:
        assert json.loads(in_file.stdout)["values"]["x"] == number
        assert json.loads(with_set.stdout)["values"]["x"] == number
        assert json.loads(in_csv.stdout)["values"]["x"] == [number]
