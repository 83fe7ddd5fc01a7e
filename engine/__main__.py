"""``python -m engine`` is the ``circuit`` command."""

from engine.cli.process import console_main

console_main()
