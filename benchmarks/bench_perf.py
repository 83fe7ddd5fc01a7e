"""Benchmark: circuitflow against the straight-line floors, micrograd and PyTorch.

Run from the repository root (after ``pip install -e '.[bench]'``)::

    python benchmarks/bench_perf.py

Everything is measured in one run on one machine and reported as ratios, plus
a markdown table of ns per gate (forward + backward). All implementations must
agree on the output and every input's gradient, or the script fails. PyTorch
and micrograd are optional (their columns read "n/a" when not installed).

Sections:
* scalar: random layered DAGs (1k, 10k, 100k gates) — circuitflow's compiled
  code (compile excluded, and reported separately), the generated straight-line
  Python floor, micrograd, PyTorch scalar autograd;
* one-shot ``circuit eval`` of the 100k-gate file (load + validate + compile +
  forward + backward + JSON output) against a bare ``yaml.load`` of it;
* memory of a loaded, compiled 100k-gate circuit;
* batch: a 200-gate circuit over 100k samples — circuitflow's numpy path (the
  inputs' gradients, the default, and every wire's), the generated straight-line
  numpy floor, PyTorch vectorised with 1 and 2 threads, taking turns;
* start-up: ``circuit eval circuits/seed.yaml`` against ``python -c "import yaml, pydantic, networkx"``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.setrecursionlimit(100_000)  # micrograd builds its topological order recursively

import floors  # noqa: E402
from dag import random_dag  # noqa: E402

import engine  # noqa: E402
from engine.run import codegen  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CIRCUIT = Path(sys.executable).with_name("circuit")


def median_time(fn: Callable[[], object], budget: float, at_least: int = 3, at_most: int = 1000) -> float:
    """Median seconds of `fn()` over repeats filling about `budget` seconds."""
    times: list[float] = []
    spent = 0.0
    while len(times) < at_least or (spent < budget and len(times) < at_most):
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        spent += elapsed
    return statistics.median(times)


def agree(
    name: str, reference: tuple[float, Sequence[float]], other: tuple[float, Sequence[float]], tolerance: float = 1e-9
) -> None:
    """Fail unless the output and every input gradient match within `tolerance` (relative+absolute)."""
    pairs = [(reference[0], other[0]), *zip(reference[1], other[1], strict=True)]
    for want, got in pairs:
        if abs(float(want) - float(got)) > tolerance * (1.0 + abs(float(want))):
            raise SystemExit(f"disagreement: {name} gives {got!r}, expected {want!r}")


def dag_output_index(dag: Any) -> int:
    return len(dag.inputs) + [name for name, _, _ in dag.gates].index(dag.output)


def optional(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def scalar_section(sizes: Sequence[int], seed: int, budget: float, rows: list[dict[str, Any]]) -> None:
    have_micrograd, have_torch = optional("micrograd"), optional("torch")
    for n in sizes:
        dag = random_dag(n, seed)
        circuit = engine.parse_circuit(dag.yaml(), name=f"dag{n}")
        program = circuit.program
        point = circuit.input_values()
        inputs = range(program.n_inputs)

        started = time.perf_counter()
        code = codegen.compile_program(program)
        compile_s = time.perf_counter() - started

        def ours() -> tuple[float, list[float]]:
            values, grads = codegen.run(program, code, point)
            return values[program.output], [grads[i] for i in inputs]

        reference = ours()
        # `evaluate()` is measured once its structure runs compiled, as it does after
        # tiering; the cold start is the one-shot section's business.
        codegen.compiled(program)
        started = time.perf_counter()
        floor = floors.python_floor(dag)
        floor_compile_s = time.perf_counter() - started
        n_in = program.n_inputs
        floor_values, floor_grads = floor(point)
        agree("python floor", reference, (floor_values[dag_output_index(dag)], floor_grads[:n_in]))
        row: dict[str, Any] = {
            "gates": n,
            "circuitflow": median_time(ours, budget) / n,
            "evaluate()": median_time(circuit.evaluate, budget / 2) / n,
            "interpreter": median_time(lambda: engine.run.interpreter.run(program, point), budget / 2, at_most=20) / n,
            "floor": median_time(lambda: floor(point), budget) / n,
            "compile": compile_s / n,
            "floor compile": floor_compile_s / n,
        }
        del floor
        if have_micrograd:
            mg = floors.micrograd_run(dag)
            agree("micrograd", reference, mg(point))
            row["micrograd"] = median_time(lambda: mg(point), budget, at_most=20) / n
        if have_torch:
            ts = floors.torch_scalar(dag)
            agree("torch scalar", reference, ts(point))
            row["torch"] = median_time(lambda: ts(point), budget, at_most=10) / n
        rows.append(row)
        print(f"  scalar {n}: done", file=sys.stderr)


def one_shot_section(n: int, seed: int, figures: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"dag{n}.yaml"
        path.write_text(random_dag(n, seed).yaml(), encoding="utf-8")
        ours_s, ours_kb = run_child([str(CIRCUIT), "eval", str(path), "--format", "json"])
        yaml_s, yaml_kb = run_child(
            [
                sys.executable,
                "-c",
                "import sys, yaml; yaml.load(open(sys.argv[1]).read(), Loader=yaml.CSafeLoader)",
                str(path),
            ]
        )
        # `import engine` is lazy: import what loading uses before tracing, so that
        # module objects (pydantic, networkx, yaml) are not counted against the circuit.
        probe = (
            "import gc, sys, tracemalloc, engine; from engine.run import codegen\n"
            "import engine.circuit, engine.compile.graph, engine.format.loader, engine.format.model, engine.run.interpreter\n"
            "tracemalloc.start()\n"
            "c = engine.load_circuit(sys.argv[1]); codegen.compiled(c.program); c.evaluate()\n"
            "gc.collect(); current, peak = tracemalloc.get_traced_memory(); print(current, peak)"
        )
        out = subprocess.run([sys.executable, "-c", probe, str(path)], check=True, capture_output=True, text=True)
        retained, traced_peak = (int(x) for x in out.stdout.split())
        figures.update(
            {
                "one_shot_s": ours_s,
                "one_shot_peak_mb": ours_kb / 1024,
                "yaml_load_s": yaml_s,
                "yaml_peak_mb": yaml_kb / 1024,
                "loaded_bytes_per_gate": retained / n,
                "load_peak_bytes_per_gate": traced_peak / n,
                "big": n,
            }
        )


_WRAPPER = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
elapsed = time.perf_counter() - started
print(code, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run_child(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process; its stdout is discarded.

    A small wrapper process starts the child, so that the peak is the child's
    own (a child forked straight from this large process would count its pages).
    """
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], check=True, capture_output=True, text=True)
    code, elapsed, peak = out.stdout.split()
    if code != "0":
        raise SystemExit(f"{argv[0]} exited with {code}")
    return float(elapsed), int(peak)


