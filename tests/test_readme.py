"""The README stays true: its example output and its quick-start commands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_seed_example_output_is_what_the_command_prints() -> None:
    block = re.search(r"```console\n\$ circuit eval circuits/seed.yaml\n(.*?)```", README, re.S)
    assert block, "the README shows `circuit eval circuits/seed.yaml` and its output"
    proc = subprocess.run(["circuit", "eval", "circuits/seed.yaml"], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout == block.group(1)


def test_quick_start_commands_are_the_ones_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e . && circuit eval circuits/seed.yaml" in README
    assert re.search(r"pip install (-q )?-e \. && circuit eval circuits/seed\.yaml", ci)
    assert "pip install -e '.[test]' && python -m pytest" in README
    assert "pip install -q -e '.[test]' && python -m pytest" in ci


def test_every_op_is_documented() -> None:
    from engine.ops import OPS

    documented = re.findall(r"^\| `(\w+)` \| (\S+) \|", README, re.M)
    assert [(name, arity) for name, arity in documented if name in OPS] == [
        (name, op.arity_text()) for name, op in OPS.items()
    ]
