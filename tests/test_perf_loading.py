"""Loading large circuits: the collector is restored (also after errors), and a
100k-gate circuit loads and evaluates correctly in the default suite."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import engine
from benchmarks.dag import random_dag
from benchmarks.floors import python_floor
from engine.run import codegen


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize(
    "text",
    [
        "inputs: {x: 1}\ngates:\n  f: {op: nope, in: [x]}\n",  # schema error
        "inputs: {x: 1}\ngates:\n  f: {op: add, in: [x, f]}\n",  # graph error (cycle)
        "inputs: {x: 1}\ngates: [\n",  # YAML syntax error
    ],
)
def test_collector_is_restored_after_a_failing_load(text: str, enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(engine.CircuitError):
            engine.parse_circuit(text)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_collector_is_restored_after_a_faulting_evaluation() -> None:
    circuit = engine.parse_circuit("inputs: {x: 0}\ngates:\n  f: {op: log, in: [x]}\n")
    with pytest.raises(engine.EvaluationError):
        circuit.evaluate()
    assert gc.isenabled()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_100k_gate_circuit_loads_and_evaluates(tmp_path: Path) -> None:
    dag = random_dag(100_000, seed=3)
    path = tmp_path / "big.yaml"
    path.write_text(dag.yaml(), encoding="utf-8")
    result = engine.evaluate_file(path)
    assert result.status == "ok", result.errors
    assert len(result.values) == 100_000 + len(dag.inputs)
    # an independent implementation (the benchmark's hand-written floor) agrees
    small_dag = random_dag(2_000, seed=3)
    value, grads = python_floor(small_dag)(list(small_dag.inputs.values()))
    small = engine.parse_circuit(small_dag.yaml()).evaluate()
    assert small.value == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert [small.grads[n] for n in small_dag.inputs] == pytest.approx(grads, rel=1e-12, abs=1e-12)
    # the compiled (chunked) path gives the interpreter's numbers exactly
    circuit = engine.load_circuit(path)
    program = circuit.program
    compiled = codegen.run_compiled(program, codegen.compile_code(program), circuit.input_values())
    assert compiled[0][: len(program.wires)] == [result.values[w] for w in program.wires]
    assert compiled[1][: len(program.wires)] == [result.grads[w] for w in program.wires]


def test_large_files_place_issues_from_the_deferred_source_map(tmp_path: Path) -> None:
    text = random_dag(10_000, seed=5).yaml()
    assert len(text) > 256 * 1024  # loaded without a full source map
    lines = text.splitlines()
    target = next(i for i, line in enumerate(lines) if "op: tanh" in line and i > 5000)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(lines[target], lines[target].replace("op: tanh", "op: tanhh")), encoding="utf-8")
    with pytest.raises(engine.SchemaError) as caught:
        engine.load_circuit(bad)
    column = lines[target].index("tanh") + 1
    assert caught.value.issues[0].render() == (
        f"{bad}:{target + 1}:{column}: error[unknown-op] unknown op 'tanhh'\n  help: did you mean 'tanh'?"
    )


def test_large_circuit_fault_is_located_at_the_gate_line(tmp_path: Path) -> None:
    dag = random_dag(10_000, seed=5)
    text = dag.yaml() + ""
    # feed the output through a log of a negative number
    text = text.replace(
        f"output: {dag.output}",
        f"  bad: {{op: log, in: [-1]}}\n  out: {{op: add, in: [{dag.output}, bad]}}\noutput: out",
    )
    path = tmp_path / "fault.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  bad: {op: log, in: [-1]}") + 1
    result = engine.evaluate_file(path)
    assert result.status == "error"
    assert (result.errors[0].message, result.errors[0].line, result.errors[0].column) == (
        "gate 'bad' log(-1.0): log of a non-positive number",
        line,
        3,
    )
