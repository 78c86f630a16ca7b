"""Filter pushdown without Spark (spec/CONTRACT.md, "Filter pushdown"): the option
"filters" reaches idrange.lua and rest.lua, narrows what they request (counted on the
test server), and bad declarations or filters fail naming the problem."""
import json

import pytest

from luaconn import Connector, ContractError, OptionError, check


def idrange_options(api_server, key, **more):
    return {"url": f"{api_server}/ids/1/1000/50", "stats_path": f"/stats?key={key}",
            "records_path": f"/records?key={key}", "partitions": "8", **more}


def filters(*triples):
    return json.dumps([{"column": c, "op": op, "value": v} for c, op, v in triples])


def test_cli_idrange_filters_narrow_the_requests(run_cli, api_server, attempts, unique_key):
    options = idrange_options(api_server, unique_key,
                              filters=filters(("id", ">=", 200), ("id", "<", 300)))
    args = [arg for key, value in options.items() for arg in ("-o", f"{key}={value}")]
    rows = run_cli("read", "idrange", *args).ok().rows()
    assert [row["id"] for row in rows] == list(range(200, 300))
    # /stats, then [200, 300) in 8 ranges of 12-13 ids: one page each (cap 50).
    assert attempts(unique_key)["count"] == 1 + 8


def test_idrange_without_filters_requests_everything(api_server, attempts, unique_key):
    with Connector("idrange", **idrange_options(api_server, unique_key)) as conn:
        assert conn.read_all().num_rows == 1000
    # 8 ranges of 125 ids, 3 pages each at 50 ids a page
    assert attempts(unique_key)["count"] == 1 + 8 * 3


@pytest.mark.parametrize("pushed, first, stop, count", [
    ([("id", "=", 7)], 7, 8, 1),
    ([("id", ">", 995)], 996, 1001, 5),
    ([("id", "<=", 2), ("id", ">", 0)], 1, 3, 2),
    ([("id", ">=", 2.5), ("id", "<", 100.5)], 3, 101, 8),
    ([("id", "in", [900, 40, 41])], 40, 901, 8),   # the span of the values
    ([("id", ">", 5000)], None, None, 0),
])
def test_idrange_plans_only_covering_ranges(api_server, pushed, first, stop, count):
    """The plan covers exactly [first, stop), in count adjacent ranges, out of [1, 1000]."""
    with Connector("idrange", **idrange_options(api_server, "plan",
                                                filters=filters(*pushed))) as conn:
        plan = conn.partitions()
    assert len(plan) == count
    if count:
        assert (plan[0]["id_gte"], plan[-1]["id_lt"]) == (first, stop)
        assert all(a["id_lt"] == b["id_gte"] for a, b in zip(plan, plan[1:]))


def test_contradicting_filters_plan_nothing_and_request_nothing(api_server, attempts, unique_key):
    options = idrange_options(api_server, unique_key,
                              filters=filters(("id", "=", 5), ("id", "=", 7)))
    with Connector("idrange", **options) as conn:
        assert conn.partitions() == []
    assert attempts(unique_key)["count"] == 0


def test_declarations_as_the_host_sees_them(api_server):
    with Connector("idrange", url=api_server, id_field="key") as conn:
        assert conn.filters() == {"key": {"=": "exact", "<": "exact", "<=": "exact",
                                          ">": "exact", ">=": "exact", "in": "inexact"}}
    with Connector("rest", url=api_server,
                   filter_params='{"updated_at>=": "since", "id>": "after"}') as conn:
        assert conn.filters() == {"updated_at": {">=": "inexact"}, "id": {">": "inexact"}}
    with Connector("rest", url=api_server) as conn:
        assert conn.filters() == {}


def test_check_shows_the_declaration():
    assert check("idrange")["filters"] == "(computed from options)"
    static = check(script='return { schema = "id INT", read = function() end, '
                          'filters = { id = { exact = { "=" } } } }')
    assert static["filters"] == {"id": {"exact": ["="]}}
    assert "filters" not in check("rabbitmq")


