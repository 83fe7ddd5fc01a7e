"""The watcher's pure parts: debouncing with a fake clock, editor droppings, path mapping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.watching.events import Debouncer, Root, is_dropping


def test_events_of_one_save_coalesce_after_the_quiet_period() -> None:
    d = Debouncer(quiet=0.05, max_wait=1.0)
    for t in (0.0, 0.01, 0.03):  # modified, modified, closed
        d.add("a.yaml", t)
    assert d.deadline() == pytest.approx(0.08)
    assert d.pop_due(0.079) == {}
    assert d.pop_due(0.08) == {"a.yaml": 0.0}
    assert d.deadline() is None and not d.pending("a.yaml")


def test_each_path_has_its_own_quiet_period() -> None:
    d = Debouncer(quiet=0.05, max_wait=1.0)
    d.add("a.yaml", 0.0)
    d.add("b.yaml", 0.04)
    assert d.pop_due(0.05) == {"a.yaml": 0.0}
    assert d.pending("b.yaml") and d.deadline() == pytest.approx(0.09)
    assert d.pop_due(0.09) == {"b.yaml": 0.04}


def test_paths_due_together_come_sorted_in_one_batch() -> None:
    d = Debouncer(quiet=0.05, max_wait=1.0)
    d.add("z.yaml", 0.0)
    d.add("a.yaml", 0.01)
    assert list(d.pop_due(0.2)) == ["a.yaml", "z.yaml"]


def test_a_busy_path_is_flushed_after_the_maximum_wait() -> None:
    d = Debouncer(quiet=0.05, max_wait=0.5)
    t = 0.0
    while t < 0.5:
        d.add("log.yaml", t)
        assert d.pop_due(t) == {}
        t += 0.02
    assert d.deadline() == pytest.approx(0.5)
    assert d.pop_due(0.5) == {"log.yaml": 0.0}
    d.add("log.yaml", 0.52)  # a new round starts from its own first event
    assert d.first_seen("log.yaml") == 0.52


@pytest.mark.parametrize(
    "name",
    [
        ".seed.yaml.swp",
        ".seed.yaml.swx",
        "seed.yaml~",
        ".#seed.yaml",
        "4913",
        "4914",
        "seed.yaml___jb_tmp___",
        "seed.yaml___jb_old___",
        ".hidden.yaml",
        "seed.yaml.tmp",
        "seed.yaml.bak",
    ],
)
def test_editor_droppings(name: str) -> None:
    assert is_dropping(name)


@pytest.mark.parametrize("name", ["seed.yaml", "net.yml", "4913.yaml", "2024.yaml", "a~b.yaml"])
def test_user_files_are_not_droppings(name: str) -> None:
    assert not is_dropping(name)


def test_paths_map_back_to_the_root_as_given(tmp_path: Path) -> None:
    absolute = os.path.abspath(tmp_path)
    root = Root(Path("circuits"), absolute, True)
    assert root.display(os.path.join(absolute, "sub", "a.yaml")) == Path("circuits/sub/a.yaml")
    assert root.display(absolute) == Path("circuits")
    assert root.display(os.path.join(absolute, ".git", "x.yaml")) is None
    assert root.display(absolute + "-other/a.yaml") is None
    file_root = Root(Path("c/seed.yaml"), os.path.join(absolute, "seed.yaml"), False)
    assert file_root.display(os.path.join(absolute, "seed.yaml")) == Path("c/seed.yaml")
    assert file_root.display(os.path.join(absolute, "other.yaml")) is None
