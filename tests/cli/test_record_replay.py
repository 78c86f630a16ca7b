"""Record and replay: `luaconn read ... --record DIR` stores every HTTP exchange with
secrets redacted; `--replay DIR` (and luaconn.Connector(replay_dir=...)) answers from
it with no server running, and a request that was not recorded fails naming it."""
import pytest
from styles_server import GITHUB_TOKEN, OPTIONS, SCHEMAS, expected, start_styles_server

import luaconn


def options(url, *extra):
    args = ["-o", f"url={url}", "-o", f"schema={SCHEMAS['github']}"]
    for option in OPTIONS["github"] + list(extra):
        args += ["-o", option]
    return args


@pytest.fixture
def recording(cli, tmp_path):
    """(url, DIR): a GitHub-style read recorded from a server that is gone afterwards."""
    server, base = start_styles_server(records=450)
    url = f"{base}/github/users?key=rec"
    try:
        recorded = cli.run("--record", tmp_path / "tape", "read", "rest", *options(url)).ok()
    finally:
        server.shutdown()
        server.server_close()
    assert recorded.rows() == expected("github", 450)
    return url, tmp_path / "tape"


def test_a_recorded_read_replays_with_no_server(cli, recording):
    url, tape = recording
    files = list(tape.iterdir())
    assert len(files) == 5   # 5 pages of 100; the 403 was retried inside one request
    assert all(GITHUB_TOKEN not in f.read_text() for f in files)
    replayed = cli.run("--replay", tape, "read", "rest", *options(url)).ok()
    assert replayed.rows() == expected("github", 450)


def test_a_changed_request_fails_naming_it(cli, recording):
    url, tape = recording
    error = cli.run("--replay", tape, "read", "rest", *options(url, "page_size=50")).error()
    assert f"GET {url}&per_page=50: not in the recording {tape} (replay)" in error
    assert f"recorded for this path: GET {url}&per_page=" in error


def test_the_python_connector_replays_too(recording):
    url, tape = recording
    opts = dict(o.split("=", 1) for o in OPTIONS["github"])
    conn = luaconn.Connector("rest", replay_dir=str(tape), url=url, schema=SCHEMAS["github"],
                             **opts)
    assert conn.read_all().num_rows == 450
