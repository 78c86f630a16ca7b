"""Rows never vanish or change without an error (issue 12, defects 9, 10, 12, 13, 14):
a failed emit fails the read, write takes JSON objects with known keys only, a
cursor cycle stops the read, JSON is strict, and data cannot pose as the encoder's
wide-number placeholder."""

import json

import pytest


def reader(body, schema="id INT"):
    return (f'local json = require "json"\nlocal paginate = require "luaconn.paginate"\n'
            f'return {{ schema = "{schema}",\n'
            f"  read = function(opts, partition, emit)\n{body}\n  end }}\n")


WRITER = """\
return { schema = "id INT, name STRING",
  write = function(opts, rows)
    local n = 0
    for row in rows do n = n + 1 end
    return { rows = n }
  end }
"""


def test_9_a_caught_emit_failure_still_fails_the_read(cli, lua_script):
    """pcall(emit, bad) used to clear the batch (rows 1 and 2 vanished) and exit 0."""
    path = lua_script(reader("emit{id = 1} emit{id = 2}\n"
                             "local ok = pcall(emit, {id = 'three'})\n"
                             "emit{id = 4}"))
    result = cli.run("read", path)
    assert "column 'id', row 3: expected INT, got string \"three\"" in result.error()
    assert result.rows() == []


def test_9_a_caught_page_failure_still_fails_the_read(cli, lua_script):
    path = lua_script(reader(
        "local page = json.page('[{\"id\": 1}, {\"id\": \"x\"}]', '')\n"
        "pcall(function() repeat emit(page) until page:done() end)\n"
        "emit{id = 3}"))
    assert "expected INT" in cli.run("read", path).error()


@pytest.mark.parametrize("line, message", [
    ("[1,2,3]", "expected a JSON object, got an array"),
    ("null", "expected a JSON object, got null"),
    ('"row"', "expected a JSON object, got a string"),
    ('{"ID":7}', "key 'ID' is not a column"),
    ('{"id":1,"nmae":"x"}', "key 'nmae' is not a column"),
    ("0x1F", "invalid JSON"),
    ('{"id":NaN}', "invalid JSON"),
    ('{"id":Infinity}', "invalid JSON"),
])
def test_10_14_write_refuses_what_is_not_a_row(cli, lua_script, line, message):
    result = cli.run("write", lua_script(WRITER), input=f'{{"id":1,"name":"a"}}\n{line}\n')
    error = result.error()
    assert "stdin line 2" in error and message in error, error
    assert "wrote" not in result.stderr


def test_10_ignore_unknown_skips_extra_keys(cli, lua_script):
    result = cli.run("write", lua_script(WRITER), "--ignore-unknown",
                     input='{"id":1,"nmae":"x"}\n{"id":2,"name":"b"}\n').ok()
    assert "wrote 2 rows" in result.stderr


def test_13_a_cursor_cycle_of_three_pages_stops_the_read(cli, lua_script):
    """Pages A -> B -> C -> A: only a cursor repeated twice in a row was caught."""
    path = lua_script(reader(
        "local next = {[''] = 'A', A = 'B', B = 'C', C = 'A'}\n"
        "local served = 0\n"
        "paginate.cursor({url = 'http://api.invalid/items', fetch = function(url, q)\n"
        "  served = served + 1\n"
        "  if served > 10 then error('still reading after 10 pages') end\n"
        "  return {results = {{id = served}}, next_cursor = next[q.cursor or '']}, {url = url}\n"
        "end}, emit)"))
    error = cli.run("read", path).error()
    assert "cursor 'A' again after 4 pages (a cursor cycle)" in error, error


def test_12_a_string_shaped_like_a_placeholder_stays_a_string(cli, lua_script):
    path = lua_script(reader(
        "local text = json.encode{s = '\\1lc-number:1abc', t = '\\1lc-number:1', wide = 0.1 + 0.2,\n"
        "  ['\\1lc-number:1'] = 1}\n"
        "emit{text = text}", schema="text STRING"))
    text = cli.run("read", path).ok().rows()[0]["text"]
    assert json.loads(text) == {"s": "\x01lc-number:1abc", "t": "\x01lc-number:1",
                                "wide": 0.30000000000000004, "\x01lc-number:1": 1}


@pytest.mark.parametrize("text", ["0x1F", "[NaN]", "[Infinity]", "[-Infinity]"])
def test_14_json_decode_is_strict(cli, lua_script, text):
    path = lua_script(reader(f"local ok, e = pcall(json.decode, {json.dumps(text)})\n"
                             "emit{ok = tostring(ok), e = tostring(e)}", schema="ok STRING, e STRING"))
    row = cli.run("read", path).ok().rows()[0]
    assert row["ok"] == "false" and "invalid JSON" in row["e"], row


def test_11_map_entries_come_out_in_key_order(cli, lua_script):
    """LuaJIT's table order depends on a hash seed: a replayed read must not."""
    path = lua_script(reader("local m = {} for i = 1, 40 do m['k' .. i] = i end\n"
                             "m[''] = 0 m['K'] = -1 emit{m = m}", schema="m MAP<STRING, INT>"))
    keys = list(cli.run("read", path).ok().rows()[0]["m"])
    assert keys == sorted(keys, key=lambda k: k.encode())
