"""The auth fallback chain (luaconn.auth through rest.lua) against the test API's
token-demanding endpoints: every source alone, precedence, the listed-sources error,
every auth kind, OAuth2 refresh, and the token never shown."""
import base64
import json
import urllib.request

import pytest
from api_server import API_TOKEN, BASIC_PASSWORD, BASIC_USER, CLIENT_ID, CLIENT_SECRET, dataset



def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.load(reply)

WRONG = "wrong-credential-9z8y"
NO_API_KEY = {"API_KEY": ""}


def read(cli, url, *options, env=None):
    args = ["read", "rest", "-o", f"url={url}", "-o", "page_size=500"]
    for option in options:
        args += ["-o", option]
    return cli.run(*args, env={**NO_API_KEY, **(env or {})})


def secrets_file(tmp_path, text, name="secrets.json"):
    path = tmp_path / name
    path.write_text(text)
    return {"LUACONN_SECRETS_FILE": str(path)}


def assert_all_rows(result, n=2500):
    assert result.ok().rows() == dataset(n)


def test_explicit_option_alone(cli, api_server):
    assert_all_rows(read(cli, f"{api_server}/auth/bearer/items", "auth=bearer", f"api_key={API_TOKEN}"))


@pytest.mark.parametrize("text", [json.dumps({"team": {"token": API_TOKEN}}),
                                  f"# key=value lines\nother.x=1\nteam.token={API_TOKEN}\n"])
def test_secrets_file_alone(cli, api_server, tmp_path, text):
    env = secrets_file(tmp_path, text)
    assert_all_rows(read(cli, f"{api_server}/auth/bearer/items", "auth=bearer",
                         "secret_scope=team", "secret_key=token", env=env))


def test_environment_variable_alone(cli, api_server):
    assert_all_rows(read(cli, f"{api_server}/auth/bearer/items", "auth=bearer",
                         env={"API_KEY": API_TOKEN}))
    assert_all_rows(read(cli, f"{api_server}/auth/bearer/items", "auth=bearer",
                         "api_key_env=MY_SERVICE_TOKEN", env={"MY_SERVICE_TOKEN": API_TOKEN}))


def test_precedence_option_then_store_then_environment(cli, api_server, tmp_path):
    url = f"{api_server}/auth/bearer/items"
    good_store = secrets_file(tmp_path, json.dumps({"s": {"k": API_TOKEN}}), "good.json")
    bad_store = secrets_file(tmp_path, json.dumps({"s": {"k": WRONG}}), "bad.json")
    store = ["secret_scope=s", "secret_key=k"]
    # The option wins over a wrong store and a wrong environment variable...
    assert_all_rows(read(cli, url, "auth=bearer", f"api_key={API_TOKEN}", *store,
                         env={**bad_store, "API_KEY": WRONG}))
    # ...and a wrong option loses even when both others are right.
    assert "HTTP 401" in read(cli, url, "auth=bearer", f"api_key={WRONG}", *store,
                              env={**good_store, "API_KEY": API_TOKEN}).error()
    # The store wins over the environment variable, both ways round.
    assert_all_rows(read(cli, url, "auth=bearer", *store, env={**good_store, "API_KEY": WRONG}))
    assert "HTTP 401" in read(cli, url, "auth=bearer", *store,
                              env={**bad_store, "API_KEY": API_TOKEN}).error()


def test_nothing_set_lists_every_source_in_order(cli, api_server, tmp_path):
    error = read(cli, f"{api_server}/auth/bearer/items", "auth=bearer").error()
    sources = ["1. option 'api_key' (not set)",
               "2. secret store (options secret_scope and secret_key not set)",
               "3. environment variable API_KEY (not set)"]
    assert "no credentials for auth=bearer" in error
    assert [error.index(s) for s in sources] == sorted(error.index(s) for s in sources)

    env = secrets_file(tmp_path, f"team.other={API_TOKEN}\n", "s.env")
    error = read(cli, f"{api_server}/auth/bearer/items", "auth=bearer", "secret_scope=team",
                 "secret_key=token", "api_key_env=ALSO_UNSET", env=env).error()
    assert f"secret store (scope 'team', key 'token': not in secrets file {tmp_path}/s.env)" in error
    assert "3. environment variable ALSO_UNSET (not set)" in error
    assert API_TOKEN not in error


@pytest.mark.parametrize("kind, options", [
    ("bearer", [f"api_key={API_TOKEN}"]),
    ("header", [f"api_key={API_TOKEN}"]),
    ("query", [f"api_key={API_TOKEN}"]),
    ("basic", [f"username={BASIC_USER}", f"api_key={BASIC_PASSWORD}"]),
])
def test_each_auth_kind(cli, api_server, kind, options):
    url = f"{api_server}/auth/{kind}/items"
    assert_all_rows(read(cli, url, f"auth={kind}", *options))
    assert "HTTP 401" in read(cli, url).error(), "the endpoint really demands credentials"


