"""Running the service: listen, print the URL, serve with uvicorn until Ctrl-C or SIGTERM, exit 0.

The socket is bound here, before uvicorn starts, so that a taken port is one
clear message (and port 0 gives the port chosen by the system before the URL
is printed). Ctrl-C and SIGTERM shut down gracefully: no new connections,
event streams closed, the watch stopped — and the process exits 0 rather than
re-raising the signal as uvicorn would.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import sys
import threading
import webbrowser
from collections.abc import Generator
from types import FrameType
from typing import IO, Any

import uvicorn
from sse_starlette.sse import AppStatus

from engine.serve.app import ServeConfig, create_app
from engine.serve.hub import Hub

_GRACE_SECONDS = 5
_LOOPBACK_NAMES = ("localhost",)


class _Server(uvicorn.Server):
    """uvicorn's server, ending the event streams at once on Ctrl-C or SIGTERM (so they finish cleanly
    instead of being cut off), and not re-raising the signal that stopped it (the command exits 0)."""

    def __init__(self, config: uvicorn.Config, hub: Hub) -> None:
        super().__init__(config)
        self.hub = hub

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        with contextlib.suppress(RuntimeError):  # no loop yet: no stream to end
            asyncio.get_running_loop().call_soon_threadsafe(self.hub.end_streams)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _is_loopback(host: str) -> bool:
    """Only this machine can reach `host`."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_of(host: str, port: int) -> str:
    """The page's URL (``localhost`` for a wildcard address: the browser cannot open ``0.0.0.0``)."""
    bare = host.strip("[]")
    if bare in ("0.0.0.0", "::", ""):
        bare = "localhost"
    return f"http://[{bare}]:{port}/" if ":" in bare else f"http://{bare}:{port}/"


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port` (0: any free port).

    Raises:
        OSError: the address is taken, unknown, or not this machine's.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def server_config(app: Any) -> uvicorn.Config:
    """How uvicorn runs the app (the benchmark runs its baseline app with the same settings)."""
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=_GRACE_SECONDS,
        ws="none",
    )


def serve_folder(config: ServeConfig, port: int, *, open_browser: bool = False, out: IO[str] | None = None) -> int:
    """Serve `config.root` on `config.host`:`port` until Ctrl-C or SIGTERM; the exit code.

    Prints the URL once the folder's initial evaluation is done; a warning first
    when the address is reachable from other machines.
    """
    out = out or sys.stdout
    if not config.root.exists():
        print(f"error: no such file or folder: '{config.root}'", file=sys.stderr)
        return 2
    if not _is_loopback(config.host):
        print(
            f"warning: serving on {config.host}: anyone on the network can read and evaluate these circuits",
            file=sys.stderr,
        )
    try:
        sock = listen(config.host, port)
    except OSError as exc:
        print(f"error: cannot listen on {config.host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        print("  help: choose another --port, or --port 0 for any free one", file=sys.stderr)
        return 2
    bound_port = sock.getsockname()[1]
    app = create_app(config)
    hub: Hub = app.state.hub
    server = _Server(server_config(app), hub)
    # the event streams are ended by the hub itself (see _Server), not cut off by sse-starlette's own
    # shutdown watcher, which would race with it and leave a response unfinished
    AppStatus.enable_automatic_graceful_drain = False
    url = _url_of(config.host, bound_port)
    with sock:
        asyncio.run(_serve(server, sock, hub, url, open_browser, out))
    if not server.started:
        print("error: the service could not start (see above)", file=sys.stderr)
        return 2
    return 0


async def _serve(
    server: uvicorn.Server, sock: socket.socket, hub: Hub, url: str, open_browser: bool, out: IO[str]
) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        count = len(hub.states)
        print(f"serving {count} circuit{'s' if count != 1 else ''} from '{hub.root}' at {url}", file=out)
        print("press Ctrl-C to stop", file=out, flush=True)
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    await task
