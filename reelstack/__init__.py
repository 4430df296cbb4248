"""Reelstack: the process-level glue — settings, the ``reel`` command line and logging."""

__version__ = "0.1.0"
