"""Seeded random layered DAG circuits for benchmarks and large-circuit tests.

`random_dag(n_gates, seed)` builds a circuit of exactly `n_gates` gates over
add/mul/max/sigmoid/tanh/relu/exp: layers of equal width, every wire read by the
next layer (so nothing is unused) plus random extra reads of the last few
layers (fan-out), closed by a tree of adds into one output. A static bound on
every wire's magnitude decides which ops may be drawn, so every value is finite
for inputs in [-1, 1] whatever the seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

OPS = ("add", "mul", "max", "sigmoid", "tanh", "relu", "exp")
_BINARY = frozenset({"add", "mul", "max"})
_LIMIT = 6.0  # largest allowed magnitude bound of any wire


@dataclass(frozen=True, slots=True)
class Dag:
    """A generated circuit: gates in topological order, inputs with values."""

    inputs: dict[str, float]
    gates: list[tuple[str, str, tuple[str | float, ...]]]  # (name, op, args)
    output: str

    def yaml(self) -> str:
        """The circuit as a YAML file in the circuitflow format."""
        lines = ["# yaml-language-server: $schema=../schemas/circuit.schema.json", "inputs:"]
        lines += [f"  {name}: {value!r}" for name, value in self.inputs.items()]
        lines.append("gates:")
        lines += [f"  {name}: {{op: {op}, in: [{', '.join(str(a) for a in args)}]}}" for name, op, args in self.gates]
        lines.append(f"output: {self.output}")
        return "\n".join(lines) + "\n"


def random_dag(n_gates: int, seed: int = 0, width: int | None = None) -> Dag:
    """A random layered DAG with exactly `n_gates` gates (at least 2)."""
    if n_gates < 2:
        raise ValueError("n_gates must be at least 2")
    rng = random.Random(seed)
    width = width or max(1, min(256, round(math.sqrt(n_gates)), n_gates // 2))
    inputs = {f"x{i}": round(rng.uniform(-1.0, 1.0), 6) for i in range(width)}
    bound = {name: 1.0 for name in inputs}
    layers = [list(inputs)]
    gates: list[tuple[str, str, tuple[str | float, ...]]] = []
    unread: dict[str, None] = dict.fromkeys(inputs)  # wires nothing reads yet, in creation order
    # Grow layers until a tree of pairwise adds over the unread wires completes n_gates.
    # Every gate reads at least one unread wire, so each gate grows the count by at most one.
    while len(gates) + len(unread) - 1 < n_gates:
        order = layers[-1][:]
        rng.shuffle(order)
        pool = [w for recent in layers[-3:] for w in recent]
        layer: list[str] = []
        for first in order:
            if len(gates) + len(unread) - 1 >= n_gates:
                break
            if first not in unread:
                first = next(iter(unread))
            op = _pick(rng, bound[first])
            name = f"g{len(gates)}"
            args: tuple[str | float, ...]
            if op in _BINARY:
                second: str | float = rng.choice(pool) if rng.random() > 0.1 else round(rng.uniform(-1, 1), 3)
                b2 = bound[second] if isinstance(second, str) else abs(second)
                if op == "add" and bound[first] + b2 > _LIMIT or op == "mul" and bound[first] * b2 > _LIMIT:
                    op = "max"
                args = (first, second)
                b = {"add": bound[first] + b2, "mul": bound[first] * b2, "max": max(bound[first], b2)}[op]
            else:
                args = (first,)
                b = {"sigmoid": 1.0, "tanh": 1.0, "relu": bound[first], "exp": math.exp(bound[first])}[op]
            gates.append((name, op, args))
            for arg in args:
                unread.pop(arg, None)  # type: ignore[arg-type]
            unread[name] = None
            bound[name] = b
            layer.append(name)
        layers.append(layer)
    level = list(unread)
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            name = f"g{len(gates)}"
            gates.append((name, "add", (level[i], level[i + 1])))
            nxt.append(name)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return Dag(inputs, gates, level[0])


def _pick(rng: random.Random, b: float) -> str:
    while True:
        op = rng.choice(OPS)
        if op == "exp" and b > 1.5:
            continue
        return op