def next_url_read(api_server, key, **more):
    return Connector("rest", url=f"{api_server}/pages/next?key={key}", paginator="next_url",
                     results_field="records", next_field="links.next", **more)


def test_rest_filter_params_become_query_parameters(api_server, attempts, unique_key):
    with next_url_read(api_server, unique_key, filter_params='{"id>": "after"}',
                       filters=filters(("id", ">", 2000))) as conn:
        ids = conn.read_all().column("id").to_pylist()
    assert ids == list(range(2001, 2501))
    assert attempts(unique_key)["count"] == 5   # 500 rows at 100 a page, not 25 pages


def test_filter_values_reach_the_server_as_pushed(api_server):
    """luaconn.filters.query: text as it is, integers in full, other filters ignored."""
    echo = Connector(script=f"""
local http, f = require "http", require "luaconn.filters"
return {{ schema = "since STRING, before STRING, other STRING",
  read = function(opts, p, emit)
    local parsed = f.parse_params({{["updated_at>="] = "since", ["id<"] = "before"}}, "x")
    local query = f.query({{
      {{ column = "updated_at", op = ">=", value = "2024-05-01T00:00:00+00:00" }},
      {{ column = "id", op = "<", value = 12345678901 }},
      {{ column = "id", op = ">", value = 3 }} }}, parsed)
    emit(http.get_json("{api_server}/echo", {{ query = query }}).query)
  end }}""")
    assert echo.read_all().to_pylist() == [{"since": "2024-05-01T00:00:00+00:00",
                                            "before": "12345678901", "other": None}]


@pytest.mark.parametrize("mapping, message", [
    ('{"id>>": "after"}', "option 'filter_params': 'id>>' is not \"column op\""),
    ('["id>"]', "option 'filter_params': expected a JSON object"),
    ('{"id>": 3}', "option 'filter_params': 'id>' must name a query parameter"),
])
def test_bad_filter_params_name_the_option(api_server, mapping, message):
    with pytest.raises(Exception, match=message.replace("(", r"\(")):
        Connector("rest", url=api_server, filter_params=mapping)


@pytest.mark.parametrize("pushed, message", [
    (filters(("value", "=", "v3")), "filter 1: column 'value' takes no filters"),
    (filters(("id", "starts_with", "1")), "filter 1: column 'id' takes no 'starts_with' filter"),
    (json.dumps([{"column": "id", "op": "<"}]), "filter 1: needs a string, number or boolean"),
    (json.dumps([{"column": "id", "op": "in", "value": []}]), "'in' needs a non-empty list"),
    ("id > 3", "option 'filters' is not valid JSON"),
])
def test_bad_pushed_filters_are_option_errors(api_server, pushed, message):
    with pytest.raises(OptionError, match=message):
        Connector("idrange", url=api_server, filters=pushed)


def test_filters_option_is_unknown_to_a_connector_without_a_declaration(api_server):
    with pytest.raises(OptionError, match="unknown option 'filters'"):
        Connector(script='return { schema = "a INT", read = function() end }', filters="[]")


@pytest.mark.parametrize("declaration, message", [
    ('{ id = { "=" } }', "filters.id: only 'exact' and 'inexact' lists are allowed"),
    ('{ id = { exact = { "==" } } }', 'filters.id.exact\\[1\\]: == is not an operator'),
    ('"id"', "'filters' must be a table or a function"),
])
def test_bad_declarations_are_contract_errors(declaration, message):
    with pytest.raises(ContractError, match=message):
        Connector(script=f'return {{ schema = "id INT", filters = {declaration}, '
                         'read = function() end }')


def test_declaring_filters_reserves_the_option_name():
    with pytest.raises(ContractError, match="cannot declare an option named 'filters'"):
        Connector(script='return { schema = "id INT", filters = {}, read = function() end, '
                         'options = { filters = { type = "string" } } }')


def test_a_non_numeric_id_filter_fails_naming_the_filter(api_server):
    options = idrange_options(api_server, "plan", filters=filters(("id", "in", [3, "x"])))
    with Connector("idrange", **options) as conn:
        with pytest.raises(Exception, match="filter id in: expected a number, got string"):
            conn.partitions()
