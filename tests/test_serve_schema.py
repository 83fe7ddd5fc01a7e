"""Property-based tests of the HTTP API from its own OpenAPI schema (schemathesis), against a real server.

For every operation (but the endless event stream), valid and invalid requests
generated from ``/openapi.json``: never a 5xx, and every response — status
code, content type and body — is one the schema declares.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.servekit import ROOT, Server, serving

pytestmark = pytest.mark.timeout(600)
EXAMPLES = 25  # per operation and mode: enough to find shape errors, bounded to keep the suite quick


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("schema") / "circuits"
    shutil.copytree(ROOT / "circuits", folder)
    (folder / "broken.yaml").write_text("inputs: {x: 1}\ngates:\n  f: {op: log, in: [x, x]}\n")
    with serving(Path(folder)) as running:
        yield running


def _operations(server: Server) -> list[object]:
    schema = schemathesis.openapi.from_url(server.url + "openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.path != "/api/events"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_operation_answers_as_its_schema_says(server: Server, mode: GenerationMode) -> None:
    from schemathesis.checks import not_a_server_error

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = _operations(server)
    assert {op.path for op in operations} >= {"/api/circuits/{name}/evaluate", "/api/evaluate"}  # type: ignore[attr-defined]
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))  # type: ignore[attr-defined]
        def answers(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=server.url.rstrip("/"), checks=checks, timeout=60)

        try:
            answers()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # an operation without parameters has no invalid request


def test_known_names_as_well(server: Server) -> None:
    """Random names are 404s; the examples' own names exercise the answers with results."""
    from schemathesis.checks import not_a_server_error

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    for operation in _operations(server):
        if "{name}" not in operation.path:  # type: ignore[attr-defined]
            continue
        for name in ("seed", "neuron", "broken"):

            @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(path_parameters={"name": name}))  # type: ignore[attr-defined]
            def answers(case: schemathesis.Case) -> None:
                case.call_and_validate(base_url=server.url.rstrip("/"), checks=checks, timeout=60)

            answers()
