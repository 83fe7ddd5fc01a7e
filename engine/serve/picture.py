"""The circuit's picture and the chain rule's trace for the service: the one module that calls `engine.drawing`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.circuit import Circuit
from engine.drawing.picture import draw
from engine.drawing.trace import trace as chain_rule
from engine.result import Result

_STALE_NOTE = "the file is broken now: this is its last good version"


def svg(circuit: Circuit, inputs: Mapping[str, float], *, stale: bool = False) -> str:
    """`engine.draw`'s SVG of `circuit` at `inputs`, with every value and gradient.

    A domain fault at those inputs is drawn too, the faulting gate marked.

    Raises:
        CircuitError: an input override is unknown or not finite.
    """
    return draw(circuit, inputs=dict(inputs) or None, notes=[_STALE_NOTE] if stale else [])


def trace(circuit: Circuit, result: Result) -> list[dict[str, Any]]:
    """The backward pass of `result`, edge by edge (the ``trace`` of ``circuit eval --explain --format json``)."""
    return [link.to_dict() for link in chain_rule(circuit, result)]