def interleaved(contenders: dict[str, Callable[[], object]], budget: float, at_least: int = 5) -> dict[str, float]:
    """Median seconds of each contender, run in turn round after round.

    Large array code is as fast as the allocator lets it be: memory it gets back
    from an earlier free is quick to touch, fresh pages each cost a page fault, and
    which one it gets depends on everything the process did before. Taking turns
    gives every contender the same history, so their ratios do not depend on the
    order of the sections.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    spent = 0.0
    rounds = 0
    while rounds < at_least or spent < budget * len(contenders):
        for name, fn in contenders.items():
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            times[name].append(elapsed)
            spent += elapsed
        rounds += 1
    return {name: statistics.median(ts) for name, ts in times.items()}


def batch_section(gates: int, samples: int, seed: int, budget: float, figures: dict[str, Any]) -> None:
    import numpy as np

    dag = random_dag(gates, seed)
    circuit = engine.parse_circuit(dag.yaml(), name="batch")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(len(dag.inputs), samples))
    columns = dict(zip(dag.inputs, X))
    work = gates * samples

    def ours(grads: str = "inputs") -> tuple[Any, list[Any]]:
        result = circuit.evaluate_samples(columns, grads=grads)  # type: ignore[arg-type]
        return result.value, [result.grads[name] for name in dag.inputs]

    reference = ours()
    check_batch("circuitflow, every wire's gradient", reference, ours("all"))
    floor = floors.numpy_floor(dag)
    check_batch("numpy floor", reference, floor(X))
    contenders: dict[str, Callable[[], object]] = {
        "circuitflow": ours,
        "circuitflow, grads of every wire": lambda: ours("all"),
        "numpy floor": lambda: floor(X),
    }
    if optional("torch"):
        import torch

        tv = floors.torch_vectorised(dag)
        check_batch("torch vectorised", reference, tv(X))

        def torch_with(threads: int) -> Callable[[], object]:
            def run() -> object:
                torch.set_num_threads(threads)
                return tv(X)

            return run

        contenders["torch 1 thread"] = torch_with(1)
        contenders["torch 2 threads"] = torch_with(2)
    medians = interleaved(contenders, budget)
    figures["batch"] = {"gates": gates, "samples": samples, **{k: v / work for k, v in medians.items()}}


def check_batch(name: str, reference: tuple[Any, list[Any]], other: tuple[Any, list[Any]]) -> None:
    import numpy as np

    for want, got in [(reference[0], other[0]), *zip(reference[1], other[1], strict=True)]:
        if not np.allclose(got, want, rtol=1e-9, atol=1e-9):
            raise SystemExit(f"disagreement: {name} differs from circuitflow")


def startup_section(figures: dict[str, Any], repeats: int) -> None:
    seed = ROOT / "circuits" / "seed.yaml"
    ours = statistics.median(run_child([str(CIRCUIT), "eval", str(seed)])[0] for _ in range(repeats))
    bare = statistics.median(
        run_child([sys.executable, "-c", "import yaml, pydantic, networkx"])[0] for _ in range(repeats)
    )
    figures.update({"startup_s": ours, "bare_import_s": bare})


def ns(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 1e9:,.0f}"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a / b:.2f}×"


def report(rows: list[dict[str, Any]], figures: dict[str, Any]) -> str:
    out = [
        "| circuit (fwd+bwd) | circuitflow ns/gate | straight-line floor | ÷ floor | micrograd | "
        "÷ circuitflow | PyTorch scalar | ÷ circuitflow | `evaluate()` incl. Result | interpreter | "
        "compile µs/gate (floor) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ours = r["circuitflow"]
        out.append(
            f"| random DAG, {r['gates']:,} gates | {ns(ours)} | {ns(r['floor'])} | {ratio(ours, r['floor'])} | "
            f"{ns(r.get('micrograd'))} | {ratio(r.get('micrograd'), ours)} | {ns(r.get('torch'))} | "
            f"{ratio(r.get('torch'), ours)} | {ns(r['evaluate()'])} | {ns(r['interpreter'])} | "
            f"{r['compile'] * 1e6:.0f} ({r['floor compile'] * 1e6:.0f}) |"
        )
    if "batch" in figures:
        b = figures["batch"]
        ours = b["circuitflow"]
        out += [
            "",
            f"| batch: {b['gates']} gates × {b['samples']:,} samples | ns per gate·sample | ÷ circuitflow |",
            "|---|---:|---:|",
        ]
        for key in (
            "circuitflow",
            "circuitflow, grads of every wire",
            "numpy floor",
            "torch 1 thread",
            "torch 2 threads",
        ):
            if key in b:
                out.append(f"| {key} | {b[key] * 1e9:.2f} | {b[key] / ours:.2f}× |")
    if "one_shot_s" in figures:
        f = figures
        out += [
            "",
            "| one-shot and memory | measured |",
            "|---|---:|",
            f"| `circuit eval` of the {f['big']:,}-gate file (load, validate, evaluate, JSON) | "
            f"{f['one_shot_s']:.2f} s, peak {f['one_shot_peak_mb']:.0f} MB |",
            f"| bare `yaml.load(text, Loader=yaml.CSafeLoader)` of the same file | "
            f"{f['yaml_load_s']:.2f} s, peak {f['yaml_peak_mb']:.0f} MB |",
            f"| loaded + compiled {f['big']:,}-gate circuit: memory held per gate (traced) | "
            f"{f['loaded_bytes_per_gate']:.0f} bytes |",
            f"| … peak while loading and compiling, per gate (traced) | {f['load_peak_bytes_per_gate']:.0f} bytes |",
        ]
    if "startup_s" in figures:
        out += [
            f"| `circuit eval circuits/seed.yaml` wall time | {figures['startup_s'] * 1000:.0f} ms |",
            f'| bare `python -c "import yaml, pydantic, networkx"` | {figures["bare_import_s"] * 1000:.0f} ms |',
        ]
    return "\n".join(out)


def targets(rows: list[dict[str, Any]], figures: dict[str, Any]) -> list[tuple[str, bool]]:
    verdicts = []
    for r in rows:
        ours = r["circuitflow"]
        limit = 1.5 if r["gates"] <= 10_000 else 2.0
        verdicts.append((f"{r['gates']:,} gates: ≤ {limit}× floor", ours <= limit * r["floor"]))
        if r["gates"] <= 10_000:
            if "micrograd" in r:
                verdicts.append((f"{r['gates']:,} gates: ≥ 20× faster than micrograd", r["micrograd"] >= 20 * ours))
            if "torch" in r:
                verdicts.append((f"{r['gates']:,} gates: ≥ 60× faster than PyTorch scalar", r["torch"] >= 60 * ours))
    if "batch" in figures:
        b = figures["batch"]
        verdicts.append(("batch: ≤ 1.2× numpy floor", b["circuitflow"] <= 1.2 * b["numpy floor"]))
        if "torch 1 thread" in b:
            verdicts.append(("batch: no slower than PyTorch (1 thread)", b["circuitflow"] <= b["torch 1 thread"]))
    if "one_shot_s" in figures:
        verdicts.append(("one-shot faster than bare yaml.load", figures["one_shot_s"] < figures["yaml_load_s"]))
        verdicts.append(("one-shot peak ≤ 600 MB", figures["one_shot_peak_mb"] <= 600))
        verdicts.append(("loaded circuit ≤ 1 KB/gate", figures["loaded_bytes_per_gate"] <= 1024))
    if "startup_s" in figures:
        verdicts.append(("seed start-up ≤ 1.5× bare imports", figures["startup_s"] <= 1.5 * figures["bare_import_s"]))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="scalar DAG sizes (gates), comma-separated")
    parser.add_argument("--batch-gates", type=int, default=200)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of repeats per measurement")
    parser.add_argument("--no-subprocess", action="store_true", help="skip one-shot, memory and start-up")
    parser.add_argument("--startup-repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {}
    scalar_section(sizes, args.seed, args.budget, rows)
    batch_section(args.batch_gates, args.samples, args.seed, args.budget, figures)
    if not args.no_subprocess:
        one_shot_section(max(sizes), args.seed, figures)
        startup_section(figures, args.startup_repeats)
    print(report(rows, figures))
    print()
    for text, met in targets(rows, figures):
        print(f"- {'met' if met else 'NOT met'}: {text}")
    if args.json:
        print(json.dumps({"scalar": rows, **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
