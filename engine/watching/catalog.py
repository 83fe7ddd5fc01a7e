"""A set of circuit files: discovery, and the `Catalog` of their last good circuits.

`discover` is shared by ``check``, ``batch`` and ``watch`` so that all three see
the same files in the same (sorted) order.

`Catalog` maps each file to its last good compiled circuit and result, its
current issues and the digest of its bytes. Watch reloads only the files that
changed; a save that leaves the bytes as they were recomputes nothing; a broken
edit keeps the last good result (stale); a value-only edit reuses the compiled
program through `ProgramCache` (keyed by `Program.key`).

Each entry also records the files its circuit reached through ``use:`` (also
when it failed, e.g. because a used file is missing), so that a change to a used
file can be followed to every circuit that depends on it (`Catalog.dependents`).
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.circuit import Circuit
from engine.compile.graph import Placer, build_program, structure_key
from engine.errors import Issue, LoadError
from engine.evaluating import evaluate_source
from engine.format.compose import Uses
from engine.format.files import common_folder
from engine.format.model import CircuitSpec, Loc
from engine.format.reading import DEFAULT_MAX_BYTES, read_bytes
from engine.program import Program
from engine.result import Result

# ---- the catalog: path → last good circuit, current issues, content digest ----

UpdateKind = Literal["added", "changed", "removed"]

_MAX_CACHE_WEIGHT = 500_000
"""Wires plus steps of the programs a `ProgramCache` keeps (tens of MB at most)."""


def _weight(program: Program) -> int:
    return len(program.wires) + len(program.steps)


class ProgramCache:
    """Compiled programs by structural key, so value-only edits skip compilation.

    A circuit's `Program` depends only on its structure — input names in order,
    each gate's name, op and inputs (constants included), and the ``output``
    key — which `engine.compile.graph.structure_key` hashes (`Program.key`). The
    key is taken of the flat circuit, with expressions and the files named by
    ``use:`` expanded, so it covers the structure of every used file. Input
    values, docs, descriptions and ``expect`` values are not part of it. A hit
    also replays the compiler's warnings (unused wires) at the new file's
    positions. The wires named under ``expect`` are checked against the wiring
    by the compiler, so a hit needs every one of them to be a wire of the
    cached program; otherwise the circuit is compiled afresh, which reports the
    unknown wire.

    The cache is bounded by what it holds, not by a count alone: a program weighs its wires plus its
    steps (about 130 bytes each), and the least recently used are dropped once the total passes
    `max_weight` — so structural edits of a big file cannot grow a long-running watch without bound,
    while small circuits keep up to `size` structures each.

    Attributes:
        hits: compilations skipped.
        misses: compilations run.
        weight: the total weight of the programs held.
    """

    def __init__(self, size: int = 256, max_weight: int = _MAX_CACHE_WEIGHT) -> None:
        self._size = size
        self._max_weight = max_weight
        self._programs: OrderedDict[str, tuple[Program, tuple[tuple[Issue, Loc, bool], ...]]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.weight = 0

    def __len__(self) -> int:
        return len(self._programs)

    def compile(self, spec: CircuitSpec, place: Placer) -> tuple[Program, list[Issue]]:
        """`engine.compile.graph.build_program`, reusing the program of a known structure.

        A `Compiler` for `engine.circuit.parse_circuit`: on a hit the cached
        program's warnings are placed again, at the new file's positions.
        """
        key = structure_key(spec)
        cached = self._programs.get(key)
        named = [*(spec.expect.values if spec.expect else ()), *(spec.expect.grads if spec.expect else ())]
        if cached is not None and all(wire in cached[0].index for wire in named):
            self._programs.move_to_end(key)
            self.hits += 1
            program, templates = cached
            return program, [place(issue, loc, key_) for issue, loc, key_ in templates]
        placed: list[tuple[Issue, Loc, bool]] = []

        def record(issue: Issue, loc: Loc, key_: bool) -> Issue:
            placed.append((issue, loc, key_))
            return place(issue, loc, key_)

        program, warnings = build_program(spec, record, key)  # raises on any wiring error
        self._programs[key] = (program, tuple(placed))  # no errors were placed: these are the warnings
        self.weight += _weight(program)
        while len(self._programs) > 1 and (len(self._programs) > self._size or self.weight > self._max_weight):
            _, (dropped, _) = self._programs.popitem(last=False)
            self.weight -= _weight(dropped)
        self.misses += 1
        return program, warnings


@dataclass(frozen=True, slots=True)
class Outcome:
    """Loading and evaluating one version of a file (not yet committed to the catalog)."""

    path: str
    digest: str | None
    result: Result
    circuit: Circuit | None = None
    reused: bool = False
    uses: tuple[str, ...] = ()

    @property
    def broken(self) -> bool:
        """No values: the file is invalid or its evaluation faulted."""
        return self.result.broken


@dataclass(frozen=True, slots=True)
class Entry:
    """What the catalog knows of one file.

    Attributes:
        digest: hash of the bytes last read (None when unreadable).
        latest: the result of those bytes (may be broken).
        good: the last result with values (status ``ok`` or ``failed``), if any.
        circuit: the compiled circuit behind `good`.
        uses: the files the latest version reached through ``use:`` (resolved paths).
    """

    path: str
    digest: str | None
    latest: Result
    good: Result | None
    circuit: Circuit | None
    uses: frozenset[str] = frozenset()

    @property
    def stale(self) -> bool:
        """The file is broken now, and `good` is an older, last good result."""
        return self.latest.broken and self.good is not None


@dataclass(frozen=True, slots=True)
class Update:
    """How one file's state changed.

    Attributes:
        kind: ``added``, ``changed`` or ``removed``.
        result: what to show: the new result, or — when `stale` — the last good one
            (None when removed).
        previous: the last good result before this update (for old → new).
        stale: the file is broken; `result` is the last good result, `errors` say why.
        errors: the errors of a broken file when `stale` (otherwise they are in `result`).
        circuit: the compiled circuit behind `result`.
        reused: the new version's program came from the cache (a value-only edit).
    """

    kind: UpdateKind
    path: str
    result: Result | None
    previous: Result | None = None
    stale: bool = False
    errors: tuple[Issue, ...] = ()
    circuit: Circuit | None = None
    reused: bool = False


class Catalog:
    """Circuit files by path: the last good compiled circuit, current issues, content digest.

    Reloading a file whose bytes did not change does nothing; a broken version
    keeps the last good result (marked stale); value-only edits reuse the
    compiled program (see `ProgramCache`). Not thread-safe: one owner at a time.
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        programs: ProgramCache | None = None,
        roots: Sequence[str | Path] | None = None,
    ) -> None:
        """
        Args:
            max_bytes: refuse files larger than this.
            programs: the compiled programs to reuse (default: a new cache).
            roots: the watched files and folders; ``use:`` may reach only files in
                their common folder (None: any readable file).
        """
        self.max_bytes = max_bytes
        self.programs = programs if programs is not None else ProgramCache()
        self.root = common_folder(roots) if roots is not None else None
        self._entries: dict[str, Entry] = {}

    def __contains__(self, path: object) -> bool:
        return str(path) in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def paths(self) -> list[str]:
        """Every known file, sorted."""
        return sorted(self._entries)

    def entry(self, path: str | Path) -> Entry | None:
        """What is known of `path`."""
        return self._entries.get(str(path))

    def read(self, path: str | Path) -> bytes | LoadError:
        """The file's bytes, or the error that stopped reading it."""
        try:
            return read_bytes(Path(path), self.max_bytes)
        except LoadError as error:
            return error

    def unchanged(self, path: str | Path, data: bytes | LoadError) -> bool:
        """Whether `data` is exactly what was last read from `path` (a touch, or a no-op save)."""
        entry = self._entries.get(str(path))
        return entry is not None and not isinstance(data, LoadError) and entry.digest == digest(data)

    def evaluate(self, path: str | Path, data: bytes | LoadError) -> Outcome:
        """Load, validate, compile (or reuse) and evaluate one version of a file, without committing it."""
        where = str(path)
        if isinstance(data, LoadError):
            return Outcome(where, None, Result.from_error(data.at(where), where, Path(path).stem))
        hits = self.programs.hits
        uses = Uses(self.root, max_bytes=self.max_bytes)
        result, circuit = evaluate_source(data, where, compile=self.programs.compile, uses=uses)
        circuit = None if result.broken else circuit
        return Outcome(where, digest(data), result, circuit, self.programs.hits > hits, tuple(uses.files))

    def commit(self, outcome: Outcome) -> Update:
        """Record `outcome` as the file's current state and say how it changed."""
        old = self._entries.get(outcome.path)
        previous = old.good if old else None
        kind: UpdateKind = "changed" if old else "added"
        uses = frozenset(outcome.uses)
        if outcome.broken:
            entry = Entry(outcome.path, outcome.digest, outcome.result, previous, old.circuit if old else None, uses)
            if entry.stale:
                self._entries[outcome.path] = entry
                return Update(kind, outcome.path, previous, previous, True, outcome.result.errors, entry.circuit)
        else:
            entry = Entry(outcome.path, outcome.digest, outcome.result, outcome.result, outcome.circuit, uses)
        self._entries[outcome.path] = entry
        return Update(kind, outcome.path, outcome.result, previous, circuit=outcome.circuit, reused=outcome.reused)

    def reload(
        self, path: str | Path, settle: Callable[[], bytes | LoadError | None] | None = None, attempts: int = 0
    ) -> Update | None:
        """Read `path` again; None when its bytes did not change (or it is gone and unknown).

        A missing file that was known is removed. When the new bytes are broken, up
        to `attempts` times `settle()` reads the file again once it has been quiet
        (None: it is still being written, leave it to the next change); the broken
        result is committed only if the file reads the same twice.
        """
        data = self.read(path)
        for attempt in range(attempts + 1):
            if isinstance(data, LoadError) and not Path(path).exists():
                return self.remove(path)
            if self.unchanged(path, data):
                return None
            outcome = self.evaluate(path, data)
            if not outcome.broken or attempt == attempts or settle is None:
                return self.commit(outcome)
            again = settle()
            if again is None:
                return None
            if _same(again, data):
                return self.commit(outcome)
            data = again
        return None  # pragma: no cover - the loop always returns

    def refresh(self, path: str | Path) -> Update | None:
        """Evaluate `path` again although its own bytes may be the same (a file it uses changed).

        None when it is gone and was not known.
        """
        data = self.read(path)
        if isinstance(data, LoadError) and not Path(path).exists():
            return self.remove(path)
        return self.commit(self.evaluate(path, data))

    def dependents(self, paths: Sequence[str | Path]) -> list[str]:
        """Known circuits that use any of `paths` through ``use:``, directly or not (sorted, each once)."""
        targets = {str(Path(p).resolve()) for p in paths}
        return sorted(e.path for e in self._entries.values() if e.uses & targets and e.path not in paths)

    def remove(self, path: str | Path) -> Update | None:
        """Forget `path`; None when it was not known."""
        entry = self._entries.pop(str(path), None)
        if entry is None:
            return None
        return Update("removed", entry.path, None, entry.good)

    def below(self, folder: str | Path) -> list[str]:
        """Known files inside `folder` (at any depth), sorted."""
        prefix = str(folder).rstrip(os.sep) + os.sep
        return [p for p in self.paths() if p.startswith(prefix)]


def digest(data: bytes) -> str:
    """A short hash of a file's content (equal bytes ⇔ equal digest, for all practical purposes)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _same(a: bytes | LoadError, b: bytes | LoadError) -> bool:
    """The same bytes, or the same reading error, twice."""
    if isinstance(a, LoadError) or isinstance(b, LoadError):
        return isinstance(a, LoadError) and isinstance(b, LoadError) and a.issues == b.issues
    return a == b
