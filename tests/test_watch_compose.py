"""Watch follows `use:`: saving a used file re-evaluates every circuit that uses it, once each;
deleting it makes them invalid, restoring it brings them back; a cycle made by one edit is
reported, and the next edit mends it. Real files and the real watchdog observer."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.watching.session import WatchEvent
from tests.watchkit import EventLog, save_atomic, save_in_place

pytestmark = pytest.mark.timeout(90)

NEURON = "inputs: {x: 0, y: 0, a: 1, b: 2, c: -3}\ngates:\n  s: a*x + b*y + c\n  out: sigmoid(s)\noutput: out\n"
LAYER = "inputs: {x1: -1, x2: 3}\ngates:\n  n1: {use: neuron.yaml, with: {x: x1, y: x2}}\n  f: 2 * n1.s\n"
DEEP = "inputs: {p: 1}\ngates:\n  l: {use: layer.yaml, with: {x1: p}}\n  g: l + 1\n"
OTHER = "inputs: {u: 1}\ngates:\n  v: 3 * u\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    folder = tmp_path / "circuits"
    folder.mkdir()
    for name, text in (("neuron.yaml", NEURON), ("layer.yaml", LAYER), ("deep.yaml", DEEP), ("other.yaml", OTHER)):
        (folder / name).write_text(text)
    return folder


def names(events: list[WatchEvent]) -> list[tuple[str, str]]:
    return sorted((e.kind, Path(e.path).name) for e in events)


def collect(log: EventLog, count: int) -> list[WatchEvent]:
    return [log.next() for _ in range(count)]


def settle(log: EventLog, folder: Path, value: float, first: str = "neuron.yaml") -> list[WatchEvent]:
    """Every event of the change just made, which starts with one for `first`.

    Once that event is in, other.yaml is saved: its event comes after every event
    of the change (the watcher handles one batch of changes at a time, and a
    batch's dependent circuits before the next batch).
    """
    head = log.until(lambda e: e.path.endswith(first))
    save_in_place(folder / "other.yaml", OTHER.replace("u: 1", f"u: {value}"))
    return [head, *log.through(lambda e: e.path.endswith("other.yaml"))]


def test_a_save_of_a_used_file_recomputes_each_user_once(tree: Path) -> None:
    log = EventLog()
    with engine.watch([tree], log):
        assert names(collect(log, 4)) == [
            ("initial", f) for f in ("deep.yaml", "layer.yaml", "neuron.yaml", "other.yaml")
        ]
        assert log.events[1].result is not None and log.events[1].result.value == 2 * (1 * -1 + 2 * 3 - 3)
        log.mark()
        save_atomic(tree / "neuron.yaml", NEURON.replace("c: -3", "c: 1"))
        events = settle(log, tree, 2)
        assert names(events) == [("changed", "deep.yaml"), ("changed", "layer.yaml"), ("changed", "neuron.yaml")]
        by_name = {Path(e.path).name: e for e in events}
        assert by_name["layer.yaml"].result.value == 2 * (1 * -1 + 2 * 3 + 1)  # type: ignore[union-attr]
        assert by_name["deep.yaml"].result.values["l.n1.c"] == 1.0  # type: ignore[union-attr]
        # a save that changes nothing concerns nobody
        log.mark()
        save_in_place(tree / "neuron.yaml", NEURON.replace("c: -3", "c: 1"))
        save_in_place(tree / "other.yaml", OTHER)
        assert log.through(lambda e: e.path.endswith("other.yaml")) == []


def test_deleting_a_used_file_invalidates_its_users_and_restoring_it_mends_them(tree: Path) -> None:
    log = EventLog()
    with engine.watch([tree], log):
        collect(log, 4)
        log.mark()
        (tree / "neuron.yaml").unlink()
        events = settle(log, tree, 2)
        assert names(events) == [("changed", "deep.yaml"), ("changed", "layer.yaml"), ("removed", "neuron.yaml")]
        layer = next(e for e in events if e.path.endswith("layer.yaml"))
        assert layer.stale and [(i.code, i.line, i.column) for i in layer.errors] == [("use-missing", 3, 13)]
        log.mark()
        (tree / "neuron.yaml").write_text(NEURON)
        events = settle(log, tree, 3)
        assert names(events) == [("added", "neuron.yaml"), ("changed", "deep.yaml"), ("changed", "layer.yaml")]
        assert all(e.result is not None and e.result.ok and not e.stale for e in events)


def test_a_cycle_made_by_an_edit_is_reported_and_the_next_edit_mends_it(tree: Path) -> None:
    log = EventLog()
    with engine.watch([tree], log) as handle:
        collect(log, 4)
        log.mark()
        cyclic = NEURON.replace("  out: sigmoid(s)\n", "  back: {use: layer.yaml}\n  out: sigmoid(s)\n")
        save_in_place(tree / "neuron.yaml", cyclic)
        events = settle(log, tree, 2)
        assert names(events) == [("changed", "deep.yaml"), ("changed", "layer.yaml"), ("changed", "neuron.yaml")]
        for event in events:
            assert event.stale and event.errors[0].code == "use-cycle", event
        neuron = handle.catalog.entry(tree / "neuron.yaml")
        assert neuron is not None and neuron.latest.status == "invalid"
        chain = [str(tree / "neuron.yaml"), str(tree / "layer.yaml"), str(tree / "neuron.yaml")]
        assert neuron.latest.errors[0].message == f"'{chain[0]}' uses itself: " + " -> ".join(chain)
        log.mark()
        save_in_place(tree / "neuron.yaml", NEURON)
        events = settle(log, tree, 3)
        assert names(events) == [("changed", "deep.yaml"), ("changed", "layer.yaml"), ("changed", "neuron.yaml")]
        assert all(e.result is not None and e.result.ok and not e.stale for e in events)
