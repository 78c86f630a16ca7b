"""What the batch data source (luaconn.spark) and the streaming one
(luaconn.spark_stream) share: opening a connector from Spark's options, the script
version shipped to executors, the partition and commit message classes, reading a
partition on an executor and running a connector's commit or abort.

Imports nothing from luaconn.spark or luaconn.spark_stream: both import this module.
"""
import json
from dataclasses import dataclass

from pyspark.sql.datasource import InputPartition, WriterCommitMessage

from . import errors
from .connector import Connector, check

# Declared by a writer that wants a unique id per task attempt (see task_options).
WRITE_TASK_OPTION = "write_task"
_SOURCE_OPTIONS = ("connector", "script")


def split_options(options):
    """(connector ref, inline script, connector options) from Spark's options."""
    rest = {key.lower(): value for key, value in dict(options).items()}
    ref, script = (rest.pop(name, None) for name in _SOURCE_OPTIONS)
    if (ref is None) == (script is None):
        raise errors.OptionError(
            "luaconn: set option 'connector' (a bundled name or a .lua path) or option "
            "'script' (inline Lua source), exactly one of them")
    return ref, script, rest


def open_connector(options, secret=None, shipped=None):
    """A Connector for Spark's options plus the secret store's (never logged). With
    shipped (script name, source) it runs that source instead of reading the file."""
    ref, script, connector_options = split_options(options)
    if shipped is not None:
        name, source = shipped
        return Connector(script=source, script_name=name, **connector_options, **(secret or {}))
    return Connector(ref, script=script, **connector_options, **(secret or {}))


def shipped_source(conn, options):
    """What executors run: the source of the version the driver just planned with,
    for a connector loaded from a file (so executors need no copy of the file and
    never see a broken edit); None for an inline script, which travels as an option."""
    ref, _, _ = split_options(options)
    return None if ref is None else (conn.script_name, conn.source)


def declared_options(options):
    """The lower-cased names of the options the connector declares."""
    ref, script, _ = split_options(options)
    return {name.lower() for name in check(ref, script=script).get("options") or {}}


@dataclass
class LuaconnPartition(InputPartition):
    """One partition the connector planned, as its JSON text, with the script
    version that planned it (see shipped_source).

    Made on the driver, read on an executor; pickles spec_json (str) and shipped
    ((script name, source) or None)."""
    spec_json: str
    shipped: tuple = None


def read_partition(reader, partition):
    """Runs on an executor: yields the partition's pyarrow.RecordBatches in Spark's
    expected Arrow schema, from the script version that planned the partition."""
    from pyspark.sql.pandas.types import to_arrow_schema

    if not isinstance(partition, LuaconnPartition):
        return   # the connector planned no partition: Spark reads InputPartition(None)
    # The same conversion Spark applies to check the batches it receives.
    target = to_arrow_schema(reader.schema, timezone="UTC")
    with open_connector(reader.options, reader.secret, partition.shipped) as conn:
        if conn.schema == "infer":   # the driver inferred it: Spark's schema is that one
            conn.set_schema(", ".join(f"`{f.name}` {f.dataType.simpleString()}"
                                      for f in reader.schema))
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
    """One task's commit message: the JSON its connector's write returned.

    Made on an executor by a writer's write, handed to commit or abort on the driver;
    pickles message_json (str)."""
    message_json: str


def task_options(options, wants_task_id, streaming, job=None):
    """options plus "write_task" (see luaconn.spark_stream's module doc) when the connector
    declares it; job prefixes a batch task's id."""
    if not wants_task_id:
        return options
    from pyspark import TaskContext

    context = TaskContext.get()
    task = str(context.partitionId())
    if streaming:
        query = context.getLocalProperty("sql.streaming.queryId")
        batch = context.getLocalProperty("streaming.sql.batchId")
        task = f"{query}-{batch}-{task}"
    elif job:
        task = f"{job}-{task}"
    return {**options, WRITE_TASK_OPTION: task}


def finish(options, secret, messages, how):
    """Runs the connector's commit or abort (how) with every task's message."""
    with open_connector(options, secret) as conn:
        getattr(conn, how)(_decoded(messages))


def _decoded(messages):
    return [None if message is None else json.loads(message.message_json)
            for message in messages]
