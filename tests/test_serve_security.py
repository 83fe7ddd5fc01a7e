"""Every security rule and limit of ``circuit serve``, against a real server on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servekit import WAIT, Server, serving
from tests.watchkit import seed

pytestmark = pytest.mark.timeout(180)
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("guarded")
    (root / "secret.yaml").write_text(seed(9))  # outside the served folder: never reachable
    folder = root / "circuits"
    folder.mkdir()
    (folder / "seed.yaml").write_text(seed(-2))
    with serving(folder, "--timeout", "2") as server:
        yield server


def raw(server: Server, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (no client normalising the path or adding a Host); the status and the body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# ---- Host allow-list (DNS rebinding) ----


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "LOCALHOST.", "localhost:{port}", "127.0.0.1:{port}"])
def test_local_host_names_are_answered(guarded: Server, host: str) -> None:
    with guarded.client() as client:
        assert client.get("/healthz", headers={"host": host.format(port=guarded.port)}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "192.168.1.10", "localhost.evil.example"])
def test_other_host_names_are_misdirected(guarded: Server, host: str) -> None:
    with guarded.client() as client:
        answer = client.get("/api/circuits", headers={"host": host.format(port=guarded.port)})
    assert answer.status_code == 421
    (error,) = answer.json()["errors"]
    assert error["code"] == "unknown-host"
    assert error["message"] == f"this service does not answer to the name '{host.split(':')[0]}'"


@pytest.mark.parametrize("host", [b"local host", b"localhost:80x", b"[::1", b"a/b"])
def test_a_malformed_host_is_a_400(guarded: Server, host: bytes) -> None:
    status, body = raw(guarded, b"GET /healthz HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
    assert status == 400


def test_allow_host_adds_a_name(folder: Path) -> None:
    with serving(folder, "--allow-host", "circuits.lan") as server, server.client() as client:
        assert client.get("/healthz", headers={"host": "circuits.lan:8000"}).status_code == 200
        assert client.get("/healthz", headers={"host": "other.lan"}).status_code == 421


# ---- same-origin writes ----


def test_a_cross_origin_post_is_refused(guarded: Server) -> None:
    with guarded.client() as client:
        evil = client.post("/api/circuits/seed/evaluate", json={}, headers={"origin": "http://evil.example"})
        null = client.post("/api/circuits/seed/evaluate", json={}, headers={"origin": "null"})
        site = client.post("/api/circuits/seed/evaluate", json={}, headers={"sec-fetch-site": "cross-site"})
        same = client.post("/api/circuits/seed/evaluate", json={}, headers={"origin": guarded.url.rstrip("/")})
        scripted = client.post("/api/circuits/seed/evaluate", json={})
    assert (evil.status_code, null.status_code, site.status_code) == (403, 403, 403)
    assert evil.json()["errors"][0]["code"] == "cross-origin"
    assert (same.status_code, scripted.status_code) == (200, 200)


def test_no_cors_header_is_ever_sent(guarded: Server) -> None:
    with guarded.client() as client:
        answer = client.get("/api/circuits", headers={"origin": "http://evil.example"})
        preflight = client.options(
            "/api/circuits/seed/evaluate",
            headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
        )
    assert answer.status_code == 200
    assert not any(name.startswith("access-control-") for name in answer.headers)
    assert not any(name.startswith("access-control-") for name in preflight.headers)


# ---- body size ----


def test_a_2_mib_body_is_a_413(guarded: Server) -> None:
    body = b"#" * (2 * MiB)
    with guarded.client() as client:
        declared = client.post("/api/evaluate", content=body, headers={"content-type": "application/yaml"})
        chunked = client.post(
            "/api/evaluate",
            content=iter([body[i : i + 65536] for i in range(0, len(body), 65536)]),
            headers={"content-type": "application/yaml"},
        )
        json_body = client.post(
            "/api/circuits/seed/evaluate",
            content=iter([b'{"inputs": {"x": 1', b" " * (2 * MiB), b"}}"]),
            headers={"content-type": "application/json"},
        )
    for answer in (declared, chunked, json_body):
        assert answer.status_code == 413
        (error,) = answer.json()["errors"]
        assert error["code"] == "body-too-large"
        assert error["message"] == f"the request body is larger than the {MiB} byte limit"


def test_max_body_sets_the_limit(folder: Path) -> None:
    with serving(folder, "--max-body", "100") as server, server.client() as client:
        small = client.post("/api/circuits/seed/evaluate", json={"inputs": {"x": 1}})
        large = client.post("/api/circuits/seed/evaluate", json={"inputs": {"x": 1}, "pad": "#" * 200})
    assert (small.status_code, large.status_code) == (200, 413)


# ---- names never reach the filesystem ----


@pytest.mark.parametrize(
    "path",
    [
        "/api/circuits/..%2Fsecret",
        "/api/circuits/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/circuits/%2Fetc%2Fpasswd",
        "/api/circuits/..",
        "/api/circuits/../secret",
        "/api/circuits/../../etc/passwd",
        "/api/circuits/seed.yaml",
        "/api/circuits/..%2Fsecret/graph.svg",
        "/style.css/../../secret.yaml",
        "/../secret.yaml",
    ],
)
def test_paths_in_names_are_404s(guarded: Server, path: str) -> None:
    status, body = raw(guarded, f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    assert status == 404
    assert [error["code"] for error in json.loads(body)["errors"]] == ["not-found"]
    assert b"root:" not in body and b"inputs:" not in body  # no file's content


def test_a_path_in_a_what_if_name_is_a_404(guarded: Server) -> None:
    status, _ = raw(
        guarded,
        b"POST /api/circuits/..%2Fsecret/evaluate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    assert status == 404


# ---- time limit, off the event loop ----


def _slow_circuit(inputs: int = 2000, gates: int = 20000) -> str:
    """A long chain whose gradient check takes far longer than the 2 s limit (a minute or more)."""
    lines = ["inputs:", *(f"  x{i}: 1" for i in range(inputs)), "gates:", "  g0: {op: add, in: [x0, 1]}"]
    lines += [f"  g{k}: {{op: add, in: [g{k - 1}, x{k % inputs}]}}" for k in range(1, gates)]
    return "\n".join(lines) + "\n"


def test_a_slow_circuit_times_out_while_health_answers(guarded: Server) -> None:
    text = _slow_circuit()
    outcome: dict[str, httpx.Response] = {}

    def post() -> None:
        with guarded.client() as client:
            outcome["slow"] = client.post(
                "/api/evaluate?check=true", content=text, headers={"content-type": "application/yaml"}
            )

    slow = threading.Thread(target=post)
    slow.start()
    answered = 0
    # /healthz must keep answering during the evaluation: each request gets a 1 s bound (ten times the
    # 100 ms target, and less than the 2 s the evaluation is allowed), so a blocked event loop fails it
    with guarded.client(timeout=1.0) as client:
        while slow.is_alive():
            assert client.get("/healthz").status_code == 200
            answered += 1
    slow.join()
    assert answered >= 3
    answer = outcome["slow"]
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == "error"
    assert [(e["code"], e["message"]) for e in body["errors"]] == [
        ("timeout", "evaluation took longer than the 2 s limit")
    ]
    with guarded.client() as client:  # and the service is still fine afterwards
        assert client.post("/api/circuits/seed/evaluate", json={"inputs": {"x": 0}}).json()["value"] == -20.0


# ---- headers ----


@pytest.mark.parametrize("path", ["/", "/app.js", "/api/circuits", "/api/circuits/nope", "/docs"])
def test_security_headers_on_every_response(guarded: Server, path: str) -> None:
    with guarded.client() as client:
        headers = client.get(path).headers
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_errors_are_json_never_a_traceback(guarded: Server) -> None:
    with guarded.client() as client:
        answers = [
            client.post(
                "/api/circuits/seed/evaluate", content=b"{not json", headers={"content-type": "application/json"}
            ),
            client.post(
                "/api/circuits/seed/evaluate", content=b"\xff\xfe", headers={"content-type": "application/json"}
            ),
            client.post("/api/evaluate", content=b"\xff\xfe: [", headers={"content-type": "application/yaml"}),
            client.post("/api/evaluate", content=b"a: &a [*a]", headers={"content-type": "application/yaml"}),
            client.delete("/api/circuits/seed"),
            client.get("/api/circuits/seed/graph.svg?x=abc"),
            client.get("/api/circuits/seed/graph.svg?w=1"),
        ]
    for answer in answers:
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert "Traceback" not in answer.text
        assert answer.json()["errors"]
