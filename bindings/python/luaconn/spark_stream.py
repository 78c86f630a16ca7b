"""Structured Streaming for format "luaconn": a stream reader and a stream writer
driven by the connector's streaming contract (initial_offset, latest_offset,
stream_partitions, read, stream_commit).

    spark.readStream.format("luaconn").option("connector", "rabbitmq") \\
        .option("broker", url).option("queue", "events").load()

Offsets are the connector's JSON values (e.g. {"next": 1200}); Spark writes each
micro-batch's [start, end) to its checkpoint before running it and re-runs the same
range after a failure, so with a replayable connector and an idempotent sink every
record lands exactly once. The connector stores nothing.

Writers (batch and stream) fill the option "write_task" with a deterministic id of
the task when the connector declares it: "<query id>-<batch id>-<partition>" in a
stream, "<job>-<partition>" in a batch write, where job is the option write_id when
given, else an id made for the job on the driver. A re-run task gets the same id, so a
connector can derive stable record ids from it (rabbitmq.lua's message_id, the
idempotency keys of luaconn.delivery); two batch jobs never share one unless they
share write_id.
"""
import json

from pyspark.sql.datasource import DataSourceStreamArrowWriter, DataSourceStreamReader

from . import errors
from .spark_common import (
    WRITE_TASK_OPTION, LuaconnCommitMessage, LuaconnPartition, declared_options, finish,
    open_connector, read_partition, shipped_source, task_options,
)

# Options Spark itself adds to a streaming write; they are not the connector's.
SPARK_WRITE_OPTIONS = {"checkpointlocation", "path", "queryname"}


def stream_reader(options, schema, secret=None):
    options = dict(options)
    with open_connector(options, secret) as conn:
        if not conn.can_stream:
            raise errors.ContractError(
                f"{conn.script_name} cannot be read as a stream: it defines no "
                "initial_offset, latest_offset and stream_partitions")
    return LuaconnStreamReader(options, schema, secret)


def stream_writer(options, schema, overwrite):
    if overwrite:
        raise errors.OptionError("luaconn: a stream can only be appended to (outputMode append)")
    options = {k: v for k, v in dict(options).items() if k.lower() not in SPARK_WRITE_OPTIONS}
    with open_connector(options) as conn:
        if not conn.can_write:
            raise errors.ContractError(f"{conn.script_name} has no write function")
    return LuaconnStreamWriter(options, WRITE_TASK_OPTION in declared_options(options))


def _read_limit(limit):
    """Spark's ReadLimit as the contract's limit: {"max_rows": N} or None."""
    max_rows = getattr(limit, "max_rows", None)
    return None if max_rows is None else {"max_rows": int(max_rows)}


class LuaconnStreamReader(DataSourceStreamReader):
    """The offset methods (initialOffset, latestOffset, partitions, commit, stop) run
    in one long-lived driver process: the connector stays open there between
    micro-batches. read runs on an executor per partition and opens its own. Pickles
    options (dict), schema (StructType) and secret (dict or None), never the open
    connector.

    Hot reload: the driver's connector reloads an edited file at the next
    micro-batch (its schema locked: an edit that changes the schema is refused and
    logged), and each micro-batch's partitions carry the source of the version that
    planned them, so executors run exactly that version and a broken edit never
    reaches them."""

    def __init__(self, options, schema, secret=None):
        self.options = options
        self.schema = schema
        self.secret = secret
        self._conn = None

    def __getstate__(self):
        return {**self.__dict__, "_conn": None}

    def _connector(self):
        if self._conn is None:
            self._conn = open_connector(self.options, self.secret)
            self._conn.lock_schema()
        return self._conn

    def initialOffset(self):
        return json.loads(self._connector().initial_offset())

    def getDefaultReadLimit(self):
        from pyspark.sql.streaming.datasource import ReadAllAvailable, ReadMaxRows

        max_rows = self.options.get("max_records_per_batch")
        return ReadMaxRows(int(max_rows)) if max_rows else ReadAllAvailable()

    def latestOffset(self, start, limit):
        return json.loads(self._connector().latest_offset(json.dumps(start), _read_limit(limit)))

    def partitions(self, start, end):
        conn = self._connector()
        specs = conn.stream_partitions(json.dumps(start), json.dumps(end))
        shipped = shipped_source(conn, self.options)
        return [LuaconnPartition(spec, shipped) for spec in specs]

    def read(self, partition):
        return read_partition(self, partition)

    def commit(self, end):
        self._connector().stream_commit(json.dumps(end))

    def stop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class LuaconnStreamWriter(DataSourceStreamArrowWriter):
    """A streaming write: write runs on an executor per task of each micro-batch,
    commit and abort on the driver. Pickles options (dict) and wants_task_id (bool)."""

    def __init__(self, options, wants_task_id):
        self.options = options
        self.wants_task_id = wants_task_id

    def write(self, iterator):
        options = task_options(self.options, self.wants_task_id, streaming=True)
        with open_connector(options) as conn:
            return LuaconnCommitMessage(conn.write_json(iterator))

    def commit(self, messages, batchId):
        finish(self.options, None, messages, "commit")

    def abort(self, messages, batchId):
        finish(self.options, None, messages, "abort")

