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


# ---- redaction: the encoded forms a secret takes on its way out --------------------

ENCODED = "ab%2Bcd%2Fef%3Dgh%26ij%20k"   # SECRET as a URL query carries it
JSON_ESCAPED = "ab+cd\\/ef=gh&ij k"       # SECRET inside json.encode's text


def assert_hidden(text):
    for form in (SECRET, ENCODED, JSON_ESCAPED):
        assert form not in text, f"{form!r} shown in {text!r}"


def test_8_a_query_key_is_hidden_url_encoded_in_errors_and_debug_lines(cli, api_server):
    result = cli.run("read", "rest", "-v", "-o", f"url={api_server}/auth/query/items",
                     "-o", "auth=query", "-o", f"api_key={SECRET}", "-o", "retries=0")
    assert result.returncode == 1 and "HTTP 401" in result.stderr
    assert "api_key=***" in result.stderr   # the debug line of the request
    assert_hidden(result.stderr)


def test_8_a_logged_table_hides_the_json_escaped_secret(cli, lua_script):
    path = lua_script('local log = require "log"\n'
                      'return { schema = "x INT", options = { key = { type = "string", secret = true } },\n'
                      '  read = function(opts, p, emit) log.warn(opts) emit{x = 1} end }\n')
    result = cli.run("read", path, "-o", f"key={SECRET}").ok()
    assert '"key":"***"' in result.stderr
    assert_hidden(result.stderr)


def test_8_an_upper_or_lower_cased_secret_is_hidden(cli, lua_script):
    path = lua_script('local log = require "log"\n'
                      'return { schema = "x INT", options = { key = { type = "string", secret = true } },\n'
                      '  read = function(opts, p, emit)\n'
                      '    log.warn("upper %s lower %s", opts.key:upper(), opts.key:lower())\n'
                      '    error("failed with " .. opts.key:upper()) end }\n')
    result = cli.run("read", path, "-o", "key=MiXeD-Case-Key-42")
    assert result.returncode == 1
    assert "upper *** lower ***" in result.stderr and "failed with ***" in result.stderr
    assert "mixed-case-key-42" not in result.stderr.lower(), result.stderr


def test_8_basic_credentials_stay_hidden_in_an_echoed_body(cli, lua_script, api_server):
    """The runtime sends base64(user:password); a script logging what came back
    (here the echo of its own request) shows neither form."""
    path = lua_script('local log = require "log"\nlocal auth = require "luaconn.auth"\n'
                      'return { schema = "x INT", options = auth.with_options{ url = { type = "string" } },\n'
                      '  read = function(opts, p, emit)\n'
                      '    local doc = auth.fetcher(opts)(opts.url)\n'
                      '    log.warn("echo: %s", require("json").encode(doc.headers)) emit{x = 1} end }\n')
    result = cli.run("read", path, "-o", f"url={api_server}/echo", "-o", "auth=basic",
                     "-o", "username=bob", "-o", f"api_key={SECRET}").ok()
    assert '"authorization":"***"' in result.stderr, result.stderr
    assert_hidden(result.stderr)


def test_8_a_url_password_is_hidden(cli):
    message = cli.run("read", "rest", "-o", "url=http://bob:PW55word@127.0.0.1:1/items",
                      "-o", "retries=0").error()
    assert "http://bob:***@127.0.0.1:1/items" in message and "PW55word" not in message


@pytest.mark.parametrize("option", ['headers={"Authorization":"Bearer T0KEN-123"',
                                    "api_keyT0KEN-123"])
def test_8_option_parsing_errors_never_echo_values(cli, api_server, option):
    message = cli.run("read", "rest", "-o", f"url={api_server}/items", "-o", option).error()
    assert "T0KEN-123" not in message
    assert "headers" in message or "KEY=VALUE" in message
