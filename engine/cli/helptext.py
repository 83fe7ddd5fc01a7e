"""Help text without the CLI library's type artefacts.

typer 0.29 writes required arguments as ``{path}`` and adds Python types to them
(``paths... <list[Path]>``); the help shows argument names the usual way instead
(``PATH``, ``[PATHS]...``). The pin on typer in ``pyproject.toml`` is the range
whose help output the tests hold to.
"""

from __future__ import annotations

from typing import Any


def tidy(command: Any) -> Any:
    """`command` and its subcommands with arguments shown as ``NAME``/``[NAME]...``, no types."""
    for sub in getattr(command, "commands", {}).values():
        tidy(sub)
    for param in command.params:
        if param.param_type_name == "argument":  # typer carries its own copy of click's classes
            _plain_argument(param)
    return command


def _plain_argument(param: Any) -> None:
    name = (param.metavar or param.name or "").upper()
    many = "..." if param.nargs != 1 else ""
    usage = (name if param.required else f"[{name}]") + many
    # the methods typer's argument class calls for the usage line and the Arguments section
    param._usage_display_name = lambda: usage
    param._rich_display_name = lambda: name + many
    param.display_type_rich = lambda ctx: None
