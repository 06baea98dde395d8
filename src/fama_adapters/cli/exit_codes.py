"""The one exit-code table of the ``fama`` command, as code.

Every subcommand returns one of these; the entry point turns anything else
that escapes a subcommand into one of them too, so a script can always tell
"done", "done but some records refused", "you called it wrongly or the input
cannot be read", "nothing could be done" and "fama crashed" apart.

====  ==============  =================================================================
code  name            meaning
====  ==============  =================================================================
0     ``OK``          done: everything was read, checked and written or sent
1     ``PARTIAL``     finished, but some records were refused (each reported), or a
                      check found something stale; the rest was done
2     ``USAGE``       bad invocation or unreadable input: wrong arguments, a file or
                      folder that is missing, unreadable or unwritable, or an input that
                      cannot be parsed at all (not its syntax or encoding, nested too
                      deeply, a number or field too large); nothing was done
3     ``FAILED``      nothing (more) could be sent or done: the store cannot be opened,
                      an unknown client, a whole-document input read but refused as
                      invalid, a remote system refused or failed
70    ``INTERNAL``    an internal error (a bug in fama or a plugin); the message names
                      the command and the error class and says how to report it
                      (70 is ``EX_SOFTWARE`` of BSD's ``sysexits.h``)
130   ``INTERRUPTED`` stopped by Ctrl-C (128 + SIGINT, as shells report it)
====  ==============  =================================================================

The numbers are stable: codes may be added, never renumbered.
"""

from __future__ import annotations

from enum import IntEnum

from fama_core.errors import FamaError, InputUnreadable

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(IntEnum):
    """The exit codes of every ``fama`` subcommand (see the module docstring)."""

    OK = 0
    """Done."""
    PARTIAL = 1
    """Finished, but some records were refused (each reported), or a check found something stale."""
    USAGE = 2
    """Bad invocation or unreadable input; nothing was done."""
    FAILED = 3
    """Nothing (more) could be sent or done; the message says why."""
    INTERNAL = 70
    """An internal error (a bug); the message says how to report it."""
    INTERRUPTED = 130
    """Stopped by the user (Ctrl-C)."""

    @property
    def meaning(self) -> str:
        """One line for tables and ``--help``."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "done",
    ExitCode.PARTIAL: "some records refused (each reported), or a check found something stale",
    ExitCode.USAGE: "bad invocation or unreadable input (missing, unwritable, not its format)",
    ExitCode.FAILED: "nothing (more) could be sent or done",
    ExitCode.INTERNAL: "internal error: a bug, please report it",
    ExitCode.INTERRUPTED: "interrupted",
}


def exit_code_for(exc: FamaError) -> ExitCode:
    """The exit code for a :class:`FamaError` that ended a subcommand.

    An input that cannot be read at all (:class:`InputUnreadable`: missing, not
    its syntax, nested too deeply, too large) is ``USAGE``; any other fama error
    (including a whole-document input that was read but refused as invalid)
    means nothing more could be done (``FAILED``).
    """
    if isinstance(exc, InputUnreadable):
        return ExitCode.USAGE
    return ExitCode.FAILED
