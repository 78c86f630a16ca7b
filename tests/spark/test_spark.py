"""Spark batch read and write through format "luaconn" on real PySpark (local[2])."""
import json
import time
import uuid

import pyarrow as pa
import pytest
from api_server import TYPED_SCHEMA, dataset, typed_dataset
from arrow_values import typed_rows_as_arrow_values
from pyspark.sql import functions as F

from luaconn.spark import LuaconnDataSource

ROWS = 10_000


def rest_reader(spark, url, **options):
    reader = spark.read.format("luaconn").option("connector", "rest").option("url", url)
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load()


def test_read_10000_rows_into_a_dataframe(spark, api_server):
    start = time.perf_counter()
    df = rest_reader(spark, f"{api_server}/items?rows={ROWS}", page_size=700)
    rows = [row.asDict() for row in df.collect()]
    elapsed = time.perf_counter() - start
    assert df.schema.simpleString() == "struct<id:int,name:string,status:string>"
    assert sorted(rows, key=lambda r: r["id"]) == dataset(ROWS)
    assert sum(r["status"] is None for r in rows) == ROWS // 7
    print(f"Spark read {ROWS} rows in {elapsed:.2f}s")


def test_read_every_scalar_type_with_nulls(spark, api_server):
    df = rest_reader(spark, f"{api_server}/typed?rows={ROWS}", schema=TYPED_SCHEMA,
                     page_size=1000)
    assert [f.dataType.simpleString() for f in df.schema] == [
        "boolean", "int", "bigint", "float", "double", "string", "binary", "date",
        "timestamp"]
    # rest reads one partition, in page order: the rows come back in the server's order.
    got = df.toArrow().to_pylist()
    assert len(got) == ROWS
    assert got == typed_rows_as_arrow_values(typed_dataset(ROWS))


