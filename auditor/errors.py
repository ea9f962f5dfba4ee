"""Expected failures: each carries the one line an operator is shown."""


class SourceError(Exception):
    """A source (state file, database, Docker engine) could not be read."""


class UsageError(Exception):
    """The command line or a configuration file is wrong (exit 4)."""
