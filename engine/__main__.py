"""``python -m engine`` is the ``circuit`` command."""

from engine.cli.app import console_main

console_main()
