"""`luaconn read` (and partitions, check, list, --help) against the real test API."""

import base64
import fcntl
import csv
import io
import json
import os
import signal
import subprocess
import time
from datetime import date, datetime, timezone

import pytest
from api_server import NAME_SAMPLES, TYPED_COLUMNS, TYPED_SCHEMA, dataset, typed_dataset

COLUMNS = ["id", "name", "status"]

MINIMAL_CONNECTOR = """\
local C = { schema = "id INT", options = { n = {type="integer", default=3} } }
function C.read(opts, partition, emit) for i = 1, opts.n do emit{id=i} end end
return C
"""


def assert_rows_equal(got, expected):
    assert len(got) == len(expected)
    for row, want in zip(got, expected):
        assert row == want
        assert list(row) == COLUMNS, "jsonl keys must follow the schema's column order"


def test_reads_every_row_once_in_order(cli, api_server, attempts, unique_key):
    result = cli.run("read", "rest", "-o", f"url={api_server}/items?key={unique_key}",
                     "-o", "page_size=100").ok()
    assert_rows_equal(result.rows(), dataset(2500))
    # 25 pages of 100: page_size reached the server and nothing was fetched twice.
    assert attempts(unique_key)["count"] == 25


def test_every_awkward_name_kind_survives_a_read(cli, api_server):
    """The first 50 rows hold every awkward kind of name; each arrives unchanged."""
    names = [row["name"] for row in cli.run("read", "rest", "-o", f"url={api_server}/items",
                                            "--limit", "50").ok().rows()]
    assert names == [row["name"] for row in dataset(50)]
    assert "" in names and any("\r\n" in n for n in names) and any("\t" in n for n in names)
    assert any(ord(ch) > 0xFFFF for n in names for ch in n), "an emoji beyond the BMP"
    assert len(NAME_SAMPLES) <= 50


def test_empty_pages_that_carry_a_cursor_are_followed(cli, api_server):
    result = cli.run("read", "rest", "-o", f"url={api_server}/items?empty_pages=1",
                     "-o", "page_size=100").ok()
    assert_rows_equal(result.rows(), dataset(2500))


@pytest.mark.parametrize("end", ["null", "absent", "empty"])
def test_last_page_end_styles(cli, api_server, attempts, unique_key, end):
    result = cli.run("read", "rest", "-o",
                     f"url={api_server}/items?rows=250&end={end}&key={unique_key}",
                     "-o", "page_size=100").ok()
    assert_rows_equal(result.rows(), dataset(250))
    assert attempts(unique_key)["count"] == 3


def test_limit_stops_early(cli, api_server, attempts, unique_key):
    result = cli.run("read", "rest", "-o", f"url={api_server}/items?key={unique_key}",
                     "--limit", "150").ok()
    assert_rows_equal(result.rows(), dataset(150))
    assert attempts(unique_key)["count"] <= 2, "read past the limit"


def test_a_reader_that_stops_early_ends_the_read_quietly(cli, api_server):
    proc = subprocess.Popen([str(cli.path), "read", "rest", "-o", f"url={api_server}/items"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=cli.environment())
    assert json.loads(proc.stdout.readline()) == dataset(1)[0]
    proc.stdout.close()  # like `luaconn read ... | head -1`
    assert proc.wait(timeout=60) in (0, -signal.SIGPIPE)
    assert proc.stderr.read() == b""
    proc.stderr.close()


def test_csv_format_quotes_unicode_and_newlines(cli, api_server):
    result = cli.run("read", "rest", "-o", f"url={api_server}/items",
                     "--limit", "50", "--format", "csv").ok()
    records = list(csv.reader(io.StringIO(result.stdout, newline="")))
    assert records[0] == COLUMNS
    expected = [[str(r["id"]), r["name"], r["status"] or ""] for r in dataset(50)]
    assert records[1:] == expected


def test_table_format_shows_header_and_values(cli, api_server):
    result = cli.run("read", "rest", "-o", f"url={api_server}/items",
                     "--limit", "5", "--format", "table").ok()
    lines = result.stdout.split("\n")
    assert [cell.strip() for cell in lines[0].split(" | ")] == ["id", "name", "status"]
    assert set(lines[1]) <= {"-", "+"}
    for line, row in zip(lines[2:], dataset(5)):
        cells = [cell.strip() for cell in line.split(" | ")]
        assert cells[0] == str(row["id"]) and cells[2] == (row["status"] or "")


def parse_timestamp(text):
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def test_typed_schema_values(cli, api_server):
    result = cli.run("read", "rest", "-o", f"url={api_server}/typed",
                     "-o", f"schema={TYPED_SCHEMA}", "-o", "page_size=500").ok()
    rows = result.rows()
    expected = typed_dataset(2500)
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected):
        assert list(got) == TYPED_COLUMNS
        where = f"row {want['i']!r}/{want['s']!r}"
        for col in ("b", "i", "l", "f", "d", "s"):
            assert got[col] == want[col], f"{col} in {where}"
            assert type(got[col]) is type(want[col]), f"{col} type in {where}"
        if want["bin"] is None:
            assert got["bin"] is None
        else:
            raw = want["bin"].encode()
            assert got["bin"] in (want["bin"], base64.b64encode(raw).decode()), where
        for col, parse in (("dt", date.fromisoformat), ("ts", parse_timestamp)):
            if want[col] is None:
                assert got[col] is None, f"{col} in {where}"
            else:
                assert parse(got[col]) == parse(want[col]), f"{col} in {where}"


