#!/usr/bin/env python3
"""Spark job: read a paginated REST API, transform in Spark, write to a second endpoint.

The seed's first scenario with luaconn's bundled rest.lua connector instead of a
hand-written Python DataSource:

    python3 examples/spark_rest_job.py --base-url http://127.0.0.1:PORT

reads GET {base}/items (cursor pagination), upper-cases `status`, POSTs the rows in
batches to {base}/sink/{sink}, and prints the row counts seen on both sides. Start a
server with `python3 tests/fixtures/api_server.py --port 0`. Exits non-zero when the
counts differ.
"""
import argparse
import json
import os
import sys
import time
import urllib.request

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import luaconn.spark


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the REST API, http://HOST:PORT")
    parser.add_argument("--rows", type=int, default=10_000, help="rows the API serves")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=500, help="rows per POST")
    parser.add_argument("--sink", default="spark-demo", help="name of the target endpoint")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    base = args.base_url.rstrip("/")
    target = f"{base}/sink/{args.sink}"

    # Start from an empty target, so a rerun against the same server counts right.
    urllib.request.urlopen(urllib.request.Request(target, method="DELETE"), timeout=30).close()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the demo talks to loopback only
    spark = (SparkSession.builder.master(args.master).appName("luaconn-rest-job")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        luaconn.spark.register(spark)
        started = time.perf_counter()

        # --- the lines a Spark user writes ------------------------------------------
        items = (spark.read.format("luaconn")
                 .option("connector", "rest")
                 .option("url", f"{base}/items?rows={args.rows}")
                 .option("page_size", args.page_size)
                 .load())
        shouted = items.withColumn("status", F.upper("status"))
        (shouted.write.format("luaconn").mode("append")
         .option("connector", "rest")
         .option("target_url", target)
         .option("batch_size", args.batch_size)
         .save())
        # -----------------------------------------------------------------------------

        elapsed = time.perf_counter() - started
        read_count = items.count()
        with urllib.request.urlopen(target, timeout=30) as reply:
            received = json.load(reply)
    finally:
        spark.stop()

    written = len(received["rows"])
    print(f"read    {read_count} rows from {base}/items (page_size {args.page_size})")
    print(f"wrote   {written} rows to {target} in {len(received['batches'])} POSTs "
          f"(batch_size {args.batch_size})")
    print(f"time    {elapsed:.2f}s for read + transform + write on {args.master}")
    if written != read_count:
        print("counts differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
