"""The circuit's picture and chain-rule trace for the service: the one module that calls `engine.drawing`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.circuit import Circuit


class Unavailable(Exception):
    """This build of circuitflow draws no pictures."""


def svg(circuit: Circuit, inputs: Mapping[str, float], *, stale: bool = False) -> str:
    """The SVG picture of `circuit` at `inputs` (every value and gradient).

    Raises:
        CircuitError: an input override is wrong.
    """
    raise Unavailable


def trace(circuit: Circuit, inputs: Mapping[str, float]) -> list[dict[str, Any]]:
    """The backward pass edge by edge: ``from``, ``to``, ``upstream``, ``local``, ``contribution``."""
    raise Unavailable
