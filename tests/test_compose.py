"""Sub-circuits (`use:` / `with:`): qualified wires and parameters, errors in the right file with
their `used from` notes, the folder limit of watch and batch, the plan cache, and random
compositions against the same circuit flattened by hand."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.errors import CircuitError, Issue, Note, github_annotation
from engine.format.compose import MAX_USE_DEPTH
from engine.result import group_of, is_intermediate
from engine.watching.catalog import Catalog

NEURON = """\
inputs: {x: 0, y: 0, a: 1, b: 2, c: -3}
gates:
  s: a*x + b*y + c
  out: sigmoid(s)
output: out
"""
LAYER = """\
inputs: {x1: -1, x2: 3}
gates:
  n1: {use: neuron.yaml, with: {x: x1, y: x2}}
  n2: {use: neuron.yaml, with: {x: x1, y: x2, a: -1, b: 0.5}}
  f: n1 * n2 + 0.5 * n1.s
"""


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def write(folder: Path, **files: str) -> None:
    for name, text in files.items():
        (folder / name.replace("__", "/")).parent.mkdir(parents=True, exist_ok=True)
        (folder / name.replace("__", "/")).write_text(text)


def errors_of(path: Path, **kwargs: object) -> list[Issue]:
    with pytest.raises(CircuitError) as caught:
        engine.load_circuit(path, **kwargs)  # type: ignore[arg-type]
    return list(caught.value.issues)


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    write(tmp_path, **{"neuron.yaml": NEURON, "layer.yaml": LAYER})
    return tmp_path / "layer.yaml"


def test_instances_have_qualified_wires_and_their_own_parameters(layer: Path) -> None:
    r = engine.load_circuit(layer).evaluate()
    s1, s2 = 1 * -1 + 2 * 3 - 3, -1 * -1 + 0.5 * 3 - 3
    n1, n2 = sigmoid(s1), sigmoid(s2)
    assert r.value == pytest.approx(n1 * n2 + 0.5 * s1, abs=1e-15)
    assert [w for w in r.values if not is_intermediate(w)] == [
        "x1", "x2", "n1.a", "n1.b", "n1.c", "n2.a", "n2.b", "n2.c", "n1.s", "n2.s", "n1.out", "n2.out", "f",
    ]  # fmt: skip
    assert (r.values["n1.a"], r.values["n2.a"], r.values["n2.b"], r.values["n2.c"]) == (1.0, -1.0, 0.5, -3.0)
    assert "n1.x" not in r.values  # a bound input is the parent's wire
    # ∂f/∂(n1.a) = (n2 + 0.5/σ'(s1)·σ'(s1))… written out: f = n1·n2 + 0.5·s1, s1 = a·x1 + …
    d_s1 = n2 * n1 * (1 - n1) + 0.5
    assert r.grads["n1.a"] == pytest.approx(d_s1 * -1)
    assert r.grads["n1.c"] == pytest.approx(d_s1)
    assert r.grads["n2.b"] == pytest.approx(n1 * n2 * (1 - n2) * 3)
    assert r.grads["x1"] == pytest.approx(d_s1 * 1 + n1 * n2 * (1 - n2) * -1)


def test_parameters_are_overridden_like_inputs(layer: Path) -> None:
    circuit = engine.load_circuit(layer)
    assert circuit.evaluate({"n1.a": 2}).values["n1.s"] == 2 * -1 + 2 * 3 - 3
    proc = subprocess.run(
        ["circuit", "eval", str(layer), "--set", "n1.a=2", "--format", "json"], capture_output=True, text=True
    )
    assert (proc.returncode, json.loads(proc.stdout)["values"]["n1.s"]) == (0, 1.0)
    with pytest.raises(CircuitError) as caught:
        circuit.evaluate({"n1.aa": 2})
    assert caught.value.first.hint == "did you mean 'n1.a'?"


def test_instance_names_its_output_in_output_and_expect(tmp_path: Path, layer: Path) -> None:
    text = LAYER + "output: f\nexpect:\n  values: {n1: 0.5, n1.s: 2}\n"
    layer.write_text(text)
    r = engine.evaluate_file(layer)
    failed = [c for c in r.checks if not c.passed]
    assert [(c.wire, c.line, c.column) for c in failed] == [("n1.out", 8, 16)]  # where the user wrote it
    write(tmp_path, **{"top.yaml": "inputs: {p: 1}\ngates:\n  l: {use: layer.yaml}\n  g: l * p\noutput: l\n"})
    assert engine.evaluate_file(tmp_path / "top.yaml").output == "l.f"


def test_nested_instances_equal_the_circuit_flattened_by_hand(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "lib__neuron.yaml": NEURON,
            "lib__pair.yaml": "inputs: {u: 1, v: 2}\ngates:\n"
            "  p: {use: neuron.yaml, with: {x: u, y: v}}\n  q: {use: neuron.yaml, with: {x: p, y: u, c: 0.5}}\n",
            "net.yaml": "inputs: {i: 0.3}\ngates:\n  m: {use: lib/pair.yaml, with: {u: i}}\n  g: m + m.p.s\n",
            "flat.yaml": "inputs: {i: 0.3, v: 2, pa: 1, pb: 2, pc: -3, qa: 1, qb: 2, qc: 0.5}\ngates:\n"
            "  ps: pa*i + pb*v + pc\n  p: sigmoid(ps)\n  qs: qa*p + qb*i + qc\n  q: sigmoid(qs)\n  g: q + ps\n",
        },
    )
    nested = engine.evaluate_file(tmp_path / "net.yaml")
    flat = engine.evaluate_file(tmp_path / "flat.yaml")
    assert nested.value == flat.value
    pairs = {"i": "i", "m.v": "v", "m.p.a": "pa", "m.p.c": "pc", "m.q.a": "qa", "m.q.c": "qc", "m.p.s": "ps"}
    assert {k: nested.grads[k] for k in pairs} == {k: flat.grads[v] for k, v in pairs.items()}
    assert nested.output == "g" and "m.q.out" in nested.values


# ---- errors, each in its file, with the way it was reached ----


def test_error_inside_a_used_file_is_placed_there_with_a_note(tmp_path: Path) -> None:
    write(tmp_path, **{"neuron.yaml": NEURON.replace("b*y", "b*yy"), "layer.yaml": LAYER})
    issues = errors_of(tmp_path / "layer.yaml")
    neuron, layer = str(tmp_path / "neuron.yaml"), str(tmp_path / "layer.yaml")
    # in the used file's own names, once (not once per instance)
    assert issues == [
        Issue(
            "unknown-wire",
            "unknown wire 'yy' in gate 's'",
            neuron,
            3,
            14,
            "did you mean 's'?",
            notes=(Note("used from", layer, 3, 7),),
        )
    ]
    assert issues[0].render() == (
        f"{neuron}:3:14: error[unknown-wire] unknown wire 'yy' in gate 's'\n"
        f"  help: did you mean 's'?\n"
        f"  note: used from {layer}:3:7"
    )
    assert issues[0].to_dict()["notes"] == [{"message": "used from", "path": layer, "line": 3, "column": 7}]
    assert issues[0].to_dict()["path"] == neuron
    assert github_annotation(issues[0]).endswith(f"%0Anote: used from {layer}:3:7")


def test_the_cli_shows_the_include_stack(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "neuron.yaml": NEURON.replace("sigmoid(s)", "sigmoid(s, s)"),
            "layer.yaml": LAYER,
            "top.yaml": "gates:\n  l: {use: layer.yaml}\n",
        },
    )
    proc = subprocess.run(["circuit", "check", "top.yaml"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == (  # check's diagnostics are its data: stdout
        "neuron.yaml:4:8: error[arity] 'sigmoid' takes 1 argument, got 2\n"
        "  help: call it as sigmoid(a)\n"
        "  note: used from layer.yaml:3:7\n"
        "  note: used from top.yaml:2:6\n"
        "1 file checked: 0 valid, 1 invalid\n"
    )
    proc = subprocess.run(
        ["circuit", "eval", "top.yaml", "--format", "json"], capture_output=True, text=True, cwd=tmp_path
    )
    error = json.loads(proc.stdout)["errors"][0]
    assert (error["path"], error["line"], error["column"], [n["path"] for n in error["notes"]]) == (
        "neuron.yaml",
        4,
        8,
        ["layer.yaml", "top.yaml"],
    )


@pytest.mark.parametrize(
    ("gate", "code", "column", "message", "hint"),
    [
        ("{use: nothere.yaml}", "use-missing", 12, "cannot use 'nothere.yaml': no such file", None),
        ("{use: neuron.yaml, with: {z: x1}}", "unknown-input", 32, "'neuron.yaml' has no input 'z'", None),
        ("{use: neuron.yaml, with: {xx: x1}}", "unknown-input", 32, "'neuron.yaml' has no input 'xx'",
         "did you mean 'x'?"),
        ("{use: neuron.yaml, with: {x: xx1}}", "unknown-wire", 35, "unknown wire 'xx1' bound to 'n.x'",
         "did you mean 'x1'?"),
        ("{use: two.yaml}", "use-output", 12, "'two.yaml' has no single output: several gates are read by no "
         "other: 'g', 'h'", "add `output: <wire>` to 'two.yaml' to say which wire 'n' stands for"),
        ("{use: self.yaml}", "use-cycle", 12, None, None),
    ],
)  # fmt: skip
def test_use_errors_are_located(
    tmp_path: Path, gate: str, code: str, column: int, message: str | None, hint: str | None
) -> None:
    write(
        tmp_path,
        **{
            "neuron.yaml": NEURON,
            "two.yaml": "inputs: {x: 1}\ngates:\n  g: 2*x\n  h: 3*x\n",
            "self.yaml": "gates:\n  again: {use: self.yaml}\n",
            "main.yaml": f"inputs: {{x1: 1}}\ngates:\n  n: {gate}\n  f: n * x1\n",
        },
    )
    issue = errors_of(tmp_path / "main.yaml")[0]
    where = (issue.path, issue.line, issue.column, issue.code)
    if code == "use-cycle":
        assert where == (str(tmp_path / "self.yaml"), 2, 16, "use-cycle")
        assert issue.notes == (Note("used from", str(tmp_path / "main.yaml"), 3, 6),)
        return
    assert where == (str(tmp_path / "main.yaml"), 3, column, code)
    assert issue.message == message
    assert issue.hint
    if hint is not None:
        assert issue.hint == hint


def test_a_cycle_of_files_lists_every_link(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "a.yaml": "inputs: {x: 1}\ngates:\n  b: {use: b.yaml, with: {x: x}}\n",
            "b.yaml": "inputs: {x: 1}\ngates:\n  c: {use: c.yaml, with: {x: x}}\n",
            "c.yaml": "inputs: {x: 1}\ngates:\n  k: 2 * x\n  a: {use: a.yaml, with: {x: k}}\n",
        },
    )
    a, b, c = (str(tmp_path / f"{n}.yaml") for n in "abc")
    (issue,) = errors_of(tmp_path / "a.yaml")
    assert (issue.code, issue.path, issue.line, issue.column) == ("use-cycle", c, 4, 12)
    assert issue.message == f"'{a}' uses itself: {a} -> {b} -> {c} -> {a}"
    assert issue.notes == (Note("used from", b, 3, 6), Note("used from", a, 3, 6))


def test_nesting_deeper_than_the_limit_is_an_error(tmp_path: Path) -> None:
    depth = MAX_USE_DEPTH + 2
    for level in range(depth):
        use = f"  n: {{use: l{level + 1}.yaml, with: {{x: x}}}}\n" if level + 1 < depth else "  n: 2 * x\n"
        write(tmp_path, **{f"l{level}.yaml": "inputs: {x: 1}\ngates:\n" + use})
    (issue,) = errors_of(tmp_path / "l0.yaml")
    assert (issue.code, issue.message, issue.line, issue.column) == (
        "use-depth",
        f"sub-circuits nested deeper than {MAX_USE_DEPTH} levels",
        3,
        12,
    )
    assert len(issue.notes) == MAX_USE_DEPTH  # one per file on the way
    write(tmp_path, **{f"l{MAX_USE_DEPTH}.yaml": "inputs: {x: 1}\ngates:\n  n: 2 * x\n"})
    assert engine.load_circuit(tmp_path / "l0.yaml").evaluate().value == 2.0  # 32 levels of use are fine


def test_instance_named_like_an_input_and_unknown_instance_wire(tmp_path: Path) -> None:
    write(tmp_path, **{"neuron.yaml": NEURON})
    write(tmp_path, **{"m.yaml": "inputs: {n: 1}\ngates:\n  n: {use: neuron.yaml}\n  f: 2 * n\n"})
    (issue,) = errors_of(tmp_path / "m.yaml")
    assert (issue.code, issue.line, issue.column) == ("duplicate-wire", 3, 6)
    write(tmp_path, **{"m.yaml": "gates:\n  n: {use: neuron.yaml}\n  f: n + n.ss\n"})
    (issue,) = errors_of(tmp_path / "m.yaml")
    assert (issue.code, issue.message, issue.line, issue.column, issue.hint) == (
        "unknown-wire",
        "unknown wire 'n.ss' in gate 'f'",
        3,
        10,
        "did you mean 'n.s'?",
    )


def test_a_domain_fault_in_a_used_file_is_placed_there(tmp_path: Path) -> None:
    write(
        tmp_path,
        **{
            "l.yaml": "inputs: {x: 1}\ngates:\n  f: x * log(x - 1)\n",
            "m.yaml": "inputs: {p: 1}\ngates:\n  u: {use: l.yaml, with: {x: p}}\n",
        },
    )
    result = engine.evaluate_file(tmp_path / "m.yaml")
    (issue,) = result.errors
    assert (result.status, issue.code, issue.path, issue.line, issue.column) == (
        "error",
        "domain",
        str(tmp_path / "l.yaml"),
        3,
        10,
    )
    assert issue.notes == (Note("used from", str(tmp_path / "m.yaml"), 3, 6),)


# ---- the folder limit (watch, batch) and single files (eval, check) ----


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    write(
        tmp_path,
        **{
            "shared__neuron.yaml": NEURON,
            "work__inner.yaml": "inputs: {x: 1}\ngates:\n  f: 2 * x\n",
            "work__ok.yaml": "inputs: {p: 1}\ngates:\n  n: {use: inner.yaml, with: {x: p}}\n",
            "work__out.yaml": "inputs: {p: 1}\ngates:\n  n: {use: ../shared/neuron.yaml, with: {x: p}}\n",
        },
    )
    return tmp_path / "work"


def test_eval_of_a_single_file_may_use_any_readable_file(outside: Path) -> None:
    proc = subprocess.run(["circuit", "eval", str(outside / "out.yaml")], capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")


@pytest.mark.parametrize("jobs", [1, 2])
def test_batch_keeps_use_inside_the_folder(outside: Path, jobs: int) -> None:
    report = engine.batch([outside], jobs=jobs)
    by_name = {Path(r.path or "").name: r for r in report.results}
    assert (by_name["ok.yaml"].status, by_name["ok.yaml"].value) == ("ok", 2.0)
    (issue,) = by_name["out.yaml"].errors
    assert (by_name["out.yaml"].status, issue.code, issue.line, issue.column) == ("invalid", "use-outside", 3, 12)
    assert issue.message == "'../shared/neuron.yaml' is outside the folder 'work'"
    assert issue.hint


def test_watch_catalog_keeps_use_inside_the_folder(outside: Path) -> None:
    catalog = Catalog(roots=[outside])
    for name in ("ok.yaml", "out.yaml"):
        catalog.reload(outside / name)
    assert catalog.entry(outside / "out.yaml").latest.errors[0].code == "use-outside"  # type: ignore[union-attr]
    assert catalog.entry(outside / "ok.yaml").latest.ok  # type: ignore[union-attr]
    assert catalog.dependents([outside / "inner.yaml"]) == [str(outside / "ok.yaml")]


# ---- the plan cache covers the used files ----


def test_program_cache_key_covers_used_files(layer: Path) -> None:
    catalog = Catalog()
    catalog.reload(layer)
    neuron = layer.parent / "neuron.yaml"
    neuron.write_text(NEURON.replace("c: -3", "c: -2"))  # a value: same plan
    update = catalog.refresh(layer)
    assert update is not None and update.reused and update.result is not None
    assert update.result.values["n1.c"] == -2.0
    neuron.write_text(NEURON.replace("sigmoid(s)", "tanh(s)"))  # the structure: a new plan
    update = catalog.refresh(layer)
    assert update is not None and not update.reused and update.result is not None
    assert update.result.values["n1.out"] == pytest.approx(math.tanh(2))
    assert catalog.programs.misses == 2


# ---- names and the schema ----


def test_qualified_names_group_by_their_prefix() -> None:
    assert [group_of(w) for w in ("f", "n1.s", "n1.s.1", "a.b.out")] == ["", "n1", "n1.s", "a.b"]
    assert [is_intermediate(w) for w in ("f", "f.1", "n1.s", "n1.s.12")] == [False, True, False, True]


def test_schema_describes_expressions_and_sub_circuits() -> None:
    from engine.format.model import json_schema

    schema = json_schema()
    (gate,) = [entry["oneOf"] for entry in schema["properties"]["gates"]["patternProperties"].values()]
    assert gate[0]["type"] == "string" and "expression" in gate[0]["description"]
    use = schema["$defs"]["UseGate"]["properties"]
    assert {"use", "with", "doc"} == set(use) and all(p.get("description") for p in use.values())
    assert schema["$defs"]["ExprGate"]["properties"]["expr"]["description"]


# ---- random compositions give the numbers of their hand-flattened file ----

SUB_EXPRS = [
    "{a}*{x} + {y}",
    "sigmoid({a}*{x} - {y})",
    "tanh({x}) * {a} + {y}*{y}",
    "max({x}, {y}) * {a}",
    "exp(-{x}*{x}) + {a}*{y}",
]


@st.composite
def compositions(draw: st.DrawFn) -> tuple[dict[str, str], str]:
    """Files (sub.yaml, main.yaml) and the same circuit as one flat file."""
    sub = draw(st.sampled_from(SUB_EXPRS))
    count = draw(st.integers(1, 3))
    a_default = draw(st.sampled_from([0.5, -1.25, 2.0]))
    lines, flat_inputs, flat_gates = [], ["p: 0.75", "q: -0.5"], []
    outputs: list[str] = []
    for k in range(1, count + 1):
        x = draw(st.sampled_from(["p", "q", *outputs]))
        y = draw(st.sampled_from(["wire", "number", "free"]))
        a = draw(st.sampled_from(["number", "free"]))
        with_: dict[str, str] = {"x": x}
        flat_y, flat_a = f"n{k}_y", f"n{k}_a"
        if y == "wire":
            with_["y"], flat_y = "q", "q"
        elif y == "number":
            with_["y"] = "0.25"
            flat_inputs.append(f"{flat_y}: 0.25")
        else:
            flat_inputs.append(f"{flat_y}: 1.5")
        if a == "number":
            with_["a"] = "-0.75"
            flat_inputs.append(f"{flat_a}: -0.75")
        else:
            flat_inputs.append(f"{flat_a}: {a_default}")
        binding = ", ".join(f"{key}: {value}" for key, value in with_.items())
        lines.append(f"  n{k}: {{use: sub.yaml, with: {{{binding}}}}}")
        flat_x = "g" + x[1:] if x.startswith("n") else x
        flat_gates.append(f"  g{k}: '{sub.format(a=flat_a, x=flat_x, y=flat_y)}'")
        outputs.append(f"n{k}")
    total = " + ".join(outputs) + " + p"
    files = {
        "sub.yaml": f"inputs: {{x: 0, y: 1.5, a: {a_default}}}\ngates:\n  out: '{sub.format(a='a', x='x', y='y')}'\n",
        "main.yaml": "inputs: {p: 0.75, q: -0.5}\ngates:\n" + "\n".join(lines) + f"\n  f: {total}\noutput: f\n",
    }
    flat = (
        "inputs: {" + ", ".join(flat_inputs) + "}\ngates:\n" + "\n".join(flat_gates)
        + f"\n  f: {total.replace('n', 'g')}\noutput: f\n"
    )  # fmt: skip
    return files, flat


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(compositions())
def test_random_compositions_equal_their_hand_flattened_file(tmp_path: Path, case: tuple[dict[str, str], str]) -> None:
    files, flat = case
    write(tmp_path, **files)
    composed = engine.evaluate_file(tmp_path / "main.yaml")
    single = engine.parse_circuit(flat).evaluate()
    assert composed.status == single.status == "ok", (composed.errors, flat)
    assert composed.value == single.value
    for name, grad in single.grads.items():
        if name in ("p", "q") or name.endswith(("_a", "_y")):
            qualified = name if name in ("p", "q") else name.replace("_", ".")
            assert composed.grads[qualified] == grad, name


def test_batch_report_with_an_error_in_a_used_file_follows_its_schema(tmp_path: Path) -> None:
    import jsonschema

    write(tmp_path, **{"neuron.yaml": NEURON.replace("b*y", "b*yy"), "layer.yaml": LAYER})
    report = engine.batch([tmp_path], jobs=1).to_dict()
    schema = json.loads((Path(__file__).parents[1] / "schemas" / "batch-report.schema.json").read_text())
    jsonschema.validate(report, schema)
    layer = next(r for r in report["results"] if r["path"].endswith("layer.yaml"))
    assert layer["errors"][0]["path"] == str(tmp_path / "neuron.yaml")
    assert layer["errors"][0]["notes"] == [
        {"message": "used from", "path": str(tmp_path / "layer.yaml"), "line": 3, "column": 7}
    ]
