"""Spark 4 Python Data Source "luaconn": batch read and write through Lua connectors
(Structured Streaming in luaconn.spark_stream, what both share in luaconn.spark_common).

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

Filter pushdown (Spark 4.1+, with spark.sql.python.filterPushdown.enabled=true when
register(spark) runs): the filters a connector declares (Connector.filters) go to it
as the option "filters", the reader keeps them and they travel pickled with its
options; the others, and the ones a connector applies only inexactly, stay with Spark.
Spark refuses a reader with pushFilters while that conf is off, so readers have it only
when it was on.

Built so Spark's usual traps cannot happen: the classes are flat and hold only option
dicts, strings and the schema (they pickle); nothing but pyspark and this package is
imported at module level (pyarrow only inside executor methods); the runtime is
created lazily in each Python worker and reused across the partitions it runs.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from pyspark.sql.datasource import DataSource, DataSourceArrowWriter, DataSourceReader

from . import errors
from .spark_common import (
    WRITE_TASK_OPTION, LuaconnCommitMessage, LuaconnPartition, declared_options, finish,
    open_connector, read_partition, shipped_source, task_options,
)
from .spark_filters import split, with_pushed
from .spark_stream import stream_reader, stream_writer

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FORMAT = "luaconn"
SECRET_CONF_PREFIXES = ("spark.luaconn.secrets.", "spark.databricks.secrets.")
PUSHDOWN_CONF = "spark.sql.python.filterPushdown.enabled"


CONNECT_SECRETS = ("Spark Connect hides conf entries named *secret* from clients, so the "
                   "session conf cannot hold credentials there; on the cluster set "
                   "LUACONN_SECRETS_FILE to a secrets file or set the api_key_env variable")


def register(spark: SparkSession) -> None:
    """Registers format "luaconn" with a SparkSession (classic or Spark Connect), with
    the session's secret store (its spark.luaconn.secrets.* and
    spark.databricks.secrets.* conf entries; not available under Connect) and filter
    pushdown when the session's spark.sql.python.filterPushdown.enabled is true."""
    connect = type(spark).__module__.startswith("pyspark.sql.connect")
    store = {} if connect else {name: value for name, value in spark.conf.getAll.items()
                                if name.startswith(SECRET_CONF_PREFIXES)}
    pushdown = str(spark.conf.get(PUSHDOWN_CONF, "false")).lower() == "true"
    # A class built here is pickled by value, so the store travels with it.
    spark.dataSource.register(type("LuaconnDataSourceWithSecrets", (LuaconnDataSource,),
                                   {"_secret_store": store, "_connect": connect,
                                    "_pushdown": pushdown}))


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


class LuaconnDataSource(DataSource):
    """spark.read/write.format("luaconn") and readStream/writeStream.

    Runs on the driver (Spark's planning Python worker): checks the connector and
    builds the readers and writers. Pickles its options (a dict of strings); the class
    register() builds carries the session's secret store with it."""
    _secret_store = {}   # register() fills it from the session conf
    _connect = False     # registered from a Spark Connect session
    _pushdown = False    # register() saw spark.sql.python.filterPushdown.enabled=true

    @classmethod
    def name(cls):
        return FORMAT

    def schema(self):
        with open_connector(self.options) as conn:
            # schema = "infer": a sample read here, on the driver, fixes it for the job
            # (executors get it as the reader's schema).
            return conn.infer() if conn.schema == "infer" else conn.schema

    def reader(self, schema):
        with open_connector(self.options) as conn:
            if not conn.can_read:
                raise errors.ContractError(f"{conn.script_name} has no read function")
        reader = LuaconnPushdownReader if self._pushdown else LuaconnReader
        return reader(dict(self.options), schema, _secret_options(self, self.options))

    def writer(self, schema, overwrite):
        options = dict(self.options)
        declared = declared_options(options)
        if overwrite:
            # The contract has no overwrite call: a connector that can replace its
            # target says so by declaring an option named "mode".
            if "mode" not in declared:
                raise errors.OptionError(
                    "luaconn: this connector cannot overwrite (it declares no 'mode' "
                    "option); use mode('append')")
            options["mode"] = "overwrite"
        with open_connector(options) as conn:
            if not conn.can_write:
                raise errors.ContractError(f"{conn.script_name} has no write function")
        return LuaconnWriter(options, WRITE_TASK_OPTION in declared,
                             _secret_options(self, options))

    # Structured Streaming lives in luaconn.spark_stream.
    def streamReader(self, schema):
        return stream_reader(self.options, schema, _secret_options(self, self.options))

    def streamWriter(self, schema, overwrite):
        return stream_writer(self.options, schema, overwrite)


class LuaconnReader(DataSourceReader):
    """A batch read: partitions runs on the driver, read on an executor per partition.
    Pickles options (dict), schema (the Spark StructType) and secret (a dict from the
    secret store, or None)."""

    def __init__(self, options, schema, secret=None):
        self.options = options
        self.schema = schema
        self.secret = secret

    def partitions(self):
        with open_connector(self.options, self.secret) as conn:
            specs = conn.partition_specs()
            shipped = shipped_source(conn, self.options)
        return [LuaconnPartition(spec, shipped) for spec in specs]

    def read(self, partition):
        return read_partition(self, partition)


class LuaconnPushdownReader(LuaconnReader):
    """A batch read that takes Spark's filters (Spark 4.1+, pushdown enabled): the ones
    the connector declares join its options (option "filters"), so partitions and
    read on executors see them."""

    def pushFilters(self, filters):
        with open_connector(self.options, self.secret) as conn:
            declared = conn.filters()
        pushed, returned = split(filters, declared)
        if pushed:
            self.options = with_pushed(self.options, pushed)
        return returned


class LuaconnWriter(DataSourceArrowWriter):
    """A batch write: write runs on an executor per task, commit and abort on the
    driver. Pickles options (dict), wants_task_id (bool), secret (dict or None) and
    job (str): the option write_id, else an id made here, once per job, so task ids
    (write_task) never repeat across jobs unless write_id says so."""

    def __init__(self, options, wants_task_id=False, secret=None):
        self.options = options
        self.wants_task_id = wants_task_id
        self.secret = secret
        self.job = options.get("write_id") or uuid.uuid4().hex

    def write(self, iterator):
        options = task_options(self.options, self.wants_task_id, streaming=False, job=self.job)
        with open_connector(options, self.secret) as conn:
            return LuaconnCommitMessage(conn.write_json(iterator))

    def commit(self, messages):
        finish(self.options, self.secret, messages, "commit")

    def abort(self, messages):
        finish(self.options, self.secret, messages, "abort")

