"""Benchmark: `Circuit.evaluate()` against a hand-written straight-line floor, micrograd and PyTorch.

Run from the repository root (PyTorch and micrograd come with the optional
``[bench]`` extra; without them their columns read "n/a")::

    python benchmarks/bench_perf.py

It prints its tables and writes them into docs/performance.md (section ``perf``).
Everything is measured in one run on one machine and reported as ratios; all
implementations must agree on the output and every input's gradient, or the
script fails. Contenders whose ratio is reported take turns, round after round,
so that load from elsewhere on the machine slows them alike.

Sections:
* scalar: random layered DAGs (1k, 10k, 100k gates) — `Circuit.evaluate()` in
  steady state (the public API, Result included: the headline), the compiled code
  alone, the hand-written floor (`floors.python_floor`), the interpreter,
  micrograd, PyTorch scalar autograd; and the first call of `evaluate()` on a
  structure never seen before against the interpreter alone;
* chunks: run time and compile cost of the 10k-gate DAG by compiled chunk size;
* batch: a 200-gate circuit over 100k samples — the numpy path (the inputs'
  gradients, the default, and every wire's), the straight-line numpy floor,
  PyTorch vectorised with 1 and 2 threads;
* one-shot ``circuit eval`` of the 100k-gate file against a bare ``yaml.load``,
  and the memory of a loaded, compiled 100k-gate circuit;
* start-up: ``circuit eval circuits/seed.yaml`` and ``circuit --help``.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: `benchmarks` is a package
sys.setrecursionlimit(100_000)  # micrograd builds its topological order recursively

import engine  # noqa: E402
from benchmarks import floors  # noqa: E402
from benchmarks.dag import random_dag  # noqa: E402
from benchmarks.docs import add_docs_option, machine, write_section  # noqa: E402
from engine.run import codegen, interpreter  # noqa: E402

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


def optional(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def warm_up(circuit: engine.Circuit) -> None:
    """Evaluate until tiering has compiled the circuit's structure (steady state)."""
    deadline = time.perf_counter() + 300
    while not codegen.is_compiled(circuit.program):
        if time.perf_counter() > deadline:
            raise SystemExit(f"{circuit.name}: evaluate() never compiled its structure")
        circuit.evaluate()


def first_calls(n: int, seed: int, repeats: int) -> tuple[float, float]:
    """Median seconds of the first `evaluate()` of a structure never seen before, and of the
    interpreter alone on the same program; each runs right after its own parse (so both
    find the same caches), and the two take turns going first."""
    firsts: list[float] = []
    interpreted: list[float] = []

    def first_evaluate(text: str) -> None:
        fresh = engine.parse_circuit(text, name="fresh")
        firsts.append(timed(fresh.evaluate))

    def interpreter_alone(text: str) -> None:
        other = engine.parse_circuit(text, name="other")
        # the inputs are looked up inside the timing, as evaluate() does: the first allocations
        # after a parse pay for the garbage collection it deferred, on either side
        interpreted.append(timed(lambda: interpreter.interpret(other.program, other.input_values())))

    for k in range(repeats):
        text = random_dag(n, seed + 1000 + k).yaml()  # a new structure each time
        for measure in (first_evaluate, interpreter_alone) if k % 2 == 0 else (interpreter_alone, first_evaluate):
            measure(text)
    return statistics.median(firsts), statistics.median(interpreted)


def scalar_section(sizes: Sequence[int], seed: int, budget: float, rows: list[dict[str, Any]]) -> None:
    have_micrograd, have_torch = optional("micrograd"), optional("torch")
    for n in sizes:
        dag = random_dag(n, seed)
        circuit = engine.parse_circuit(dag.yaml(), name=f"dag{n}")
        program = circuit.program
        point = circuit.input_values()
        result = circuit.evaluate()
        reference = (result.value or 0.0, [result.grads[name] for name in dag.inputs])
        first, interpreted = first_calls(n, seed, repeats=12 if n <= 10_000 else 2)

        started = time.perf_counter()
        floor = floors.python_floor(dag)
        floor_compile_s = time.perf_counter() - started
        agree("python floor", reference, floor(point))
        started = time.perf_counter()
        code = codegen.compile_code(program)
        compile_s = time.perf_counter() - started
        warm_up(circuit)

        medians = interleaved(
            {
                "evaluate()": circuit.evaluate,
                "floor": lambda f=floor, x=point: f(x),
                "compiled": lambda p=program, c=code, x=point: codegen.run_compiled(p, c, x),
            },
            budget,
        )
        row: dict[str, Any] = {
            "gates": n,
            **{name: t / n for name, t in medians.items()},
            "interpreter": median_time(lambda p=program, x=point: interpreter.interpret(p, x), budget / 2, at_most=20)
            / n,
            "first call": first / n,
            "first call interpreter": interpreted / n,
            "compile": compile_s / n,
            "floor compile": floor_compile_s / n,
        }
        del floor
        if have_micrograd:
            mg = floors.micrograd_run(dag)
            agree("micrograd", reference, mg(point))
            row["micrograd"] = median_time(lambda f=mg, x=point: f(x), budget, at_most=20) / n
        if have_torch:
            ts = floors.torch_scalar(dag)
            agree("torch scalar", reference, ts(point))
            row["torch"] = median_time(lambda f=ts, x=point: f(x), budget, at_most=10) / n
        rows.append(row)
        print(f"  scalar {n}: done", file=sys.stderr)


