"""Shared pytest fixtures for luaconn's tests: one fixture per resource, each started
only when a test asks for it.

- source_dir: the repository root (env LUACONN_SOURCE_DIR, else the parent of tests/).
- api_server: base URL of tests/fixtures/api_server.py running in-process (one per session).
- styles_server: base URL of tests/fixtures/styles_server.py (GitHub-, Stripe- and
  JSON:API-shaped APIs with 2,000 records each), one per session.
- cli / run_cli: the `luaconn` executable (env LUACONN_CLI, else build/luaconn).
- attempts: attempts(key) -> what the api_server saw for that key (count, times).
- unique_key: a fresh `key` for the test server's per-key fault counters.
- sink: sink(name) -> every row the api_server's /sink/<name> received.
- lua_script: writes a connector script into the test's tmp_path.
- connectors_dir: tests/fixtures/connectors, the test connectors' directory.
- spark: one SparkSession for the whole session (local[2]: Python workers are separate
  processes, so pickling and executor-side imports are exercised), with format
  "luaconn" registered.
- broker: a private RabbitMQ broker (tests/fixtures/broker.py) for the whole session.

Test modules import the helpers in tests/fixtures directly:
`from api_server import dataset`, `from broker import free_port`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES_DIR = TESTS_DIR / "fixtures"
sys.path.insert(0, str(FIXTURES_DIR))

from api_server import start_server  # noqa: E402
from styles_server import start_styles_server  # noqa: E402
from broker import Broker  # noqa: E402
from tls import issue, make_ca, start_https  # noqa: E402


@pytest.fixture(scope="session")
def source_dir() -> Path:
    return Path(os.environ.get("LUACONN_SOURCE_DIR", TESTS_DIR.parent)).resolve()


@pytest.fixture(scope="session")
def api_server():
    """Base URL (http://127.0.0.1:PORT) of a test API server holding 2,500 rows."""
    server, base_url = start_server(rows=2500)
    yield base_url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def styles_server():
    """Base URL of the three-styles server (tests/fixtures/styles_server.py)."""
    server, base_url = start_styles_server()
    yield base_url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def attempts(api_server):
    """attempts(key) -> {"count": n, "times": [...]}: what the server saw for that key."""
    def fetch(key: str) -> dict:
        with urllib.request.urlopen(f"{api_server}/_attempts?key={quote(key)}") as reply:
            return json.load(reply)
    return fetch


@pytest.fixture(scope="session")
def sink(api_server):
    """sink(name) -> {"batches": [sizes], "rows": [rows]} held by /sink/<name>."""
    def fetch(name: str) -> dict:
        with urllib.request.urlopen(f"{api_server}/sink/{name}", timeout=30) as reply:
            return json.load(reply)
    return fetch


@pytest.fixture
def unique_key(request) -> str:
    """A key no other test uses, so fault counters and sinks start empty."""
    return f"{request.node.name}-{uuid.uuid4().hex[:8]}".replace("[", "-").replace("]", "")


class CliResult(subprocess.CompletedProcess):
    """A finished `luaconn` run; stdout and stderr are str, decoded as UTF-8 with
    line endings untouched (csv output and "\\r\\n" inside values must survive)."""

    def rows(self) -> list[dict]:
        """stdout parsed as JSON lines. Splits on "\\n" only: values may hold other
        Unicode line separators."""
        return [json.loads(line) for line in self.stdout.split("\n") if line]

    def ok(self) -> "CliResult":
        """Asserts the run succeeded; returns self."""
        assert self.returncode == 0, f"exit {self.returncode}; stderr: {self.stderr!r}"
        return self

    def error(self) -> str:
        """Asserts the run failed the way the CLI promises (a non-zero exit, not a
        signal, and one line `luaconn: ...` on stderr) and returns that line."""
        assert self.returncode > 0, (
            f"expected a failure exit, got {self.returncode}; stderr: {self.stderr!r}")
        lines = [line for line in self.stderr.split("\n") if line]
        assert len(lines) == 1, f"expected one stderr line, got: {self.stderr!r}"
        assert lines[0].startswith("luaconn: "), lines[0]
        return lines[0]


class Cli:
    def __init__(self, path: Path, source_dir: Path):
        self.path = path
        self.source_dir = source_dir

    def environment(self, extra: dict | None = None) -> dict:
        """The CLI's environment: scripts come from the source tree
        (LUACONN_LUA_ROOT) unless the caller's environment says otherwise."""
        return {"LUACONN_LUA_ROOT": str(self.source_dir / "lua"), **os.environ,
                **(extra or {})}

    def run(self, *args, input: str | None = None, timeout: float = 60,
            env: dict | None = None) -> CliResult:
        """Runs `luaconn ARGS...` and waits for it (at most timeout seconds)."""
        proc = subprocess.run(
            [str(self.path), *map(str, args)],
            input=None if input is None else input.encode("utf-8"),
            capture_output=True, timeout=timeout, cwd=self.source_dir,
            env=self.environment(env))
        return CliResult(proc.args, proc.returncode,
                         proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))


@pytest.fixture(scope="session")
def cli(source_dir) -> Cli:
    path = Path(os.environ.get("LUACONN_CLI", source_dir / "build" / "luaconn"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"luaconn CLI not found at {path}: run `make all` or set LUACONN_CLI")
    return Cli(path, source_dir)


@pytest.fixture
def lua_script(tmp_path):
    """lua_script(source, name="connector.lua") writes a connector file; returns its path."""
    def write(source: str, name: str = "connector.lua") -> Path:
        path = tmp_path / name
        path.write_text(source, encoding="utf-8")
        return path
    return write


@pytest.fixture(scope="session")
def run_cli(cli):
    """run_cli(*args, input=None, timeout=60) -> CliResult (a CompletedProcess)."""
    return cli.run


@pytest.fixture(scope="session")
def connectors_dir() -> Path:
    return FIXTURES_DIR / "connectors"


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


@pytest.fixture(scope="session")
def broker() -> Broker:
    """A running private broker; tests may stop and start it (it keeps its port)."""
    with Broker() as running:
        yield running


@pytest.fixture(scope="session")
def https(tmp_path_factory):
    """(url of an HTTPS API server, the CA that signed its certificate, another CA)."""
    base = tmp_path_factory.mktemp("tls")
    ca = make_ca(base / "ca")
    server, url = start_https(*issue(ca, base / "server"))
    yield f"{url}/items", ca.cert, make_ca(base / "other", "some other CA").cert
    server.shutdown()
    server.server_close()
