"""The HTTP API's routes, and the shapes of its answers.

Handlers answer with JSON text built by the result contract itself (the
pydantic models in `engine.serve.schemas` describe it for OpenAPI). A refusal
is ``{"errors": [issue]}`` with its status; a circuit that cannot be evaluated
as asked is the result contract with status ``invalid`` or ``error`` (422).
Work that may be slow runs off the event loop within the time limit
(`engine.serve.compute`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException

from engine.errors import CircuitError, Issue, did_you_mean
from engine.result import Result
from engine.serve import picture
from engine.serve.compute import (
    Limits,
    cost_of,
    parse_overrides,
    playground,
    request_error,
    timed,
    what_if,
    with_trace,
)
from engine.serve.hub import Hub, StreamEvent, Subscriber, TooManySubscribers
from engine.serve.schemas import (
    CircuitModel,
    EvaluateRequest,
    HealthModel,
    ProblemModel,
    ResultModel,
    SummaryModel,
    dumps,
)
from engine.serve.state import CircuitState

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
# The what-if route reads its name and body itself (a `Direct` route); the schema says what declared
# parameters would.
_QUESTION_SCHEMA = EvaluateRequest.model_json_schema()
_NAME_PARAMETER = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "title": "Name"}}
_QUESTION_HINT = 'send JSON like {"inputs": {"x": 1.5}, "check": false}'
_DRAW_COST = 8
"""A picture costs about as much as this many evaluations (layout and text) — where it runs, see `Limits.call`."""
_PING_SECONDS = 15
_SEND_TIMEOUT = 30.0
"""Seconds a subscriber may leave an event unread before its stream is closed."""


class JSONText(Response):
    media_type = "application/json"


class _Direct(APIRoute):
    """A route whose endpoint takes the request and returns the response itself.

    FastAPI's parameter solving and response handling are skipped: on the
    what-if route they cost more than the evaluation. The endpoint reads its path
    parameter and body itself, and its ``openapi_extra`` documents them.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


class Refusal(Exception):
    """A request the service refuses: answered with its status and ``{"errors": [issue]}``."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint


def _problem(status: int, code: str, message: str, hint: str | None = None) -> JSONText:
    return JSONText(dumps({"errors": [Issue(code, message, hint=hint).to_dict()]}), status)


def _result(data: dict[str, Any], broken: bool) -> JSONText:
    return JSONText(dumps(data), 422 if broken else 200)


_PROBLEM: dict[int | str, dict[str, Any]] = {404: {"model": ProblemModel, "description": "No circuit of that name."}}
_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"model": ResultModel, "description": "Invalid request or circuit: the result with located errors."}
}


def add_routes(app: FastAPI, hub: Hub, limits: Limits) -> None:
    """The API's routes, the what-if route first (routes are matched in order)."""
    _what_if_route(app, hub, limits)
    _read_routes(app, hub)
    _playground_route(app, limits)
    _graph_route(app, hub, limits)
    _events_route(app, hub)


def find(hub: Hub, name: str) -> CircuitState:
    """The circuit of that name.

    Raises:
        Refusal: 404, with the closest name as a hint.
    """
    state = hub.states.get(name)
    if state is None:
        names = sorted(hub.states)
        hint = did_you_mean(name, names) or ("circuits: " + ", ".join(names) if names else "the folder is empty")
        raise Refusal(404, "not-found", f"no circuit named '{name:.100}'", hint)
    return state


def _what_if_route(app: FastAPI, hub: Hub, limits: Limits) -> None:
    """POST /api/circuits/{name}/evaluate: a `Direct` route, the hot path."""

    async def evaluate_circuit(request: Request) -> JSONText:
        """The circuit at other input values (what-if: the file is not changed)."""
        state = find(hub, request.path_params["name"])
        question = _question(await request.body())
        circuit = state.circuit
        if circuit is None:  # broken, and never good: its errors are the answer
            return _result(state.result.to_dict(), True)

        def answer() -> tuple[Result, list[dict[str, Any]] | None]:
            result = what_if(circuit, question.inputs, question.check)
            explained = question.explain and not result.broken
            return result, picture.trace(circuit, result) if explained else None

        outcome = await timed(limits, answer, cost_of(circuit, question.check), circuit.path)
        result, trace = (outcome, None) if isinstance(outcome, Result) else outcome
        return _result(with_trace(result, trace), result.broken)

    app.router.add_api_route(
        "/api/circuits/{name}/evaluate",
        evaluate_circuit,
        methods=["POST"],
        route_class_override=_Direct,
        response_model=ResultModel,
        responses={**_PROBLEM, **_REFUSED},
        openapi_extra={
            "parameters": [_NAME_PARAMETER],
            "requestBody": {"content": {"application/json": {"schema": _QUESTION_SCHEMA}}},
        },
        tags=["circuits"],
    )


def _read_routes(app: FastAPI, hub: Hub) -> None:
    """GET /healthz, /api/circuits, /api/circuits/{name}."""

    @app.get("/healthz", response_model=HealthModel, tags=["service"])
    async def healthz() -> JSONText:
        """The service is up."""
        return JSONText(dumps({"status": "ok", "circuits": len(hub.states), "subscribers": hub.subscribers}))

    @app.get("/api/circuits", response_model=list[SummaryModel], tags=["circuits"])
    async def list_circuits() -> JSONText:
        """Every circuit: name, path, status, value, output, error count, last change time."""
        return JSONText(dumps([hub.states[name].summary() for name in sorted(hub.states)]))

    @app.get("/api/circuits/{name}", response_model=CircuitModel, responses=_PROBLEM, tags=["circuits"])
    async def get_circuit(name: str) -> JSONText:
        """The circuit's result (as ``circuit eval --format json``), inputs with their file values, gates, docs."""
        find(hub, name)
        return JSONText(hub.detail(name) or "{}")


