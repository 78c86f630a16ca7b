"""Exceptions raised by luaconn: one ConnectorError subclass per lc_status."""
from __future__ import annotations

from typing import Optional

__all__ = [
    "ConnectorError", "OptionError", "ScriptError", "ScriptSyntaxError", "TimeLimitError",
    "MemoryLimitError", "ConnectorValueError", "HttpError", "NotFoundError",
    "ContractError", "SchemaError", "AmqpError", "FileReadError",
]


class ConnectorError(Exception):
    """An error from the runtime or a connector script.

    message is one line (secrets redacted); script and line locate it in the Lua
    source when known; code is the runtime's lc_status; traceback is Lua's.
    """

    def __init__(self, message: str, *, code: Optional[int] = None, script: Optional[str] = None,
                 line: int = 0, traceback: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.script = script
        self.line = line
        self.traceback = traceback

    def __str__(self) -> str:
        location = self.script and (f"{self.script}:{self.line}" if self.line else self.script)
        if location and not self.message.startswith(location):
            return f"{location}: {self.message}"
        return self.message

    def __reduce__(self):
        # Keyword-only fields survive pickling (Spark ships exceptions between processes).
        return (self.__class__, (self.message,), self.__dict__)


class OptionError(ConnectorError):
    """Options missing, unknown or of the wrong type."""


class ScriptError(ConnectorError):
    """The script raised an error at run time."""


class ScriptSyntaxError(ConnectorError):
    """The script does not compile."""


class TimeLimitError(ConnectorError):
    """A call into the script exceeded its time budget."""


class MemoryLimitError(ConnectorError):
    """The connector exceeded its memory cap."""


class ConnectorValueError(ConnectorError):
    """A value does not fit its column."""


class HttpError(ConnectorError):
    """An HTTP request failed (after retries)."""


class NotFoundError(ConnectorError):
    """The connector or a module it requires is not on the search path."""


class ContractError(ConnectorError):
    """The script does not follow the connector contract."""


class SchemaError(ConnectorError):
    """A schema does not parse, or rows do not match the schema Spark expects."""


class AmqpError(ConnectorError):
    """A broker connection, publish or consume failed (RabbitMQ)."""


class FileReadError(ConnectorError):
    """A file the runtime needed could not be read."""