_COMPILE_PROBE = """
import sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
from benchmarks.dag import random_dag
import engine
from engine.run import codegen
circuit = engine.parse_circuit(random_dag(int(sys.argv[2]), int(sys.argv[3])).yaml())
started = time.perf_counter()
codegen.compile_code(circuit.program, chunk=int(sys.argv[4]))
elapsed = time.perf_counter() - started
tracemalloc.start()  # a second compile, traced (tracing slows it down)
codegen.compile_code(circuit.program, chunk=int(sys.argv[4]))
print(elapsed, tracemalloc.get_traced_memory()[1])
"""


def chunk_section(n: int, seed: int, budget: float, figures: dict[str, Any]) -> None:
    """Run time and compile cost of one circuit by compiled chunk size (`codegen.CHUNK` is the default)."""
    dag = random_dag(n, seed)
    circuit = engine.parse_circuit(dag.yaml(), name="chunks")
    program, point = circuit.program, circuit.input_values()
    sizes = sorted({max(1, n // 10), max(1, n // 4), min(n, codegen.CHUNK), n})
    contenders: dict[str, Callable[[], object]] = {}
    costs: dict[int, tuple[float, int]] = {}  # compile seconds, traced peak bytes
    for size in sizes:
        code = codegen.compile_code(program, chunk=size)
        contenders[str(size)] = lambda c=code: codegen.run_compiled(program, c, point)
        probe = [sys.executable, "-c", _COMPILE_PROBE, str(ROOT), str(n), str(seed), str(size)]
        out = subprocess.run(probe, check=True, capture_output=True, text=True, cwd=ROOT).stdout.split()
        costs[size] = (float(out[0]), int(out[1]))
    medians = interleaved(contenders, budget)
    figures["chunks"] = {
        "gates": n,
        "rows": [(size, medians[str(size)] / n, *costs[size]) for size in sizes],
        "default": codegen.CHUNK,
    }


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
            "import engine.circuit, engine.compile.graph, engine.format.loader, engine.format.model\n"
            "import engine.run.interpreter\n"
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
    columns = dict(zip(dag.inputs, X, strict=True))
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

    commands = {
        "startup_s": [str(CIRCUIT), "eval", str(seed)],
        "help_s": [str(CIRCUIT), "--help"],
        "bare_import_s": [sys.executable, "-c", "import yaml, pydantic, networkx"],
        "bare_python_s": [sys.executable, "-c", "pass"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):  # round after round, so that a busy moment weighs on every command alike
        for name, argv in commands.items():
            times[name].append(run_child(argv)[0])
    figures.update({name: statistics.median(runs) for name, runs in times.items()})


def ns(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 1e9:,.0f}"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a / b:.2f}×"


def report(rows: list[dict[str, Any]], figures: dict[str, Any]) -> str:
    out = [
        "| circuit (forward + backward) | **`evaluate()` ÷ floor** | `evaluate()` ns/gate | floor ns/gate | "
        "compiled code alone ÷ floor | interpreter ns/gate | first call ÷ interpreter | micrograd ÷ `evaluate()` | "
        "PyTorch scalar ÷ `evaluate()` | compile µs/gate (floor's) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ours = r["evaluate()"]
        out.append(
            f"| random DAG, {r['gates']:,} gates | **{ratio(ours, r['floor'])}** | {ns(ours)} | {ns(r['floor'])} | "
            f"{ratio(r['compiled'], r['floor'])} | {ns(r['interpreter'])} | "
            f"{ratio(r['first call'], r['first call interpreter'])} | {ratio(r.get('micrograd'), ours)} | "
            f"{ratio(r.get('torch'), ours)} | {r['compile'] * 1e6:.0f} ({r['floor compile'] * 1e6:.0f}) |"
        )
    if "chunks" in figures:
        c = figures["chunks"]
        fastest = min(t for _, t, _, _ in c["rows"])
        out += [
            "",
            f"| {c['gates']:,} gates, compiled in chunks of | run ns/gate | ÷ fastest | compile s | "
            "compile peak memory |",
            "|---|---:|---:|---:|---:|",
        ]
        for size, per_gate, compile_s, peak in c["rows"]:
            label = f"{size:,}" + (" (one function)" if size == c["gates"] else "")
            label += " (default)" if size == min(c["default"], c["gates"]) else ""
            out.append(
                f"| {label} | {ns(per_gate)} | {per_gate / fastest:.2f}× | {compile_s:.2f} | {peak / 1e6:.0f} MB |"
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
    if "one_shot_s" in figures or "startup_s" in figures:
        out += ["", "| one-shot, memory and start-up | measured |", "|---|---:|"]
    if "one_shot_s" in figures:
        f = figures
        out += [
            f"| `circuit eval` of the {f['big']:,}-gate file (load, validate, evaluate, JSON) | "
            f"{f['one_shot_s']:.2f} s, peak {f['one_shot_peak_mb']:.0f} MB |",
            f"| bare `yaml.load(text, Loader=yaml.CSafeLoader)` of the same file | "
            f"{f['yaml_load_s']:.2f} s, peak {f['yaml_peak_mb']:.0f} MB |",
            f"| loaded + compiled {f['big']:,}-gate circuit: memory held per gate (traced) | "
            f"{f['loaded_bytes_per_gate']:.0f} bytes |",
            f"| … peak while loading and compiling, per gate (traced) | {f['load_peak_bytes_per_gate']:.0f} bytes |",
        ]
    if "startup_s" in figures:
        f = figures
        out += [
            f"| `circuit eval circuits/seed.yaml` | {f['startup_s'] * 1000:.0f} ms |",
            f"| `circuit --help` | {f['help_s'] * 1000:.0f} ms |",
            f'| bare `python -c "import yaml, pydantic, networkx"` | {f["bare_import_s"] * 1000:.0f} ms |',
            f'| bare `python -c "pass"` | {f["bare_python_s"] * 1000:.0f} ms |',
        ]
    return "\n".join(out)


def targets(rows: list[dict[str, Any]], figures: dict[str, Any]) -> list[tuple[str, bool]]:
    verdicts = []
    for r in rows:
        ours = r["evaluate()"]
        if r["gates"] <= 10_000:
            verdicts.append((f"{r['gates']:,} gates: evaluate() ≤ 1.5× the floor", ours <= 1.5 * r["floor"]))
        verdicts.append(
            (
                f"{r['gates']:,} gates: first call of a new structure no slower than the interpreter (10% noise)",
                r["first call"] <= 1.1 * r["first call interpreter"],
            )
        )
    if "batch" in figures:
        b = figures["batch"]
        verdicts.append(("batch: ≤ 1.2× numpy floor", b["circuitflow"] <= 1.2 * b["numpy floor"]))
    if "one_shot_s" in figures:
        verdicts.append(("one-shot faster than bare yaml.load", figures["one_shot_s"] < figures["yaml_load_s"]))
        verdicts.append(("loaded circuit ≤ 1 KB/gate", figures["loaded_bytes_per_gate"] <= 1024))
    if "startup_s" in figures:
        verdicts.append(("seed start-up ≤ 1.5× bare imports", figures["startup_s"] <= 1.5 * figures["bare_import_s"]))
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="scalar DAG sizes (gates), comma-separated")
    parser.add_argument("--chunk-gates", type=int, default=10_000, help="circuit size of the chunk table (0: skip)")
    parser.add_argument("--batch-gates", type=int, default=200)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of repeats per measurement")
    parser.add_argument("--no-subprocess", action="store_true", help="skip one-shot, memory and start-up")
    parser.add_argument("--startup-repeats", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    add_docs_option(parser)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    where = machine()
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {}
    scalar_section(sizes, args.seed, args.budget, rows)
    if args.chunk_gates:
        chunk_section(args.chunk_gates, args.seed, args.budget, figures)
    batch_section(args.batch_gates, args.samples, args.seed, args.budget, figures)
    if not args.no_subprocess:
        one_shot_section(max(sizes), args.seed, figures)
        startup_section(figures, args.startup_repeats)
    tables = report(rows, figures)
    verdicts = "\n".join(f"- {'met' if met else 'NOT met'}: {text}" for text, met in targets(rows, figures))
    print(tables, verdicts, sep="\n\n")
    if args.json:
        print(json.dumps({"scalar": rows, **figures}))
    if not args.no_docs:
        given = sys.argv[1:] if argv is None else argv
        command = " ".join(["python benchmarks/bench_perf.py", *given])
        write_section("perf", f"{where} `{command}`:\n\n{tables}\n\n{verdicts}", args.docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