def test_partitions_cover_every_row(cli, api_server):
    url = f"url={api_server}/items?rows=300"
    listed = cli.run("partitions", "rest", "-o", url).ok()
    partitions = [line for line in listed.stdout.split("\n") if line]
    assert partitions
    rows = []
    for partition in partitions:
        json.loads(partition)
        rows += cli.run("read", "rest", "-o", url, "--partition", partition).ok().rows()
    assert_rows_equal(rows, dataset(300))


def test_connector_file_with_typed_option(cli, lua_script):
    path = lua_script(MINIMAL_CONNECTOR)
    assert cli.run("read", path).ok().rows() == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert cli.run("read", path, "-o", "n=5").ok().rows() == [{"id": i} for i in range(1, 6)]


def test_check_accepts_a_valid_connector(cli, lua_script, source_dir):
    path = lua_script(MINIMAL_CONNECTOR)
    ok, summary = cli.run("check", path).ok().stdout.split("\n", 1)
    assert ok == f"ok: {path}"
    summary = json.loads(summary)
    assert summary["functions"] == ["read"] and summary["schema"] == "id INT"
    assert summary["options"] == {"n": {"type": "integer", "default": 3}}
    rest = json.loads(cli.run("check", source_dir / "lua" / "connectors" / "rest.lua")
                      .ok().stdout.split("\n", 1)[1])
    assert rest["functions"] == ["read", "write", "commit"]
    assert rest["options"]["url"]["required"] == "read"


def test_list_names_rest(cli, source_dir):
    listed = dict(line.split("\t") for line in cli.run("list").ok().stdout.splitlines())
    assert listed["rest"] == str(source_dir / "lua" / "connectors" / "rest.lua")
    bundled = {path.stem for path in (source_dir / "lua" / "connectors").glob("*.lua")}
    assert bundled <= set(listed)


def test_help_mentions_every_subcommand(cli):
    result = cli.run("--help").ok()
    commands = result.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    named = [line.split()[0] for line in commands.splitlines()]
    assert named == ["read", "write", "partitions", "infer", "watch", "check", "list"]
    for sub in named:
        assert cli.run(sub, "--help").ok().stdout.split("\n")[0].split()[:3] == ["Usage:", "luaconn", sub]
    read_help = cli.run("read", "--help").ok()
    assert "--limit" in read_help.stdout and "--format" in read_help.stdout


@pytest.mark.parametrize("path", ["page", "rows"])
def test_a_misspelt_column_is_a_warning_not_a_silent_null(cli, lua_script, api_server, path):
    script = lua_script("""
local paginate = require "luaconn.paginate"
return { schema = "id INT, nmae STRING, status STRING", options = { url = {}, path = {} },
  read = function(opts, partition, emit)
    local on_record = emit
    if opts.path == "rows" then on_record = function(record) emit(record) end end
    paginate.cursor({ url = opts.url }, on_record)
  end }
""")
    result = cli.run("read", script, "-o", f"url={api_server}/items?rows=250", "-o", f"path={path}")
    rows = result.ok().rows()
    assert len(rows) == 250 and all(row["nmae"] is None for row in rows)
    warnings = [line for line in result.stderr.splitlines() if "misspelt" in line]
    assert warnings == ["luaconn: [warn] " + str(script) + ": column 'nmae': none of the 250 "
                        "records read has this key, so it is NULL in every row (misspelt?)"]


def test_a_date_alone_in_a_timestamp_column_is_its_midnight_utc(cli, lua_script):
    script = lua_script("""
local json = require "json"
return { schema = "t TIMESTAMP", read = function(opts, partition, emit)
  emit(json.page('[{"t": "2024-03-01"}, {"t": "2024-03-01T10:00:00+02:00"}]', ""))
  emit { t = "2024-02-29" }
end }
""")
    assert cli.run("read", script).ok().rows() == [
        {"t": "2024-03-01T00:00:00.000000Z"}, {"t": "2024-03-01T08:00:00.000000Z"},
        {"t": "2024-02-29T00:00:00.000000Z"}]


