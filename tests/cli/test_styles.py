"""rest.lua reads three real API shapes (tests/fixtures/styles_server.py) with options
only: GitHub (bare array, Link rel=next, bearer, 403 secondary rate limit), Stripe
(basic auth with the key as user, has_more + starting_after, unix seconds, 429
without Retry-After) and JSON:API (data/links.next relative, null at the end,
records under attributes, ISO-8601 with offsets). Plus the paging bugs found on the
way: an empty page with a next link, query parameters merged, cursor in a header or
a POST body."""
import json
import urllib.request

import pytest
from styles_server import GITHUB_TOKEN, OPTIONS, PATHS, SCHEMAS, STRIPE_KEY, expected

def read(cli, url, *options, env=None):
    args = ["read", "rest", "-o", f"url={url}"]
    for option in options:
        args += ["-o", option]
    return cli.run(*args, env=env)


def requests_made(base, key):
    with urllib.request.urlopen(f"{base}/_log?key={key}") as reply:
        return json.load(reply)


@pytest.mark.parametrize("style", ["github", "stripe", "jsonapi"])
def test_each_style_reads_every_record_once_with_options_only(cli, styles_server, unique_key, style):
    url = f"{styles_server}/{PATHS[style]}?key={unique_key}"
    rows = read(cli, url, *OPTIONS[style], f"schema={SCHEMAS[style]}").ok().rows()
    assert rows == expected(style)
    log = requests_made(styles_server, unique_key)
    assert all(entry["method"] == "GET" for entry in log)
    # GitHub's 403 and Stripe's 429 on the second request were retried once.
    assert [entry["status"] for entry in log].count(200) == len(log) - (style != "jsonapi")


def test_github_secondary_rate_limit_is_retried_by_policy_only(cli, styles_server, unique_key):
    url = f"{styles_server}/github/users?key={unique_key}"
    without = [o for o in OPTIONS["github"] if not o.startswith("retry_on")]
    error = read(cli, url, *without, f"schema={SCHEMAS['github']}").error()
    assert "HTTP 403" in error and "secondary rate limit" in error
    assert GITHUB_TOKEN not in error
    url = f"{styles_server}/github/users?key={unique_key}-policy"
    result = cli.run("-v", "read", "rest", "-o", f"url={url}", *sum(
        (["-o", o] for o in OPTIONS["github"] + [f"schema={SCHEMAS['github']}"]), [])).ok()
    assert len(result.rows()) == 2000
    assert "HTTP 403, 56 bytes, retrying in 1.00 s" in result.stderr   # Retry-After: 1
    statuses = [e["status"] for e in requests_made(styles_server, unique_key + "-policy")]
    assert statuses[:3] == [200, 403, 200]


@pytest.mark.parametrize("style", ["github", "jsonapi"])
def test_an_empty_page_with_a_next_link_does_not_end_the_read(cli, styles_server, unique_key, style):
    # pages [3 records] -> [] with a next link -> [2 records]: all 5 records.
    size = "per_page=3" if style == "github" else "page[size]=3"
    url = f"{styles_server}/{PATHS[style]}?key={unique_key}&records=5&empty_at=2&{size}"
    options = [o for o in OPTIONS[style] if not o.startswith("page_size_param")]
    rows = read(cli, url, *options, f"schema={SCHEMAS[style]}").ok().rows()
    assert [row["id"] for row in rows] == ([1, 2, 3, 4, 5] if style == "github" else
                                           ["1", "2", "3", "4", "5"])
    assert len(requests_made(styles_server, unique_key)) == 3 + (style == "github")


def test_query_parameters_in_the_url_are_merged_not_repeated(cli, styles_server, unique_key):
    url = f"{styles_server}/github/users?per_page=50&state=open&key={unique_key}"
    rows = read(cli, url, *OPTIONS["github"], "page_size=100", f"schema={SCHEMAS['github']}")
    assert len(rows.ok().rows()) == 2000
    first = requests_made(styles_server, unique_key)[0]["path"]
    assert first.count("per_page=") == 1 and "per_page=100" in first and "state=open" in first


def test_link_and_next_url_send_no_page_size_unless_told(cli, styles_server, unique_key):
    url = f"{styles_server}/jsonapi/people?key={unique_key}"
    read(cli, url, "paginator=next_url", "results_field=data", "next_field=links.next",
         f"schema={SCHEMAS['jsonapi']}").ok()
    first = requests_made(styles_server, unique_key)[0]["path"]
    assert "limit" not in first and "page%5Bsize%5D" not in first


def test_cursor_from_a_response_header(cli, styles_server, unique_key):
    url = f"{styles_server}/scroll?key={unique_key}&records=250"
    rows = read(cli, url, "paginator=cursor", "cursor_header=X-Next-Cursor",
                "results_field=items", "page_size_param=size", "page_size=100",
                f"schema={SCHEMAS['github']}").ok().rows()
    assert [row["id"] for row in rows] == list(range(1, 251))
    paths = [e["path"] for e in requests_made(styles_server, unique_key)]
    assert ["cursor=100" in p for p in paths] == [False, True, False]


def test_cursor_in_a_post_json_body(cli, styles_server, unique_key):
    url = f"{styles_server}/scroll?key={unique_key}&records=250"
    rows = read(cli, url, "paginator=cursor", "cursor_field=next", "results_field=items",
                "page_size_param=size", "page_size=100", 'body={"filter": "all"}',
                f"schema={SCHEMAS['github']}").ok().rows()
    assert [row["id"] for row in rows] == list(range(1, 251))
    assert [e["method"] for e in requests_made(styles_server, unique_key)] == ["POST"] * 3


def test_last_record_needs_its_has_more_flag(cli, styles_server, unique_key):
    url = f"{styles_server}/jsonapi/people?key={unique_key}"
    error = read(cli, url, "paginator=last_record", f"schema={SCHEMAS['jsonapi']}").error()
    assert "page 1 has no boolean 'has_more' (set has_more_field)" in error


def test_record_paths_take_array_indexes(cli, lua_script):
    script = lua_script("""
local paginate = require "luaconn.paginate"
return { schema = "v STRING", read = function(opts, partition, emit)
  local doc = { response = { pages = { { rows = { "a" } }, { rows = { "b", "c" } } } } }
  for _, path in ipairs { "response.pages[1].rows", "response.pages[0].rows" } do
    for _, v in ipairs(paginate.records(doc, path, "u", 1)) do emit { v = v } end
  end
end }
""")
    assert [row["v"] for row in cli.run("read", script).ok().rows()] == ["b", "c", "a"]


def test_write_sends_the_credentials(cli, styles_server):
    lines = "".join(json.dumps({"id": i, "name": f"n{i}", "status": "ok"}) + "\n" for i in range(3))
    target = f"{styles_server}/github/import"
    error = cli.run("write", "rest", "-o", f"target_url={target}", input=lines).error()
    assert "HTTP 401" in error
    cli.run("write", "rest", "-o", f"target_url={target}", "-o", "auth=bearer",
            "-o", f"api_key={GITHUB_TOKEN}", input=lines).ok()
    with urllib.request.urlopen(target) as reply:
        assert [row["id"] for row in json.load(reply)][-3:] == [0, 1, 2]