def test_read_uses_the_partitions_the_connector_plans(spark, api_server, connectors_dir):
    df = (spark.read.format("luaconn")
          .option("connector", str(connectors_dir / "modulo_items.lua"))
          .option("url", f"{api_server}/items?rows={ROWS}")
          .option("partitions", 4).load())
    assert df.rdd.getNumPartitions() == 4
    per_partition = df.withColumn("p", F.spark_partition_id()).groupBy("p").count().collect()
    assert sorted(r["count"] for r in per_partition) == [ROWS // 4] * 4
    assert sorted((r.asDict() for r in df.collect()), key=lambda r: r["id"]) == dataset(ROWS)


def test_user_schema_wins_and_batches_are_cast(spark, api_server):
    df = (spark.read.format("luaconn").schema("status STRING, id BIGINT")
          .option("connector", "rest").option("url", f"{api_server}/items?rows=100").load())
    assert df.schema.simpleString() == "struct<status:string,id:bigint>"
    assert sorted(r["id"] for r in df.collect()) == list(range(1, 101))


def test_user_schema_naming_a_missing_column_fails_clearly(spark, api_server):
    df = (spark.read.format("luaconn").schema("id INT, nope STRING")
          .option("connector", "rest").option("url", f"{api_server}/items?rows=10").load())
    with pytest.raises(Exception, match="column 'nope'"):
        df.collect()


def test_reader_yields_arrow_record_batches(api_server):
    options = {"connector": "rest", "url": f"{api_server}/items?rows={ROWS}",
               "page_size": "1000"}
    source = LuaconnDataSource(options)
    from pyspark.sql.types import _parse_datatype_string
    reader = source.reader(_parse_datatype_string(source.schema()))
    partitions = reader.partitions()
    batches = [b for p in partitions for b in reader.read(p)]
    assert batches and all(type(b) is pa.RecordBatch for b in batches)
    assert sum(b.num_rows for b in batches) == ROWS


def test_inline_script_runs_on_executors(spark, api_server):
    # The script exists only in the options: executors get it with the plan.
    script = """
local http = require "http"
return {
  schema = "id INT, name STRING",
  options = { base = { type = "string", required = true } },
  partitions = function(opts) return { { first = 1 }, { first = 2 } } end,
  read = function(opts, partition, emit)
    local page = http.get_json(opts.base .. "/items", { query = { limit = 20 } })
    for _, row in ipairs(page.results) do
      if row.id % 2 == partition.first % 2 then emit { id = row.id, name = row.name } end
    end
  end,
}
"""
    df = (spark.read.format("luaconn").option("script", script)
          .option("base", api_server).load())
    assert df.rdd.getNumPartitions() == 2
    want = [{"id": r["id"], "name": r["name"]} for r in dataset(20)]
    assert sorted((r.asDict() for r in df.collect()), key=lambda r: r["id"]) == want


def test_lua_error_on_executor_shows_file_and_line(spark, connectors_dir):
    df = (spark.read.format("luaconn")
          .option("connector", str(connectors_dir / "failing_read.lua")).load())
    with pytest.raises(Exception) as info:
        df.collect()
    text = str(info.value)
    assert "failing_read.lua:11:" in text
    assert "the upstream said no" in text
    assert "ScriptError" in text


def test_bad_options_fail_on_the_driver_before_any_task(spark):
    group = f"bad-options-{uuid.uuid4().hex}"
    spark.sparkContext.setJobGroup(group, "options are checked on the driver")
    try:
        with pytest.raises(Exception, match="bogus"):
            spark.read.format("luaconn").option("connector", "rest").option("bogus", 1).load()
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    assert spark.sparkContext.statusTracker().getJobIdsForGroup(group) == []


def test_write_10000_rows_each_received_once(spark, api_server, sink, unique_key):
    df = spark.createDataFrame(dataset(ROWS), "id INT, name STRING, status STRING").repartition(3)
    start = time.perf_counter()
    (df.write.format("luaconn").mode("append")
     .option("connector", "rest")
     .option("target_url", f"{api_server}/sink/{unique_key}")
     .option("batch_size", 500).save())
    elapsed = time.perf_counter() - start
    received = sink(unique_key)
    assert len(received["rows"]) == ROWS
    assert sorted(received["rows"], key=lambda r: r["id"]) == dataset(ROWS)
    assert max(received["batches"]) <= 500
    print(f"Spark wrote {ROWS} rows in {elapsed:.2f}s in {len(received['batches'])} POSTs")


def test_read_transform_write_round_trip(spark, api_server, sink, unique_key):
    items = rest_reader(spark, f"{api_server}/items?rows=3000", page_size=500)
    (items.withColumn("status", F.upper("status"))
     .write.format("luaconn").mode("append").option("connector", "rest")
     .option("target_url", f"{api_server}/sink/{unique_key}").save())
    want = [dict(r, status=r["status"] and r["status"].upper()) for r in dataset(3000)]
    assert sorted(sink(unique_key)["rows"], key=lambda r: r["id"]) == want


def test_every_scalar_type_survives_read_then_write(spark, api_server, sink, unique_key):
    df = rest_reader(spark, f"{api_server}/typed?rows={ROWS}", schema=TYPED_SCHEMA,
                     page_size=1000)
    (df.repartition(2).write.format("luaconn").mode("append").option("connector", "rest")
     .option("schema", TYPED_SCHEMA)
     .option("target_url", f"{api_server}/sink/{unique_key}").save())
    received = sink(unique_key)["rows"]
    assert len(received) == ROWS

    def canonical(rows):
        # JSON has one number type: FLOAT -747.0 may come back as -747. s and bin are
        # unique per row and never both null: together they order the rows.
        def floats(row):
            return {k: float(v) if k in ("f", "d") and v is not None else v
                    for k, v in row.items()}
        return sorted(map(floats, rows), key=lambda r: (r["s"] or "", r["bin"] or ""))
    assert canonical(received) == canonical(typed_dataset(ROWS))


def test_failing_write_fails_the_job_and_calls_abort(spark, api_server, sink, unique_key,
                                                     connectors_dir):
    df = spark.createDataFrame(dataset(100), "id INT, name STRING, status STRING").repartition(2)
    writer = (df.write.format("luaconn").mode("append")
              .option("connector", str(connectors_dir / "sink_with_abort.lua"))
              .option("target_url", f"{api_server}/sink/{unique_key}?fail=400&key={unique_key}")
              .option("abort_url", f"{api_server}/sink/{unique_key}-aborts"))
    with pytest.raises(Exception) as info:
        writer.save()
    assert "sink_with_abort.lua" in str(info.value)
    assert sink(unique_key)["rows"] == []
    aborts = sink(f"{unique_key}-aborts")["rows"]
    assert len(aborts) == 1
    assert aborts[0]["aborted_tasks"] == 2
    assert aborts[0]["failed_tasks"] >= 1


def test_overwrite_is_refused_when_the_connector_cannot_honour_it(spark, api_server,
                                                                   unique_key):
    df = spark.createDataFrame(dataset(3), "id INT, name STRING, status STRING")
    with pytest.raises(Exception, match="cannot overwrite"):
        (df.write.format("luaconn").mode("overwrite").option("connector", "rest")
         .option("target_url", f"{api_server}/sink/{unique_key}").save())


def test_overwrite_reaches_a_connector_that_declares_mode(spark, api_server, sink, unique_key):
    script = """
local http = require "http"
return {
  schema = "id INT",
  options = { target_url = { type = "string", required = true },
              mode = { type = "string", default = "append" } },
  write = function(opts, rows)
    local out = {}
    for row in rows do out[#out + 1] = { id = row.id, mode = opts.mode } end
    http.post(opts.target_url, { json = out })
    return { rows = #out }
  end,
}
"""
    df = spark.createDataFrame([(1,), (2,)], "id INT").coalesce(1)
    (df.write.format("luaconn").mode("overwrite").option("script", script)
     .option("target_url", f"{api_server}/sink/{unique_key}").save())
    assert sink(unique_key)["rows"] == [{"id": 1, "mode": "overwrite"}, {"id": 2, "mode": "overwrite"}]
