"""luaconn: connectors written in Lua, run by a LuaJIT runtime, rows as Arrow batches.

    import luaconn
    items = luaconn.Connector("rest", url="http://127.0.0.1:8000/items").read_all()

Spark users: ``luaconn.spark.register(spark)`` then ``spark.read.format("luaconn")``.
This module imports neither pyspark nor pyarrow, so it is cheap to import anywhere.
"""
from .connector import Connector, check
from .errors import (
    ConnectorError, ConnectorValueError, ContractError, HttpError, MemoryLimitError,
    NotFoundError, OptionError, SchemaError, ScriptError, ScriptSyntaxError,
    TimeLimitError,
)

from ._version import __version__

__all__ = [
    "Connector", "check", "ConnectorError", "ConnectorValueError", "ContractError",
    "HttpError", "MemoryLimitError", "NotFoundError", "OptionError", "SchemaError",
    "ScriptError", "ScriptSyntaxError", "TimeLimitError",
]