# A connector reading a page of JSON records by the page path (json.page) or the Lua
# row path (json.decode + emit), chosen by option `path`: both must give the same rows.
BOTH_PATHS = """
local json = require "json"
return { schema = %r, options = { path = {} },
  read = function(opts, partition, emit)
    local text = %r
    if opts.path == "page" then
      local page = json.page(text, "")
      repeat emit(page) until page:done()
    else
      for _, record in ipairs(json.decode(text)) do emit(record) end
    end
  end }
"""
SMALL_TYPES = "t TINYINT, s SMALLINT, n TIMESTAMP_NTZ"


def read_both_paths(cli, lua_script, path, schema, text):
    return cli.run("read", lua_script(BOTH_PATHS % (schema, text)), "-o", f"path={path}")


@pytest.mark.parametrize("path", ["page", "rows"])
def test_tinyint_smallint_and_timestamp_ntz(cli, lua_script, path):
    ok = '[{"t": -128, "s": 32767, "n": "2024-03-01T10:00:00"}, {"t": 127, "s": null, "n": "2024-03-01"}]'
    rows = read_both_paths(cli, lua_script, path, SMALL_TYPES, ok).ok().rows()
    assert rows == [{"t": -128, "s": 32767, "n": "2024-03-01T10:00:00.000000"},
                    {"t": 127, "s": None, "n": "2024-03-01T00:00:00.000000"}]
    error = read_both_paths(cli, lua_script, path, SMALL_TYPES, '[{"t": 128}]').error()
    assert "column 't', row 1: expected TINYINT" in error
    zoned = '[{"n": "2024-03-01T10:00:00+02:00"}]'
    error = read_both_paths(cli, lua_script, path, SMALL_TYPES, zoned).error()
    assert "has a zone: a TIMESTAMP_NTZ holds local date-times (use TIMESTAMP)" in error


@pytest.mark.parametrize("path", ["page", "rows"])
def test_an_object_or_array_in_a_string_column_is_json_text(cli, lua_script, path):
    text = '[{"t": 1, "s": {"a": [1, 2]}}, {"s": [true, null]}]'
    rows = read_both_paths(cli, lua_script, path, "t INT, s STRING", text).ok().rows()
    assert rows == [{"t": 1, "s": '{"a":[1,2]}'}, {"t": None, "s": "[true,null]"}]
    error = read_both_paths(cli, lua_script, path, "s STRING", '[{"s": 5}]').error()
    assert "column 's', row 1: expected STRING, got 5" in error


@pytest.mark.parametrize("path", ["page", "rows"])
def test_decimals_are_exact_and_never_rounded(cli, lua_script, path):
    def run(schema, text):
        return read_both_paths(cli, lua_script, path, schema, text)
    rows = run("a DECIMAL(10,2), b DECIMAL(38,0), c DECIMAL",
               '[{"a": 12.5, "b": "12345678901234567890123456789", "c": 42},'
               ' {"a": "-0.05", "b": 1e3, "c": null}]').ok().stdout
    assert rows == ('{"a":12.50,"b":12345678901234567890123456789,"c":42}\n'
                    '{"a":-0.05,"b":1000,"c":null}\n')
    assert ("expected DECIMAL(10,2) (a number or numeric text), got 1.234 "
            "(more decimal places than the scale)") in run("a DECIMAL(10,2)", '[{"a": 1.234}]').error()
    assert "(more digits than the precision)" in run("a DECIMAL(4,2)", '[{"a": "123.4"}]').error()
    assert "give it as text for an exact DECIMAL" in run(
        "a DECIMAL(38,0)", '[{"a": 12345678901234567890}]').error()


def test_output_to_a_non_blocking_pipe_arrives_whole(cli, lua_script):
    """A pipe its other user made non-blocking (an event-loop parent) fills up while
    nobody reads: the CLI waits instead of failing with EAGAIN midway."""
    script = lua_script('return { schema = "x INT, s STRING", read = function(opts, p, emit)\n'
                        '  for i = 1, 100000 do emit{x = i, s = ("y"):rep(20)} end end }\n')
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETFL, fcntl.fcntl(write_end, fcntl.F_GETFL) | os.O_NONBLOCK)
    proc = subprocess.Popen([str(cli.path), "read", str(script)], stdout=write_end,
                            stderr=subprocess.PIPE, env=cli.environment())
    os.close(write_end)
    time.sleep(1)   # the pipe (64 KiB) fills long before anyone reads
    with os.fdopen(read_end, "rb") as pipe:
        lines = pipe.read().splitlines()
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert [json.loads(line)["x"] for line in lines] == list(range(1, 100001))
