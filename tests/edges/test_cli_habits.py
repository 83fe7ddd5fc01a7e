"""The habits of command-line tools: -h and --version, shell completion, help text, a project
configuration file, stdin, --quiet, --wire, and a progress bar on a terminal only."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import threading
from pathlib import Path

import pytest

from engine.version import __version__
from tests.edges.cli import ROOT, SEED, circuit


@pytest.mark.parametrize("command", [[], ["eval"], ["check"], ["batch"], ["watch"], ["schema"]])
def test_dash_h_is_help(command: list[str]) -> None:
    short, long = circuit(*command, "-h"), circuit(*command, "--help")
    assert (short.returncode, short.stdout) == (0, long.stdout)
    assert short.stdout.startswith(f"Usage: circuit {' '.join(command)}".rstrip() + " [OPTIONS]")


def test_version() -> None:
    proc = circuit("--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"circuitflow {__version__}\n", "")


def test_shell_completion_is_enabled() -> None:
    env = {"_CIRCUIT_COMPLETE": "complete_bash", "COMP_WORDS": "circuit ev", "COMP_CWORD": "1"}
    assert circuit(env=env).stdout == "eval\n"
    env = {"_CIRCUIT_COMPLETE": "complete_bash", "COMP_WORDS": "circuit batch --fo", "COMP_CWORD": "2"}
    assert circuit(env=env).stdout == "--format\n"
    assert "--install-completion" in circuit("--help").stdout


def test_help_shows_arguments_without_type_artefacts() -> None:
    # typer 0.29 wrote `{path}`, `paths... <list[Path]>` and `<int range>`; the pin keeps this output
    proc = circuit("check", "--help", env={"COLUMNS": "80"})
    assert proc.stdout == (
        "Usage: circuit check [OPTIONS] [PATHS]...\n"
        "\n"
        "  Validate circuits (YAML, schema, wiring) without evaluating them, like a\n"
        "  linter.\n"
        "\n"
        "Arguments:\n"
        "  PATHS...  Circuit files and folders (searched recursively; default: paths in\n"
        "            pyproject.toml).\n"
        "\n"
        "Options:\n"
        "  --exclude PATTERN            Leave out files and folders, as .gitignore\n"
        "                               does: 'tmp', 'good/*', '**/tmp_*' (repeatable).\n"
        "  --format <text|json|github>  Output format.  [default: text]\n"
        "  -q, --quiet                  Show only errors and the summary.\n"
        "  --max-bytes BYTES            Refuse files larger than this many bytes.\n"
        "                               [default: 104857600; x>=1]\n"
        "  -h, --help                   Show this message and exit.\n"
    )
    for command in ("eval", "batch", "watch"):
        text = circuit(command, "--help").stdout
        assert not any(artefact in text for artefact in ("{path", "<list[", "<path>", " range>")), text


def test_typer_is_pinned_to_the_tested_range() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"typer>=0.29,<0.30"' in pyproject


def project(tmp_path: Path, config: str) -> Path:
    """A project folder: a pyproject.toml, circuits/seed.yaml, circuits/tmp_a/cycle.yaml (invalid), sub/."""
    (tmp_path / "circuits" / "tmp_a").mkdir(parents=True)
    (tmp_path / "sub").mkdir()
    (tmp_path / "circuits" / "seed.yaml").write_text((ROOT / SEED).read_text())
    (tmp_path / "circuits" / "tmp_a" / "cycle.yaml").write_text((ROOT / "tests/circuits/bad/cycle.yaml").read_text())
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.circuitflow]\n" + config)
    return tmp_path


def test_configuration_gives_defaults_and_flags_override_them(tmp_path: Path) -> None:
    root = project(tmp_path, 'paths = ["circuits"]\nexclude = ["**/tmp_*"]\njobs = 1\ntimeout = 30\ntolerance = 1e-6\n')
    # found from a subfolder, paths relative to the file
    proc = circuit("check", cwd=root / "sub")
    assert (proc.returncode, proc.stdout) == (0, "1 file checked: 1 valid, 0 invalid\n")
    report = json.loads(circuit("batch", "--format", "json", cwd=root / "sub").stdout)
    assert {k: report["args"][k] for k in ("paths", "exclude", "jobs", "timeout", "check_tolerance")} == {
        "paths": ["../circuits"],
        "exclude": ["**/tmp_*"],
        "jobs": 1,
        "timeout": 30.0,
        "check_tolerance": 1e-6,
    }
    # flags win
    proc = circuit("check", "--exclude", "nothing", cwd=root)
    assert (proc.returncode, proc.stdout.splitlines()[-1]) == (1, "2 files checked: 1 valid, 1 invalid")
    report = json.loads(circuit("batch", "circuits/seed.yaml", "-j", "2", "--format", "json", cwd=root).stdout)
    assert (report["args"]["paths"], report["args"]["jobs"]) == (["circuits/seed.yaml"], 2)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("jobz = 1\n", "error: 'pyproject.toml': unknown key 'jobz' in [tool.circuitflow]\n"),
        ("jobs = 0\n", "error: 'pyproject.toml': 'jobs' in [tool.circuitflow] must be a positive integer, got 0\n"),
        ("paths = 'x'\n", "error: 'pyproject.toml': 'paths' in [tool.circuitflow] must be a list of paths, got 'x'\n"),
    ],
)
def test_a_bad_configuration_is_a_usage_error(tmp_path: Path, config: str, message: str) -> None:
    proc = circuit("check", cwd=project(tmp_path, config))
    assert proc.returncode == 2
    assert proc.stderr.startswith(message)


def test_help_and_version_answer_despite_a_bad_configuration(tmp_path: Path) -> None:
    root = project(tmp_path, "jobz = 1\n")
    assert circuit("--version", cwd=root).returncode == 0
    assert circuit("check", "-h", cwd=root).returncode == 0


def test_no_paths_and_no_configuration_is_a_usage_error(tmp_path: Path) -> None:
    proc = circuit("check", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (
        2,
        "error: no paths given\n  help: name files or folders, or set `paths` under [tool.circuitflow]\n",
    )


def test_eval_reads_stdin() -> None:
    proc = circuit("eval", "-", "--format", "json", stdin=(ROOT / SEED).read_text())
    assert proc.returncode == 0
    data = json.loads(proc.stdout)
    assert (data["path"], data["value"]) == ("<stdin>", -12.0)
    proc = circuit("eval", "-", stdin="gates:\n  f: {op: nope, in: [1]}\n")
    assert proc.returncode == 1
    assert proc.stderr.startswith("<stdin>:2:11: error[unknown-op] unknown op 'nope'\n")


def test_quiet_eval_prints_the_summary_and_failures_only(tmp_path: Path) -> None:
    assert circuit("eval", SEED, "--quiet").stdout == "seed: f = -12 (checks: 6/6 passed)\n"
    path = tmp_path / "warn.yaml"
    path.write_text("inputs: {x: 1, w: 2}\ngates:\n  f: {op: neg, in: [x]}\n")
    proc = circuit("eval", str(path), "-q")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "warn: f = -1\n", ""), "no warnings"
    proc = circuit("eval", SEED, "-q", "--set", "x=1", "--expect")
    assert proc.returncode == 1
    assert proc.stdout == "seed: f = -24 (checks: 3/6 passed)\n"
    assert proc.stderr.count("error[expect]") == 3


def test_quiet_batch_lists_only_what_is_not_ok() -> None:
    proc = circuit("batch", SEED, "tests/circuits/bad/cycle.yaml", "-j", "1", "-q")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1
    assert [line.split()[0] for line in lines[1:2]] == ["tests/circuits/bad/cycle.yaml"]
    assert "seed" not in proc.stdout
    assert lines[-1].startswith("2 circuits in ") and lines[-1].endswith(": 1 ok, 1 invalid")


def test_wire_chooses_the_wires_shown() -> None:
    assert circuit("eval", SEED, "--wire", "q", "--wire", "x").stdout == (
        "seed: f = -12\n"
        "wire ┃ value ┃ ∂f/∂wire\n"
        "━━━━━╇━━━━━━━╇━━━━━━━━━\n"
        "q    │     3 │       -4\n"
        "x    │    -2 │       -4\n"
        "checks: 6/6 passed\n"
    )
    data = json.loads(circuit("eval", SEED, "--wire", "q", "--format", "json").stdout)
    assert (data["value"], data["values"], data["grads"]) == (-12.0, {"q": 3.0}, {"q": -4.0})
    proc = circuit("batch", SEED, "circuits/neuron.yaml", "-j", "1", "--wire", "q")
    assert proc.stdout.splitlines()[0].split() == ["circuit", "status", "output", "q", "time"]
    assert proc.stdout.splitlines()[2].split()[:6] == ["circuits/seed.yaml", "ok", "f", "=", "-12", "3"]
    assert proc.stdout.splitlines()[1].split()[5] == "-", "a circuit without the wire shows '-'"
    report = json.loads(circuit("batch", SEED, "-j", "1", "--wire", "q", "--format", "json").stdout)
    assert report["results"][0]["values"] == {"q": 3.0}


def wide_circuit(tmp_path: Path, n: int = 8000) -> Path:
    """A circuit whose gradient check takes seconds: one add of `n` inputs."""
    path = tmp_path / "wide.yaml"
    inputs = ", ".join(f"x{i}: {i % 7 + 1}" for i in range(n))
    refs = ", ".join(f"x{i}" for i in range(n))
    path.write_text(f"inputs: {{{inputs}}}\ngates:\n  s: {{op: add, in: [{refs}]}}\n  f: {{op: tanh, in: [s]}}\n")
    return path


def stderr_on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Run ``circuit ARGS`` with stderr on a pseudo-terminal; return the exit code, stdout and what the terminal got."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(["circuit", *args], stdout=subprocess.PIPE, stderr=follower, cwd=ROOT, text=True)
    os.close(follower)
    chunks: list[bytes] = []

    def drain() -> None:  # read as it comes: a full terminal buffer would block the command
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other end is closed: all is read
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = proc.communicate(timeout=300)
    reader.join(timeout=60)
    os.close(leader)
    return proc.returncode, stdout, b"".join(chunks).decode("utf-8", "replace")


def test_a_long_gradient_check_shows_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    path = str(wide_circuit(tmp_path))
    code, stdout, terminal = stderr_on_a_terminal("eval", path, "--check", "-q")
    assert (code, stdout) == (0, "wide: f = 1 (checks: 8000/8000 passed)\n")
    assert "checking gradients" in terminal
    piped = circuit("eval", path, "--check", "-q")
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, stdout, "")


def test_a_long_dataset_shows_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    path = str(wide_circuit(tmp_path, 3))
    data = tmp_path / "big.csv"
    data.write_text("x0,x1,x2\n" + "1,2,3\n" * 600_000)
    code, stdout, terminal = stderr_on_a_terminal("eval", path, "--inputs", str(data), "--format", "json")
    assert code == 0 and json.loads(stdout)["samples"] == 600_000
    assert "evaluating big.csv" in terminal
    piped = circuit("eval", path, "--inputs", str(data), "--format", "json")
    assert (piped.returncode, piped.stderr) == (0, "")
