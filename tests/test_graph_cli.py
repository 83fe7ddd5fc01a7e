"""``circuit graph`` and ``circuit watch --graph`` run as the installed command."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.drawkit import SVG, layered_circuit, parse
from tests.test_watch_cli import Watch
from tests.watchkit import save_atomic, save_in_place, seed

ROOT = Path(__file__).parent.parent
CIRCUIT = str(Path(sys.executable).parent / "circuit")
FAULT = "inputs: {x: 0}\ngates:\n  l: {op: log, in: [x]}\n  f: {op: neg, in: [l]}\n"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CIRCUIT, *args], capture_output=True, text=True, cwd=cwd)


def captions(svg: str) -> list[str]:
    return [t.text or "" for t in parse(svg).root.iter(f"{SVG}text") if "cap" in t.attrib.get("class", "")]


def test_graph_writes_the_seed_picture(tmp_path: Path) -> None:
    proc = run("graph", "circuits/seed.yaml", "-o", str(tmp_path / "seed.svg"))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    picture = parse((tmp_path / "seed.svg").read_text(encoding="utf-8"))
    assert picture.texts("f") == ["f", "mul", "value", "-12", "grad", "1"]


def test_graph_prints_svg_dot_and_mermaid_with_overrides() -> None:
    svg = run("graph", "circuits/seed.yaml", "--set", "x=1")  # the picture; with --set, expectations are skipped
    assert svg.returncode == 0 and parse(svg.stdout).texts("f")[3] == "-24"
    assert svg.stderr == ""
    dot = run("graph", "circuits/seed.yaml", "--format", "dot")
    assert dot.returncode == 0 and dot.stdout.startswith('digraph "seed" {\n  rankdir=LR;\n')
    mermaid = run("graph", "circuits/seed.yaml", "--format", "mermaid")
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("flowchart LR\n")


def test_an_invalid_file_gets_located_errors_and_no_picture(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("inputs: {x: 1}\ngates:\n  f: {op: nope, in: [x]}\n")
    proc = run("graph", "bad.yaml", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("bad.yaml:3:11: error[unknown-op] unknown op 'nope'\n  help: ops: add, ")


def test_a_faulting_circuit_gets_its_picture_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "fault.yaml").write_text(FAULT)
    proc = run("graph", "fault.yaml", cwd=tmp_path)
    assert proc.returncode == 1
    assert captions(proc.stdout) == ["fault.yaml:3:3: error[domain] gate 'l' log(0.0): log of a non-positive number"]
    assert proc.stderr.startswith("fault.yaml:3:3: error[domain] gate 'l' log(0.0): log of a non-positive number\n")


def test_focus_on_an_unknown_wire_and_unwritable_output() -> None:
    proc = run("graph", "circuits/seed.yaml", "--focus", "qq")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "circuits/seed.yaml: error[unknown-wire] no wire named 'qq' to focus on\n  help: did you mean 'q'?\n"
    )
    proc = run("graph", "circuits/seed.yaml", "-o", "no/such/folder/seed.svg")
    assert (proc.returncode, proc.stderr) == (
        2,
        "error: cannot write the picture to 'no/such/folder/seed.svg': no folder 'no/such/folder'\n",
    )


def test_a_big_circuit_says_it_draws_a_neighbourhood(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text(layered_circuit(400, seed=1))
    proc = run("graph", "big.yaml", "--depth", "2", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stderr == (
        "note: 400 gates are more than one picture shows legibly (300): drawing the neighbourhood of 'out' "
        "within 2 edges\n  help: choose another part with --focus WIRE --depth N, or draw it all with --whole\n"
    )
    assert "neighbourhood of 'out' within 2 edges" in captions(proc.stdout)[-1]
    focused = run("graph", "big.yaml", "--focus", "g10", "--depth", "1", cwd=tmp_path)
    assert focused.returncode == 0 and focused.stderr == ""
    assert "g10" in parse(focused.stdout).nodes
    whole = run("graph", "big.yaml", "--whole", cwd=tmp_path)
    assert whole.returncode == 0 and whole.stderr == "" and len(parse(whole.stdout).nodes) > 400


@pytest.mark.timeout(60)
def test_watch_keeps_the_pictures_current(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "pictures"
    out.mkdir()
    watch = Watch("--format", "json", "--graph", str(out), "circuits", cwd=folder.parent)
    assert watch.event()["event"] == "initial"  # each picture is written before its event is printed
    assert parse((out / "seed.svg").read_text(encoding="utf-8")).texts("f")[3] == "-12"
    save_atomic(folder / "seed.yaml", seed(1))
    assert watch.event()["result"]["value"] == -24.0
    assert parse((out / "seed.svg").read_text(encoding="utf-8")).texts("f")[3] == "-24"
    save_in_place(folder / "seed.yaml", seed(1).replace("x: 1", "x: [1"))
    assert watch.event()["stale"] is True
    stale = (out / "seed.svg").read_text(encoding="utf-8")
    assert parse(stale).texts("f")[3] == "-24"
    assert captions(stale)[1:] == [
        "stale: the file is broken now; this is its last good result",
        "circuits/seed.yaml:3:4: error[yaml-syntax] did not find expected ',' or ']'",
    ]
    (folder / "fault.yaml").write_text(FAULT)
    assert json.loads(json.dumps(watch.event()))["path"] == "circuits/fault.yaml"
    fault = (out / "fault.svg").read_text(encoding="utf-8")
    assert captions(fault) == ["circuits/fault.yaml:3:3: error[domain] gate 'l' log(0.0): log of a non-positive number"]
    assert parse(fault).nodes["l"].attrib["class"] == "node gate fault"
    (folder / "bad.yaml").write_text("inputs: {x: 1}\ngates:\n  f: {op: nope, in: [x]}\n")
    assert watch.event()["path"] == "circuits/bad.yaml"
    bad = parse((out / "bad.svg").read_text(encoding="utf-8"))
    assert bad.nodes == {} and [t.text for t in bad.root.iter(f"{SVG}text")][:2] == [
        "bad",
        "circuits/bad.yaml:3:11: error[unknown-op] unknown op 'nope'",
    ]
    (folder / "seed.yaml").unlink()
    assert watch.event()["event"] == "removed"
    assert sorted(p.name for p in out.iterdir()) == ["bad.svg", "fault.svg"]  # no temporary files left behind
    code, _ = watch.finish(signal.SIGINT)
    assert code == 0


def test_watch_graph_needs_a_folder(folder: Path) -> None:
    proc = run("watch", "circuits", "--graph", "nowhere", cwd=folder.parent)
    assert (proc.returncode, proc.stderr) == (2, "error: --graph needs an existing folder, got 'nowhere'\n")


def test_graph_max_bytes_default_is_the_loaders() -> None:
    from engine.cli.graph import DEFAULT_MAX_BYTES
    from engine.format.loader import DEFAULT_MAX_BYTES as LOADER

    assert DEFAULT_MAX_BYTES == LOADER


@pytest.mark.timeout(60)
def test_watch_goes_on_when_a_picture_cannot_be_written(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "pictures"
    out.mkdir()
    watch = Watch("--format", "json", "--graph", str(out), "circuits", cwd=folder.parent)
    watch.event()
    shutil.rmtree(out)
    save_atomic(folder / "seed.yaml", seed(1))
    assert watch.event()["result"]["value"] == -24.0  # the watch carries on
    assert watch.error_lines(1)[0].startswith(f"error: cannot write the picture '{out / 'seed.svg'}': ")
    code, _ = watch.finish(signal.SIGINT)
    assert code == 0
