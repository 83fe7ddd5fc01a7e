"""Batch report renderings: versioned JSON (checked against the published schema),
JUnit XML, GitHub annotations, text, the progress bar, and atomic report files."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from mixed_suite import EXPECTED_FAILURES, REPO, TIMEOUT, make_suite

import engine
from engine.batching import reports
from engine.batching.runner import BatchReport
from engine.cli import batchview

SCHEMA = json.loads((REPO / "schemas" / "batch-report.schema.json").read_text())


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> BatchReport:
    """The suite's report, made once for this module (it takes a second: one circuit times out)."""
    root = tmp_path_factory.mktemp("reports")
    make_suite(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        return engine.batch(["suite"], jobs=2, check=True, timeout=TIMEOUT)


def test_json_report_follows_its_schema(report: BatchReport) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    data = json.loads(reports.render(report, "json"))
    jsonschema.validate(data, SCHEMA)
    assert data["metadata"]["tool"] == "circuitflow"
    assert data["metadata"]["version"] == engine.__version__
    assert data["metadata"]["schema_version"] == 1
    assert data["summary"] == {"total": 7, "ok": 2, "failed": 1, "invalid": 2, "error": 2, "skipped": 0}
    assert [r["path"] for r in data["results"]] == sorted(r["path"] for r in data["results"])
    assert data["args"] == {
        "paths": ["suite"],
        "jobs": 2,
        "check": True,
        "exclude": [],
        "timeout": TIMEOUT,
        "fail_fast": False,
    }
    assert data["results"] == [r.to_dict() for r in report.results]


def test_junit_report_parses(report: BatchReport) -> None:
    root = ET.fromstring(reports.render(report, "junit"))
    assert root.tag == "testsuites"
    [suite] = root
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "7",
        "failures": "1",
        "errors": "4",
        "skipped": "0",
    }
    cases = {f"{case.get('classname')}/{case.get('name')}": case for case in suite.iter("testcase")}
    assert list(cases) == sorted(cases)
    outcome = {path: [child.tag for child in case] for path, case in cases.items()}
    assert outcome == {
        "suite/cycle.yaml": ["error"],
        "suite/failing.yaml": ["failure"],
        "suite/fault.yaml": ["error"],
        "suite/good/neuron.yaml": [],
        "suite/good/seed.yaml": [],
        "suite/invalid.yml": ["error"],
        "suite/slow.yaml": ["error"],
    }
    failure = cases["suite/failing.yaml"][0]
    assert failure.get("type") == "expect"
    assert failure.get("message") == "value of 'f' is -12.0, expected -13.0"
    assert failure.text == "suite/failing.yaml:6:15: error[expect] value of 'f' is -12.0, expected -13.0"
    assert cases["suite/slow.yaml"][0].get("type") == "timeout"
    assert cases["suite/good/seed.yaml"].get("classname") == "suite/good"
    assert cases["suite/good/seed.yaml"].get("name") == "seed.yaml"


def test_junit_marks_gradient_check_failures_and_skips(tmp_path: Path) -> None:
    # |x| at a kink with a gradient check: a warning, not a failure; a wrong grad expectation fails
    (tmp_path / "a.yaml").write_text("inputs: {x: 2}\ngates:\n  f: {op: mul, in: [x, x]}\nexpect:\n  grads: {x: 5}\n")
    (tmp_path / "b.yaml").write_text("inputs: {x: 2}\ngates:\n  f: {op: mul, in: [x, x]}\n")
    report = engine.batch([tmp_path], jobs=1, fail_fast=True)
    root = ET.fromstring(reports.junit(report))
    cases = list(root.iter("testcase"))
    assert [c[0].tag for c in cases] == ["failure", "skipped"]
    assert cases[0][0].get("message") == "gradient of 'x' is 4.0, expected 5.0"
    assert cases[1][0].get("message") == "not run: --fail-fast stopped the batch"
    assert root[0].get("skipped") == "1" and root.get("skipped") is None


# Jenkins xunit-plugin's junit-10.xsd, shipped as published (MIT licence, notice inside the file)
JUNIT_XSD = Path(__file__).with_name("junit-10.xsd")


def junit_of(report: BatchReport, tmp_path: Path) -> Path:
    path = tmp_path / "report.xml"
    path.write_text(reports.render(report, "junit"), encoding="utf-8")
    return path


def test_junit_is_valid_against_the_schema_jenkins_uses(report: BatchReport, tmp_path: Path) -> None:
    import xmlschema

    xmlschema.XMLSchema(JUNIT_XSD).validate(junit_of(report, tmp_path))