def oauth2(cli, api_server, key, token_query, *extra):
    return read(cli, f"{api_server}/auth/oauth2/items", "auth=oauth2", f"client_id={CLIENT_ID}",
                f"api_key={CLIENT_SECRET}", f"token_url={api_server}/oauth/token?key={key}&{token_query}",
                *extra)


def test_oauth2_token_rejected_with_401_is_refreshed_once_and_the_read_completes(
        cli, api_server, unique_key):
    # Each token is good for 2 requests; 5 pages of 500 need 3 tokens, and each
    # 401 costs exactly one new token (never a loop, never a failed read).
    assert_all_rows(oauth2(cli, api_server, unique_key, "uses=2"))
    assert get_json(f"{api_server}/oauth/stats?key={unique_key}") == {"issued": 3, "rejected": 2}


def test_oauth2_token_expired_by_time_is_refreshed(cli, api_server, unique_key):
    result = oauth2(cli, api_server, unique_key, "ttl=1", "page_size=250",
                    f"url={api_server}/auth/oauth2/items?slow=0.3")
    assert_all_rows(result)
    stats = get_json(f"{api_server}/oauth/stats?key={unique_key}")
    assert stats["issued"] >= 2, stats   # 10 pages over ~3 s outlive a 1 s token
    assert stats["rejected"] <= stats["issued"] - 1, stats


def test_wrong_client_secret_is_a_clear_error_without_the_secret(cli, api_server, unique_key):
    error = read(cli, f"{api_server}/auth/oauth2/items", "auth=oauth2", f"client_id={CLIENT_ID}",
                 f"api_key={WRONG}", f"token_url={api_server}/oauth/token?key={unique_key}").error()
    assert "/oauth/token" in error and "HTTP 401" in error
    assert WRONG not in error


def test_the_token_never_appears_in_logs_or_errors(cli, api_server, tmp_path):
    # A failure whose URL carries the key (auth=query), with debug logging on.
    result = cli.run("-v", "read", "rest", "-o",
                     f"url={api_server}/auth/query/items?fail=500", "-o", "auth=query",
                     "-o", "retries=1", env={"API_KEY": API_TOKEN})
    assert result.returncode != 0
    assert "api_key=***" in result.stderr
    assert API_TOKEN not in result.stderr + result.stdout
    # Success with every source set: nothing on stderr shows it either.
    env = secrets_file(tmp_path, json.dumps({"s": {"k": API_TOKEN}}))
    ok = read(cli, f"{api_server}/auth/header/items", "auth=header", "secret_scope=s",
              "secret_key=k", env={**env, "API_KEY": API_TOKEN})
    assert_all_rows(ok)
    assert API_TOKEN not in ok.stderr


SENT_HEADER = """
local auth = require "luaconn.auth"
return { schema = "sent STRING", options = auth.with_options { url = {}, header = {} },
  read = function(opts, partition, emit)
    local echo = auth.fetcher(opts)(opts.url)
    emit { sent = echo.headers[opts.header] }
  end }
"""


@pytest.mark.parametrize("options, header, sent", [
    (["auth=basic", "api_key=pw-only"], "authorization",
     "Basic " + base64.b64encode(b":pw-only").decode()),
    (["auth=basic", "basic_secret=username", "api_key=sk_test_key"], "authorization",
     "Basic " + base64.b64encode(b"sk_test_key:").decode()),
    (["auth=basic", "username=ann", "api_key=pw-ann"], "authorization",
     "Basic " + base64.b64encode(b"ann:pw-ann").decode()),
    (["auth=header", "api_key_header=Authorization", "api_key_prefix=token ", "api_key=ghp_abc"],
     "authorization", "token ghp_abc"),
    (["auth=header", "api_key_header=X-Custom-Key", "api_key=k-123"], "x-custom-key", "k-123"),
])
def test_auth_variants_send_what_the_api_expects(cli, lua_script, api_server, options, header, sent):
    script = lua_script(SENT_HEADER)
    args = ["read", script, "-o", f"url={api_server}/echo", "-o", f"header={header}"]
    for option in options:
        args += ["-o", option]
    assert cli.run(*args).ok().rows() == [{"sent": sent}]


def test_basic_secret_must_be_password_or_username(cli, api_server):
    error = cli.run("read", "rest", "-o", f"url={api_server}/items", "-o", "auth=basic",
                    "-o", "api_key=xyz12345", "-o", "basic_secret=both").error()
    assert "option 'basic_secret' must be password or username, not 'both'" in error
