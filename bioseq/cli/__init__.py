"""The ``bioseq`` command line (see :mod:`bioseq.cli.commands`)."""

from .commands import build_parser, main

__all__ = ["build_parser", "main"]
