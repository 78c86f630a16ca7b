"""Filter pushdown from Spark (DataSourceReader.pushFilters, Spark 4.1+): the filters a
connector declares reach it and cut the requests it makes (counted on the test
server), the others and the inexact ones stay with Spark, and every query returns the
same rows with pushdown as without."""
import contextlib
import json
import pickle

import pytest
from api_server import dataset
from pyspark.sql.datasource import (
    EqualNullSafe, EqualTo, GreaterThan, GreaterThanOrEqual, In, IsNull, LessThan, Not,
    StringStartsWith)

import luaconn.spark
from luaconn.spark import LuaconnPushdownReader


@contextlib.contextmanager
def pushdown(spark, enabled):
    """Format "luaconn" registered with filter pushdown on or off."""
    spark.conf.set(luaconn.spark.PUSHDOWN_CONF, str(enabled).lower())
    luaconn.spark.register(spark)
    try:
        yield
    finally:
        spark.conf.unset(luaconn.spark.PUSHDOWN_CONF)
        luaconn.spark.register(spark)


def read_both_ways(spark, query):
    """(rows with pushdown, rows without): query(spark) -> DataFrame, rows sorted."""
    results = []
    for enabled in (True, False):
        with pushdown(spark, enabled):
            results.append(sorted((row.asDict() for row in query(spark).collect()),
                                  key=lambda row: row["id"]))
    return results


def idrange(spark, api_server, key):
    return (spark.read.format("luaconn").option("connector", "idrange")
            .option("url", f"{api_server}/ids/1/1000/50").option("partitions", "8")
            .option("stats_path", f"/stats?key={key}")
            .option("records_path", f"/records?key={key}").load())


def next_url_rest(spark, api_server, key):
    return (spark.read.format("luaconn").option("connector", "rest")
            .option("url", f"{api_server}/pages/next?key={key}").option("paginator", "next_url")
            .option("results_field", "records").option("next_field", "links.next")
            .option("filter_params", '{"id>": "after"}').load())


# ---- pushFilters itself (driver-side planning; no SparkSession needed) -------------

def test_push_filters_keeps_what_idrange_takes_and_returns_the_rest(api_server):
    reader = LuaconnPushdownReader({"connector": "idrange",
                                    "url": f"{api_server}/ids/1/1000/50"}, None)
    take = [GreaterThanOrEqual(("id",), 10), LessThan(("ID",), 20), EqualTo(("id",), 15)]
    span = In(("id",), (12, 17))                           # taken, but only as a span
    leave = [EqualTo(("value",), "v12"), Not(EqualTo(("id",), 13)), IsNull(("id",)),
             EqualNullSafe(("id",), 12), EqualTo(("id",), 1.5e300 * 1e10),   # inf
             GreaterThan(("id", "nested"), 3)]
    returned = reader.pushFilters(take + [span] + leave)
    assert [id(f) for f in returned] == [id(f) for f in [span] + leave]   # by reference
    assert json.loads(reader.options["filters"]) == [
        {"column": "id", "op": ">=", "value": 10}, {"column": "id", "op": "<", "value": 20},
        {"column": "id", "op": "=", "value": 15}, {"column": "id", "op": "in", "value": [12, 17]}]
    # The pushed filters travel to executors with the pickled reader.
    travelled = pickle.loads(pickle.dumps(reader))
    assert travelled.options == reader.options
    plan = [json.loads(p.spec_json) for p in travelled.partitions()]
    assert plan == [{"id_gte": 15, "id_lt": 16}]


def test_push_filters_returns_every_rest_filter_to_spark(api_server):
    reader = LuaconnPushdownReader({"connector": "rest", "url": api_server,
                                    "filter_params": '{"name starts_with": "prefix"}'}, None)
    starts = StringStartsWith(("name",), "user")
    other = EqualTo(("status",), "active")
    assert reader.pushFilters([starts, other]) == [starts, other]   # inexact: Spark re-checks
    assert json.loads(reader.options["filters"]) == [
        {"column": "name", "op": "starts_with", "value": "user"}]