def test_junit_of_root_level_files_skips_and_control_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack run's findings: ``skipped`` on <testsuites> and ``file`` on <testcase> are not in
    the schema, root-level files got ``classname="."``, and a control character in a name made
    the file unparseable."""
    import xmlschema
    from junitparser import Error, JUnitXml, Skipped

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "a.yaml").write_text("inputs: {x: 0}\ngates:\n  f: {op: log, in: [x]}\n")
    (work / "b\x1b[2J.yaml").write_text("inputs: {x: 1}\ngates:\n  f: {op: neg, in: [x]}\n")
    report = engine.batch(["a.yaml", "b\x1b[2J.yaml"], jobs=1, fail_fast=True)
    xml = junit_of(report, tmp_path)
    xmlschema.XMLSchema(JUNIT_XSD).validate(xml)
    [suite] = JUnitXml.fromfile(str(xml))  # read back by a JUnit consumer
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (2, 0, 1, 1)
    cases = list(suite)
    assert [(c.classname, c.name) for c in cases] == [("circuitflow", "a.yaml"), ("circuitflow", "b\\x1b[2J.yaml")]
    assert [type(r) for c in cases for r in c.result] == [Error, Skipped]
    assert cases[0].result[0].message == "gate 'f' log(0.0): log of a non-positive number"
    assert cases[0].result[0].type == "domain"


def test_junit_read_back_by_a_consumer(report: BatchReport, tmp_path: Path) -> None:
    from junitparser import JUnitXml

    [suite] = JUnitXml.fromfile(str(junit_of(report, tmp_path)))
    assert (suite.name, suite.tests, suite.failures, suite.errors, suite.skipped) == ("circuitflow batch", 7, 1, 4, 0)
    outcomes = {f"{c.classname}/{c.name}": [(type(r).__name__, r.type) for r in c.result] for c in suite}
    assert outcomes == {
        "suite/cycle.yaml": [("Error", "cycle")],
        "suite/failing.yaml": [("Failure", "expect")],
        "suite/fault.yaml": [("Error", "domain")],
        "suite/good/neuron.yaml": [],
        "suite/good/seed.yaml": [],
        "suite/invalid.yml": [("Error", "yaml-syntax")],
        "suite/slow.yaml": [("Error", "timeout")],
    }


def test_github_annotations(report: BatchReport) -> None:
    lines = reports.render(report, "github").splitlines()
    assert lines[0] == (
        "::error file=suite/cycle.yaml,line=3,col=3,title=cycle::cycle: a -> b -> c -> a "
        "(help: a gate cannot depend on its own output; break the loop at one of: a, b, c)"
    )
    assert lines[-2] == (
        "::error file=suite/slow.yaml,title=timeout::evaluation took longer than the 0.5 s limit "
        "(help: raise --timeout, or split the circuit)"
    )
    assert len(lines) == 6 and lines[-1].startswith("7 circuits in ")


def test_text_report(report: BatchReport) -> None:
    text = batchview.batch_text(report, "text")
    lines = text.splitlines()
    assert lines[0].split() == ["circuit", "status", "output", "grad", "check", "time"]
    rows = [line.split() for line in lines[1:8]]
    assert [row[:2] for row in rows] == [
        ["suite/cycle.yaml", "invalid"],
        ["suite/failing.yaml", "failed"],
        ["suite/fault.yaml", "error"],
        ["suite/good/neuron.yaml", "ok"],
        ["suite/good/seed.yaml", "ok"],
        ["suite/invalid.yml", "invalid"],
        ["suite/slow.yaml", "error"],
    ]
    assert rows[4][2:5] == ["f", "=", "-12"] and rows[4][-1] == "ms"
    assert rows[0][2:4] == ["-", "-"]
    assert lines[9] == "failures:"
    heads = [line for line in lines[10:] if line.startswith("suite/")]
    assert heads == EXPECTED_FAILURES
    assert "  help: raise --timeout, or split the circuit" in lines
    assert lines[-1].startswith("7 circuits in ") and lines[-1].endswith(" s: 2 ok, 1 failed, 2 invalid, 2 error")
    assert "\x1b[" not in text


def test_text_report_in_colour(report: BatchReport) -> None:
    assert "\x1b[" in batchview.batch_text(report, "text", color=True)


def test_progress_bar_only_on_a_terminal(report: BatchReport, tmp_path: Path) -> None:
    log = (tmp_path / "log.txt").open("w")
    with batchview.progress(7, log) as advance:
        for result in report.results:
            advance(result)
    log.close()
    assert (tmp_path / "log.txt").read_text() == ""
    master, slave = os.openpty()
    terminal = os.fdopen(slave, "w")
    with batchview.progress(7, terminal) as advance:
        for result in report.results:
            advance(result)
    terminal.close()
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other end is closed and everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    shown = b"".join(chunks).decode()
    assert "evaluating" in shown and "7/7" in shown and "5 not ok" in shown
