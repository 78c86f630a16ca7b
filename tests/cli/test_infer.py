"""Schema inference: `luaconn infer` on each API style prints a schema that then reads
every record; a connector may say schema = "infer" (the CLI and Spark infer it on the
driver); a declared column no sampled record has is a warning."""
import re

import pytest
from styles_server import OPTIONS, PATHS, expected


def option_args(options):
    return [arg for option in options for arg in ("-o", option)]


@pytest.mark.parametrize("style, has", [
    ("github", ["created_at TIMESTAMP", "plan STRUCT<name: STRING, space: BIGINT>",
                "labels ARRAY<STRING>", "site_admin BOOLEAN"]),
    ("stripe", ["created BIGINT", "address STRUCT<city: STRING, country: STRING>"]),
    ("jsonapi", ["attributes STRUCT<name: STRING, score: DOUBLE, joined_at: TIMESTAMP, "
                 "tags: ARRAY<STRING>, address: STRUCT<city: STRING>>"]),
])
def test_inferred_schema_reads_every_record(cli, styles_server, unique_key, style, has):
    url = f"{styles_server}/{PATHS[style]}?key={unique_key}"
    args = ["-o", f"url={url}", *option_args(OPTIONS[style])]
    ddl = cli.run("infer", "rest", *args, "--limit", "300").ok().stdout.strip()
    for column in has:
        assert column in ddl, ddl
    rows = cli.run("read", "rest", *args, "-o", f"schema={ddl}").ok().rows()
    assert [row["id"] for row in rows] == [row["id"] for row in expected(style)]


def test_a_declared_column_no_record_has_is_a_warning(cli, styles_server, unique_key):
    url = f"{styles_server}/jsonapi/people?key={unique_key}"
    result = cli.run("infer", "rest", "-o", f"url={url}", *option_args(OPTIONS["jsonapi"]),
                     "-o", "schema=id STRING, tpye STRING", "--limit", "40").ok()
    # The sample ends with the page that reaches 40 records.
    assert re.search(r"column 'tpye' is declared but none of the \d+ sampled records has it "
                     r"\(misspelt\?\)", result.stderr), result.stderr
    assert "'id'" not in result.stderr


INFERRING = """
local paginate = require "luaconn.paginate"
return { schema = "infer", options = { url = {} },
  read = function(opts, partition, emit)
    paginate.next_url({ url = opts.url, results_field = "data", next_field = "links.next" }, emit)
  end }
"""


def test_a_connector_with_schema_infer_reads_with_what_the_sample_says(cli, lua_script,
                                                                       styles_server):
    script = lua_script(INFERRING)
    url = f"{styles_server}/jsonapi/people?records=120&page%5Bsize%5D=50"
    rows = cli.run("read", script, "-o", f"url={url}").ok().rows()
    assert rows == [{**row, "relationships": {"team": {"data": {"type": "teams",
                                                                  "id": str(int(row["id"]) % 10)}}}}
                    for row in expected("jsonapi", 120)]


def test_schema_infer_without_records_says_so(cli, lua_script, styles_server):
    script = lua_script(INFERRING)
    error = cli.run("read", script, "-o", f"url={styles_server}/jsonapi/people?records=0").error()
    assert "no records to infer a schema from" in error
