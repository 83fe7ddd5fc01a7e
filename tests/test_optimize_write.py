"""`circuit optimize --write`: only the parameters' numbers change in the file, atomically, and
never over a file that changed since it was read."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import engine
from engine.errors import CircuitError, LoadError
from engine.format.edit import set_inputs, write_inputs


def _load(path: Path) -> tuple[bytes, engine.Circuit]:
    original = path.read_bytes()
    return original, engine.parse_circuit(original.decode("utf-8"), path.stem, path=str(path))


CIRCUIT = shutil.which("circuit", path=str(Path(sys.executable).parent)) or "circuit"

COMMENTED = """\
# A neuron, with comments everywhere   ü
name: neuron   # the name
inputs:
  a: {value: 1, doc: "weight of x"}   # stays
  b:
    doc: weight of y
    value: 2.0e0        # written in another style
  c: {doc: "bias — ünïcode", value: -3}
  x: -1  # an example's feature
  y: +3
gates:   # in file order
  ax: {op: mul, in: [a, x]}
  by: {op: mul, in: [b, y]}
  s: {op: add, in: [ax, by, c]}
  f: {op: sigmoid, in: [s]}
output: f
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CIRCUIT, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    old, new = before.decode().splitlines(keepends=True), after.decode().splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new) if a != b]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_write_changes_only_the_parameter_numbers(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "neuron.yaml"
    before = COMMENTED.replace("\n", newline).encode()
    path.write_bytes(before)
    done = run("optimize", "neuron.yaml", "--maximize", "--steps", "1", "--params", "a,b,c,y", "--write", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    after = path.read_bytes()
    nl = newline
    assert _changed_lines(before, after) == [
        (
            '  a: {value: 1, doc: "weight of x"}   # stays' + nl,
            '  a: {value: 0.998950064145965, doc: "weight of x"}   # stays' + nl,
        ),
        (
            "    value: 2.0e0        # written in another style" + nl,
            "    value: 2.0031498075621053        # written in another style" + nl,
        ),
        (
            '  c: {doc: "bias — ünïcode", value: -3}' + nl,
            '  c: {doc: "bias — ünïcode", value: -2.9989500641459648}' + nl,
        ),
        ("  y: +3" + nl, "  y: 3.00209987170807" + nl),
    ]
    # every byte outside those numbers is the same
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    changed = [before[i1:i2] for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]
    assert b"".join(changed).strip(b"0123456789.e+-") == b""
    # and the file reads back as the optimised circuit
    reloaded = engine.load_circuit(path)
    assert reloaded.defaults == {
        "a": 0.998950064145965,
        "b": 2.0031498075621053,
        "c": -2.9989500641459648,
        "x": -1.0,
        "y": 3.00209987170807,
    }


def test_write_keeps_a_byte_order_mark_and_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "xy.yaml"
    path.write_bytes(b"\xef\xbb\xbfinputs: {x: -2, y: 3}\ngates:\n  f: {op: mul, in: [x, y]}\n")
    path.chmod(0o640)
    done = run("optimize", "xy.yaml", "--maximize", "--steps", "1", "--write", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == b"\xef\xbb\xbfinputs: {x: -1.97, y: 2.98}\ngates:\n  f: {op: mul, in: [x, y]}\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["xy.yaml"]  # no temporary file left behind


def test_write_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "xy.yaml"
    path.write_text("inputs: {x: -2, y: 3}\ngates:\n  f: {op: mul, in: [x, y]}\n", encoding="utf-8")
    original, circuit = _load(path)
    result = circuit.optimize("maximize", steps=1)
    edited = "inputs: {x: -2, y: 4}\ngates:\n  f: {op: mul, in: [x, y]}\n"
    path.write_text(edited, encoding="utf-8")  # someone saves while the optimisation runs
    with pytest.raises(CircuitError) as caught:
        write_inputs(path, original, circuit.source, circuit.defaults, result.params)
    assert caught.value.issues[0].render() == (
        f"{path}: error[changed-on-disk] file changed on disk since it was read; parameters not written\n"
        "  help: run the optimisation again on the current file"
    )
    assert path.read_text(encoding="utf-8") == edited


def test_write_is_atomic_for_a_concurrent_reader(tmp_path: Path) -> None:
    # A reader polling the file while it is rewritten many times sees the old or the new text, never a part.
    path = tmp_path / "xy.yaml"
    texts = set()
    path.write_text("inputs: {x: -2, y: 3}\ngates:\n  f: {op: mul, in: [x, y]}\n", encoding="utf-8")
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            texts.add(path.read_text(encoding="utf-8"))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(30):
            original, circuit = _load(path)
            params = circuit.optimize("maximize", steps=1).params
            write_inputs(path, original, circuit.source, circuit.defaults, params)
    finally:
        stop.set()
        reader.join()
    for seen in texts:
        engine.parse_circuit(seen, "xy")  # every text seen is a whole, valid circuit
    assert engine.load_circuit(path).defaults["x"] > -2


def test_set_inputs_refuses_text_that_is_not_the_one_loaded() -> None:
    text = "inputs: {x: -2}\ngates:\n  f: {op: neg, in: [x]}\n"
    circuit = engine.parse_circuit(text, "n", path="n.yaml")
    with pytest.raises(LoadError) as caught:
        set_inputs(text.replace("-2", "-5"), circuit.source, {"x": 1.0}, circuit.defaults, "n.yaml")
    assert caught.value.issues[0].render() == (
        "n.yaml:1:13: error[edit] the value of input 'x' is not where the file was read\n"
        "  help: load the file again and retry"
    )


def test_no_write_after_a_fault(tmp_path: Path) -> None:
    path = tmp_path / "lg.yaml"
    text = "inputs: {x: 0.05}\ngates:\n  f: {op: log, in: [x]}\n"
    path.write_text(text, encoding="utf-8")
    done = run("optimize", "lg.yaml", "--minimize", "--write", cwd=tmp_path)
    assert done.returncode == 1
    assert path.read_text(encoding="utf-8") == text


def test_a_running_watch_picks_up_the_write(tmp_path: Path) -> None:
    path = tmp_path / "xy.yaml"
    path.write_text("inputs: {x: -2, y: 3}\ngates:\n  f: {op: mul, in: [x, y]}\n", encoding="utf-8")
    values: list[float | None] = []
    seen = threading.Event()

    def on_event(event: object) -> None:
        result = getattr(event, "result", None)
        values.append(getattr(result, "value", None))
        if values[-1] is not None and values[-1] != -6.0:
            seen.set()

    with engine.watch([tmp_path], on_event) as handle:
        assert handle is not None
        done = run("optimize", "xy.yaml", "--maximize", "--steps", "1", "--write", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert seen.wait(30), f"watch saw only {values}"
    assert values[-1] == pytest.approx(-5.8706)


def test_write_refuses_a_parameter_of_a_sub_circuit(tmp_path: Path) -> None:
    import shutil
    import subprocess

    for name in ("neuron_expr.yaml", "network.yaml"):
        shutil.copy(Path(__file__).resolve().parent.parent / "circuits" / name, tmp_path / name)
    before = (tmp_path / "network.yaml").read_bytes()
    done = subprocess.run(
        ["circuit", "optimize", "network.yaml", "--maximize", "--steps", "1", "--write"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "error[edit] cannot write '" in done.stderr and "it is a parameter of a sub-circuit" in done.stderr
    assert (tmp_path / "network.yaml").read_bytes() == before
