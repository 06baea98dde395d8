"""Argument types for subcommands: each refuses a bad value with a message that does not repeat it.

argparse reports an :class:`argparse.ArgumentTypeError` as ``argument --NAME: MESSAGE``
and exits with :attr:`~fama_adapters.cli.exit_codes.ExitCode.USAGE`.
"""

from __future__ import annotations

import argparse

from fama_core.directory import zone

__all__ = ["time_zone"]


def time_zone(text: str) -> str:
    """A tz database name such as ``Europe/London``, checked against the zone database."""
    try:
        zone(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "not a tz database time zone name (e.g. Europe/London)"
        ) from None
    return text
