"""Saves made by real editing tools (vim, sed -i, perl -i, ed) are each seen as exactly one change."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import engine
from tests.watchkit import WAIT, EventLog, save_in_place, seed, value_of

pytestmark = pytest.mark.timeout(60)

VIM = ["vim", "-u", "NONE", "-i", "NONE", "-N", "-Es"]
EDITS = {
    "vim backupcopy=no (rename)": [*VIM, "-c", "set backupcopy=no writebackup", "-c", "%s/x: -2/x: 1/", "-c", "wq"],
    "vim backupcopy=yes (in place)": [*VIM, "-c", "set backupcopy=yes backup", "-c", "%s/x: -2/x: 1/", "-c", "wq"],
    "sed -i": ["sed", "-i", "s/x: -2/x: 1/"],
    "perl -pi": ["perl", "-pi", "-e", "s/x: -2/x: 1/"],
}


@pytest.mark.parametrize("name", list(EDITS))
def test_real_editor_save_is_one_change(tmp_path: Path, name: str) -> None:
    command = EDITS[name]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    target = tmp_path / "seed.yaml"
    target.write_text(seed(-2))
    log = EventLog()
    with engine.watch([tmp_path], log):
        log.next()
        subprocess.run([*command, str(target)], check=True, timeout=WAIT, capture_output=True, stdin=subprocess.DEVNULL)
        assert target.read_text() == seed(1)
        event = log.next()
        assert (event.kind, event.path, event.result.value) == ("changed", str(target), value_of(1))
        save_in_place(tmp_path / "sentinel.yaml", seed(0))  # nothing else came from the editor's save
        assert log.next().path == str(tmp_path / "sentinel.yaml")


def test_ed_save(tmp_path: Path) -> None:
    if shutil.which("ed") is None:
        pytest.skip("ed is not installed")
    target = tmp_path / "seed.yaml"
    target.write_text(seed(-2))
    log = EventLog()
    with engine.watch([tmp_path], log):
        log.next()
        subprocess.run(["ed", "-s", str(target)], input=",s/x: -2/x: 1/\nw\nq\n", text=True, check=True, timeout=WAIT)
        event = log.next()
        assert (event.kind, event.result.value) == ("changed", value_of(1))
        save_in_place(tmp_path / "sentinel.yaml", seed(0))
        assert log.next().path == str(tmp_path / "sentinel.yaml")
