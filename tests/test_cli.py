"""The installed ``circuit`` command, run in subprocesses: output, streams and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SEED = "circuits/seed.yaml"


def circuit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(["circuit", *args], capture_output=True, text=True, cwd=ROOT, timeout=120, env=full_env)


def test_eval_text_shows_every_wire_output_first() -> None:
    proc = circuit("eval", SEED)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == (
        "seed: f = -12\n"
        "wire ┃ value ┃ ∂f/∂wire\n"
        "━━━━━╇━━━━━━━╇━━━━━━━━━\n"
        "f    │   -12 │        1\n"
        "x    │    -2 │       -4\n"
        "y    │     5 │       -4\n"
        "z    │    -4 │        3\n"
        "q    │     3 │       -4\n"
        "checks: 6/6 passed\n"
    )
    assert "\x1b[" not in proc.stdout, "no colour when not on a terminal"


def test_eval_json_is_the_result_contract() -> None:
    proc = circuit("eval", SEED, "--format", "json")
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert {
        k: data[k] for k in ("path", "circuit", "status", "output", "value", "values", "grads", "errors", "warnings")
    } == {
        "path": SEED,
        "circuit": "seed",
        "status": "ok",
        "output": "f",
        "value": -12.0,
        "values": {"x": -2.0, "y": 5.0, "z": -4.0, "q": 3.0, "f": -12.0},
        "grads": {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0},
        "errors": [],
        "warnings": [],
    }
    assert isinstance(data["elapsed_ms"], float)


def test_set_overrides_and_failing_expectations_exit_1_with_expect() -> None:
    proc = circuit("eval", SEED, "--set", "x=1.5", "--set", "z=-4", "--expect", "--format", "json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert (data["status"], data["value"], data["grads"]["z"]) == ("failed", -26.0, 6.5)
    assert proc.stderr.splitlines()[0] == "circuits/seed.yaml:13:15: error[expect] value of 'q' is 6.5, expected 3.0"


@pytest.mark.parametrize("arg", ["x", "x=", "=1", "x=abc", "x=nan", "x=inf"])
def test_bad_set_is_a_usage_error(arg: str) -> None:
    proc = circuit("eval", SEED, "--set", arg)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: --set expects NAME=NUMBER with a finite number, got '{arg}'\n"
        "  help: e.g. --set x=1.5 (numbers are written as in circuit files: 2, -0.5, 1e-3, 0x10)\n"
    )


def test_set_of_an_unknown_input_is_a_usage_error_with_a_hint() -> None:
    proc = circuit("eval", SEED, "--set", "xx=1")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "circuits/seed.yaml: error[unknown-input] no input named 'xx'\n  help: did you mean 'x'?\n"


def test_check_flag_reports_gradient_check() -> None:
    proc = circuit("eval", "circuits/neuron.yaml", "--check")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[-1].startswith("checks: 12/12 passed; worst gradient-check error: abs ")


def test_check_command_on_valid_folder() -> None:
    proc = circuit("check", "circuits")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "11 files checked: 11 valid, 0 invalid\n", "")


def test_check_command_github_format() -> None:
    proc = circuit("check", "tests/circuits/bad/unknown-op.yaml", "--format", "github")
    assert proc.returncode == 1
    assert proc.stdout == (
        "::error file=tests/circuits/bad/unknown-op.yaml,line=5,col=11,title=unknown-op"
        "::unknown op 'mull' (help: did you mean 'mul'?)\n"
    )


def test_check_command_json_format() -> None:
    proc = circuit("check", "tests/circuits/bad/cycle.yaml", SEED, "--format", "json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["summary"] == {"total": 2, "ok": 1, "failed": 0, "invalid": 1, "error": 0, "skipped": 0}
    results = [{k: v for k, v in r.items() if k != "elapsed_ms"} for r in report["results"]]
    assert results == [
        {
            "path": SEED,
            "circuit": "seed",
            "status": "ok",
            "output": "f",
            "value": None,
            "values": {},
            "grads": {},
            "checks": [],
            "errors": [],
            "warnings": [],
        },
        {
            "path": "tests/circuits/bad/cycle.yaml",
            "circuit": "cycle",
            "status": "invalid",
            "output": None,
            "value": None,
            "values": {},
            "grads": {},
            "checks": [],
            "warnings": [],
            "errors": [
                {
                    "code": "cycle",
                    "message": "cycle: a -> b -> c -> a",
                    "line": 6,
                    "column": 3,
                    "hint": "a gate cannot depend on its own output; break the loop at one of: a, b, c",
                }
            ],
        },
    ], "sorted by path"


def test_warnings_go_to_stderr_and_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "warn.yaml"
    path.write_text("inputs: {x: 1, w: 2}\ngates:\n  f: {op: neg, in: [x]}\n")
    proc = circuit("eval", str(path), "--format", "json")
    assert proc.returncode == 0
    assert proc.stderr == (
        f"{path}:1:16: warning[unused-input] input 'w' does not affect the output 'f'\n"
        "  help: remove it, or wire it into the circuit\n"
    )


def test_schema_command_prints_the_committed_schema() -> None:
    proc = circuit("schema")
    assert proc.returncode == 0
    assert proc.stdout == (ROOT / "schemas" / "circuit.schema.json").read_text(encoding="utf-8")


def test_usage_errors_exit_2() -> None:
    assert circuit("eval").returncode == 2
    assert circuit("frobnicate").returncode == 2
    assert circuit("eval", SEED, "--format", "yaml").returncode == 2


def test_help_exits_0() -> None:
    proc = circuit("--help")
    assert proc.returncode == 0 and "eval" in proc.stdout and "check" in proc.stdout


def test_no_color_is_honoured_even_when_forced() -> None:
    proc = circuit("check", "tests/circuits/bad/unknown-op.yaml", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in proc.stdout
    coloured = circuit("check", "tests/circuits/bad/unknown-op.yaml", env={"FORCE_COLOR": "1"})
    assert "\x1b[" in coloured.stdout