def test_a_connector_without_a_declaration_gets_nothing(api_server):
    reader = LuaconnPushdownReader({"connector": "rest", "url": api_server}, None)
    filters = [EqualTo(("id",), 1)]
    assert reader.pushFilters(filters) == filters
    assert "filters" not in reader.options


# ---- through Spark ------------------------------------------------------------------

def test_idrange_filter_reads_only_the_covering_ranges(spark, api_server, attempts, unique_key):
    with pushdown(spark, True):
        df = idrange(spark, api_server, unique_key).filter("id >= 200 AND id < 300")
        assert df.rdd.getNumPartitions() == 8
        ids = sorted(row.id for row in df.collect())
    assert ids == list(range(200, 300))
    # /stats once (the DataFrame's plan), then one page for each of the 8 ranges of
    # 12-13 ids (without pushdown: 3 pages each of 8 ranges of 125 ids).
    assert attempts(unique_key)["count"] == 1 + 8


def test_idrange_filter_outside_the_table_plans_no_partition(spark, api_server, attempts,
                                                             unique_key):
    with pushdown(spark, True):
        df = idrange(spark, api_server, unique_key).filter("id > 5000")
        assert df.collect() == []
    assert attempts(unique_key)["count"] == 1   # /stats only


def test_rest_filter_params_cut_the_pages(spark, api_server, attempts, unique_key):
    with pushdown(spark, True):
        rows = next_url_rest(spark, api_server, unique_key).filter("id > 2000").collect()
    assert sorted(row.id for row in rows) == list(range(2001, 2501))
    assert attempts(unique_key)["count"] == 5   # 100 rows a page; 25 without pushdown


@pytest.mark.parametrize("where", [
    "id > 2000 AND status = 'active'",          # one pushed (inexact), one not
    "id >= 123 AND id < 130 OR id = 7",          # an OR: nothing to push
    "id IN (300, 310, 900) AND value != 'v310'",  # a span, and a filter on another column
    "id > 995 AND id <= 2.5e3",
], ids=["rest-mixed", "or", "in-span", "bounds"])
def test_same_rows_with_and_without_pushdown(spark, api_server, unique_key, where):
    def query(session):
        source = (next_url_rest(session, api_server, unique_key) if "status" in where
                  else idrange(session, api_server, unique_key))
        return source.filter(where)
    with_pushdown, without = read_both_ways(spark, query)
    assert with_pushdown == without
    assert with_pushdown   # every case selects some rows


def test_rest_rows_with_pushdown_are_the_servers(spark, api_server, unique_key):
    with pushdown(spark, True):
        rows = (next_url_rest(spark, api_server, unique_key)
                .filter("id > 2400 AND status = 'active'").collect())
    expected = [r for r in dataset(2500) if r["id"] > 2400 and r["status"] == "active"]
    assert sorted((r.asDict() for r in rows), key=lambda r: r["id"]) == expected


def test_values_json_cannot_carry_stay_with_spark():
    from datetime import date, datetime, timezone
    from decimal import Decimal

    from luaconn.spark_filters import as_pushed

    assert as_pushed(EqualTo(("d",), date(2024, 5, 1)))["value"] == "2024-05-01"
    moment = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    assert as_pushed(GreaterThan(("t",), moment))["value"] == "2024-05-01T12:30:00+00:00"
    assert as_pushed(Not(EqualTo(("id",), 3))) == {"column": "id", "op": "!=", "value": 3}
    assert as_pushed(IsNull(("id",))) == {"column": "id", "op": "is_null"}
    for kept in (EqualTo(("x",), Decimal("1.5")), EqualTo(("x",), b"raw"),
                 In(("x",), (1, None)), EqualTo(("x",), float("nan"))):
        assert as_pushed(kept) is None
