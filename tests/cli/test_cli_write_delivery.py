"""Writes a strict target can trust (rest.lua through luaconn.delivery, against
tests/fixtures/ledger_server.py): idempotency keys make retries after a lost answer
and whole re-runs with the same write_id apply nothing twice; 207 per-record results
are counted and reported; past max_rejected the write fails."""
import json
import urllib.request

import pytest
from ledger_server import start_ledger_server

ROWS = 1000


@pytest.fixture(scope="module")
def ledger():
    server, base = start_ledger_server()
    yield base
    server.shutdown()
    server.server_close()


def lines():
    return "".join(json.dumps({"id": i, "name": None if i % 23 == 0 else f"n{i}", "status": "ok"})
                   + "\n" for i in range(1, ROWS + 1))


def write(cli, target, *options):
    args = ["write", "rest", "-o", f"target_url={target}", "-o", "batch_size=100",
            "-o", "backoff=0.01"]
    for option in options:
        args += ["-o", option]
    return cli.run(*args, input=lines())


def state(target):
    with urllib.request.urlopen(target) as reply:
        return json.load(reply)


def test_retries_and_reruns_apply_nothing_twice_and_rejections_are_reported(cli, ledger, unique_key):
    target = f"{ledger}/ledger/{unique_key}"
    first = write(cli, target, "write_id=job-1", "max_rejected=50").ok()
    rejected = ROWS // 23
    assert f"wrote {ROWS - rejected} rows; the target rejected {rejected}" in first.stderr
    assert f"{rejected} of {ROWS} rows were rejected by {target}; first: row 23: " in first.stderr
    after_first = state(target)
    ids = [row["id"] for row in after_first["rows"]]
    assert len(ids) == len(set(ids)) == ROWS - rejected        # the 503s were retried, once applied
    assert after_first["keys"] == 10 and after_first["posts"] > 10

    write(cli, target, "write_id=job-1", "max_rejected=50").ok()
    after_second = state(target)
    assert after_second["rows"] == after_first["rows"] and after_second["keys"] == 10


def test_more_rejections_than_allowed_fail_the_write(cli, ledger, unique_key):
    target = f"{ledger}/ledger/{unique_key}"
    error = write(cli, target).error()
    assert f"{ROWS // 23} of {ROWS} rows were rejected by {target}; first: row 23: " in error
    assert "(more than max_rejected=0)" in error


def test_a_target_demanding_keys_refuses_writes_without_them(cli, ledger, unique_key):
    error = write(cli, f"{ledger}/ledger/{unique_key}", "idempotency_header=").error()
    assert "HTTP 400" in error and "Idempotency-Key header is required" in error
