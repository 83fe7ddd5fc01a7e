"""circuitflow: evaluate declarative YAML circuits forward (values) and backward (gradients).

The public API::

    import engine
    c = engine.load_circuit("circuits/seed.yaml")   # or engine.parse_circuit(text, name="seed")
    r = c.evaluate({"x": 1.5})                      # values and gradients of every wire
    r.value, r.output, r.values["q"], r.grads["x"]
    o = c.optimize("maximize", steps=10)            # change the inputs to raise the output
    with engine.watch(["circuits"], print) as handle:  # hot reload: a WatchEvent per save
        handle.wait()                                  # until handle.stop()

    report = engine.batch(["circuits/"], jobs=2)   # a whole folder, in parallel
    svg = engine.draw(c)                           # a picture with every value and gradient (or dot, mermaid)

User errors raise `CircuitError` (or a subclass), whose issues carry file, line and column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.version import __version__

if TYPE_CHECKING:
    from engine.batching.runner import BatchReport, batch
    from engine.circuit import Circuit, load_circuit, parse_circuit
    from engine.drawing.picture import draw
    from engine.errors import CircuitError, EvaluationError, GraphError, Issue, LoadError, SchemaError
    from engine.evaluating import evaluate_file
    from engine.ops import OPS, Op
    from engine.optimizing import OptimizeResult
    from engine.result import Check, Result
    from engine.watching.session import WatchEvent, WatchHandle, watch

# Names are imported on first use (PEP 562), so that `import engine.cli.app` and
# `circuit --help` do not pay for pydantic, networkx and yaml.
_LAZY = {
    "BatchReport": "engine.batching.runner",
    "batch": "engine.batching.runner",
    "Circuit": "engine.circuit",
    "evaluate_file": "engine.evaluating",
    "load_circuit": "engine.circuit",
    "parse_circuit": "engine.circuit",
    "draw": "engine.drawing.picture",
    "CircuitError": "engine.errors",
    "EvaluationError": "engine.errors",
    "GraphError": "engine.errors",
    "Issue": "engine.errors",
    "LoadError": "engine.errors",
    "SchemaError": "engine.errors",
    "OptimizeResult": "engine.optimizing",
    "OPS": "engine.ops",
    "Op": "engine.ops",
    "WatchEvent": "engine.watching.session",
    "WatchHandle": "engine.watching.session",
    "watch": "engine.watching.session",
    "Check": "engine.result",
    "Result": "engine.result",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "BatchReport",
    "Check",
    "Circuit",
    "CircuitError",
    "EvaluationError",
    "GraphError",
    "Issue",
    "LoadError",
    "OPS",
    "Op",
    "OptimizeResult",
    "Result",
    "SchemaError",
    "WatchEvent",
    "WatchHandle",
    "__version__",
    "batch",
    "draw",
    "evaluate_file",
    "load_circuit",
    "parse_circuit",
    "watch",
]
