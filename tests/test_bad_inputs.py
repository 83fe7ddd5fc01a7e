"""Every bad input gets a located diagnostic with a hint, exit code 1 and no traceback.

Fixtures are named after the failure: ``tests/circuits/bad/<name>.yaml`` whose first
lines are ``# expect: <code> L:C`` and ``# message: <exact message>``. Inputs that
cannot carry such a header (encodings, huge or hostile files) are generated below.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import engine
from engine.errors import Issue
from engine.format.loader import MAX_DEPTH

BAD = Path(__file__).parent / "circuits" / "bad"
FIXTURES = sorted(BAD.glob("*.yaml"))
HEADER = re.compile(r"# expect: (?P<code>[\w-]+) (?P<line>\d+):(?P<col>\d+)\n# message: (?P<message>.*)\n")


def expectation(path: Path) -> tuple[str, int, int, str]:
    match = HEADER.match(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} lacks its '# expect:' / '# message:' header"
    return match["code"], int(match["line"]), int(match["col"]), match["message"]


def first_error(path: Path, **kwargs: object) -> Issue:
    result = engine.evaluate_file(path, **kwargs)  # type: ignore[arg-type]
    assert result.status in ("invalid", "error"), result
    return result.errors[0]


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_error_is_located(path: Path) -> None:
    code, line, col, message = expectation(path)
    issue = first_error(path)
    assert (issue.code, issue.line, issue.column, issue.message) == (code, line, col, message)
    assert issue.hint, "every error carries a hint"
    assert issue.path == str(path)


def test_all_fixtures_through_the_cli(tmp_path: Path) -> None:
    # One `circuit check` run over every fixture that fails validation; the domain
    # fault only shows on evaluation and is run through `circuit eval`.
    loadable = [p for p in FIXTURES if expectation(p)[0] != "domain"]
    proc = subprocess.run(["circuit", "check", *map(str, loadable)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    for path in loadable:
        code, line, col, message = expectation(path)
        assert f"{path}:{line}:{col}: error[{code}] {message}\n  help: " in proc.stdout
    assert proc.stdout.endswith(f"\n{len(loadable)} files checked: 0 valid, {len(loadable)} invalid\n")
    assert proc.stderr == ""
    domain = BAD / "domain.yaml"
    proc = subprocess.run(["circuit", "eval", str(domain)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{domain}:6:3: error[domain] gate 'f' log(0.0): log of a non-positive number\n")
    assert "Traceback" not in proc.stderr


def test_all_errors_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("inputs:\n  x: yes\n  y: .inf\ngates:\n  f: {op: mull, in: [x, y], colour: 1}\n")
    with pytest.raises(engine.SchemaError) as info:
        engine.load_circuit(path)
    assert [(i.code, i.line, i.column) for i in info.value.issues] == [
        ("invalid-number", 2, 6),
        ("invalid-number", 3, 6),
        ("unknown-op", 5, 11),
        ("unknown-key", 5, 29),
    ]


def test_graph_errors_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "wiring.yaml"
    path.write_text(
        "inputs: {x: 1}\ngates:\n  a: {op: log, in: [x, x]}\n  b: {op: add, in: [a, z]}\n"
        "  c: {op: neg, in: [d]}\n  d: {op: neg, in: [c]}\n"
    )
    with pytest.raises(engine.GraphError) as info:
        engine.load_circuit(path)
    assert [i.render() for i in info.value.issues] == [
        f"{path}:3:20: error[arity] op 'log' takes 1 input, got 2\n  help: give 'a' 1 input",
        f"{path}:4:24: error[unknown-wire] unknown wire 'z' in gate 'b'\n"
        "  help: declare it under `inputs:` or as a gate",
        f"{path}:5:3: error[cycle] cycle: c -> d -> c\n"
        "  help: a gate cannot depend on its own output; break the loop at one of: c, d",
    ]


def test_did_you_mean_for_wires_ops_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "typos.yaml"
    path.write_text("inputs: {weight: 1}\ngates:\n  f: {op: sigmoyd, in: [wieght]}\n")
    assert first_error(path).hint == "did you mean 'sigmoid'?"
    path.write_text("inputs: {weight: 1}\ngates:\n  f: {op: sigmoid, in: [wieght]}\n")
    assert first_error(path).hint == "did you mean 'weight'?"
    path.write_text("inputs: {weight: 1}\ngates:\n  f: {op: sigmoid, inn: [weight]}\n")
    issues = engine.evaluate_file(path).errors
    assert [(i.code, i.message, i.hint) for i in issues] == [
        ("missing-key", "missing required key 'in'", "add `in:` listing the gate's inputs, e.g. `in: [x, y]`"),
        ("unknown-key", "unknown key 'inn'", "did you mean 'in'?"),
    ]


@pytest.mark.timeout(30)  # expanded, the document would not fit in memory: refused before construction
def test_billion_laughs_fails_fast(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert len(path.read_bytes()) < 400
    issue = first_error(path)
    assert (issue.code, issue.line, issue.column) == ("yaml-anchor", 1, 4)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 100_000])
def test_deep_nesting_is_refused_without_recursion(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("gates: " + "[" * depth + "]" * depth + "\n")
    issue = first_error(path)
    assert (issue.code, issue.line, issue.message) == ("yaml-depth", 1, f"nesting deeper than {MAX_DEPTH} levels")


def test_nesting_at_the_limit_is_not_a_depth_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(
        "description: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\ngates: {f: {op: neg, in: [1]}}\n"
    )
    assert first_error(path).code == "invalid-type"  # the schema, not the depth check, objects


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("gates:\n  f: {op: neg, in: [1]}\n" + "# padding\n" * 100)
    issue = first_error(path, max_bytes=500)
    assert (issue.code, issue.message) == ("too-large", "file is 1,031 bytes, over the 500-byte limit")
    assert engine.evaluate_file(path).status == "ok"
    proc = subprocess.run(["circuit", "eval", str(path), "--max-bytes", "500"], capture_output=True, text=True)
    assert proc.returncode == 1 and "error[too-large]" in proc.stderr


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfinputs: {x: 2}\ngates:\n  f: {op: neg, in: [x]}\n")
    assert engine.evaluate_file(path).value == -2.0


@pytest.mark.parametrize(("encoding", "name"), [("utf-16", "UTF-16"), ("utf-32", "UTF-32")])
def test_other_encodings_are_refused(tmp_path: Path, encoding: str, name: str) -> None:
    path = tmp_path / "wide.yaml"
    path.write_bytes("gates:\n  f: {op: neg, in: [1]}\n".encode(encoding))
    issue = first_error(path)
    assert (issue.code, issue.message, issue.line, issue.column, issue.hint) == (
        "encoding",
        f"file is encoded as {name}, not UTF-8",
        1,
        1,
        "save the file as UTF-8",
    )


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("gates:\n  f: {op: neg, in: [1], doc: 'café'}\n".encode("latin-1"))
    issue = first_error(path)
    assert (issue.code, issue.message, issue.line, issue.column) == ("encoding", "invalid UTF-8 byte 0xe9", 2, 34)


def test_control_characters_are_located(tmp_path: Path) -> None:
    path = tmp_path / "ctrl.yaml"
    path.write_bytes(b"gates:\n  f: {op: neg, in: [1], doc: 'a\x07b'}\n")
    issue = first_error(path)
    assert (issue.code, issue.message, issue.line, issue.column) == (
        "control-char",
        "control character U+0007 is not allowed",
        2,
        32,
    )


def test_directory_and_missing_file(tmp_path: Path) -> None:
    assert (first_error(tmp_path).code, first_error(tmp_path / "nope.yaml").message) == ("io", "no such file")


def test_no_traceback_for_internal_errors_either(tmp_path: Path) -> None:
    # A file that is a FIFO with nothing behind it would hang; a directory passed to
    # `eval` exercises the error path through the whole CLI instead.
    proc = subprocess.run(["circuit", "eval", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"{tmp_path}: error[io] is a directory, not a circuit file\n"
        "  help: pass a .yaml file, or use `circuit batch` for folders\n"
    )


def test_schema_and_wiring_errors_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "inputs: {x: 1}\ngates:\n  a: {op: mull, in: [x, x]}\n  b: {op: add, in: [a, y]}\n"
        "  c: {op: neg, in: [x], colour: red}\n  d: {op: neg, in: [d]}\n"
    )
    with pytest.raises(engine.SchemaError) as info:
        engine.load_circuit(path)
    assert [(i.code, i.line, i.column, i.message) for i in info.value.issues] == [
        ("unknown-op", 3, 11, "unknown op 'mull'"),
        ("unknown-wire", 4, 24, "unknown wire 'y' in gate 'b'"),
        ("unknown-key", 5, 25, "unknown key 'colour'"),
        ("cycle", 6, 3, "cycle: d -> d"),
    ]


def test_empty_and_scalar_documents(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_bytes(b"")
    assert first_error(path).message == "file holds no circuit"
    path.write_text("42\n")
    assert (first_error(path).code, first_error(path).message) == (
        "not-a-mapping",
        "top level is a single value, not a mapping",
    )


def test_many_misspelt_names_get_hints_in_linear_time() -> None:
    # a file with thousands of misspelt references: every one is reported, the first ones with a
    # did-you-mean, and the suggestions stop once their budget is spent (no names × misspellings)
    from engine.errors import Suggester

    n = 1_000
    lines = ["inputs:", *(f"  w{i}: 1" for i in range(n)), "gates:"]
    lines += [f"  g{i}: {{op: add, in: [w{i}, wx{i}]}}" for i in range(n)]
    with pytest.raises(engine.CircuitError) as caught:
        engine.parse_circuit("\n".join(lines) + "\n", path="m.yaml")
    issues = caught.value.issues
    assert len(issues) == n and {i.code for i in issues} == {"unknown-wire"}
    assert (issues[0].line, issues[0].column, issues[0].hint) == (n + 3, 26, "did you mean 'w0'?")
    hinted = [i for i in issues if i.hint.startswith("did you mean")]
    assert len(hinted) == Suggester.LOOKUPS
    assert issues[-1].hint == "declare it under `inputs:` or as a gate"
