"""The retry policy a connector declares (retry_on, retries, backoff) and the waits the
server asks for: Retry-After in seconds or as an HTTP date, X-RateLimit-Reset and the
IETF RateLimit headers, all bounded by the call's time budget; os.sleep in the sandbox."""
import email.utils
import json
import time
import urllib.parse
import urllib.request

import pytest
from styles_server import GITHUB_TOKEN


def read(cli, url, *options, timeout=None):
    args = (["--timeout", timeout] if timeout else []) + ["read", "rest", "-o", f"url={url}"]
    for option in options:
        args += ["-o", option]
    return cli.run(*args)


def gap(attempts, key):
    times = attempts(key)["times"]
    assert len(times) >= 2, times
    return times[1] - times[0]


def test_retry_after_as_an_http_date(cli, api_server, attempts, unique_key):
    date = urllib.parse.quote(email.utils.formatdate(time.time() + 2, usegmt=True))
    url = f"{api_server}/items?rows=5&key={unique_key}&fail=503&times=1&retry_after={date}"
    assert len(read(cli, url, "backoff=0.05").ok().rows()) == 5
    assert gap(attempts, unique_key) >= 0.9


@pytest.mark.parametrize("headers", [
    {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"},
    {"RateLimit-Remaining": "0", "RateLimit-Reset": "1"},
    {"RateLimit": "limit=10, remaining=0, reset=1"},
    {"RateLimit": '"default";r=0;t=1'},
])
def test_rate_limit_reset_headers_set_the_wait(cli, api_server, attempts, unique_key, headers):
    fault = urllib.parse.quote(json.dumps(headers))
    url = f"{api_server}/items?rows=5&key={unique_key}&fail=429&times=1&fault_headers={fault}"
    assert len(read(cli, url, "backoff=0.05").ok().rows()) == 5
    assert gap(attempts, unique_key) >= 0.95


def test_retry_on_replaces_the_retried_statuses(cli, api_server, attempts, unique_key):
    url = f"{api_server}/items?rows=5&key={unique_key}&fail=429&times=1"
    assert "HTTP 429" in read(cli, url, "retry_on=500-504").error()
    assert attempts(unique_key)["count"] == 1
    url = f"{api_server}/items?rows=5&key={unique_key}-b&fail=403&times=2"
    assert len(read(cli, url, "retry_on=403", "backoff=0.01").ok().rows()) == 5
    assert attempts(unique_key + "-b")["count"] == 3


def test_bad_retry_on_is_named(cli, api_server):
    error = read(cli, f"{api_server}/items", "retry_on=50x").error()
    assert "option 'retry_on': '50x' is not a status or a range such as 500-504" in error


def test_a_wait_past_the_time_budget_fails_at_once(cli, api_server, unique_key):
    url = f"{api_server}/items?rows=5&key={unique_key}&fail=503&retry_after=300"
    start = time.monotonic()
    error = read(cli, url, timeout=5).error()
    assert time.monotonic() - start < 4
    assert "HTTP 503" in error and "a retry was due in 300.0 s, past the call's time limit" in error


def test_a_used_up_rate_limit_delays_the_next_request(cli, styles_server, unique_key):
    url = f"{styles_server}/github/users?key={unique_key}&exhaust=1&records=150"
    read(cli, url, "paginator=link", "page_size_param=per_page", "auth=bearer",
         f"api_key={GITHUB_TOKEN}", "retry_on=403", "schema=id BIGINT").ok()
    with urllib.request.urlopen(f"{styles_server}/_log?key={unique_key}") as reply:
        log = json.load(reply)
    # page 1 (remaining 0, reset in 1-2 s), the 403 retried by policy, page 2
    assert log[1]["time"] - log[0]["time"] >= 0.9, log


def test_a_rate_limit_resetting_past_the_budget_fails_naming_it(cli, styles_server, unique_key):
    url = f"{styles_server}/github/users?key={unique_key}&exhaust=1&records=150"
    error = read(cli, url, "paginator=link", "page_size_param=per_page", "auth=bearer",
                 f"api_key={GITHUB_TOKEN}", "schema=id BIGINT", timeout=0.8).error()
    assert "rate limit is used up and resets in" in error and "past the call's time limit" in error


def test_sleep_in_the_sandbox_is_bounded_by_the_budget(cli, lua_script):
    script = lua_script("""
return { schema = "n INT", options = { seconds = { type = "number" } },
  read = function(opts, partition, emit) os.sleep(opts.seconds) emit { n = 1 } end }
""")
    start = time.monotonic()
    assert cli.run("read", script, "-o", "seconds=0.3").ok().rows() == [{"n": 1}]
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    error = cli.run("--timeout", "1", "read", script, "-o", "seconds=30").error()
    assert time.monotonic() - start < 5
    assert "time limit exceeded" in error


def test_paginate_takes_a_retry_policy(cli, lua_script, api_server, attempts, unique_key):
    script = lua_script("""
local paginate = require "luaconn.paginate"
return { schema = "id INT, name STRING, status STRING", options = { url = {} },
  read = function(opts, partition, emit)
    paginate.cursor({ url = opts.url, retry = { retry_on = { 403 }, backoff = 0.01 } }, emit)
  end }
""")
    url = f"{api_server}/items?rows=250&key={unique_key}&fail=403&times=1"
    assert len(cli.run("read", script, "-o", f"url={url}").ok().rows()) == 250
    assert attempts(unique_key)["count"] == 4
