"""Spec → networkx DAG → semantic checks (unknown wires, cycles, unused gates) → `Program`.

Only this room imports networkx.
"""
