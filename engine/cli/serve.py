"""``circuit serve DIR``: the command line of the service (its code is in `engine.serve`, imported on use).

Without the ``serve`` extra installed the command says which extra to install
and exits 2; it never fails with an import traceback.
"""

# No `from __future__ import annotations` here: typer reads every command's annotations on each
# run, and objects cost it far less than strings it must evaluate (part of the start-up figure).

import math
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

# engine.serve's defaults, spelt out so that `circuit --help` imports none of the service; a test keeps them equal
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_SUBSCRIBERS = 100
DEFAULT_DEBOUNCE_MS = 50
_EXTRA_MODULES = ("fastapi", "uvicorn", "sse_starlette")


def _missing_modules() -> list[str]:
    """The modules of the ``serve`` extra that are not installed."""
    return [name for name in _EXTRA_MODULES if find_spec(name) is None]


def serve_command(
    folder: Annotated[Path, typer.Argument(help="The folder of circuits (searched recursively).")],
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; anything but loopback is reachable from the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free port).")] = 8000,
    open_: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1, metavar="BYTES", help="Refuse request bodies larger than this.")
    ] = DEFAULT_MAX_BODY,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Time limit of one request's evaluation.")
    ] = DEFAULT_TIMEOUT,
    max_subscribers: Annotated[
        int, typer.Option("--max-subscribers", min=1, help="Event streams open at once; more get 503.")
    ] = DEFAULT_MAX_SUBSCRIBERS,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", metavar="NAME", help="Also answer to this Host name (repeatable)."),
    ] = None,
    debounce_ms: Annotated[
        int, typer.Option("--debounce-ms", min=0, help="Quiet period that coalesces the events of one save.")
    ] = DEFAULT_DEBOUNCE_MS,
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll the filesystem instead of native events (network drives, containers).")
    ] = False,
) -> None:
    """Serve a folder of circuits: an HTTP API, live events and a page to explore them, until Ctrl-C."""
    missing = _missing_modules()
    if missing:
        print(f"error: circuit serve needs the 'serve' extra ({', '.join(missing)} not installed)", file=sys.stderr)
        print("  help: pip install 'circuitflow[serve]' (from a checkout: pip install -e '.[serve]')", file=sys.stderr)
        raise typer.Exit(2)
    if not (timeout > 0 and math.isfinite(timeout)):
        print(f"error: --timeout must be a positive number of seconds, got {timeout:g}", file=sys.stderr)
        raise typer.Exit(2)
    from engine.cli.process import steady
    from engine.serve.app import ServeConfig
    from engine.serve.runner import serve_folder

    steady()
    config = ServeConfig(
        folder,
        host=host,
        max_body=max_body,
        timeout=timeout,
        max_subscribers=max_subscribers,
        debounce_ms=debounce_ms,
        poll=poll,
        allow_hosts=tuple(allow_host or ()),
    )
    raise typer.Exit(serve_folder(config, port, open_browser=open_))
