"""A Spark standalone master and worker on 127.0.0.1 run examples/spark_rest_job.py:
executors in their own JVMs and Python workers read and write through rest.lua."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
from api_server import dataset

ROWS = 10_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_class():
    import pyspark
    return Path(pyspark.__file__).resolve().parent / "bin" / "spark-class"


def wait_until(condition, timeout, what, logs):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{tails}")


def alive_workers(webui_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{webui_port}/json/", timeout=5) as r:
            return json.load(r).get("aliveworkers", 0)
    except OSError:
        return 0


def start_daemon(stack, args, log_path, env):
    log = stack.enter_context(open(log_path, "wb"))
    proc = subprocess.Popen([str(spark_class()), *args], stdout=log, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    stack.callback(stop_group, proc)
    return proc


def stop_group(proc):
    """Stops the daemon and every process it started (its own process group)."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


def test_standalone_cluster_reads_and_writes(api_server, sink, source_dir, tmp_path, unique_key):
    master_port, master_ui, worker_port, worker_ui = (free_port() for _ in range(4))
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_MEMORY": "512m",
           "PYSPARK_PYTHON": sys.executable, "SPARK_WORKER_DIR": str(tmp_path / "work")}
    master_url = f"spark://127.0.0.1:{master_port}"
    logs = [tmp_path / "master.log", tmp_path / "worker.log"]
    with ExitStack() as stack:
        start_daemon(stack, ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                             "--port", str(master_port), "--webui-port", str(master_ui)],
                     logs[0], env)
        wait_until(lambda: _listening(master_port), 90, "the master", logs)
        start_daemon(stack, ["org.apache.spark.deploy.worker.Worker", master_url,
                             "--host", "127.0.0.1", "--port", str(worker_port),
                             "--webui-port", str(worker_ui), "--cores", "2",
                             "--memory", "2g", "--work-dir", str(tmp_path / "work")],
                     logs[1], env)
        wait_until(lambda: alive_workers(master_ui) == 1, 90, "the worker to register", logs)

        job = subprocess.run(
            [sys.executable, str(source_dir / "examples" / "spark_rest_job.py"),
             "--base-url", api_server, "--master", master_url, "--rows", str(ROWS),
             "--sink", unique_key],
            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
        assert job.returncode == 0, f"stdout:\n{job.stdout}\nstderr:\n{job.stderr[-5000:]}"
        print(job.stdout)

    # The executor ran in a JVM the worker launched (its logs are in the work dir).
    assert list((tmp_path / "work").glob("app-*/*/stderr"))
    want = [dict(r, status=r["status"] and r["status"].upper()) for r in dataset(ROWS)]
    received = sink(unique_key)["rows"]
    assert len(received) == ROWS
    assert sorted(received, key=lambda r: r["id"]) == want
    assert f"read    {ROWS} rows" in job.stdout


def _listening(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0
