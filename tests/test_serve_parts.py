"""The service's pure parts: Host parsing, names of files, and the event log that resumes subscribers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.result import Result
from engine.serve.hub import BACKLOG, QUEUE_SIZE, Hub, TooManySubscribers
from engine.serve.security import allowed_hosts, host_name
from engine.serve.state import CircuitState, Names, base_name


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost", "localhost"),
        ("localhost:8000", "localhost"),
        ("LocalHost.:8000", "localhost"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::1]", "::1"),
        ("evil.example", "evil.example"),
        ("", None),
        (":8000", None),
        ("localhost:80x", None),
        ("[::1", None),
        ("[::1]x", None),
        ("local host", None),
        ("user@localhost", None),
        ("a/b", None),
    ],
)
def test_host_names(header: str, name: str | None) -> None:
    assert host_name(header) == name


def test_the_allowed_hosts() -> None:
    assert allowed_hosts("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts("[::1]", ["Box.lan"]) == {"localhost", "127.0.0.1", "::1", "box.lan"}
    assert allowed_hosts("0.0.0.0") == {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def test_names_are_paths_below_the_folder_without_suffix() -> None:
    base = Path("circuits")
    assert base_name("circuits/seed.yaml", base) == "seed"
    assert base_name("circuits/more/deep/seed.yml", base) == "more.deep.seed"
    assert base_name("elsewhere/x.yaml", base) == "x"
    names = Names(base)
    assert [names.of(p) for p in ("circuits/a.b.yaml", "circuits/a/b.yaml", "circuits/a/b.yml")] == [
        "a.b",
        "a.b-2",
        "a.b-3",
    ]
    assert names.of("circuits/a/b.yaml") == "a.b-2"  # kept while the file is known
    assert names.forget("circuits/a.b.yaml") == "a.b"
    assert names.of("circuits/c/a.b.yaml") == "c.a.b"
    assert names.of("circuits/a.b.yml") == "a.b"  # free again


def _state(name: str, value: float) -> CircuitState:
    result = Result(f"circuits/{name}.yaml", name, "ok", "f", value, {"f": value}, {"f": 1.0})
    return CircuitState(name, f"circuits/{name}.yaml", result, result, None, 0.0)


def _changes(hub: Hub, count: int) -> None:
    for index in range(count):
        state = _state("seed", float(index))
        hub._apply("changed", "seed", state, f'{{"value": {index}}}')


def test_a_subscriber_resumes_after_the_last_event_it_saw(tmp_path: Path) -> None:
    hub = Hub(tmp_path)
    _changes(hub, 5)
    missed, _ = hub.subscribe(hub.event_id(3))
    assert [(e.seq, e.kind, e.data) for e in missed] == [(4, "changed", '{"value": 3}'), (5, "changed", '{"value": 4}')]
    assert hub.subscribe(hub.event_id(5))[0] == []


@pytest.mark.parametrize("which", ["unknown", "another run", "future", "too old"])
def test_an_id_the_log_cannot_serve_gets_a_snapshot(tmp_path: Path, which: str) -> None:
    hub = Hub(tmp_path)
    _changes(hub, BACKLOG + 10)
    hub._apply("added", "other", _state("other", 2.0), '{"value": "other"}')
    last = {
        "unknown": "nonsense",
        "another run": f"{'0' * 8}-{hub.seq}",
        "future": hub.event_id(hub.seq + 1),
        "too old": hub.event_id(5),
    }[which]
    missed, _ = hub.subscribe(last)
    assert [(e.seq, e.kind, e.name, e.data) for e in missed] == [
        (hub.seq, "initial", "other", '{"value": "other"}'),
        (hub.seq, "initial", "seed", f'{{"value": {BACKLOG + 9}}}'),
    ]


def test_the_oldest_id_the_log_still_serves(tmp_path: Path) -> None:
    hub = Hub(tmp_path)
    _changes(hub, BACKLOG + 10)
    oldest_kept = hub.seq - BACKLOG + 1
    missed, _ = hub.subscribe(hub.event_id(oldest_kept - 1))
    assert len(missed) == BACKLOG and missed[0].seq == oldest_kept
    assert hub.subscribe(hub.event_id(oldest_kept - 2))[0][0].kind == "initial"


def test_a_removed_circuit_leaves_the_snapshot(tmp_path: Path) -> None:
    hub = Hub(tmp_path)
    _changes(hub, 1)
    hub._apply("removed", "seed", None, '{"name": "seed"}')
    assert hub.states == {} and hub.detail("seed") is None
    assert hub.subscribe(None)[0] == []


def test_subscribers_are_counted_and_limited(tmp_path: Path) -> None:
    hub = Hub(tmp_path, max_subscribers=2)
    _, first = hub.subscribe(None)
    hub.subscribe(None)
    with pytest.raises(TooManySubscribers):
        hub.subscribe(None)
    hub.unsubscribe(first)
    hub.unsubscribe(first)  # twice is harmless
    assert hub.subscribers == 1
    hub.subscribe(None)


def test_a_subscriber_that_falls_behind_is_marked_and_ends(tmp_path: Path) -> None:
    async def scenario() -> None:
        hub = Hub(tmp_path)
        _, slow = hub.subscribe(None)
        _changes(hub, QUEUE_SIZE)
        assert not slow.overflowed
        _changes(hub, 1)
        assert slow.overflowed  # its stream ends; the client resumes from the log with its last id
        _, fresh = hub.subscribe(None)
        hub.end_streams()
        assert await fresh.queue.get() is None

    asyncio.run(scenario())