def _playground_route(app: FastAPI, limits: Limits) -> None:
    """POST /api/evaluate: YAML text in, its result out."""

    @app.post(
        "/api/evaluate",
        response_model=ResultModel,
        responses={
            **_REFUSED,
            413: {"model": ProblemModel, "description": "The body is over the limit."},
            415: {"model": ProblemModel, "description": "The body is not YAML."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/yaml": {"schema": {"type": "string"}}},
            }
        },
        tags=["playground"],
    )
    async def evaluate_text(request: Request, check: bool = False) -> JSONText:
        """A circuit's YAML text evaluated at its own inputs; nothing is stored (the playground)."""
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind not in _YAML_TYPES:
            return _problem(
                415, "not-yaml", f"expected a YAML body, got '{kind:.60}'", "send Content-Type: application/yaml"
            )
        body = await request.body()
        result = await timed(limits, lambda: playground(body, check), 1 + len(body), None)
        return _result(result.to_dict(), result.broken)


def _graph_route(app: FastAPI, hub: Hub, limits: Limits) -> None:
    """GET /api/circuits/{name}/graph.svg."""

    @app.get(
        "/api/circuits/{name}/graph.svg",
        responses={
            200: {"content": {"image/svg+xml": {}}, "description": "The picture."},
            **_PROBLEM,
            **_REFUSED,
        },
        response_class=Response,
        tags=["circuits"],
    )
    async def graph(name: str, request: Request) -> Response:
        """The circuit's picture with every value and gradient; query parameters override inputs (``?x=1.5``)."""
        state = find(hub, name)
        circuit = state.circuit
        if circuit is None:
            return _result(state.result.to_dict(), True)
        try:
            overrides = parse_overrides(request.query_params, circuit)
        except CircuitError as error:
            return _result(Result.from_error(error, circuit.path, circuit.name).to_dict(), True)
        drawing = await timed(
            limits,
            lambda: picture.svg(circuit, overrides, stale=state.stale),
            _DRAW_COST * cost_of(circuit, False),
            circuit.path,
        )
        if isinstance(drawing, Result):
            return _result(drawing.to_dict(), True)
        return Response(drawing, media_type="image/svg+xml")


def _events_route(app: FastAPI, hub: Hub) -> None:
    """GET /api/events: Server-Sent Events."""

    @app.get(
        "/api/events",
        response_class=EventSourceResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "initial, changed, added, removed events."},
            503: {"model": ProblemModel, "description": "Every subscriber place is taken."},
        },
        tags=["events"],
    )
    async def events(last_event_id: str | None = Header(default=None)) -> Response:
        """Server-Sent Events: every circuit's state on connect (``initial``), then every change."""
        try:
            missed, subscriber = hub.subscribe(last_event_id)
        except TooManySubscribers:
            return _problem(
                503,
                "too-many-subscribers",
                f"all {hub.max_subscribers} event streams are taken",
                "close another page, or start the service with a larger --max-subscribers",
            )
        return EventSourceResponse(
            _stream(hub, missed, subscriber),
            ping=_PING_SECONDS,
            send_timeout=_SEND_TIMEOUT,
            headers={"cache-control": "no-store"},
            background=BackgroundTask(hub.unsubscribe, subscriber),
        )


def _question(body: bytes) -> EvaluateRequest:
    """The what-if question in a request body (empty: the file's inputs).

    Read here rather than by FastAPI's body machinery (see `_QUESTION_SCHEMA`).

    Raises:
        RequestValidationError: the body is not a question (answered with 422).
    """
    try:
        return EvaluateRequest.model_validate_json(body or b"{}")
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
        ) from None


async def _stream(hub: Hub, missed: list[StreamEvent], subscriber: Subscriber) -> AsyncIterator[bytes]:
    try:
        for event in missed:
            yield event.frame
        while True:
            news = await subscriber.queue.get()
            if news is None or subscriber.overflowed:
                return  # the service stops, or this client fell behind: it reconnects and resumes
            yield news.frame
    finally:
        hub.unsubscribe(subscriber)


def _unreadable(issues: list[Issue]) -> JSONText:
    """A request the API cannot read, as an ``invalid`` result (422)."""
    issues = issues or [request_error("body", "invalid", _QUESTION_HINT)]
    return JSONText(dumps(Result(None, "request", "invalid", errors=tuple(issues)).to_dict()), 422)


def _where(loc: Any) -> str:
    return ".".join(str(part) for part in loc) or "body"


def add_handlers(app: FastAPI) -> None:
    """Every refusal and failure as JSON with located issues: never a traceback, never HTML."""

    @app.exception_handler(Refusal)
    async def refused(request: Request, error: Refusal) -> Response:
        return _problem(error.status, error.code, error.message, error.hint)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code == 400:  # a body that is not even text (FastAPI's "error parsing the body")
            return _unreadable([request_error("body", "not valid UTF-8 JSON", _QUESTION_HINT)])
        code = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}.get(error.status_code, "refused")
        return _problem(error.status_code, code, str(error.detail).lower())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        return _unreadable(
            [
                request_error(_where(item.get("loc", ())), item.get("msg", "invalid"), _QUESTION_HINT)
                for item in error.errors()
            ]
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> Response:
        return _problem(500, "internal", f"internal error: {type(error).__name__}", "this is a bug in circuitflow")
