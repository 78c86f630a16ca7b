#!/usr/bin/env python3
"""`make demo`: a real end-to-end read and write through rest.lua.

Starts the project's REST API (tests/server/api_server.py) on 127.0.0.1, reads every
row from its cursor-paginated /items endpoint with `luaconn read rest`, pipes the rows
into `luaconn write rest`, which POSTs them in batches to /sink/demo, and prints what
arrived. Then runs the same scenario through Spark (examples/spark_rest_job.py).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
import api_server  # noqa: E402  (the project's own test server)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default=os.path.join(ROOT, "build", "luaconn"))
    parser.add_argument("--rows", type=int, default=2500)
    parser.add_argument("--skip-spark", action="store_true", help="only the CLI part")
    args = parser.parse_args()
    server, base_url = api_server.start_server(rows=args.rows)
    try:
        cli_pipeline(args.cli, base_url, args.rows)
        spark_job = os.path.join(ROOT, "examples", "spark_rest_job.py")
        if not args.skip_spark and os.path.exists(spark_job):
            print("== Spark: read /items, upper-case status, write to /sink/spark")
            subprocess.run([sys.executable, spark_job, "--base-url", base_url], check=True)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
