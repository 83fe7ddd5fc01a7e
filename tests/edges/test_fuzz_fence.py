"""The loader's fuzz fence, bounded for the default suite (``benchmarks/fuzz_loader.py`` runs it longer).

Mutated valid circuits — byte flips, truncations, inserted YAML syntax, unicode
oddities — go through `engine.parse_circuit` as text and as file bytes: only
`CircuitError` may escape, and no file under 10 KB may take over 2 s of CPU.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_loader import check_one, mutate, seeds
from tests.edges.cli import ROOT

BASE = seeds()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)
@given(st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from(range(len(BASE))))
def test_mutants_load_or_raise_circuit_error_quickly(seed: int, which: int) -> None:
    check_one(mutate(random.Random(seed), BASE[which]))


@pytest.mark.parametrize(
    "text",
    [
        "inputs: {x: " + "9" * 5000 + "}\ngates:\n  f: {op: neg, in: [x]}\n",  # past the int-string limit
        "inputs: {x: 1}\ngates:\n  f: {op: neg, in: [x]}  # \ud800\n",  # a lone surrogate
        "inputs: {x: 1}\n# \x85 [\ngates:\n  f: {op: neg, in: [x]}\n",  # a NEL in a comment
        "[" * 9000,  # deep nesting
        "a: " + "{b: " * 5000,
        "x: 'unterminated\n" * 400,
    ],
    ids=["huge-int", "surrogate", "nel", "brackets", "flow-maps", "quotes"],
)
def test_known_hostile_shapes(text: str) -> None:
    check_one(text)


def test_every_seed_is_valid_and_under_the_size_limit() -> None:
    for text in BASE:
        assert check_one(text).loaded
        assert len(text.encode()) < 10 * 1024


def test_the_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "benchmarks/fuzz_loader.py", "--seconds", "2", "--seed", "7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "with CircuitError, none escaped" in proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)  # the run's own 120 s, plus starting and a loaded machine
def test_the_longer_fuzz_run() -> None:
    proc = subprocess.run(
        [sys.executable, "benchmarks/fuzz_loader.py", "--seconds", "120", "--seed", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
