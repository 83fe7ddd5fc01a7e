"""The `circuit` command: argv → exit code (`app`), and its terminal renderings
(`render` with rich, `plain` for pipes and files, `watchview` for watch mode).

Only this room imports typer and rich.
"""
