"""circuitflow: evaluate declarative YAML circuits forward (values) and backward (gradients).

The public API::

    import engine
    c = engine.load_circuit("circuits/seed.yaml")   # or engine.parse_circuit(text, name="seed")
    r = c.evaluate({"x": 1.5})                      # values and gradients of every wire
    r.value, r.output, r.values["q"], r.grads["x"]
    with engine.watch(["circuits"], print) as handle:  # hot reload: a WatchEvent per save
        handle.wait()                                  # until handle.stop()

User errors raise `CircuitError` (or a subclass), whose issues carry file, line and column.
"""

from __future__ import annotations

from engine.circuit import Circuit, evaluate_file, load_circuit, parse_circuit
from engine.errors import CircuitError, EvaluationError, GraphError, Issue, LoadError, SchemaError
from engine.ops import OPS, Op
from engine.result import Check, Result
from engine.hotreload import WatchEvent, WatchHandle, watch

__version__ = "0.1.0"

__all__ = [
    "Check",
    "Circuit",
    "CircuitError",
    "EvaluationError",
    "GraphError",
    "Issue",
    "LoadError",
    "OPS",
    "Op",
    "Result",
    "SchemaError",
    "WatchEvent",
    "WatchHandle",
    "__version__",
    "evaluate_file",
    "load_circuit",
    "parse_circuit",
    "watch",
]
