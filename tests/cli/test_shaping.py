"""Record shaping on the page path: flatten (the fields of a nested object such as
JSON:API's attributes join the row) and rename, done in C while the page is parsed,
with the same rows as the Lua path (json.shape on decoded records)."""
import json

import pytest
from styles_server import PATHS, expected

FLAT = "id STRING, person STRING, score DOUBLE, joined_at TIMESTAMP"
NESTED = FLAT + ", tags ARRAY<STRING>, address STRUCT<city: STRING>"


def flat_rows(n, nested):
    rows = []
    for row in expected("jsonapi", n):
        a = row["attributes"]
        flat = {"id": row["id"], "person": a["name"], "score": a["score"], "joined_at": a["joined_at"]}
        if nested:
            flat.update(tags=a["tags"], address=a["address"])
        rows.append(flat)
    return rows


@pytest.mark.parametrize("schema", [pytest.param(FLAT, id="flat"),
                                    pytest.param(NESTED, id="nested")])
def test_rest_flattens_and_renames_with_options(cli, styles_server, unique_key, schema):
    url = f"{styles_server}/{PATHS['jsonapi']}?key={unique_key}"
    rows = cli.run("read", "rest", "-o", f"url={url}", "-o", "paginator=next_url",
                   "-o", "results_field=data", "-o", "next_field=links.next",
                   "-o", "page_size_param=page[size]", "-o", "flatten=attributes",
                   "-o", 'rename={"name": "person"}', "-o", f"schema={schema}").ok().rows()
    assert rows == flat_rows(2000, schema == NESTED)


SCRIPT = """
local json, log = require "json", require "log"
local shape = { flatten = "attributes", rename = { name = "person" } }
return { schema = %r, options = { text = {}, path = {} },
  read = function(opts, partition, emit)
    if opts.path == "c" then
      local page = json.page(opts.text, "data", "test page", shape)
      repeat emit(page) until page:done()
      -- Records whose shaped keys collide go the Lua path (which decides who wins).
      log.warn("in C: " .. page:count_in_c() .. " of " .. page:count())
    else
      for _, record in ipairs(json.decode(opts.text).data) do emit(json.shape(record, shape)) end
    end
  end }
"""


def test_the_c_path_and_the_lua_path_shape_alike(cli, lua_script):
    records = [
        {"id": "1", "type": "p", "attributes": {"name": "a", "score": 1.5, "joined_at": "2024-01-01"}},
        {"id": "2", "attributes": {"id": "inner", "score": 2}},
        {"id": "3", "attributes": None},
        {"attributes": {"id": "4", "name": "inner name"}, "name": "the record's own name wins"},
        {"id": "5"},
    ]
    text = json.dumps({"data": records})
    script = lua_script(SCRIPT % FLAT)
    by_c = cli.run("read", script, "-o", f"text={text}", "-o", "path=c")
    by_lua = cli.run("read", script, "-o", f"text={text}", "-o", "path=lua").ok().rows()
    assert by_c.ok().rows() == by_lua
    assert "in C: 1 of 5" in by_c.stderr     # record 2 collides: the rest go the Lua way
    assert [(row["id"], row["person"]) for row in by_lua] == [
        ("1", "a"), ("2", None), ("3", None), ("4", "the record's own name wins"), ("5", None)]


def test_shaped_pages_stay_on_the_c_path(cli, lua_script):
    records = [{"id": str(i), "type": "p", "attributes": {"name": f"n{i}", "score": i / 2,
                                                        "joined_at": "2024-01-01T00:00:00Z"}}
               for i in range(1, 501)]
    script = lua_script(SCRIPT % FLAT)
    result = cli.run("read", script, "-o", f"text={json.dumps({'data': records})}", "-o", "path=c")
    assert len(result.ok().rows()) == 500
    assert "in C: 500 of 500" in result.stderr
