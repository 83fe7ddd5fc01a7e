"""`--output` (of `batch` and of `eval --inputs`) never replaces what the name stands for:
devices, FIFOs and this process's stdout are written through, symbolic links keep
pointing where they did (their target gets the data, atomically when it is a regular
file), and missing folders are created."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.format.files import write_atomic, write_output

CIRCUIT = shutil.which("circuit", path=str(Path(sys.executable).parent)) or "circuit"
SEED = Path(__file__).resolve().parents[1] / "circuits" / "seed.yaml"
SEED_CSV = "x,y,z,f,df/dx,df/dy,df/dz\n1.0,5.0,-4.0,-24.0,-4.0,-4.0,6.0\n"


def circuit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CIRCUIT, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    shutil.copy(SEED, tmp_path / "seed.yaml")
    (tmp_path / "data.csv").write_text("x\n1\n", encoding="utf-8")
    return tmp_path


def batch_report(work: Path, output: str) -> subprocess.CompletedProcess[str]:
    return circuit("batch", "seed.yaml", "--jobs", "1", "--format", "json", "--output", output, cwd=work)


def eval_inputs(work: Path, output: str) -> subprocess.CompletedProcess[str]:
    return circuit("eval", "seed.yaml", "--inputs", "data.csv", "--output", output, cwd=work)


COMMANDS: dict[str, Callable[[Path, str], subprocess.CompletedProcess[str]]] = {
    "batch": batch_report,
    "eval --inputs": eval_inputs,
}


def written_by(command: str, text: str) -> None:
    """`text` is what `command` writes to its --output."""
    if command == "batch":
        report = json.loads(text)
        assert [(r["path"], r["status"]) for r in report["results"]] == [("seed.yaml", "ok")]
    else:
        assert text == SEED_CSV


def test_dev_null_stays_a_device(work: Path) -> None:
    # the attack run's example: run as root, the report used to be renamed over /dev/null
    done = circuit("batch", "seed.yaml", "--jobs", "1", "--output", "/dev/null", cwd=work)
    assert (done.returncode, done.stderr) == (0, "")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_device_node_is_written_through(work: Path, command: str) -> None:
    node = work / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    except PermissionError:
        node = Path("/dev/null")
    done = COMMANDS[command](work, str(node))
    assert (done.returncode, done.stderr) == (0, "")
    assert stat.S_ISCHR(node.stat().st_mode)
    assert sorted(p.name for p in work.iterdir()) == sorted(
        ["data.csv", "seed.yaml", *(["null"] if node.parent == work else [])]
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_dev_stdout_gets_the_whole_report(work: Path, command: str) -> None:
    done = COMMANDS[command](work, "/dev/stdout")
    assert (done.returncode, done.stderr) == (0, "")
    if command == "batch":
        report, summary = done.stdout.splitlines()
        written_by(command, report)
        assert summary.startswith("1 circuit in ") and summary.endswith(" s: 1 ok")  # after the report
    else:
        written_by(command, done.stdout)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_symlink_keeps_pointing_at_its_target(work: Path, command: str) -> None:
    (work / "reports").mkdir()
    target = work / "reports" / "latest.out"
    target.write_text("old\n")
    target.chmod(0o640)
    (work / "link.out").symlink_to("reports/latest.out")
    done = COMMANDS[command](work, "link.out")
    assert (done.returncode, done.stderr) == (0, "")
    assert (work / "link.out").is_symlink() and os.readlink(work / "link.out") == "reports/latest.out"
    written_by(command, target.read_text())
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # replaced atomically, mode kept
    assert sorted(p.name for p in (work / "reports").iterdir()) == ["latest.out"]  # no temporary file


def test_a_dangling_symlink_gets_its_target_created(work: Path) -> None:
    (work / "link.json").symlink_to("made/report.json")
    done = batch_report(work, "link.json")
    assert (done.returncode, done.stderr) == (0, "")
    assert (work / "link.json").is_symlink()
    written_by("batch", (work / "made" / "report.json").read_text())


@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_is_written_through(work: Path, command: str) -> None:
    fifo = work / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    done = COMMANDS[command](work, str(fifo))
    reader.join(60)
    assert (done.returncode, done.stderr) == (0, "")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    written_by(command, received[0])


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_folders_are_created(work: Path, command: str) -> None:
    done = COMMANDS[command](work, "reports/ci/out.txt")
    assert (done.returncode, done.stderr) == (0, "")
    written_by(command, (work / "reports" / "ci" / "out.txt").read_text())


def test_a_folder_is_refused(work: Path) -> None:
    with pytest.raises(IsADirectoryError):
        write_output(work, "x")


def test_write_output_replaces_regular_files_atomically(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n")
    os.link(target, tmp_path / "hard")  # a reader holding the old file keeps it whole
    write_output(target, "new\n")
    assert target.read_text() == "new\n" and (tmp_path / "hard").read_text() == "old\n"


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_atomic(target, "first\n")
    assert target.read_text() == "first\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()
    write_atomic(target, "second\n")
    assert target.read_text() == "second\n"
    # a write that fails half-way leaves the old report whole, and no temporary file
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "x" * 100_000 + "\ud800")
    assert target.read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
