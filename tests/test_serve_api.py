"""The HTTP API of ``circuit serve`` against a real uvicorn process on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import engine
from tests.servekit import ROOT, EventReader, Server, serving
from tests.watchkit import save_in_place, seed, value_of

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example circuits, plus one broken file and one in a sub-folder."""
    folder = tmp_path_factory.mktemp("examples") / "circuits"
    shutil.copytree(ROOT / "circuits", folder)
    (folder / "broken.yaml").write_text("inputs:\n  x: 1\ngates:\n  f: {op: nope, in: [x]}\n")
    (folder / "more").mkdir()
    (folder / "more" / "seed.yaml").write_text(seed(1, name="other"))
    return folder


@pytest.fixture(scope="module")
def server(examples: Path) -> Iterator[Server]:
    with serving(examples) as running:
        yield running


def test_the_list_has_every_circuit_with_its_status_and_value(server: Server) -> None:
    with server.client() as client:
        listed = client.get("/api/circuits").json()
    names = [c["name"] for c in listed]
    examples = [path.stem for path in (ROOT / "circuits").glob("*.yaml")]
    assert names == sorted([*examples, "broken", "more.seed"])
    by_name = {c["name"]: c for c in listed}
    assert {k: v for k, v in by_name["seed"].items() if k not in ("path", "changed_at")} == {
        "name": "seed",
        "circuit": "seed",
        "status": "ok",
        "stale": False,
        "output": "f",
        "value": -12.0,
        "error_count": 0,
        "warning_count": 0,
    }
    assert by_name["seed"]["path"].endswith("seed.yaml")
    assert by_name["more.seed"]["circuit"] == "other"
    assert by_name["more.seed"]["value"] == value_of(1)
    assert (by_name["broken"]["status"], by_name["broken"]["value"], by_name["broken"]["error_count"]) == (
        "invalid",
        None,
        1,
    )


def test_a_circuit_is_the_eval_contract_plus_its_inputs(server: Server) -> None:
    with server.client() as client:
        detail = client.get("/api/circuits/seed").json()
    expected = engine.evaluate_file(detail["path"]).to_dict()
    assert {k: detail[k] for k in expected if k != "elapsed_ms"} == {
        k: v for k, v in expected.items() if k != "elapsed_ms"
    }
    assert detail["inputs"] == {"x": -2.0, "y": 5.0, "z": -4.0}
    assert detail["gates"] == {"q": {"op": "add", "in": ["x", "y"]}, "f": {"op": "mul", "in": ["q", "z"]}}
    assert detail["docs"] == {"q": "q = x + y", "f": "f = q * z"}
    assert (detail["name"], detail["stale"], detail["last_good"]) == ("seed", False, None)


def test_a_broken_file_shows_its_located_errors(server: Server) -> None:
    with server.client() as client:
        detail = client.get("/api/circuits/broken").json()
    assert detail["status"] == "invalid"
    assert [(e["code"], e["line"], e["column"]) for e in detail["errors"]] == [("unknown-op", 4, 11)]
    assert detail["inputs"] == {} and detail["last_good"] is None


def test_what_if_answers_at_other_inputs_without_touching_the_file(server: Server, examples: Path) -> None:
    before = (examples / "seed.yaml").read_bytes()
    with server.client() as client:
        answer = client.post("/api/circuits/seed/evaluate", json={"inputs": {"x": 1.5}})
        again = client.get("/api/circuits/seed").json()
    assert answer.status_code == 200
    expected = engine.load_circuit(examples / "seed.yaml").evaluate({"x": 1.5})
    body = answer.json()
    assert (body["value"], body["values"], body["grads"]) == (expected.value, expected.values, expected.grads)
    assert body["status"] == "ok"  # the file's expectations are for x = -2: skipped under other inputs
    assert again["value"] == -12.0 and (examples / "seed.yaml").read_bytes() == before


def test_what_if_with_the_gradient_check(server: Server) -> None:
    with server.client() as client:
        body = client.post("/api/circuits/neuron/evaluate", json={"check": True}).json()
    assert body["status"] == "ok"
    assert {c["kind"] for c in body["checks"]} >= {"grad_check"}


