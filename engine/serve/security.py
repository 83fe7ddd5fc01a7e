"""The service's guard, in front of every route: Host allow-list, same-origin writes, body size, headers.

* **Host** (against DNS rebinding: a hostile page whose name resolves to this
  machine would otherwise be same-origin with the service): only localhost
  names, the bound address and names added with ``--allow-host``. Bound to
  every interface (``0.0.0.0``/``::``), any IP literal is accepted too — a
  rebinding attack needs a DNS name. Missing or malformed: 400; not allowed: 421.
* **Origin**: a state-changing request (anything but GET/HEAD/OPTIONS) that a
  browser marks as coming from another origin is refused with 403. No CORS
  headers are ever sent, so other origins cannot read responses either.
* **Body size**: over the limit, 413 — from ``Content-Length`` before anything
  is read, or while a chunked body streams in.
* **Headers** on every response: a Content-Security-Policy that allows scripts
  only from the service itself (no inline script) and no framing, ``nosniff``, no referrer.

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``): it adds
nothing to a request but a few header comparisons.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.errors import Issue
from engine.serve.schemas import dumps

DEFAULT_MAX_BODY = 1024 * 1024
_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Three headers, on every response: each one costs the server a validation per response, and the
# policy's frame-ancestors already does what X-Frame-Options would
_HEADERS = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class _BodyTooLarge(HTTPException):
    """A request body over the limit (raised while reading it; the app answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the {limit} byte limit")


def host_name(header: str) -> str | None:
    """``localhost:8000`` → ``localhost``, ``[::1]:8000`` → ``::1``; None when malformed."""
    header = header.strip().lower()
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name or None
    name, colon, port = header.partition(":")
    if colon and not port.isdigit():
        return None
    name = name.rstrip(".")
    if not name or any(c.isspace() or c in "/\\@?#" for c in name):
        return None
    return name


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host names accepted: localhost names, the bound address, and `extra`."""
    names = {*_LOCAL_NAMES, bound.strip("[]").lower(), *(name.lower() for name in extra)}
    return frozenset(names - {""})


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(
        self, app: ASGIApp, *, bound: str, max_body: int = DEFAULT_MAX_BODY, extra_hosts: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.hosts = allowed_hosts(bound, extra_hosts)
        self.any_ip = bound.strip("[]") in _WILDCARDS
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        refusal = self._refusal(scope["method"], headers)
        if refusal is not None:
            await _problem(send, *refusal)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge(self.max_body)
            return message

        try:
            await self.app(scope, receive_limited, send_with_headers)
        except _BodyTooLarge as error:
            if started:
                raise
            await _problem(send, 413, "body-too-large", str(error.detail), _body_hint(self.max_body))

    def _refusal(self, method: str, headers: dict[bytes, bytes]) -> tuple[int, str, str, str] | None:
        raw = headers.get(b"host")
        host = host_name(raw.decode("latin-1")) if raw is not None else None
        if host is None:
            return 400, "bad-host", "the request has no valid Host header", "send Host: localhost"
        if host not in self.hosts and not (self.any_ip and _is_ip(host)):
            return (
                421,
                "unknown-host",
                f"this service does not answer to the name '{host:.100}'",
                "use http://localhost or the address it was started on, or start it with --allow-host NAME",
            )
        if method not in _SAFE_METHODS and _cross_origin(headers, raw or b""):
            return 403, "cross-origin", "a request from another origin may not change anything here", "use the page"
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return (
                413,
                "body-too-large",
                f"the request body is larger than the {self.max_body} byte limit",
                _body_hint(self.max_body),
            )
        return None


def _cross_origin(headers: dict[bytes, bytes], host: bytes) -> bool:
    """A browser says the request comes from a page of another origin (or hides its origin)."""
    site = headers.get(b"sec-fetch-site")
    if site is not None and site not in (b"same-origin", b"none"):
        return True
    origin = headers.get(b"origin")
    if origin is None:
        return False  # not sent by a browser page (curl, scripts): nothing to forge
    return origin.lower() not in (b"http://" + host.lower(), b"https://" + host.lower())


def _body_hint(limit: int) -> str:
    return f"send less than {limit} bytes, or start the service with a larger --max-body"


async def _problem(send: Send, status: int, code: str, message: str, hint: str) -> None:
    body = dumps({"errors": [Issue(code, message, hint=hint).to_dict()]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
