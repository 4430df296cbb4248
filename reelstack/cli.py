"""``reel``: the command line of Reelstack. Subcommand groups live next to the code they drive."""

from __future__ import annotations

import click

from . import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reel")
def main() -> None:
    """Reelstack: an event-sourced short-video platform on Ray."""


def _register() -> None:
    from bench.cli import bench
    from events.cli import log
    from projections.cli import projections

    from .up import up, users

    main.add_command(log)
    main.add_command(bench)
    main.add_command(projections)

    from moderation.cli import moderation

    main.add_command(moderation)
    main.add_command(up)
    main.add_command(users)


_register()
