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
2     ``USAGE``       bad invocation or unreadable input: wrong arguments, or a file
                      or folder named on the command line that is missing, not
                      permitted, of the wrong type or unwritable; nothing was done
3     ``FAILED``      nothing (more) could be sent or done: the store cannot be opened,
                      an unknown client, an input whose content cannot be used as a
                      whole (not its format, nested too deeply, a number or field too
                      large), a remote system refused or failed
70    ``INTERNAL``    an internal error (a bug in fama or a plugin); the message names
                      the command and the error class and says how to report it
                      (70 is ``EX_SOFTWARE`` of BSD's ``sysexits.h``)
130   ``INTERRUPTED`` stopped by Ctrl-C (128 + SIGINT, as shells report it)
====  ==============  =================================================================

The numbers are stable: codes may be added, never renumbered.
"""

from __future__ import annotations

from enum import IntEnum

from fama_core.errors import FamaError

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(IntEnum):
    """The exit codes of every ``fama`` subcommand (see the module docstring)."""

    OK = 0
    """Done."""
    PARTIAL = 1
    """Finished, but some records were refused (each reported), or a check found something stale."""
    USAGE = 2
    """Bad arguments, or a path on the command line that cannot be opened; nothing was done."""
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
    ExitCode.USAGE: "bad invocation or unreadable input (a missing, forbidden or unwritable path)",
    ExitCode.FAILED: "nothing (more) could be sent or done",
    ExitCode.INTERNAL: "internal error: a bug, please report it",
    ExitCode.INTERRUPTED: "interrupted",
}


def exit_code_for(exc: FamaError) -> ExitCode:
    """The exit code for a :class:`FamaError` that ended a subcommand.

    A fama error that ends a command means nothing (more) could be done,
    whatever its class: the input's content could not be used as a whole
    (:class:`~fama_core.errors.InputUnreadable`, an invalid document), the store
    or a remote system failed. (``USAGE`` comes from the arguments and from
    paths that cannot be opened, which are OS errors, not fama's.) One function,
    so a new error class gets its code in one place.
    """
    del exc  # every class maps to FAILED today; kept as the one place to decide
    return ExitCode.FAILED
