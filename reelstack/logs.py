"""Where the ``reel`` command's log lines go: stderr, so stdout stays the command's output (tables, JSON).

The root command sets this up at ``info`` before any subcommand runs; a command whose stdout is
figures (``reel bench ...``) or a report lowers the noise with ``configure_logging("warning")``.
"""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure_logging"]


def configure_logging(level: str) -> None:
    """structlog lines of ``level`` (debug, info, warning, error) and worse, printed to stderr."""
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
    )
