"""A Spark read with the same options as `luaconn read rest` (tests/cli/test_styles.py)
returns every record of the GitHub-, Stripe- and JSON:API-shaped servers once, with
Spark types: structs, arrays, timestamps from offsets and unix seconds."""
import datetime as dt

import pytest
from styles_server import OPTIONS, PATHS, SCHEMAS, expected

TIMESTAMPS = {"github": ["created_at"], "stripe": ["created"], "jsonapi": ["attributes.joined_at"]}


def as_arrow_values(style, rows):
    """expected() rows with their ISO timestamps as the aware datetimes Arrow gives."""
    for row in rows:
        for path in TIMESTAMPS[style]:
            *parents, name = path.split(".")
            holder = row
            for parent in parents:
                holder = holder[parent]
            holder[name] = dt.datetime.fromisoformat(holder[name].replace("Z", "+00:00"))
    return rows


@pytest.mark.parametrize("style", ["github", "stripe", "jsonapi"])
def test_spark_reads_each_style_with_options_only(spark, styles_server, unique_key, style):
    reader = (spark.read.format("luaconn").option("connector", "rest")
              .option("url", f"{styles_server}/{PATHS[style]}?key={unique_key}")
              .option("schema", SCHEMAS[style]))
    for option in OPTIONS[style]:
        name, value = option.split("=", 1)
        reader = reader.option(name, value)
    got = reader.load().toArrow().to_pylist()
    assert got == as_arrow_values(style, expected(style))


INFERRING = """
local paginate = require "luaconn.paginate"
return { schema = "infer", options = { url = {} },
  read = function(opts, partition, emit)
    paginate.next_url({ url = opts.url, results_field = "data", next_field = "links.next" }, emit)
  end }
"""


def test_schema_infer_is_inferred_on_the_driver_and_fixed_for_the_job(spark, styles_server):
    df = (spark.read.format("luaconn").option("script", INFERRING)
          .option("url", f"{styles_server}/jsonapi/people?page%5Bsize%5D=100").load())
    assert df.schema.simpleString().startswith(
        "struct<type:string,id:string,attributes:struct<name:string,score:double,"
        "joined_at:timestamp,tags:array<string>,address:struct<city:string>>")
    got = df.select("id", "attributes").toArrow().to_pylist()
    want = as_arrow_values("jsonapi", expected("jsonapi"))
    assert got == [{"id": row["id"], "attributes": row["attributes"]} for row in want]


def test_new_types_reach_spark(spark):
    script = """
return { schema = "t TINYINT, s SMALLINT, n TIMESTAMP_NTZ, price DECIMAL(12,2), doc STRING",
  read = function(opts, partition, emit)
    emit { t = -5, s = 300, n = "2024-03-01T10:00:00", price = "19.99", doc = { a = { 1, 2 } } }
  end }
"""
    df = spark.read.format("luaconn").option("script", script).load()
    assert [f.dataType.simpleString() for f in df.schema] == [
        "tinyint", "smallint", "timestamp_ntz", "decimal(12,2)", "string"]
    row = df.collect()[0]
    assert (row.t, row.s, str(row.price), row.doc) == (-5, 300, "19.99", '{"a":[1,2]}')
    assert row.n == dt.datetime(2024, 3, 1, 10, 0)
