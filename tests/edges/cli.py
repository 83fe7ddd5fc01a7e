"""Running the installed ``circuit`` command in a subprocess, as a user's shell does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
SEED = "circuits/seed.yaml"


def circuit(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``circuit ARGS`` with stdout and stderr captured (not a terminal)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        ["circuit", *args], capture_output=True, text=True, cwd=cwd, timeout=120, env=full_env, input=stdin
    )
