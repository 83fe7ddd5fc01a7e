"""The page and the API docs page: fixed files, read once into memory and served by exact route.

No request path ever reaches the filesystem: each asset has its own route,
registered here from a fixed table. The page (``GET /``) is plain HTML, a
style sheet and one script; ``/docs`` is Swagger UI, whose files come with the
``fastapi-offline`` package (so the docs work without a network too) and whose
start-up script is a file of ours, as the Content-Security-Policy allows no
inline script.
"""

from __future__ import annotations

from importlib import resources
from importlib.util import find_spec

from fastapi import FastAPI
from fastapi.responses import Response

_PAGE = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/docs": ("docs.html", "text/html; charset=utf-8"),
    "/docs.js": ("docs.js", "text/javascript; charset=utf-8"),
}
_SWAGGER = {
    "/docs/swagger-ui-bundle.js": ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "/docs/swagger-ui.css": ("swagger-ui.css", "text/css; charset=utf-8"),
}
_CACHE = "no-cache"  # revalidate: a new version of the page shows after an upgrade


def mount(app: FastAPI) -> None:
    """Add a GET route for every asset (hidden from the OpenAPI schema)."""
    page = resources.files("engine.serve") / "page"
    for route, (name, media_type) in _PAGE.items():
        _route(app, route, (page / name).read_bytes(), media_type)
    if find_spec("fastapi_offline") is not None:
        swagger = resources.files("fastapi_offline") / "static"
        for route, (name, media_type) in _SWAGGER.items():
            _route(app, route, (swagger / name).read_bytes(), media_type)


def _route(app: FastAPI, route: str, content: bytes, media_type: str) -> None:
    async def asset() -> Response:
        return Response(content, media_type=media_type, headers={"cache-control": _CACHE})

    app.add_api_route(route, asset, methods=["GET"], include_in_schema=False, name=f"asset {route}")
