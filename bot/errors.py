"""The bot's exceptions, in one small tree.

BotError
 ├── ConfigError        the config file is missing, malformed or names something unknown
 ├── ProfileError       a profile was refused; the message says which field and why
 ├── SourceError        one source could not be read; the others still run
 ├── StoreError         the database is unusable (e.g. a schema newer than this code)
 │    └── UnreadableStore  the database file is empty or not a database: restore a backup
 ├── InputError         a file given on the command line is malformed (line number included)
 └── DeliveryError      a digest could not be delivered; says whether to try again later
      └── ChannelDown    the channel cannot be reached at all: the digests behind it wait untried
"""


class BotError(Exception):
    """Base of every error the bot reports in one line instead of a traceback."""


class ConfigError(BotError):
    pass


class ProfileError(BotError):
    pass


class SourceError(BotError):
    pass


class StoreError(BotError):
    pass


class UnreadableStore(StoreError):
    """The database file is empty, corrupt or not a database: the user restores it (exit code 2)."""


class InputError(BotError):
    pass


class DeliveryError(BotError):
    """A digest could not be delivered. `temporary` says whether trying again later may succeed."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class ChannelDown(DeliveryError):
    """The channel cannot be reached (refused, timed out, our login or its certificate refused).

    Always temporary. Every other digest through it would fail the same way, each at the cost of
    its own timeouts and tries, so the caller leaves them untried for the next run.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, temporary=True)
