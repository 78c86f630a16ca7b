"""Credentials stay with their host (issue 12, defects 7 and 8): a redirect to another
host, scheme or port drops every credential a request carries, and secrets are
redacted in the forms the runtime itself gives them."""

import json
from urllib.parse import quote, urlsplit

import pytest

SECRET = "ab+cd/ef=gh&ij k"

ECHO_THROUGH_REDIRECT = """\
local http = require "http"
local json = require "json"
return {
  schema = "method STRING, headers STRING",
  options = { url = { type = "string" }, key = { type = "string", secret = true },
              method = { type = "string", default = "GET" } },
  read = function(opts, partition, emit)
    local response = http.request{ method = opts.method, url = opts.url, body = "payload",
      headers = { ["X-API-Key"] = opts.key, Authorization = "Bearer " .. opts.key,
                  ["X-Session-Token"] = "session-token-123", ["X-Custom"] = opts.key,
                  ["X-Trace"] = "trace-1" } }
    local echo = json.decode(response.body)
    emit{ method = echo.method, headers = json.encode(echo.headers) }
  end }
"""


def redirect_to(api_server, target, status=302):
    return f"{api_server}/redirect?status={status}&to={quote(target, safe='')}"


def echoed(cli, lua_script, url, method="GET"):
    row = cli.run("read", lua_script(ECHO_THROUGH_REDIRECT), "-o", f"url={url}",
                  "-o", f"key={SECRET}", "-o", f"method={method}").ok().rows()[0]
    return row["method"], json.loads(row["headers"])


def other_host(api_server):
    """The same server under another host name: another origin."""
    return f"http://localhost:{urlsplit(api_server).port}"


def test_7_a_redirect_to_another_host_carries_no_credential(cli, lua_script, api_server):
    _, headers = echoed(cli, lua_script, redirect_to(api_server, f"{other_host(api_server)}/echo"))
    assert headers["host"].startswith("localhost:")
    for name in ("x-api-key", "authorization", "x-session-token", "x-custom"):
        assert name not in headers, f"{name} followed the redirect to another host"
    assert headers["x-trace"] == "trace-1"


def test_7_a_redirect_within_the_origin_keeps_them(cli, lua_script, api_server):
    _, headers = echoed(cli, lua_script, redirect_to(api_server, f"{api_server}/echo"))
    assert headers["x-api-key"] == SECRET and headers["authorization"] == f"Bearer {SECRET}"


def test_7_once_dropped_they_stay_dropped(cli, lua_script, api_server):
    back_home = redirect_to(api_server, f"{api_server}/echo")
    _, headers = echoed(cli, lua_script,
                        redirect_to(api_server, redirect_to(other_host(api_server), back_home)))
    assert "x-api-key" not in headers


@pytest.mark.parametrize("status, method", [(303, "GET"), (302, "GET"), (307, "POST")])
def test_a_redirected_post_follows_http_rules(cli, lua_script, api_server, status, method):
    got, _ = echoed(cli, lua_script, redirect_to(api_server, f"{api_server}/echo", status),
                    method="POST")
    assert got == method


def test_too_many_redirects_fail(cli, lua_script, api_server):
    url = f"{api_server}/echo"
    for _ in range(6):
        url = redirect_to(api_server, url)
    message = cli.run("read", lua_script(ECHO_THROUGH_REDIRECT), "-o", f"url={url}",
                      "-o", f"key={SECRET}").error()
    assert "more than 5 redirects" in message
    assert SECRET not in message
