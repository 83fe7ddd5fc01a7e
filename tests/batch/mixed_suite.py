"""The batch tests' mixed folder: good circuits, a failing expectation, invalid YAML, a
cycle, a domain fault and a circuit that runs past the time limit, with what each must give."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CIRCUIT = str(Path(sys.executable).with_name("circuit"))

NEURON = """\
# yaml-language-server: $schema=../../schemas/circuit.schema.json
name: neuron
inputs: {a: 1, b: 2, c: -3, x: -1, y: 3}
gates:
  ax: {op: mul, in: [a, x]}
  by: {op: mul, in: [b, y]}
  s: {op: add, in: [ax, by, c]}
  f: {op: sigmoid, in: [s]}
expect:
  values: {f: 0.8807970779778823}
  grads: {a: -0.10499358540350662, c: 0.10499358540350662}
"""

FAILING = """\
inputs: {x: -2, y: 5, z: -4}
gates:
  q: {op: add, in: [x, y]}
  f: {op: mul, in: [q, z]}
expect:
  values: {f: -13}
"""

INVALID = "inputs: {x: 1\ngates: {}\n"

CYCLE = """\
inputs: {x: 1}
gates:
  a: {op: add, in: [x, c]}
  b: {op: mul, in: [a, 2]}
  c: {op: neg, in: [b]}
  f: {op: add, in: [a, 1]}
output: f
"""

FAULT = """\
inputs: {x: 0}
gates:
  f: {op: log, in: [x]}
"""

#: Inputs of `slow_circuit`: its gradient check makes 2·N forward passes of N gates.
SLOW_INPUTS = 6000


def slow_circuit(n: int = SLOW_INPUTS) -> str:
    """A chain summing `n` inputs: fast to load and evaluate, but its numerical
    gradient check takes seconds (quadratic in `n`), so ``--check`` runs past a
    short ``--timeout``."""
    lines = ["inputs:", *(f"  x{i}: {i % 7 + 1}" for i in range(n)), "gates:", "  s1: {op: add, in: [x0, x1]}"]
    lines += [f"  s{i}: {{op: add, in: [s{i - 1}, x{i}]}}" for i in range(2, n)]
    return "\n".join(lines) + "\n"


def make_suite(root: Path) -> Path:
    """The mixed folder (relative paths in results are ``suite/...``)."""
    suite = root / "suite"
    (suite / "good").mkdir(parents=True)
    shutil.copy(REPO / "circuits" / "seed.yaml", suite / "good" / "seed.yaml")
    (suite / "good" / "neuron.yaml").write_text(NEURON)
    (suite / "failing.yaml").write_text(FAILING)
    (suite / "invalid.yml").write_text(INVALID)
    (suite / "cycle.yaml").write_text(CYCLE)
    (suite / "fault.yaml").write_text(FAULT)
    (suite / "slow.yaml").write_text(slow_circuit())
    (suite / "notes.txt").write_text("not a circuit\n")
    (suite / ".hidden").mkdir()
    (suite / ".hidden" / "draft.yaml").write_text("not: [valid\n")
    return suite


#: Status of each circuit of the suite, run with check=True and timeout=TIMEOUT, in path order.
EXPECTED_STATUS = {
    "suite/cycle.yaml": "invalid",
    "suite/failing.yaml": "failed",
    "suite/fault.yaml": "error",
    "suite/good/neuron.yaml": "ok",
    "suite/good/seed.yaml": "ok",
    "suite/invalid.yml": "invalid",
    "suite/slow.yaml": "error",
}
TIMEOUT = 0.5  # seconds; the slow circuit needs many times this, the others a few ms

#: The first problem of each circuit that is not ok, as `path:line:col: error[code] message`.
EXPECTED_FAILURES = [
    "suite/cycle.yaml:3:3: error[cycle] cycle: a -> b -> c -> a",
    "suite/failing.yaml:6:15: error[expect] value of 'f' is -12.0, expected -13.0",
    "suite/fault.yaml:3:3: error[domain] gate 'f' log(0.0): log of a non-positive number",
    "suite/invalid.yml:2:6: error[yaml-syntax] did not find expected ',' or '}'",
    "suite/slow.yaml: error[timeout] evaluation took longer than the 0.5 s limit",
]


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A result's JSON without its timing (which differs from run to run)."""
    return {k: v for k, v in result.items() if k != "elapsed_ms"}
