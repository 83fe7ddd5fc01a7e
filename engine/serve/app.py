"""The FastAPI application: the HTTP API over a `Hub`, the event stream, the page and its assets.

`create_app(config)` builds it (its routes are in `engine.serve.routes`);
`engine.serve.runner` runs it with uvicorn. Every refusal is JSON with located
issues, never a traceback (`engine.serve.routes.add_handlers`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from engine.serve import assets
from engine.serve.compute import DEFAULT_TIMEOUT, Limits
from engine.serve.hub import DEFAULT_MAX_SUBSCRIBERS, Hub
from engine.serve.routes import add_handlers, add_routes
from engine.serve.security import DEFAULT_MAX_BODY, Guard
from engine.version import __version__
from engine.watching.events import DEFAULT_DEBOUNCE_MS


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """How to serve a folder (the options of ``circuit serve``)."""

    root: Path
    host: str = "127.0.0.1"
    max_body: int = DEFAULT_MAX_BODY
    timeout: float = DEFAULT_TIMEOUT
    max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS
    debounce_ms: float = DEFAULT_DEBOUNCE_MS
    poll: bool = False
    allow_hosts: tuple[str, ...] = field(default=())


def create_app(config: ServeConfig) -> FastAPI:
    """The application serving `config.root`."""
    hub = Hub(
        config.root,
        debounce_ms=config.debounce_ms,
        poll=config.poll,
        max_subscribers=config.max_subscribers,
    )
    limits = Limits(config.timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(
        title="circuitflow",
        version=__version__,
        description="Values and gradients of the circuits in a folder, live.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.hub = hub
    app.add_middleware(Guard, bound=config.host, max_body=config.max_body, extra_hosts=config.allow_hosts)
    add_handlers(app)
    add_routes(app, hub, limits)
    assets.mount(app)
    return app
