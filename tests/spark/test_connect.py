"""Spark Connect as a route: a local Connect server (pyspark's sbin/start-connect-server.sh,
bound to 127.0.0.1) whose Python has luaconn installed, driven from a Connect client:
register, batch read and write, a stream read, and credentials the documented way
(LUACONN_SECRETS_FILE on the cluster; the session-conf store fails naming the routes)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from api_server import API_TOKEN

import luaconn.spark


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """sc://127.0.0.1:PORT of a Connect server whose cluster environment holds a secrets
    file with team.token."""
    import pyspark
    base = tmp_path_factory.mktemp("connect")
    secrets = base / "secrets.properties"
    secrets.write_text(f"team.token={API_TOKEN}\n")
    port = free_port()
    env = {**os.environ, "SPARK_HOME": os.path.dirname(pyspark.__file__),
           "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(base / "logs"), "SPARK_PID_DIR": str(base),
           "SPARK_IDENT_STRING": f"luaconn-{port}", "LUACONN_SECRETS_FILE": str(secrets)}
    env.pop("API_KEY", None)
    log = open(base / "server.log", "wb")
    server = subprocess.Popen(
        [os.path.join(env["SPARK_HOME"], "sbin", "start-connect-server.sh"), "--wait",
         "--master", "local[2]", "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
         "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.sql.shuffle.partitions=2"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (base / "server.log").read_text()[-3000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "Connect server did not start"
                time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def remote(connect_server):
    from pyspark.sql import SparkSession
    session = SparkSession.builder.remote(connect_server).getOrCreate()
    luaconn.spark.register(session)
    yield session
    session.stop()


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.load(reply)


def test_connect_session_is_remote(remote):
    assert type(remote).__module__.startswith("pyspark.sql.connect")


def test_batch_read_and_write(remote, api_server):
    from pyspark.sql.functions import upper
    df = (remote.read.format("luaconn").option("connector", "rest")
          .option("url", f"{api_server}/items").option("page_size", "500").load())
    assert df.count() == 2500
    name = f"connect-{int(time.time() * 1000)}"
    (df.withColumn("status", upper("status")).write.format("luaconn")
       .option("connector", "rest").option("target_url", f"{api_server}/sink/{name}")
       .mode("append").save())
    rows = get_json(f"{api_server}/sink/{name}")["rows"]
    assert len(rows) == 2500 and {r["status"] for r in rows} == {"ACTIVE", "INACTIVE", None}


def test_stream_read(remote, api_server, tmp_path):
    feed = f"{api_server}/feed/connect-{int(time.time() * 1000)}"
    urllib.request.urlopen(urllib.request.Request(f"{feed}?count=120", method="POST")).close()
    sink = tmp_path / "sink"
    query = (remote.readStream.format("luaconn").option("connector", "rest_stream")
             .option("url", feed).option("field", "seq").option("results_field", "events")
             .option("page_size", "50").option("schema", "seq BIGINT, name STRING").load()
             .writeStream.format("parquet").option("path", str(sink))
             .option("checkpointLocation", str(tmp_path / "checkpoint")).start())
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    seqs = sorted(r.seq for r in remote.read.parquet(str(sink)).collect())
    assert seqs == list(range(1, 121))


def bearer_read(remote, api_server, key):
    return (remote.read.format("luaconn").option("connector", "rest")
            .option("url", f"{api_server}/auth/bearer/items").option("auth", "bearer")
            .option("secret_scope", "team").option("secret_key", key).load())


def test_credentials_from_the_clusters_secrets_file(remote, api_server):
    assert bearer_read(remote, api_server, "token").count() == 2500


def test_session_conf_secrets_fail_naming_the_routes_that_work(remote, api_server):
    remote.conf.set("spark.luaconn.secrets.team.other", API_TOKEN)
    luaconn.spark.register(remote)
    with pytest.raises(Exception) as failure:
        bearer_read(remote, api_server, "other").collect()
    text = str(failure.value)
    assert "no credentials for auth=bearer" in text
    assert "Spark Connect hides conf entries named *secret* from clients" in text
    assert "LUACONN_SECRETS_FILE" in text and "api_key_env" in text
    assert API_TOKEN not in text
