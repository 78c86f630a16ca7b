"""RabbitMQ streams through Spark Structured Streaming (format "luaconn", connector
rabbitmq.lua) against a real broker: exactly-once into a Parquet sink across a stop,
a dropped broker connection, a broker restart and restarts from the checkpoint; confirmed publishes
from a batch write and from a streaming write."""
import json
import threading
import time

import pyarrow.parquet as pq
import pytest

import luaconn

TOTAL = 50_000


def publish(url, queue, start, count):
    with luaconn.Connector("rabbitmq", broker=url, queue=queue, write_id=f"pub{start}") as conn:
        rows = [{"body": f"m{i}"} for i in range(start, start + count)]
        assert conn.write(conn.rows_from_json(rows))["rows"] == count


def stream(spark, broker, queue, sink, checkpoint):
    return (spark.readStream.format("luaconn")
            .option("connector", "rabbitmq").option("broker", broker.url)
            .option("queue", queue).option("partitions", "2")
            .option("max_records_per_batch", "4000")
            .load()
            .writeStream.format("parquet")
            .option("path", str(sink)).option("checkpointLocation", str(checkpoint))
            .trigger(processingTime="200 milliseconds")
            .start())


def committed_rows(query):
    return sum(p["numInputRows"] for p in query.recentProgress)


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_exactly_once_across_stop_connection_loss_broker_restart_and_restarts(spark, broker, tmp_path):
    queue, sink, checkpoint = "exactly-once", tmp_path / "sink", tmp_path / "checkpoint"
    publish(broker.url, queue, 0, 1000)   # the stream exists before the query starts
    publisher = threading.Thread(
        target=lambda: [publish(broker.url, queue, s, 7000) for s in range(1000, TOTAL, 7000)])
    started = time.monotonic()
    publisher.start()

    # 1. Stopped mid-way, while messages are still arriving.
    query = stream(spark, broker, queue, sink, checkpoint)
    wait_for(lambda: committed_rows(query) >= 8000, 120, "the first batches")
    query.stop()

    # 2. The broker drops every connection during a batch: the query fails cleanly.
    query = stream(spark, broker, queue, sink, checkpoint)
    wait_for(lambda: committed_rows(query) >= 4000, 120, "batches after the restart")
    broker.close_connections("dropped by the exactly-once test")
    try:
        query.awaitTermination(60)
    except Exception:
        pass            # failed on the dropped connection, or still running
    query.stop()

    # 3. The broker restarts under a running query: it fails cleanly or recovers.
    publisher.join()
    query = stream(spark, broker, queue, sink, checkpoint)
    broker.stop()
    broker.start()
    try:
        query.awaitTermination(20)
    except Exception:
        pass
    query.stop()

    # 4. Restarted from the checkpoint once the stream is back (a restarted node
    # takes a few seconds to serve it again), it catches up on everything published.
    deadline = time.monotonic() + 120
    while True:
        query = stream(spark, broker, queue, sink, checkpoint)
        try:
            query.processAllAvailable()
            query.stop()
            break
        except Exception:
            query.stop()
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    elapsed = time.monotonic() - started

    # The sink's log decides which files are committed (a failed batch can leave
    # orphans behind); Spark reads through it, and so does this check.
    committed = spark.read.parquet(str(sink))
    bodies = []
    for path in committed.inputFiles():
        table = pq.read_table(path.removeprefix("file://"), columns=["offset", "body"])
        file_offsets = table.column("offset").to_pylist()
        assert file_offsets == sorted(file_offsets), f"{path} out of offset order"
        bodies += table.column("body").to_pylist()
    assert len(bodies) == TOTAL, f"{len(bodies)} rows for {TOTAL} messages"
    assert sorted(int(body[1:]) for body in bodies) == list(range(TOTAL))
    assert committed.select("offset").distinct().count() == TOTAL
    print(f"exactly-once: {TOTAL} messages in {elapsed:.1f} s")


def test_batch_write_publishes_every_row_with_confirms(spark, broker):
    queue = "spark-batch-write"
    (spark.range(10_000).selectExpr("concat('row-', id) AS body").repartition(4)
     .write.format("luaconn").option("connector", "rabbitmq")
     .option("broker", broker.url).option("queue", queue).option("write_id", "job1")
     .mode("append").save())
    with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue) as conn:
        table = conn.read_all()
    assert sorted(table.column("body").to_pylist()) == sorted(f"row-{i}" for i in range(10_000))
    ids = table.column("message_id").to_pylist()
    assert len(set(ids)) == 10_000 and all(i.startswith("job1/") for i in ids)


def test_streaming_write_publishes_each_batch(spark, broker, tmp_path):
    source, target = "stream-write-in", "stream-write-out"
    publish(broker.url, source, 0, 3000)
    query = (spark.readStream.format("luaconn").option("connector", "rabbitmq")
             .option("broker", broker.url).option("queue", source).load()
             .selectExpr("upper(body) AS body")
             .writeStream.format("luaconn").option("connector", "rabbitmq")
             .option("broker", broker.url).option("queue", target)
             .option("checkpointLocation", str(tmp_path / "checkpoint"))
             .start())
    query.processAllAvailable()
    query.stop()
    with luaconn.Connector("rabbitmq", broker=broker.url, queue=target) as conn:
        table = conn.read_all()
    assert sorted(table.column("body").to_pylist()) == sorted(f"M{i}" for i in range(3000))
    # Ids name the query, batch and partition: a re-run batch repeats them.
    query_id = json.loads((tmp_path / "checkpoint" / "metadata").read_text())["id"]
    assert all(i.startswith(query_id + "-") for i in table.column("message_id").to_pylist())