@pytest.mark.parametrize(
    ("question", "code", "message", "hint"),
    [
        ({"inputs": {"w": 1}}, "unknown-input", "no input named 'w'", "inputs: x, y, z"),
        ({"inputs": {"xx": 1}}, "unknown-input", "no input named 'xx'", "did you mean 'x'?"),
    ],
)
def test_an_unknown_input_is_a_422_with_the_message_of_the_cli(
    server: Server, question: dict[str, object], code: str, message: str, hint: str
) -> None:
    with server.client() as client:
        answer = client.post("/api/circuits/seed/evaluate", json=question)
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == "invalid"
    assert [(e["code"], e["message"], e["hint"]) for e in body["errors"]] == [(code, message, hint)]
    name = next(iter(question["inputs"]))  # type: ignore[call-overload]
    cli = subprocess.run(
        [sys.executable, "-m", "engine", "eval", body["path"], "--set", f"{name}=1"], capture_output=True, text=True
    )
    assert f"error[{code}] {message}\n  help: {hint}" in cli.stderr


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_non_finite_input_is_a_422(server: Server, number: str) -> None:
    with server.client() as client:
        answer = client.post(
            "/api/circuits/seed/evaluate",
            content='{"inputs": {"x": ' + number + "}}",
            headers={"content-type": "application/json"},
        )
    assert answer.status_code == 422
    (error,) = answer.json()["errors"]
    assert error["code"] == "invalid-number"
    assert error["message"].startswith("input 'x' must be a finite number, got ")


def test_a_malformed_question_is_a_422_naming_the_field(server: Server) -> None:
    with server.client() as client:
        answer = client.post("/api/circuits/seed/evaluate", json={"inputs": {"x": "abc"}, "extra": 1})
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == "invalid"
    assert sorted(e["message"].split(":")[0] for e in body["errors"]) == ["body.extra", "body.inputs.x"]
    assert all(e["code"] == "invalid-request" for e in body["errors"])


def test_the_playground_evaluates_yaml_text_without_storing_it(server: Server) -> None:
    text = seed(3)
    with server.client() as client:
        answer = client.post("/api/evaluate", content=text, headers={"content-type": "application/yaml"})
        listed = client.get("/api/circuits").json()
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["value"], body["grads"]["x"]) == ("ok", value_of(3), -4.0)
    assert "<request>" not in [c["path"] for c in listed]


def test_the_playground_locates_errors_in_the_text(server: Server) -> None:
    with server.client() as client:
        answer = client.post(
            "/api/evaluate",
            content="inputs:\n  x: 1\ngates:\n  f: {op: mul, in: [x, y]}\n",
            headers={"content-type": "application/yaml"},
        )
        not_yaml = client.post("/api/evaluate", content="{}", headers={"content-type": "text/plain"})
    assert answer.status_code == 422
    body = answer.json()
    assert (body["status"], body["path"]) == ("invalid", "<request>")
    assert [(e["code"], e["line"], e["column"]) for e in body["errors"]] == [("unknown-wire", 4, 24)]
    assert not_yaml.status_code == 415
    assert not_yaml.json()["errors"][0]["code"] == "not-yaml"


def test_unknown_names_are_404s_with_a_suggestion(server: Server) -> None:
    with server.client() as client:
        answer = client.get("/api/circuits/sed")
        posted = client.post("/api/circuits/sed/evaluate", json={})
    assert answer.status_code == 404 == posted.status_code
    assert answer.json() == {
        "errors": [
            {
                "code": "not-found",
                "message": "no circuit named 'sed'",
                "line": None,
                "column": None,
                "hint": "did you mean 'seed'?",
            }
        ]
    }


def test_health_and_the_api_description(server: Server) -> None:
    with server.client() as client:
        health = client.get("/healthz").json()
        spec = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert health == {"status": "ok", "circuits": len(list((ROOT / "circuits").glob("*.yaml"))) + 2, "subscribers": 0}
    assert set(spec["paths"]) == {
        "/healthz",
        "/api/circuits",
        "/api/circuits/{name}",
        "/api/circuits/{name}/evaluate",
        "/api/evaluate",
        "/api/circuits/{name}/graph.svg",
        "/api/events",
    }
    assert docs.status_code == 200 and '<script src="/docs.js"' in docs.text


def test_the_page_and_its_assets_are_served(server: Server) -> None:
    with server.client() as client:
        page = client.get("/")
        script = client.get("/app.js")
        style = client.get("/style.css")
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/app.js" defer></script>' in page.text
    assert "<script>" not in page.text and "http" not in page.text.replace('"http-equiv', "")
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")


# ---- events ----


def test_events_start_with_every_circuit_then_follow_saves(folder: Path) -> None:
    with serving(folder) as server:
        reader = EventReader(server)
        try:
            first = reader.next("initial")
            assert (first.data["name"], first.data["value"]) == ("seed", -12.0)
            save_in_place(folder / "seed.yaml", seed(4))
            changed = reader.next("changed")
            assert (changed.data["name"], changed.data["value"], changed.data["inputs"]["x"]) == (
                "seed",
                value_of(4),
                4.0,
            )
            assert changed.id is not None and changed.id != first.id
        finally:
            reader.close()


