"""What the service knows of one circuit file, and the JSON shapes it is shown in.

`CircuitState` is built from a `WatchEvent` (on the watcher's thread) and then
only read. Its JSON forms:

* `summary` — one line of ``GET /api/circuits``;
* `detail` — ``GET /api/circuits/{name}`` and the data of every SSE event: the
  result contract of ``circuit eval --format json`` plus the circuit's name,
  inputs with their file values, gates (op, operands, doc), and — when the file
  is broken now — the last good result under ``last_good``.

Names are what URLs carry: the file's path below the served folder without its
suffix, with folders joined by ``.`` (``sub/seed.yaml`` is ``sub.seed``), so a
name never contains ``/`` and a request can never name a path.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from engine.circuit import Circuit
from engine.result import Result


@dataclass(frozen=True, slots=True)
class CircuitState:
    """One circuit file as the service shows it.

    Attributes:
        name: the name in URLs (see the module docstring).
        path: the file, as the watch reports it.
        result: the latest result: broken (``invalid``/``error``) when the file is broken now.
        good: the last result with values, if any (the same object as `result` when not broken).
        circuit: the compiled circuit behind `good`: what-if questions are asked of it.
        changed_at: when this state was reached (seconds since the epoch).
    """

    name: str
    path: str
    result: Result
    good: Result | None
    circuit: Circuit | None
    changed_at: float

    @property
    def stale(self) -> bool:
        """The file is broken now; `good` is the last good result."""
        return self.result.broken and self.good is not None

    @property
    def shown(self) -> Result:
        """The result a picture shows: the last good one when the file is broken now."""
        return self.good if self.good is not None else self.result

    def summary(self) -> dict[str, Any]:
        """The circuit's line in ``GET /api/circuits``."""
        shown = self.shown
        return {
            "name": self.name,
            "path": self.path,
            "circuit": shown.circuit,
            "status": self.result.status,
            "stale": self.stale,
            "output": shown.output,
            "value": shown.value,
            "error_count": len(self.result.errors),
            "warning_count": len(self.result.warnings),
            "changed_at": _iso(self.changed_at),
        }

    def detail(self) -> dict[str, Any]:
        """The result contract plus name, inputs, gates and the last good result (see the module docstring)."""
        data = self.result.to_dict()
        data["name"] = self.name
        data["stale"] = self.stale
        data["changed_at"] = _iso(self.changed_at)
        data.update(describe(self.circuit))
        data["last_good"] = self.good.to_dict() if self.stale and self.good is not None else None
        return data


def describe(circuit: Circuit | None) -> dict[str, Any]:
    """The circuit's description, inputs with their file values, gates and docs (empty without a circuit)."""
    if circuit is None:
        return {"description": None, "inputs": {}, "gates": {}, "docs": {}}
    spec = circuit.spec
    docs = {name: item.doc for name, item in spec.inputs.items() if item.doc is not None}
    docs.update((name, gate.doc) for name, gate in spec.gates.items() if gate.doc is not None)
    return {
        "description": spec.description,
        "inputs": dict(circuit.defaults),
        "gates": {name: {"op": gate.op, "in": list(gate.in_)} for name, gate in spec.gates.items()},
        "docs": docs,
    }


def state_from(
    name: str, path: str, result: Result | None, latest: Result | None, circuit: Circuit | None, when: float
) -> CircuitState | None:
    """The state after a watch event: `result` is what the event shows, `latest` what the file is now.

    Returns None for a removed file (no result).
    """
    if result is None:
        return None
    now = latest if latest is not None else result
    good = result if not result.broken else None
    return CircuitState(name, path, now, good, circuit if good is not None else None, when)


class Names:
    """Paths of a served folder ↔ the names URLs use; a clash gets ``-2``, ``-3``… in order of arrival."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._by_path: dict[str, str] = {}

    def of(self, path: str) -> str:
        """The name of `path`, given on first sight and kept until `forget`."""
        name = self._by_path.get(path)
        if name is None:
            name = _unique(base_name(path, self._base), self._by_path.values())
            self._by_path[path] = name
        return name

    def forget(self, path: str) -> str | None:
        """Drop `path`; its name, if it had one."""
        return self._by_path.pop(path, None)


def base_name(path: str, base: Path) -> str:
    """``base/sub/seed.yaml`` → ``sub.seed``."""
    pure = PurePath(path)
    try:
        parts = pure.relative_to(base).parts
    except ValueError:
        parts = (pure.name,)
    return ".".join([*parts[:-1], PurePath(parts[-1]).stem]) if parts else pure.stem


def _unique(name: str, taken: Iterable[str]) -> str:
    used = set(taken)
    candidate, count = name, 1
    while candidate in used:
        count += 1
        candidate = f"{name}-{count}"
    return candidate


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="milliseconds")
