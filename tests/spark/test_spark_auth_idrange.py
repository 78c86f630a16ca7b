"""Spark reads through luaconn.auth's secret store, idrange.lua's partitions, and a
REST API read as a stream (rest_stream.lua): every id once, the token never shown."""
import json
import time
import urllib.request

import pytest
from api_server import API_TOKEN, dataset

import luaconn.spark


def post(url):
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=30) as reply:
        return json.load(reply)


@pytest.mark.parametrize("low, high", [(0, 9_999), (123_457, 133_999), (5, 8)])
def test_idrange_eight_partitions_every_id_once(spark, api_server, low, high):
    df = (spark.read.format("luaconn").option("connector", "idrange")
          .option("url", f"{api_server}/ids/{low}/{high}/500").option("partitions", "8").load())
    assert df.rdd.getNumPartitions() == min(8, high - low + 1)
    ids = [row.id for row in df.select("id").collect()]
    assert sorted(ids) == list(range(low, high + 1))


def bearer_read(spark, api_server, **options):
    reader = (spark.read.format("luaconn").option("connector", "rest")
              .option("url", f"{api_server}/auth/bearer/items").option("auth", "bearer")
              .option("page_size", "500"))
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load()


@pytest.mark.parametrize("conf_prefix", ["spark.luaconn.secrets", "spark.databricks.secrets"])
def test_secret_store_from_the_session_conf(spark, api_server, conf_prefix, monkeypatch):
    monkeypatch.delenv("API_KEY", raising=False)
    spark.conf.set(f"{conf_prefix}.team.token", API_TOKEN)
    try:
        luaconn.spark.register(spark)
        df = bearer_read(spark, api_server, secret_scope="team", secret_key="token")
        assert df.count() == 2500
        assert [r.asDict() for r in df.orderBy("id").limit(3).collect()] == dataset(3)
        plan = df._jdf.queryExecution().toString()   # explain(extended) text
        assert API_TOKEN not in plan
    finally:
        spark.conf.unset(f"{conf_prefix}.team.token")
        luaconn.spark.register(spark)


def test_missing_secret_lists_sources_and_never_the_token(spark, api_server, monkeypatch):
    monkeypatch.delenv("API_KEY", raising=False)
    with pytest.raises(Exception) as failure:
        bearer_read(spark, api_server, secret_scope="team", secret_key="absent").collect()
    text = str(failure.value)
    assert "no credentials for auth=bearer" in text
    assert "spark.luaconn.secrets.team.absent or spark.databricks.secrets.team.absent" in text
    assert "3. environment variable API_KEY (not set)" in text

    # A wrong explicit token fails with a 401; the right one, set through the conf
    # store but overridden by the option, never shows in the error or the plan.
    spark.conf.set("spark.luaconn.secrets.team.token", API_TOKEN)
    try:
        luaconn.spark.register(spark)
        df = bearer_read(spark, api_server, secret_scope="team", secret_key="token",
                         api_key="wrong-token-abc123")
        with pytest.raises(Exception) as denied:
            df.collect()
        assert "HTTP 401" in str(denied.value)
        assert API_TOKEN not in str(denied.value) and "wrong-token-abc123" not in str(denied.value)
        assert API_TOKEN not in df._jdf.queryExecution().toString()
    finally:
        spark.conf.unset("spark.luaconn.secrets.team.token")
        luaconn.spark.register(spark)


def test_rest_api_stream_picks_up_new_rows_none_twice(spark, api_server, tmp_path):
    feed = f"{api_server}/feed/stream-{int(time.time() * 1000)}"
    post(f"{feed}?count=120")
    sink, checkpoint = tmp_path / "sink", tmp_path / "checkpoint"
    query = (spark.readStream.format("luaconn").option("connector", "rest_stream")
             .option("url", feed).option("field", "seq").option("results_field", "events")
             .option("page_size", "50").option("schema", "seq BIGINT, name STRING").load()
             .writeStream.format("parquet").option("path", str(sink))
             .option("checkpointLocation", str(checkpoint)).trigger(processingTime="300 milliseconds")
             .start())
    try:
        def committed():
            return sum(p["numInputRows"] for p in query.recentProgress)

        for total in (120, 200, 275):
            deadline = time.monotonic() + 90
            while committed() < total:
                assert time.monotonic() < deadline, f"stream stuck at {committed()} of {total}"
                time.sleep(0.2)
            if total < 275:
                post(f"{feed}?count={200 - 120 if total == 120 else 75}")
        query.processAllAvailable()
    finally:
        query.stop()
    rows = spark.read.parquet(str(sink)).collect()
    assert sorted(r.seq for r in rows) == list(range(1, 276))
    assert all(r.name == f"event {r.seq}" for r in rows)
