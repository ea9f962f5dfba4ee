"""The exit status of ``decnet-audit``, apart from the data model so that
the start-up path (``--version``, usage errors) can name it for free."""

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit status of ``decnet-audit`` (and of ``undo``), as pytest's."""

    OK = 0  # every check passed (or was waived)
    DRIFT = 1  # drift found, or left after --fix
    INCOMPLETE = 2  # a source was not read, a check could not run, or interrupted
    INTERNAL = 3  # a rule crashed, or a bug
    USAGE = 4  # bad command line or configuration
    NO_RULES = 5  # no rule selected: nothing was audited
    NOT_APPLIED = 6  # --fix/undo wrote nothing: lock held, rolled back, no journal
