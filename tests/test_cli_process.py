"""The `circuit` process's collector settings (engine.cli.process): a command starts without young
collections, one that runs on settles back to the usual thresholds, and in-process use changes nothing."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import process

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import gc, json, sys
import engine.cli.app as app
from engine.cli import process

usual = gc.get_threshold()
seen = {}

def main():
    seen["starting"] = gc.get_threshold()
    process.steady()
    seen["steady"] = gc.get_threshold()
    return 3

app.main = main
try:
    process.console_main()
except SystemExit as exit:
    seen["exit"] = exit.code
print(json.dumps({"usual": usual, **seen}))
"""


def test_a_command_starts_without_young_collections_and_settles_when_it_runs_on() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, timeout=60)
    seen = json.loads(done.stdout)
    usual = seen["usual"]
    assert seen["starting"] == [100_000, usual[1], usual[2]]
    assert seen["steady"] == usual
    assert seen["exit"] == 3 and done.stderr == ""


def test_in_process_use_never_touches_the_collector() -> None:
    before = gc.get_threshold()
    process.steady()  # no console_main ran in this process: nothing to settle
    assert gc.get_threshold() == before


SETTLES = """
import gc, json, sys
import engine.cli.watchview, engine.serve.runner
from engine.cli import process

usual = gc.get_threshold()
seen = []
engine.cli.watchview.run_watch = lambda *a, **k: seen.append(gc.get_threshold() == usual) or 0
engine.serve.runner.serve_folder = lambda *a, **k: seen.append(gc.get_threshold() == usual) or 0
sys.argv = ["circuit", *sys.argv[1:]]
try:
    process.console_main()
except SystemExit:
    pass
print(json.dumps([*seen, gc.get_threshold() == usual]))
"""


@pytest.mark.parametrize("command", [["watch", "circuits/seed.yaml"], ["serve", "circuits"], ["batch", "circuits"]])
def test_the_commands_that_run_on_settle_before_they_start(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SETTLES, *command], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    last = done.stdout.strip().splitlines()[-1]
    assert all(json.loads(last)), done.stdout + done.stderr
