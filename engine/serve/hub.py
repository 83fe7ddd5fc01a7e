"""The live side of the service: a watch over the folder, every circuit's state, the event stream.

`Hub` runs `engine.watch` (the same debounce, last-good-kept behaviour and
events as ``circuit watch``) and turns each `WatchEvent` into a `CircuitState`
and one `StreamEvent`, whose JSON is built once on the watcher's thread and
shared by every subscriber. States, the event log and the subscribers are
touched only on the event loop (events are handed over with
``call_soon_threadsafe``, in order), so no lock is needed.

Event ids are ``<boot>-<seq>``: a subscriber that reconnects with the id of
the last event it saw (``Last-Event-ID``) gets the events it missed from the
log; an id the log can no longer serve (too old, or from an earlier run of the
server) gets a fresh snapshot instead: one ``initial`` event per circuit.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread
from sse_starlette.event import ServerSentEvent

from engine.format.loader import DEFAULT_MAX_BYTES
from engine.serve.schemas import dumps
from engine.serve.state import CircuitState, Names, state_from
from engine.watching.events import DEFAULT_DEBOUNCE_MS, DEFAULT_POLL_INTERVAL
from engine.watching.session import WatchEvent, WatchHandle, watch

DEFAULT_MAX_SUBSCRIBERS = 100
BACKLOG = 1000
"""Events kept for subscribers that reconnect."""
_STATE_EVENTS = frozenset({"initial", "changed", "added", "removed"})
"""The watch events that change a circuit's state (and are passed on to subscribers)."""
_RETRY_MS = 1000
"""How long a browser waits before reconnecting a lost stream."""
QUEUE_SIZE = 256
"""Events a subscriber may fall behind by before its stream is closed (it reconnects and resumes)."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of ``GET /api/events``: its kind, the circuit's name, the JSON data, and the bytes sent.

    `frame` is encoded once and written to every subscriber as it is.
    """

    seq: int
    kind: str
    name: str
    data: str
    frame: bytes


def encode(seq: int, kind: str, name: str, data: str, boot: str) -> StreamEvent:
    """The event, its frame encoded with its id ``<boot>-<seq>`` (and a reconnection delay of a second)."""
    frame = ServerSentEvent(data=data, event=kind, id=f"{boot}-{seq}", retry=_RETRY_MS).encode()
    return StreamEvent(seq, kind, name, data, frame)


@dataclass(eq=False, slots=True)
class Subscriber:
    """One open event stream: its queue, and whether it fell too far behind."""

    queue: asyncio.Queue[StreamEvent | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False


class TooManySubscribers(Exception):
    """Every subscriber place is taken."""


class Hub:
    """The circuits of one folder, kept up to date by a watch, and their subscribers."""

    def __init__(
        self,
        root: Path,
        *,
        debounce_ms: float = DEFAULT_DEBOUNCE_MS,
        poll: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS,
    ) -> None:
        self.root = root
        self.max_subscribers = max_subscribers
        self.boot = secrets.token_hex(4)
        self.seq = 0
        self.states: dict[str, CircuitState] = {}
        """Circuits by name (event loop only)."""
        self._details: dict[str, str] = {}
        self._log: deque[StreamEvent] = deque(maxlen=BACKLOG)
        self._subscribers: set[Subscriber] = set()
        self._names = Names(root if root.is_dir() else root.parent)
        self._debounce_ms, self._poll, self._poll_interval = debounce_ms, poll, poll_interval
        self._max_bytes = max_bytes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: WatchHandle | None = None
        self._started = threading.Event()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        """Evaluate the folder and start following saves; returns once the initial states are in."""
        self._loop = asyncio.get_running_loop()
        await anyio.to_thread.run_sync(self._start_watch)
        await asyncio.sleep(0)  # let the initial events handed over meanwhile be applied

    async def stop(self) -> None:
        """Stop watching and end every event stream."""
        if self._handle is not None:
            await anyio.to_thread.run_sync(self._handle.stop)
        self.end_streams()

    def end_streams(self) -> None:
        """End every open event stream (the service is stopping)."""
        for subscriber in list(self._subscribers):
            _offer(subscriber, None)

    def event_id(self, seq: int) -> str:
        return f"{self.boot}-{seq}"

    def subscribe(self, last_event_id: str | None) -> tuple[list[StreamEvent], Subscriber]:
        """A new subscriber and what it must be sent first: the missed events, or a snapshot.

        Raises:
            TooManySubscribers: `max_subscribers` streams are open.
        """
        if len(self._subscribers) >= self.max_subscribers:
            raise TooManySubscribers
        missed = self._since(last_event_id)
        if missed is None:
            missed = [encode(self.seq, "initial", name, self._details[name], self.boot) for name in sorted(self.states)]
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        return missed, subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def detail(self, name: str) -> str | None:
        """The JSON of ``GET /api/circuits/{name}``."""
        return self._details.get(name)

    def _since(self, last_event_id: str | None) -> list[StreamEvent] | None:
        boot, _, number = (last_event_id or "").partition("-")
        if boot != self.boot or not number.isdigit():
            return None
        seq = int(number)
        oldest = self._log[0].seq if self._log else self.seq + 1
        if seq > self.seq or seq < oldest - 1:
            return None  # from the future, or the log no longer reaches back that far
        return [event for event in self._log if event.seq > seq]

    # ---- the watcher's thread ----

    def _start_watch(self) -> None:
        self._handle = watch(
            [self.root],
            self._on_event,
            debounce_ms=self._debounce_ms,
            poll=self._poll,
            poll_interval=self._poll_interval,
            max_bytes=self._max_bytes,
        )
        self._started.set()

    def _on_event(self, event: WatchEvent) -> None:
        if event.kind not in _STATE_EVENTS:
            return  # e.g. ``rearmed``: the folder is back; its circuits follow as ``added``
        if event.kind == "removed":
            gone = self._names.forget(event.path)
            if gone is not None:
                self._hand_over("removed", gone, None, dumps({"name": gone, "path": event.path}).decode())
            return
        name = self._names.of(event.path)
        latest = None
        if event.stale:
            self._started.wait()  # a stale event comes after the start, once the catalog is known
            entry = self._handle.catalog.entry(event.path) if self._handle is not None else None
            latest = entry.latest if entry is not None else None
        state = state_from(name, event.path, event.result, latest, event.circuit, time.time())
        if state is not None:
            self._hand_over(event.kind, name, state, dumps(state.detail()).decode())

    def _hand_over(self, kind: str, name: str, state: CircuitState | None, data: str) -> None:
        assert self._loop is not None  # set by start() before the watch begins
        self._loop.call_soon_threadsafe(self._apply, kind, name, state, data)

    # ---- the event loop ----

    def _apply(self, kind: str, name: str, state: CircuitState | None, data: str) -> None:
        if state is None:
            self.states.pop(name, None)
            self._details.pop(name, None)
        else:
            self.states[name] = state
            self._details[name] = data
        self.seq += 1
        event = encode(self.seq, kind, name, data, self.boot)
        self._log.append(event)
        for subscriber in list(self._subscribers):
            _offer(subscriber, event)


def _offer(subscriber: Subscriber, event: StreamEvent | None) -> None:
    try:
        subscriber.queue.put_nowait(event)
    except asyncio.QueueFull:
        subscriber.overflowed = True  # its stream ends; the client reconnects and resumes from the log
