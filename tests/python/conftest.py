"""Fixtures for the Python binding and Spark tests (tests/conftest.py has api_server).

- spark: one SparkSession for the whole session (local[2]: Python workers are separate
  processes, so pickling and executor-side imports are exercised), with format
  "luaconn" registered.
- connectors_dir: tests/python/connectors, the test connectors' directory.
- sink: sink(name) -> every row the api_server's /sink/<name> received.
"""
import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

CONNECTORS_DIR = Path(__file__).resolve().parent / "connectors"


@pytest.fixture(scope="session")
def connectors_dir():
    return CONNECTORS_DIR


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    import luaconn.spark

    # Executors' Python workers run the interpreter running the tests; Spark binds
    # to loopback only (by default it picks the first non-loopback interface).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (SparkSession.builder.master("local[2]")
               .appName("luaconn-tests")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.memory", "1g")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    luaconn.spark.register(session)
    yield session
    session.stop()


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.load(reply)


@pytest.fixture(scope="session")
def sink(api_server):
    """sink(name) -> {"batches": [sizes], "rows": [rows]} held by /sink/<name>."""
    return lambda name: get_json(f"{api_server}/sink/{name}")
