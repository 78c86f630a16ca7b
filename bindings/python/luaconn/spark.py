"""Spark 4 Python Data Source "luaconn": batch read and write through Lua connectors.

    import luaconn.spark
    luaconn.spark.register(spark)
    df = (spark.read.format("luaconn").option("connector", "rest")
          .option("url", "http://127.0.0.1:8000/items").load())
    df.write.format("luaconn").mode("append").option("connector", "rest") \\
        .option("target_url", "http://127.0.0.1:8000/sink/out").save()

Option "connector" names a bundled connector or a .lua path; option "script" carries
inline Lua source instead (it travels to executors with the options). Every other
option goes to the connector.

Secrets: with options "secret_scope" and "secret_key", the connector's credential
(luaconn.auth's fallback chain: option api_key > secret store > environment variable)
comes from this Spark session's conf, "spark.luaconn.secrets.<scope>.<key>" or, as on
Databricks, "spark.databricks.secrets.<scope>.<key>". Data source methods run in
Python workers without a session, so register(spark) takes those conf entries with it
(call it again after setting new ones); the driver looks the value up and it reaches
the executors inside the pickled reader or writer, never as an option, never logged.
Spark Connect hides conf entries whose names contain "secret" from clients, so there
the session-conf store cannot work: a missing credential's error names the routes
that do (LUACONN_SECRETS_FILE or the api_key_env variable on the cluster).

Built so Spark's usual traps cannot happen: the classes are flat and hold only option
dicts, strings and the schema (they pickle); nothing but pyspark and this package is
imported at module level (pyarrow only inside executor methods); the runtime is
created lazily in each Python worker and reused across the partitions it runs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql.datasource import (
    DataSource, DataSourceArrowWriter, DataSourceReader, InputPartition,
    WriterCommitMessage,
)

from . import errors
from .connector import Connector, check

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FORMAT = "luaconn"
# Declared by a writer that wants a unique id per task attempt (see task_options).
WRITE_TASK_OPTION = "write_task"
_SOURCE_OPTIONS = ("connector", "script")
SECRET_CONF_PREFIXES = ("spark.luaconn.secrets.", "spark.databricks.secrets.")


CONNECT_SECRETS = ("Spark Connect hides conf entries named *secret* from clients, so the "
                   "session conf cannot hold credentials there; on the cluster set "
                   "LUACONN_SECRETS_FILE to a secrets file or set the api_key_env variable")


def register(spark: SparkSession) -> None:
    """Registers format "luaconn" with a SparkSession (classic or Spark Connect), with
    the session's secret store (its spark.luaconn.secrets.* and
    spark.databricks.secrets.* conf entries; not available under Connect)."""
    connect = type(spark).__module__.startswith("pyspark.sql.connect")
    store = {} if connect else {name: value for name, value in spark.conf.getAll.items()
                                if name.startswith(SECRET_CONF_PREFIXES)}
    # A class built here is pickled by value, so the store travels with it.
    spark.dataSource.register(type("LuaconnDataSourceWithSecrets", (LuaconnDataSource,),
                                   {"_secret_store": store, "_connect": connect}))


def _secret_options(source, options):
    """The options luaconn.auth reads from source's secret store for the user's
    secret_scope + secret_key: {"secret_value": ...} when found, else where it looked
    (under Spark Connect: why it cannot, and what works instead)."""
    store = source._secret_store
    lowered = {key.lower(): value for key, value in dict(options).items()}
    scope, key = lowered.get("secret_scope"), lowered.get("secret_key")
    if not scope or not key:
        return {}
    names = [f"{prefix}{scope}.{key}" for prefix in SECRET_CONF_PREFIXES]
    for name in names:
        if store.get(name):
            return {"secret_value": store[name]}
    if source._connect:
        return {"secret_store": CONNECT_SECRETS}
    return {"secret_store": f"not in the Spark session conf ({' or '.join(names)})"}


def _split_options(options):
    """(connector ref, inline script, connector options) from Spark's options."""
    rest = {key.lower(): value for key, value in dict(options).items()}
    ref, script = (rest.pop(name, None) for name in _SOURCE_OPTIONS)
    if (ref is None) == (script is None):
        raise errors.OptionError(
            "luaconn: set option 'connector' (a bundled name or a .lua path) or option "
            "'script' (inline Lua source), exactly one of them")
    return ref, script, rest


def _open(options, secret=None, shipped=None):
    """A Connector for Spark's options plus the secret store's (never logged). With
    shipped (script name, source) it runs that source instead of reading the file."""
    ref, script, connector_options = _split_options(options)
    if shipped is not None:
        name, source = shipped
        return Connector(script=source, script_name=name, **connector_options, **(secret or {}))
    return Connector(ref, script=script, **connector_options, **(secret or {}))


def _shipped(conn, options):
    """What executors run: the source of the version the driver just planned with,
    for a connector loaded from a file (so executors need no copy of the file and
    never see a broken edit); None for an inline script, which travels as an option."""
    ref, _, _ = _split_options(options)
    return None if ref is None else (conn.script_name, conn.source)


def _declared_options(options):
    """The lower-cased names of the options the connector declares."""
    ref, script, _ = _split_options(options)
    return {name.lower() for name in check(ref, script=script).get("options") or {}}


