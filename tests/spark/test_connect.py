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
def client(connect_server, api_server, tmp_path_factory) -> dict:
    """What connect_client.py, a Connect client in its own process, saw."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("connect_client.py")), connect_server,
         api_server, str(tmp_path_factory.mktemp("client"))],
        input=API_TOKEN, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_register_from_a_connect_session(client):
    assert client["session"].startswith("pyspark.sql.connect")


def test_batch_read_and_write(client, api_server):
    assert client["read"] == 2500
    with urllib.request.urlopen(f"{api_server}/sink/{client['sink']}", timeout=30) as reply:
        rows = json.load(reply)["rows"]
    assert len(rows) == 2500 and {r["status"] for r in rows} == {"ACTIVE", "INACTIVE", None}


def test_stream_read(client):
    assert client["stream"] == list(range(1, 121))


def test_credentials_from_the_clusters_secrets_file(client):
    assert client["secrets_file_read"] == 2500


def test_session_conf_secrets_fail_naming_the_routes_that_work(client):
    text = client["conf_store_error"]
    assert "no credentials for auth=bearer" in text
    assert "Spark Connect hides conf entries named *secret* from clients" in text
    assert "LUACONN_SECRETS_FILE" in text and "api_key_env" in text
    assert API_TOKEN not in text
