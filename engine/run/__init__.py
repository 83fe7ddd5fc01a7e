"""Running a `Program`: the reference interpreter, generated straight-line Python
(with its own templates), and numpy arrays over many samples (with its own kernels).

The hot path: it imports no networkx, pydantic or yaml (import-linter keeps it so).
"""
