"""Bytes → validated spec: reading and discovering files, the YAML event walk and its
SourceMap (every node's line and column), safety limits, YAML 1.2 scalars, the
pydantic models and their JSON Schema, and CSV datasets of inputs.

Only this room imports yaml and pydantic.
"""