class LuaconnDataSource(DataSource):
    """spark.read/write.format("luaconn")."""
    _secret_store = {}   # register() fills it from the session conf
    _connect = False     # registered from a Spark Connect session

    @classmethod
    def name(cls):
        return FORMAT

    def schema(self):
        with _open(self.options) as conn:
            return conn.schema

    def reader(self, schema):
        with _open(self.options) as conn:
            if not conn.can_read:
                raise errors.ContractError(f"{conn.script_name} has no read function")
        return LuaconnReader(dict(self.options), schema,
                             _secret_options(self, self.options))

    def writer(self, schema, overwrite):
        options = dict(self.options)
        declared = _declared_options(options)
        if overwrite:
            # The contract has no overwrite call: a connector that can replace its
            # target says so by declaring an option named "mode".
            if "mode" not in declared:
                raise errors.OptionError(
                    "luaconn: this connector cannot overwrite (it declares no 'mode' "
                    "option); use mode('append')")
            options["mode"] = "overwrite"
        with _open(options) as conn:
            if not conn.can_write:
                raise errors.ContractError(f"{conn.script_name} has no write function")
        return LuaconnWriter(options, WRITE_TASK_OPTION in declared,
                             _secret_options(self, options))

    # Structured Streaming lives in luaconn.spark_stream.
    def streamReader(self, schema):
        from . import spark_stream
        return spark_stream.stream_reader(self.options, schema,
                                          _secret_options(self, self.options))

    def streamWriter(self, schema, overwrite):
        from . import spark_stream
        return spark_stream.stream_writer(self.options, schema, overwrite)


@dataclass
class LuaconnPartition(InputPartition):
    """One partition the connector planned, as its JSON text, with the script
    version that planned it (see _shipped)."""
    spec_json: str
    shipped: tuple = None


class LuaconnReader(DataSourceReader):
    def __init__(self, options, schema, secret=None):
        self.options = options
        self.schema = schema
        self.secret = secret

    def partitions(self):
        with _open(self.options, self.secret) as conn:
            specs = conn.partition_specs()
            shipped = _shipped(conn, self.options)
        return [LuaconnPartition(spec, shipped) for spec in specs]

    def read(self, partition):
        return read_partition(self, partition)


def read_partition(reader, partition):
    """Runs on an executor: yields the partition's pyarrow.RecordBatches in Spark's
    expected Arrow schema, from the script version that planned the partition."""
    from pyspark.sql.pandas.types import to_arrow_schema

    # The same conversion Spark applies to check the batches it receives.
    target = to_arrow_schema(reader.schema, timezone="UTC")
    with _open(reader.options, reader.secret, partition.shipped) as conn:
        for batch in conn.read_json(partition.spec_json):
            yield conform_batch(batch, target)


def conform_batch(batch, target):
    """batch with target's columns in target's order and types; the connector's schema
    and a user-given Spark schema may differ in column order or types."""
    import pyarrow as pa

    if batch.schema.equals(target):
        return batch
    by_name = {name.lower(): index for index, name in enumerate(batch.schema.names)}
    columns = []
    for field in target:
        index = by_name.get(field.name.lower())
        if index is None:
            raise errors.SchemaError(
                f"column '{field.name}' of the Spark schema is not produced by the "
                f"connector (it has {', '.join(batch.schema.names)})")
        column = batch.column(index)
        if not column.type.equals(field.type):
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise errors.SchemaError(
                    f"column '{field.name}': the connector gives {column.type}, the Spark "
                    f"schema wants {field.type}: {exc}") from None
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=target)


@dataclass
class LuaconnCommitMessage(WriterCommitMessage):
    """One task's commit message: the JSON its connector's write returned."""
    message_json: str


class LuaconnWriter(DataSourceArrowWriter):
    def __init__(self, options, wants_task_id=False, secret=None):
        self.options = options
        self.wants_task_id = wants_task_id
        self.secret = secret

    def write(self, iterator):
        with _open(task_options(self.options, self.wants_task_id, streaming=False),
                   self.secret) as conn:
            return LuaconnCommitMessage(conn.write_json(iterator))

    def commit(self, messages):
        _finish(self.options, self.secret, messages, "commit")

    def abort(self, messages):
        _finish(self.options, self.secret, messages, "abort")


def task_options(options, wants_task_id, streaming):
    """options plus "write_task" (see luaconn.spark_stream's module doc) when the connector
    declares it."""
    if not wants_task_id:
        return options
    from pyspark import TaskContext

    context = TaskContext.get()
    task = str(context.partitionId())
    if streaming:
        query = context.getLocalProperty("sql.streaming.queryId")
        batch = context.getLocalProperty("streaming.sql.batchId")
        task = f"{query}-{batch}-{task}"
    return {**options, WRITE_TASK_OPTION: task}


def _finish(options, secret, messages, how):
    """Runs the connector's commit or abort (how) with every task's message."""
    with _open(options, secret) as conn:
        getattr(conn, how)(_decoded(messages))


def _decoded(messages):
    return [None if message is None else json.loads(message.message_json)
            for message in messages]
