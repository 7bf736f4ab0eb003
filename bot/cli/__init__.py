"""The ``orderbot`` command line: this entry assembles the sub-commands; each module registers its
commands on the shared Typer app from ``bot.cli.common`` and nothing imports this package back."""

from __future__ import annotations

from bot.cli import core, customers, digest, intake, keys, stt, warehouse, wecom  # noqa: F401  (register the commands)
from bot.cli.common import cli


def main() -> None:
    cli()


__all__ = ["cli", "main"]
