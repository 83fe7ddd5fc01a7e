"""The catalog on real files: digests, stale results, and reuse of compiled programs."""

from __future__ import annotations

import os
from pathlib import Path

from engine.watching.catalog import Catalog
from tests.watchkit import seed, value_of


def test_reload_only_when_the_bytes_change(tmp_path: Path) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text(seed(1))
    catalog = Catalog()
    added = catalog.reload(target)
    assert (added.kind, added.result.value, added.previous) == ("added", value_of(1), None)
    os.utime(target, (1, 1))
    assert catalog.reload(target) is None
    target.write_text(seed(1))
    assert catalog.reload(target) is None
    target.write_text(seed(2))
    changed = catalog.reload(target)
    assert (changed.kind, changed.result.value, changed.previous.value) == ("changed", value_of(2), value_of(1))


def test_a_broken_version_keeps_the_last_good_result(tmp_path: Path) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text(seed(1))
    catalog = Catalog()
    good = catalog.reload(target).result
    target.write_text(seed(1).replace("in: [q, z]", "in: [q, zz]"))
    broken = catalog.reload(target)
    assert broken.stale and broken.result is good and broken.previous is good
    assert [(i.code, i.message, i.line, i.column, i.hint) for i in broken.errors] == [
        ("unknown-wire", "unknown wire 'zz' in gate 'f'", 7, 24, "did you mean 'z'?")
    ]
    entry = catalog.entry(target)
    assert entry.stale and entry.good is good and entry.latest.status == "invalid"
    assert catalog.reload(target) is None  # still the same broken bytes
    target.write_text(seed(3))
    fixed = catalog.reload(target)
    assert (fixed.stale, fixed.result.value, fixed.previous) == (False, value_of(3), good)


def test_value_only_edits_reuse_the_program(tmp_path: Path) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text(seed(1))
    catalog = Catalog()
    first = catalog.reload(target)
    assert not first.reused and (catalog.programs.hits, catalog.programs.misses) == (0, 1)
    target.write_text("description: input values and docs are not structure\n" + seed(2))
    second = catalog.reload(target)
    assert second.reused and second.circuit.program is first.circuit.program
    assert second.result.value == value_of(2)
    target.write_text(seed(2, op="sub"))
    third = catalog.reload(target)
    assert not third.reused and third.circuit.program.key != first.circuit.program.key
    assert (catalog.programs.hits, catalog.programs.misses) == (1, 2)


def test_reused_program_places_warnings_at_the_new_lines(tmp_path: Path) -> None:
    target = tmp_path / "w.yaml"
    text = "inputs: {x: 1, unused: 2}\ngates:\n  f: {op: neg, in: [x]}\n"
    target.write_text(text)
    catalog = Catalog()
    first = catalog.reload(target).result
    assert [(w.code, w.line, w.column) for w in first.warnings] == [("unused-input", 1, 16)]
    target.write_text("# moved down\n# twice\n" + text.replace("unused: 2", "unused: 3"))
    second = catalog.reload(target)
    assert second.reused
    assert [(w.code, w.line, w.column) for w in second.result.warnings] == [("unused-input", 3, 16)]


def test_an_expectation_naming_an_unknown_wire_is_still_caught(tmp_path: Path) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text(seed(1))
    catalog = Catalog()
    catalog.reload(target)
    target.write_text(seed(1) + "expect:\n  values: {ff: 1}\n")
    update = catalog.reload(target)
    assert update.stale and not update.reused
    assert [(i.code, i.message, i.line) for i in update.errors] == [
        ("unknown-wire", "unknown wire 'ff' in expect.values", 10)
    ]


def test_removed_files_are_forgotten(tmp_path: Path) -> None:
    target = tmp_path / "seed.yaml"
    target.write_text(seed(1))
    catalog = Catalog()
    good = catalog.reload(target).result
    target.unlink()
    removed = catalog.reload(target)
    assert (removed.kind, removed.result, removed.previous) == ("removed", None, good)
    assert target not in catalog and catalog.remove(target) is None


def _chain(n: int, variant: int) -> str:
    """A chain of `n` gates; each `variant` is a different structure (its ops differ)."""
    ops = ["add", "mul", "max"]
    lines = ["inputs: {x: 1, y: 2}", "gates:", "  g0: {op: add, in: [x, y]}"]
    lines += [f"  g{i}: {{op: {ops[(variant >> (i % 8)) % 3]}, in: [g{i - 1}, x]}}" for i in range(1, n)]
    return "\n".join(lines) + "\n"


def test_the_program_cache_is_bounded_by_what_it_holds(tmp_path: Path) -> None:
    # structural saves of a big file must not grow a long-running watch without bound
    target = tmp_path / "big.yaml"
    catalog = Catalog()
    cache = catalog.programs
    for variant in range(12):
        target.write_text(_chain(2_000, variant))
        assert catalog.reload(target).result.status == "ok"
    assert cache.misses == 12
    bound = 3 * (2_002 + 2_000)  # wires plus steps of three such programs
    small = Catalog(programs=type(cache)(max_weight=bound))
    for variant in range(12):
        target.write_text(_chain(2_000, variant))
        small.reload(target)
    assert (len(small.programs), small.programs.weight) == (3, 3 * (2_002 + 2_000))
    target.write_text(_chain(2_000, 11) + "# a comment\n")  # the newest structure is still there to reuse
    hits = small.programs.hits
    assert small.reload(target).result.status == "ok"
    assert small.programs.hits == hits + 1
