"""``circuit serve`` as a command: the URL, the network warning, --open, clean shutdown, usage errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servekit import ROOT, WAIT, EventReader, Server, serving

pytestmark = pytest.mark.timeout(180)


def circuit(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "engine", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=WAIT)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_stops_it_cleanly_closing_the_event_streams(folder: Path, sig: int) -> None:
    server = Server(folder)
    assert server.stdout == [f"serving 1 circuit from '{folder}' at {server.url}\n"]
    assert server.url.startswith("http://127.0.0.1:")
    reader = EventReader(server)
    reader.next("initial")
    code, out, err = server.stop(sig)
    assert (code, out, err) == (0, "press Ctrl-C to stop\n", "")
    assert reader.closed.wait(WAIT)
    reader.close()


def test_every_interface_gets_a_warning(folder: Path) -> None:
    with serving(folder, "--host", "0.0.0.0") as server, server.client() as client:
        assert server.url == f"http://localhost:{server.port}/"
        assert client.get("/healthz").status_code == 200
        code, _, err = server.stop()
    assert code == 0
    assert err == "warning: serving on 0.0.0.0: anyone on the network can read and evaluate these circuits\n"


def test_open_starts_a_browser_on_the_url(folder: Path, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(f"import sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n")
    os.environ["BROWSER"] = f"{sys.executable} {script} %s"
    try:
        with serving(folder, "--open") as server:
            deadline = time.monotonic() + WAIT
            while not opened.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert opened.read_text() == server.url
    finally:
        del os.environ["BROWSER"]


def test_a_taken_port_is_a_usage_error(folder: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = circuit("serve", str(folder), "--port", str(port))
    assert done.returncode == 2
    assert done.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
        "  help: choose another --port, or --port 0 for any free one\n"
    )


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = circuit("serve", str(tmp_path / "nope"))
    assert (done.returncode, done.stderr) == (2, f"error: no such file or folder: '{tmp_path / 'nope'}'\n")


def test_a_bad_timeout_is_a_usage_error(folder: Path) -> None:
    done = circuit("serve", str(folder), "--timeout", "0")
    assert (done.returncode, done.stderr) == (2, "error: --timeout must be a positive number of seconds, got 0\n")


def test_without_the_extra_it_says_which_to_install(folder: Path) -> None:
    # the interpreter is told FastAPI cannot be imported, as in an install without the extra
    code = "import sys; sys.modules['fastapi'] = None; from engine.cli.app import main; sys.exit(main(sys.argv[1:]))"
    done = circuit("serve", str(folder), code=code)
    assert done.returncode == 2
    assert done.stderr == (
        "error: circuit serve needs the 'serve' extra (fastapi not installed)\n"
        "  help: pip install 'circuitflow[serve]' (from a checkout: pip install -e '.[serve]')\n"
    )


def test_help_imports_none_of_the_service() -> None:
    code = (
        "import sys; from engine.cli.app import main; main(['serve', '--help']);"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'sse_starlette', 'engine.serve') if m in sys.modules))"
    )
    done = circuit(code=code)
    assert done.stdout.rstrip().endswith("[]")
    for option in ("--host", "--port", "--open", "--max-body", "--timeout", "--max-subscribers", "--allow-host"):
        assert option in done.stdout


def test_the_command_line_defaults_are_the_services() -> None:
    from engine.cli import serve as cli
    from engine.serve import compute, hub, security
    from engine.watching import events

    assert cli.DEFAULT_MAX_BODY == security.DEFAULT_MAX_BODY == 1024 * 1024
    assert cli.DEFAULT_TIMEOUT == compute.DEFAULT_TIMEOUT == 5.0
    assert cli.DEFAULT_MAX_SUBSCRIBERS == hub.DEFAULT_MAX_SUBSCRIBERS == 100
    assert cli.DEFAULT_DEBOUNCE_MS == events.DEFAULT_DEBOUNCE_MS
