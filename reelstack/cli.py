"""``reel``: the command line of Reelstack. Subcommand groups live next to the code they drive."""

from __future__ import annotations

import click

from . import __version__

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reel")
def main() -> None:
    """Reelstack: an event-sourced short-video platform on Ray."""
    from .logs import configure_logging

    configure_logging("info")  # to stderr: stdout is each command's output


def _register() -> None:
    from bench.cli import bench
    from events.cli import log
    from ml.cli import eval_, import_, train
    from projections.cli import projections

    from .up import up, users

    main.add_command(log)
    main.add_command(bench)
    main.add_command(projections)
    main.add_command(import_)
    main.add_command(train)
    main.add_command(eval_)

    from moderation.cli import moderation

    main.add_command(moderation)
    main.add_command(up)
    main.add_command(users)

    from sim.cli import capacity, experiments, simulate

    main.add_command(simulate)
    main.add_command(experiments)
    main.add_command(capacity)


_register()