def test_a_reconnecting_subscriber_gets_the_change_it_missed(folder: Path) -> None:
    with serving(folder) as server:
        reader = EventReader(server)
        last = reader.next("initial").id
        reader.close()
        save_in_place(folder / "seed.yaml", seed(7))
        with server.client() as client:  # wait until the server has seen the save, with nobody listening
            for _ in range(600):
                if client.get("/api/circuits/seed").json()["value"] == value_of(7):
                    break
                time.sleep(0.05)
        again = EventReader(server, last_event_id=last)
        try:
            missed = again.next()
            assert (missed.event, missed.data["value"]) == ("changed", value_of(7))
        finally:
            again.close()
        fresh = EventReader(server, last_event_id="not-an-id")
        try:
            snapshot = fresh.next()
            assert (snapshot.event, snapshot.data["value"]) == ("initial", value_of(7))
        finally:
            fresh.close()


def test_a_broken_save_keeps_the_last_good_result(folder: Path) -> None:
    with serving(folder) as server:
        reader = EventReader(server)
        try:
            reader.next("initial")
            save_in_place(folder / "seed.yaml", seed(2).replace("op: add", "op: ad"))
            event = reader.next("changed")
            data = event.data
            assert (data["status"], data["stale"], data["value"]) == ("invalid", True, None)
            assert [(e["code"], e["line"]) for e in data["errors"]] == [("unknown-op", 6)]
            assert data["last_good"]["value"] == -12.0
            assert data["inputs"] == {"x": -2.0, "y": 5.0, "z": -4.0}
            with server.client() as client:
                answer = client.post("/api/circuits/seed/evaluate", json={"inputs": {"x": 0}})
            assert answer.json()["value"] == value_of(0)  # what-if asks the last good circuit
        finally:
            reader.close()


def test_added_and_removed_files(folder: Path) -> None:
    with serving(folder) as server:
        reader = EventReader(server)
        try:
            reader.next("initial")
            (folder / "two.yaml").write_text(seed(1))
            added = reader.next("added")
            assert (added.data["name"], added.data["value"]) == ("two", value_of(1))
            (folder / "two.yaml").unlink()
            removed = reader.next("removed")
            assert removed.data["name"] == "two"
            with server.client() as client:
                assert client.get("/api/circuits/two").status_code == 404
        finally:
            reader.close()


def test_subscribers_past_the_limit_get_503(folder: Path) -> None:
    with serving(folder, "--max-subscribers", "2") as server:
        readers = [EventReader(server), EventReader(server)]
        try:
            for reader in readers:
                reader.next("initial")
            with server.client() as client:
                refused = client.get("/api/events")
                assert client.get("/healthz").json()["subscribers"] == 2
            assert refused.status_code == 503
            assert refused.json()["errors"][0]["code"] == "too-many-subscribers"
        finally:
            for reader in readers:
                reader.close()


# ---- the picture and the chain rule ----


def test_the_picture_is_the_circuit_at_the_asked_inputs(server: Server) -> None:
    import xml.etree.ElementTree as ET

    with server.client() as client:
        answer = client.get("/api/circuits/seed/graph.svg", params={"x": "1.5"})
        plain = client.get("/api/circuits/seed/graph.svg")
    assert answer.status_code == 200 == plain.status_code
    assert answer.headers["content-type"] == "image/svg+xml"
    texts = " ".join(ET.fromstring(answer.text).itertext())
    assert "-26" in texts and "6.5" in texts  # f = (1.5 + 5) · -4, ∂f/∂z = x + y
    assert "-12" in " ".join(ET.fromstring(plain.text).itertext())


@pytest.mark.parametrize(
    ("query", "code"),
    [({"w": "1"}, "unknown-input"), ({"x": "abc"}, "invalid-number"), ({"x": "inf"}, "invalid-number")],
)
def test_a_picture_at_wrong_inputs_is_a_422(server: Server, query: dict[str, str], code: str) -> None:
    with server.client() as client:
        answer = client.get("/api/circuits/seed/graph.svg", params=query)
    assert answer.status_code == 422
    assert [e["code"] for e in answer.json()["errors"]] == [code]


def test_explain_adds_the_chain_rule(server: Server) -> None:
    with server.client() as client:
        body = client.post("/api/circuits/fanout/evaluate", json={"inputs": {}, "explain": True}).json()
        plain = client.post("/api/circuits/fanout/evaluate", json={}).json()
    assert "trace" not in plain
    sums: dict[str, float] = {}
    for link in body["trace"]:
        assert link["contribution"] == pytest.approx(link["upstream"] * link["local"])
        sums[link["from"]] = sums.get(link["from"], 0.0) + link["contribution"]
    for wire, total in sums.items():
        assert total == pytest.approx(body["grads"][wire])
