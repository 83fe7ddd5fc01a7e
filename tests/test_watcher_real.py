"""The watcher alone, on real files with the real observer: what batches one save makes."""

from __future__ import annotations

import os
import queue
from pathlib import Path

import pytest

from engine.watching.events import Batch, Watcher
from tests.watchkit import WAIT, save_atomic, save_in_place, save_like_jetbrains, save_like_vim

pytestmark = pytest.mark.timeout(60)


class Batches:
    def __init__(self) -> None:
        self.items: queue.Queue[Batch] = queue.Queue()

    def __call__(self, batch: Batch) -> None:
        self.items.put(batch)

    def next(self) -> list[Path]:
        try:
            return list(self.items.get(timeout=WAIT))
        except queue.Empty:
            raise AssertionError("no batch in time") from None


@pytest.fixture(params=[False, True], ids=["native", "poll"])
def watched(tmp_path: Path, request: pytest.FixtureRequest):
    (tmp_path / "a.yaml").write_text("a: 1\n")
    batches = Batches()
    # polling: a quiet period over two poll intervals, so one save never straddles two batches
    watcher = Watcher(
        [tmp_path], batches, debounce_ms=120 if request.param else 50, poll=request.param, poll_interval=0.05
    )
    watcher.start()
    yield tmp_path, batches
    watcher.stop()
    assert watcher.error is None


@pytest.mark.parametrize("save", [save_in_place, save_atomic, save_like_vim, save_like_jetbrains])
def test_one_save_makes_one_batch_of_one_path(watched, save) -> None:
    root, batches = watched
    save(root / "a.yaml", "a: 2\n")
    assert batches.next() == [root / "a.yaml"]
    save_in_place(root / "sentinel.yaml", "s: 1\n")  # the next batch is the sentinel's: nothing else was left over
    assert batches.next() == [root / "sentinel.yaml"]


def test_droppings_and_other_files_make_no_batch(watched) -> None:
    root, batches = watched
    for name in (".a.yaml.swp", "a.yaml~", "4913", ".#a.yaml", "notes.txt", "a.yaml___jb_tmp___"):
        (root / name).write_text("x")
        (root / name).unlink()
    save_in_place(root / "sentinel.yaml", "s: 1\n")
    assert batches.next() == [root / "sentinel.yaml"]


def test_moves_report_both_ends(watched) -> None:
    root, batches = watched
    os.rename(root / "a.yaml", root / "b.yaml")
    seen = set(batches.next())
    if len(seen) < 2:  # the two ends may settle in separate batches
        seen |= set(batches.next())
    assert seen == {root / "a.yaml", root / "b.yaml"}


def test_new_folders_are_reported_and_watched(watched) -> None:
    root, batches = watched
    folder, file = root / "sub", root / "sub" / "c.yaml"
    folder.mkdir()
    file.write_text("c: 1\n")
    seen: list[Path] = []
    while file not in seen:
        seen += batches.next()
    # What matters is the file in the new folder, and that it stays watched. Whether (and
    # when) the folder itself shows up depends on how a poll interleaves with the two
    # creations, and a poll queues files before folders: on a loaded machine the folder's
    # event can be handed over after its file's batch, so it may still be on its way.
    save_in_place(file, "c: 2\n")
    after = batches.next()
    if after == [folder] and folder not in seen:
        after = batches.next()
    assert after == [file]
    assert seen.count(folder) <= 1 and seen.count(file) == 1
