"""Shared pieces of the service tests: a real ``circuit serve`` process on a free loopback port, and an SSE reader."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
WAIT = 60.0  # seconds a server may take to start, or an expected event to arrive, on a busy machine


class Server:
    """``circuit serve FOLDER --port 0 …`` in a subprocess; `url` once it has printed it."""

    def __init__(self, folder: Path, *args: str, relative: bool = False) -> None:
        """With `relative`, the server runs in the folder's parent and is given the folder's name,
        as a person types ``circuit serve circuits``: paths on the page are then relative."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", folder.name if relative else str(folder), "--port", "0", *args],
            cwd=folder.parent if relative else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for_url()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for_url(self) -> str:
        while True:
            try:
                line = self._lines.get(timeout=WAIT)
            except queue.Empty:
                self.process.kill()
                raise AssertionError("the server printed no URL") from None
            if line is None:
                err = self.process.stderr.read() if self.process.stderr else ""
                raise AssertionError(f"the server exited: {self.process.wait()}\n{err}")
            self.stdout.append(line)
            if line.startswith("serving "):
                return line.split(" at ", 1)[1].strip()

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def client(self, timeout: float = WAIT, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        """Send `sig`; the exit code, the rest of stdout and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        rest = []
        while (line := self._lines.get(timeout=WAIT)) is not None:
            rest.append(line)
        err = self.process.stderr.read() if self.process.stderr else ""
        return code, "".join(rest), err


@contextmanager
def serving(folder: Path, *args: str, relative: bool = False) -> Iterator[Server]:
    server = Server(folder, *args, relative=relative)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.stop()


@dataclass(frozen=True)
class SSE:
    """One event as received."""

    event: str
    id: str | None
    data: Any


class EventReader:
    """Reads ``GET /api/events`` on a thread; `next` waits for the next event (optionally of a kind)."""

    def __init__(self, server: Server, last_event_id: str | None = None) -> None:
        headers = {"accept": "text/event-stream"}
        if last_event_id is not None:
            headers["last-event-id"] = last_event_id
        self._client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(WAIT, read=None))
        self._events: queue.Queue[SSE | None] = queue.Queue()
        self.status = 0
        self.closed = threading.Event()
        self._ready = threading.Event()
        self._headers = headers
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(WAIT):
            raise AssertionError("the event stream did not open")

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/api/events", headers=self._headers) as response:
                self.status = response.status_code
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                self._ready.set()
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line == "":
                        if "data" in fields:
                            data = json.loads(fields["data"])
                            self._events.put(SSE(fields.get("event", "message"), fields.get("id"), data))
                        fields = {}
                    elif not line.startswith(":"):
                        key, _, value = line.partition(":")
                        fields[key] = value[1:] if value.startswith(" ") else value
        except httpx.HTTPError:
            pass
        finally:
            self._ready.set()
            self.closed.set()
            self._events.put(None)

    def next(self, kind: str | None = None, name: str | None = None) -> SSE:
        """The next event (of `kind` and for circuit `name`, when given), skipping others."""
        while True:
            try:
                event = self._events.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no {kind or ''} event within {WAIT} s") from None
            if event is None:
                raise AssertionError("the event stream ended")
            if (kind is None or event.event == kind) and (name is None or event.data.get("name") == name):
                return event

    def close(self) -> None:
        # A read blocked on the stream ends only when data comes (the server's next ping, seconds
        # away): shutting the socket down ends it now.
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._client.close()
        self._thread.join(WAIT)
