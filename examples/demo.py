#!/usr/bin/env python3
"""`make demo`: a real end-to-end read and write through rest.lua.

Starts the project's REST API (tests/fixtures/api_server.py) on 127.0.0.1, reads every
row from its cursor-paginated /items endpoint with `luaconn read rest`, pipes the rows
into `luaconn write rest`, which POSTs them in batches to /sink/demo, and prints what
arrived. Then runs the same scenario through Spark (examples/spark_rest_job.py).

Second scenario (RabbitMQ streams): starts a private rabbitmq-server
(tests/fixtures/broker.py), publishes N messages with confirms through rabbitmq.lua,
streams them through Spark Structured Streaming into a Parquet sink with a checkpoint,
and prints the count.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # Spark binds to loopback only
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import api_server  # noqa: E402  (the project's own test server)
from broker import Broker  # noqa: E402  (a private rabbitmq-server)


def fetch_json(url):
    with urllib.request.urlopen(url) as resp:
        return json.load(resp)


def cli_pipeline(cli, base_url, rows):
    print(f"== CLI: luaconn read rest | luaconn write rest  ({rows} rows, pages of 100)")
    started = time.monotonic()
    reader = subprocess.Popen(
        [cli, "read", "rest", "-o", f"url={base_url}/items?rows={rows}", "-o", "page_size=100"],
        stdout=subprocess.PIPE)
    writer = subprocess.run(
        [cli, "write", "rest", "-o", f"target_url={base_url}/sink/demo", "-o", "batch_size=500"],
        stdin=reader.stdout, stderr=subprocess.PIPE, text=True)
    reader.stdout.close()
    if reader.wait() != 0 or writer.returncode != 0:
        sys.exit(f"demo failed: {writer.stderr.strip()}")
    sink = fetch_json(f"{base_url}/sink/demo")
    source = api_server.dataset(rows)
    exact = sink["rows"] == source
    print(f"read {len(source)} rows, the sink received {len(sink['rows'])} rows in "
          f"{len(sink['batches'])} POSTs of {sorted(set(sink['batches']), reverse=True)} rows; "
          f"identical to the source: {exact}; {time.monotonic() - started:.2f} s")
    print("first rows at the sink:")
    for row in sink["rows"][:3]:
        print("  ", json.dumps(row, ensure_ascii=False))
    if not exact:
        sys.exit("demo failed: the sink does not hold exactly the source rows")


def stream_scenario(messages):
    import tempfile

    from pyspark.sql import SparkSession

    import luaconn
    import luaconn.spark

    print(f"== RabbitMQ stream -> Spark Structured Streaming -> Parquet ({messages} messages)")
    with Broker() as broker, tempfile.TemporaryDirectory(prefix="luaconn-demo-") as work:
        started = time.monotonic()
        with luaconn.Connector("rabbitmq", broker=broker.url, queue="demo", write_id="demo") as conn:
            rows = [{"body": json.dumps({"n": i})} for i in range(messages)]
            published = conn.write(conn.rows_from_json(rows))["rows"]
        print(f"published {published} messages with publisher confirms "
              f"in {time.monotonic() - started:.2f} s")
        os.environ["PYSPARK_PYTHON"] = sys.executable
        spark = (SparkSession.builder.master("local[2]").appName("luaconn-demo-stream")
                 .config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        luaconn.spark.register(spark)
        started = time.monotonic()
        query = (spark.readStream.format("luaconn").option("connector", "rabbitmq")
                 .option("broker", broker.url).option("queue", "demo")
                 .option("max_records_per_batch", "5000").load()
                 .writeStream.format("parquet")
                 .option("path", os.path.join(work, "sink"))
                 .option("checkpointLocation", os.path.join(work, "checkpoint"))
                 .start())
        query.processAllAvailable()
        query.stop()
        sink = spark.read.parquet(os.path.join(work, "sink"))
        count, distinct = sink.count(), sink.select("offset").distinct().count()
        batches = len(query.recentProgress)
        spark.stop()
    print(f"the Parquet sink holds {count} rows ({distinct} distinct offsets) from {batches} "
          f"micro-batches; {time.monotonic() - started:.2f} s")
    if count != messages or distinct != messages:
        sys.exit("demo failed: the sink does not hold every message exactly once")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=os.path.join(ROOT, "build", "luaconn"))
    parser.add_argument("--rows", type=int, default=2500)
    parser.add_argument("--messages", type=int, default=20_000, help="messages streamed from RabbitMQ")
    parser.add_argument("--skip-spark", action="store_true", help="only the CLI part")
    args = parser.parse_args()
    server, base_url = api_server.start_server(rows=args.rows)
    try:
        cli_pipeline(args.cli, base_url, args.rows)
        spark_job = os.path.join(ROOT, "examples", "spark_rest_job.py")
        if not args.skip_spark:
            print("== Spark: read /items, upper-case status, write to /sink/spark")
            subprocess.run([sys.executable, spark_job, "--base-url", base_url], check=True)
    finally:
        server.shutdown()
    if not args.skip_spark:
        stream_scenario(args.messages)


if __name__ == "__main__":
    main()
