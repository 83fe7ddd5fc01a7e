"""Benchmark: what each speed trick on CPython or library internals buys.

Each trick is measured with and without it, in fresh child processes that take
turns, on the target it claims to serve:

* ``co_linetable``: generated code's line table rewritten to "no location"
  (`engine.run.codegen`), for the memory a loaded, compiled circuit holds;
* ``__pydantic_fields_set__``: gates given the same keys share one fields-set
  (`engine.format.validation`), for the memory a loaded circuit holds;
* a start-up without young collections and an exit without the last collection
  (`engine.cli.process`), for ``circuit eval`` of the seed.

A trick is worth keeping when it buys at least 10% (the last column).

    python benchmarks/bench_internals.py [--gates 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: `benchmarks` is a package

from benchmarks.dag import random_dag  # noqa: E402
from benchmarks.docs import add_docs_option, machine, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# Child programs print one number. {patch} is a statement that turns the trick off (or `pass`);
# `off` refuses a name that is not there, so a trick that moved cannot be measured as buying nothing.
_OFF = """
def off(owner, name, value):
    if not hasattr(owner, name):
        raise SystemExit(owner.__name__ + " has no " + name + ": the trick moved, update benchmarks/bench_internals.py")
    setattr(owner, name, value)
"""

_HELD = (
    _OFF
    + """
import gc, sys, tracemalloc
import engine, engine.circuit, engine.compile.graph, engine.format.loader, engine.format.validation
from engine.run import codegen
{patch}
text = open(sys.argv[1]).read()
tracemalloc.start()
circuit = engine.parse_circuit(text)
if sys.argv[2] == "compile":
    code = codegen.compile_code(circuit.program)
del text
gc.collect()
print(tracemalloc.get_traced_memory()[0])
"""
)

_WALL = """
import subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.PIPE)
print(time.perf_counter() - started)
"""

_CLI = (
    _OFF
    + """
import sys
{patch}
from engine.cli.process import console_main
sys.argv[0] = "circuit"
console_main()
"""
)


@dataclass(frozen=True, slots=True)
class Trick:
    name: str
    target: str
    unit: str
    child: str  # _HELD or _CLI
    patch: str
    mode: str = ""  # _HELD's mode: "load" or "compile"
    args: tuple[str, ...] = ()  # _CLI's arguments after `eval`; "BIG" is the big file


TRICKS = [
    Trick(
        "rewritten `co_linetable` of generated code",
        "memory held by a loaded, compiled circuit",
        "bytes/gate",
        _HELD,
        "off(codegen, '_without_positions', lambda code: code)",
        "compile",
    ),
    Trick(
        "shared `__pydantic_fields_set__`",
        "memory held by a loaded circuit",
        "bytes/gate",
        _HELD,
        "off(engine.format.validation, '_share_fields_sets', lambda models: None)",
        "load",
    ),
    Trick(
        "no collections while starting, none at exit (`gc.freeze()`)",
        "`circuit eval circuits/seed.yaml`, wall time",
        "ms",
        _CLI,
        "import gc, engine.cli.process as p; off(p, '_START_THRESHOLD', p._USUAL[0]); off(gc, 'freeze', lambda: None)",
        args=("circuits/seed.yaml",),
    ),
]


def measure(trick: Trick, off: bool, big: Path, gates: int) -> float:
    patch = trick.patch if off else "pass"
    if trick.child is _HELD:
        argv = [sys.executable, "-c", _HELD.format(patch=patch), str(big), trick.mode]
        out = float(subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
        return out / gates
    cli = [str(big) if arg == "BIG" else arg for arg in trick.args]
    argv = [sys.executable, "-c", _WALL, sys.executable, "-c", _CLI.format(patch=patch), "eval", *cli]
    return float(subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT).stdout) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gates", type=int, default=20_000, help="size of the big circuit")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant (medians are shown)")
    add_docs_option(parser)
    args = parser.parse_args(argv)
    where = machine()
    lines = [
        "| trick | target | with it | without it | it buys |",
        "|---|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.yaml"
        big.write_text(random_dag(args.gates, 1).yaml(), encoding="utf-8")
        for trick in TRICKS:
            on, off = [], []
            for _ in range(args.repeats):  # taking turns
                on.append(measure(trick, False, big, args.gates))
                off.append(measure(trick, True, big, args.gates))
            with_it, without = statistics.median(on), statistics.median(off)
            lines.append(
                f"| {trick.name} | {trick.target} | {with_it:,.1f} {trick.unit} | {without:,.1f} {trick.unit} | "
                f"{1 - with_it / without:.0%} |"
            )
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    if not args.no_docs:
        given = sys.argv[1:] if argv is None else argv
        command = " ".join(["python benchmarks/bench_internals.py", *given])
        write_section("internals", f"{where} `{command}`, {args.gates:,}-gate circuit:\n\n{table}", args.docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
