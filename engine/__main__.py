"""``python -m engine`` is the ``circuit`` command."""

from engine.cli.app import run

run()
