"""`engine.watch` on real files with the real watchdog observer: every way editors save."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

import engine
from engine.watching.session import WatchEvent
from tests.watchkit import (
    WAIT,
    EventLog,
    save_atomic,
    save_in_place,
    save_like_jetbrains,
    save_like_vim,
    seed,
    value_of,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def log() -> EventLog:
    return EventLog()


@pytest.fixture
def watching(folder: Path, log: EventLog):
    handle = engine.watch([folder], log)
    yield handle
    handle.stop()


def test_initial_results_are_those_of_eval(folder: Path, log: EventLog) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "neuron.yml").write_text(
        "inputs: {a: 1, x: -1}\ngates:\n  s: {op: mul, in: [a, x]}\n  n: {op: sigmoid, in: [s]}\n"
    )
    (folder / "notes.txt").write_text("not a circuit")
    with engine.watch([folder], log):
        events = [log.next(), log.next()]
    assert [(e.kind, e.path) for e in events] == [
        ("initial", str(folder / "seed.yaml")),
        ("initial", str(folder / "sub" / "neuron.yml")),
    ]
    for event in events:
        expected = engine.evaluate_file(event.path).to_dict()
        got = event.result.to_dict()
        expected.pop("elapsed_ms"), got.pop("elapsed_ms")
        assert got == expected
        assert event.previous is None and not event.stale


@pytest.mark.parametrize("save", [save_in_place, save_atomic, save_like_vim, save_like_jetbrains])
def test_one_save_is_one_recompute(folder: Path, log: EventLog, watching, save) -> None:
    target = folder / "seed.yaml"
    log.next()
    for x in (1, 2):
        save(target, seed(x))
        event = log.next()
        # the next event is this save's, with its content: no duplicate of the previous save came first
        assert (event.kind, event.path, event.result.value) == ("changed", str(target), value_of(x))
        assert event.previous.value == value_of(x - 1 if x == 2 else -2)
        assert event.latency_ms >= 0


def test_delete_then_recreate(folder: Path, log: EventLog, watching) -> None:
    target = folder / "seed.yaml"
    first = log.next()
    target.unlink()
    removed = log.next()
    assert (removed.kind, removed.path, removed.result) == ("removed", str(target), None)
    assert removed.previous.to_dict() == first.result.to_dict()
    target.write_text(seed(3))
    added = log.next()
    assert (added.kind, added.result.value, added.previous) == ("added", value_of(3), None)


def test_quick_delete_and_recreate_is_one_change(folder: Path, log: EventLog, watching) -> None:
    target = folder / "seed.yaml"
    log.next()
    target.unlink()
    target.write_text(seed(4))
    event = log.next()
    assert (event.kind, event.result.value) == ("changed", value_of(4))


def test_fifty_rapid_saves_end_on_the_last(folder: Path, log: EventLog, watching) -> None:
    target = folder / "seed.yaml"
    log.next()
    for x in range(50):
        (save_in_place if x % 2 else save_atomic)(target, seed(x))
    last = log.until(lambda e: e.result is not None and e.result.value == value_of(49))
    assert last.kind == "changed" and last.result.status == "ok"
    assert watching.running
    # nothing after it: a further save is the very next event
    save_in_place(target, seed(100))
    assert log.next().result.value == value_of(100)
    seen = [e.result.value for e in log.events[1:]]
    assert all(v in {value_of(x) for x in [*range(50), 100]} for v in seen)


def test_syntax_error_keeps_the_last_good_result_then_the_fix_recomputes(folder: Path, log: EventLog, watching) -> None:
    target = folder / "seed.yaml"
    good = log.next()
    save_in_place(target, seed(1).replace("x: 1", "x: [1"))
    broken = log.next()
    assert broken.kind == "changed" and broken.stale
    assert broken.result.to_dict() == good.result.to_dict()  # the last good result, kept
    assert [(i.code, i.line, i.column) for i in broken.errors] == [("yaml-syntax", 3, 4)]
    data = broken.to_dict()
    assert data["stale"] is True and data["errors"][0]["line"] == 3 and data["result"]["value"] == -12.0
    save_in_place(target, seed(1))
    fixed = log.next()
    assert (fixed.kind, fixed.stale, fixed.result.value, fixed.result.status) == ("changed", False, value_of(1), "ok")
    assert fixed.previous.value == good.result.value
    assert "stale" not in fixed.to_dict()


def test_broken_file_without_a_good_result_is_reported_invalid(folder: Path, log: EventLog, watching) -> None:
    log.next()
    (folder / "bad.yaml").write_text(seed(1).replace("op: add", "op: ad"))
    event = log.next()
    assert (event.kind, event.stale, event.result.status) == ("added", False, "invalid")
    assert [(i.code, i.line) for i in event.result.errors] == [("unknown-op", 6)]


def test_domain_fault_keeps_the_last_good_result(folder: Path, log: EventLog, watching) -> None:
    target = folder / "seed.yaml"
    log.next()
    save_in_place(target, seed(1).replace("op: mul", "op: div").replace("z: -4", "z: 0"))
    event = log.next()
    assert event.stale and event.result.value == -12.0
    assert [(i.code, i.line) for i in event.errors] == [("domain", 7)]


def test_new_file_in_a_new_sub_folder(folder: Path, log: EventLog, watching) -> None:
    log.next()
    deep = folder / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "new.yaml").write_text(seed(7))
    event = log.next()
    assert (event.kind, event.path, event.result.value) == ("added", str(deep / "new.yaml"), value_of(7))
    save_in_place(deep / "new.yaml", seed(8))  # and the new folder is watched from now on
    assert log.next().result.value == value_of(8)


def test_folder_moved_in_and_out(folder: Path, tmp_path: Path, log: EventLog, watching) -> None:
    log.next()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "one.yaml").write_text(seed(1))
    os.rename(outside, folder / "moved")
    event = log.next()
    assert (event.kind, event.path) == ("added", str(folder / "moved" / "one.yaml"))
    shutil.move(str(folder / "moved"), str(tmp_path / "gone"))
    event = log.next()
    assert (event.kind, event.path) == ("removed", str(folder / "moved" / "one.yaml"))


def test_removed_and_renamed_files(folder: Path, log: EventLog, watching) -> None:
    log.next()
    os.rename(folder / "seed.yaml", folder / "renamed.yaml")
    events = sorted([log.next(), log.next()], key=lambda e: e.kind)
    assert [(e.kind, Path(e.path).name) for e in events] == [("added", "renamed.yaml"), ("removed", "seed.yaml")]
    (folder / "renamed.yaml").unlink()
    event = log.next()
    assert (event.kind, Path(event.path).name, event.result) == ("removed", "renamed.yaml", None)


def test_editor_droppings_are_ignored(folder: Path, log: EventLog, watching) -> None:
    log.next()
    for name in (
        ".seed.yaml.swp",
        ".seed.yaml.swx",
        "seed.yaml~",
        ".#seed.yaml",
        "4913",
        "notes.txt",
        "seed.yaml.tmp",
        ".hidden.yaml",
    ):
        (folder / name).write_text("this: [is not a circuit")
    (folder / ".git").mkdir()
    (folder / ".git" / "x.yaml").write_text("broken: [")
    save_in_place(folder / "seed.yaml", seed(9))
    event = log.next()
    assert (event.kind, event.path, event.result.value) == ("changed", str(folder / "seed.yaml"), value_of(9))


def test_touch_recomputes_nothing(folder: Path, log: EventLog, watching) -> None:
    target = folder / "seed.yaml"
    log.next()
    os.utime(target)
    save_in_place(target, seed(-2))  # same bytes, saved again
    save_in_place(target, seed(5))
    event = log.next()
    assert event.result.value == value_of(5)


def test_value_only_edit_reuses_the_compiled_program(folder: Path, log: EventLog, watching) -> None:
    target = folder / "seed.yaml"
    first = log.next()
    save_in_place(target, "# a comment shifts every line\n" + seed(6))
    edited = log.next()
    assert edited.result.value == value_of(6)
    assert edited.circuit.program is first.circuit.program
    save_in_place(target, seed(6, op="add"))
    rewired = log.next()
    assert rewired.result.value == 11 - 4
    assert rewired.circuit.program is not first.circuit.program
    assert rewired.circuit.program.key != first.circuit.program.key


def test_half_written_file_is_not_reported_broken(tmp_path: Path, log: EventLog) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text(seed(-2))
    text = seed(3)
    cut = text.index("[x, y]") + 3  # inside a flow list: the first half alone is a syntax error
    with engine.watch([tmp_path], log, debounce_ms=200):
        log.next()
        with open(target, "w") as handle, reads_of(target) as reads:
            handle.write(text[:cut])
            handle.flush()
            # once the quiet period is over the watcher reads the half (and finds it broken);
            # the rest arrives before it has settled
            assert reads.wait(WAIT), "the watcher never read the half-written file"
            handle.write(text[cut:])
        event = log.next()
    assert (event.stale, event.result.value) == (False, value_of(3))


@contextmanager
def reads_of(path: Path) -> Iterator[threading.Event]:
    """An event set once some other process or thread has read `path` (opened and closed it
    without writing), seen by a real watchdog observer of its folder."""
    read = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_closed_no_write(self, event: FileSystemEvent) -> None:
            if Path(os.fsdecode(event.src_path)) == path:
                read.set()

    observer = Observer()
    observer.schedule(Handler(), str(path.parent))
    observer.start()
    try:
        yield read
    finally:
        observer.stop()
        observer.join()


def test_polling_observer(folder: Path, log: EventLog) -> None:
    with engine.watch([folder], log, poll=True, poll_interval=0.05):
        assert log.next().kind == "initial"
        save_in_place(folder / "seed.yaml", seed(11))
        event = log.next()
        assert (event.kind, event.result.value) == ("changed", value_of(11))
        (folder / "sub").mkdir()
        (folder / "sub" / "new.yaml").write_text(seed(12))
        event = log.next()
        assert (event.kind, event.result.value) == ("added", value_of(12))


def test_watching_one_file_ignores_its_neighbours(folder: Path, log: EventLog) -> None:
    target = folder / "seed.yaml"
    with engine.watch([target], log):
        log.next()
        (folder / "other.yaml").write_text(seed(1))
        save_atomic(target, seed(2))
        event = log.next()
    assert (event.path, event.result.value) == (str(target), value_of(2))


def test_a_failing_callback_stops_the_watch(folder: Path) -> None:
    def on_event(event: WatchEvent) -> None:
        if event.kind != "initial":
            raise RuntimeError("consumer failed")

    handle = engine.watch([folder], on_event)
    save_in_place(folder / "seed.yaml", seed(1))
    with pytest.raises(RuntimeError, match="consumer failed"):
        handle.wait(timeout=10)
    assert not handle.running
    handle.stop()


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        engine.watch([tmp_path / "nope"], print)


def test_public_surface() -> None:
    assert {"watch", "WatchEvent", "WatchHandle"} <= set(engine.__all__)
    assert all(hasattr(engine, name) for name in engine.__all__)


def test_folder_renamed_inside_the_tree(folder: Path, log: EventLog, watching) -> None:
    log.next()
    (folder / "old").mkdir()
    (folder / "old" / "c.yaml").write_text(seed(1))
    assert log.next().kind == "added"
    os.rename(folder / "old", folder / "new")
    events = sorted([log.next(), log.next()], key=lambda e: e.kind)
    assert [(e.kind, e.path) for e in events] == [
        ("added", str(folder / "new" / "c.yaml")),
        ("removed", str(folder / "old" / "c.yaml")),
    ]
    save_in_place(folder / "new" / "c.yaml", seed(2))  # the moved folder is still watched
    assert log.next().result.value == value_of(2)


def test_unreadable_file_is_reported_once(folder: Path, log: EventLog) -> None:
    big = folder / "big.yaml"
    big.write_text(seed(1) + "#" * 2000)
    with engine.watch([folder], log, max_bytes=1000):
        events = [log.next(), log.next()]
        assert [(Path(e.path).name, e.result.status) for e in events] == [("big.yaml", "invalid"), ("seed.yaml", "ok")]
        assert events[0].result.errors[0].code == "too-large"
        save_in_place(big, seed(2))  # small enough now
        assert log.next().result.value == value_of(2)


def test_no_event_after_stop_returns(folder: Path, log: EventLog) -> None:
    handle = engine.watch([folder], log)
    log.next()
    handle.stop()
    count = len(log.events)
    save_in_place(folder / "seed.yaml", seed(1))
    assert not handle.running and handle.wait(timeout=1)
    handle.stop()  # idempotent
    assert len(log.events) == count


def test_a_symlinked_folder_is_watched_through_its_link(folder: Path, tmp_path: Path, log: EventLog) -> None:
    link = tmp_path / "link"
    link.symlink_to(folder, target_is_directory=True)
    with engine.watch([link], log):
        assert log.next().path == str(link / "seed.yaml")
        save_atomic(folder / "seed.yaml", seed(3))
        event = log.next()
    assert (event.kind, event.path, event.result.value) == ("changed", str(link / "seed.yaml"), value_of(3))


@pytest.mark.parametrize(
    "poll",
    [
        pytest.param(
            False,
            id="native",
            # An open bug, not a slow test: while another process keeps the cores busy, the native
            # watch sometimes (about one run in four) reports nothing for the file written into the
            # re-created folder after watching it again; alone it has not failed. Cause not found yet.
            marks=pytest.mark.xfail(reason="a file written into a re-created folder is sometimes missed under load"),
        ),
        pytest.param(True, id="poll"),
    ],
)
def test_a_deleted_and_recreated_folder_is_watched_again(tmp_path: Path, log: EventLog, poll: bool) -> None:
    # `rm -rf w && mkdir w && write w/a.yaml`, as a checkout or a generator does
    root = tmp_path / "w"
    root.mkdir()
    (root / "a.yaml").write_text(seed(1))
    with engine.watch([root], log, poll=poll, poll_interval=0.05):
        assert (log.next().kind, log.events[0].result.value) == ("initial", value_of(1))
        shutil.rmtree(root)
        log.until(lambda e: e.kind == "removed")
        root.mkdir()
        (root / "a.yaml").write_text(seed(2))
        rearmed = log.until(lambda e: e.kind == "rearmed")
        assert (rearmed.path, rearmed.result, rearmed.to_dict()["event"]) == (str(root), None, "rearmed")
        added = log.until(lambda e: e.path == str(root / "a.yaml") and e.kind in ("added", "changed"))
        assert added.result.value == value_of(2)
        save_in_place(root / "a.yaml", seed(3))  # and later saves are seen: the watch is armed again
        changed = log.until(lambda e: e.kind == "changed")
        assert (changed.path, changed.result.value) == (str(root / "a.yaml"), value_of(3))


def test_a_file_replaced_by_a_folder_is_removed(folder: Path, log: EventLog, watching) -> None:
    target = folder / "seed.yaml"
    log.next()
    target.unlink()
    target.mkdir()
    removed = log.until(lambda e: e.kind == "removed")
    assert (removed.path, removed.result) == (str(target), None)
