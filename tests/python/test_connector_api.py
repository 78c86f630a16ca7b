"""The plain Python API (no Spark): luaconn.Connector against the real test API server."""
import datetime as dt
import json
import pickle
import threading
import time
import urllib.request

import pyarrow as pa
import pytest
from api_server import TYPED_COLUMNS, TYPED_SCHEMA, dataset, typed_dataset
from arrow_values import typed_rows_as_arrow_values

import luaconn

ROWS = 10_000
ITEMS_SCHEMA = pa.schema([("id", pa.int32()), ("name", pa.string()), ("status", pa.string())])


def as_utc(rows):
    """Timestamps as aware UTC datetimes, whether Arrow's column carried a zone or not."""
    for row in rows:
        if row["ts"] is not None and row["ts"].tzinfo is None:
            row["ts"] = row["ts"].replace(tzinfo=dt.timezone.utc)
    return rows


def test_read_10000_rows_over_many_pages(api_server):
    conn = luaconn.Connector("rest", url=f"{api_server}/items?rows={ROWS}", page_size=700)
    assert conn.schema == "id INT, name STRING, status STRING"
    start = time.perf_counter()
    table = conn.read_all()
    elapsed = time.perf_counter() - start
    assert table.num_rows == ROWS
    assert table.to_pylist() == dataset(ROWS)
    print(f"read {ROWS} rows in {elapsed:.2f}s")


def test_read_yields_record_batches_bounded_in_size(api_server):
    conn = luaconn.Connector("rest", url=f"{api_server}/items?rows={ROWS}", page_size=1000)
    batches = list(conn.read())
    assert batches and all(isinstance(b, pa.RecordBatch) for b in batches)
    assert sum(b.num_rows for b in batches) == ROWS
    assert all(b.schema == conn.arrow_schema for b in batches)


def test_read_every_scalar_type_with_nulls(api_server):
    conn = luaconn.Connector("rest", url=f"{api_server}/typed?rows=2000", schema=TYPED_SCHEMA,
                             page_size=300)
    table = conn.read_all()
    assert table.column_names == TYPED_COLUMNS
    assert [table.schema.field(c).type for c in ("b", "i", "l", "f", "d", "s", "bin", "dt")] == [
        pa.bool_(), pa.int32(), pa.int64(), pa.float32(), pa.float64(), pa.string(),
        pa.binary(), pa.date32()]
    assert pa.types.is_timestamp(table.schema.field("ts").type)
    assert as_utc(table.to_pylist()) == typed_rows_as_arrow_values(typed_dataset(2000))
    assert all(table.column(c).null_count > 0 for c in TYPED_COLUMNS)


def test_partitions_are_json_values(connectors_dir, api_server):
    conn = luaconn.Connector(connectors_dir / "modulo_items.lua", url=f"{api_server}/items",
                             partitions=3)
    parts = conn.partitions()
    assert parts == [{"k": 0, "n": 3}, {"k": 1, "n": 3}, {"k": 2, "n": 3}]
    ids = [i for p in parts for b in conn.read(p) for i in b.column("id").to_pylist()]
    assert sorted(ids) == list(range(1, 2501))


def test_write_10000_rows_each_received_once(api_server, sink, unique_key):
    rows = dataset(ROWS)
    table = pa.Table.from_pylist(rows, schema=ITEMS_SCHEMA)
    conn = luaconn.Connector("rest", target_url=f"{api_server}/sink/{unique_key}",
                             batch_size=500)
    start = time.perf_counter()
    message = conn.write(table.to_batches(max_chunksize=1500))
    elapsed = time.perf_counter() - start
    conn.commit([message])
    received = sink(unique_key)
    assert sorted(received["rows"], key=lambda r: r["id"]) == rows
    assert len(received["rows"]) == ROWS
    assert max(received["batches"]) <= 500
    print(f"wrote {ROWS} rows in {elapsed:.2f}s; commit message {message}")


def test_inline_script_reads_and_writes(api_server, sink, unique_key):
    source = """
local http = require "http"
return {
  schema = "n BIGINT, label STRING",
  options = { count = { type = "integer", default = 3 }, target_url = { type = "string" } },
  read = function(opts, partition, emit)
    for n = 1, opts.count do emit { n = n, label = "row " .. n } end
  end,
  write = function(opts, rows)
    local all = {}
    for row in rows do all[#all + 1] = row end
    http.post(opts.target_url, { json = all })
    return { rows = #all }
  end,
}
"""
    reader = luaconn.Connector(script=source, count=5)
    assert reader.read_all().to_pylist() == [{"n": n, "label": f"row {n}"} for n in range(1, 6)]
    writer = luaconn.Connector(script=source, target_url=f"{api_server}/sink/{unique_key}")
    batch = pa.RecordBatch.from_pylist([{"n": 7, "label": "seven"}])
    assert writer.write(batch) == {"rows": 1}
    assert sink(unique_key)["rows"] == [{"n": 7, "label": "seven"}]


def test_lua_log_lines_reach_python_logging(caplog):
    caplog.set_level("INFO", logger="luaconn")
    conn = luaconn.Connector(script="""
local log = require "log"
return { schema = "id INT", read = function(opts, partition, emit)
  log.info("starting the read")
  log.warn("almost done")
  emit { id = 1 }
end }
""")
    assert conn.read_all().num_rows == 1
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "luaconn"]
    assert [level for level, _ in lines] == ["INFO", "WARNING"]
    assert "starting the read" in lines[0][1] and "almost done" in lines[1][1]


def test_script_error_carries_file_and_line(connectors_dir):
    conn = luaconn.Connector(connectors_dir / "failing_read.lua")
    with pytest.raises(luaconn.ScriptError) as info:
        list(conn.read())
    err = info.value
    assert err.script.endswith("failing_read.lua")
    assert err.line == 11
    assert "the upstream said no" in err.message
    assert "failing_read.lua:11:" in str(err)
    assert isinstance(err, luaconn.ConnectorError)


def test_inline_syntax_error_names_the_line():
    with pytest.raises(luaconn.ScriptSyntaxError) as info:
        luaconn.Connector(script="local C = {}\nC.schema = 'id INT'\nreturn C +\n")
    assert info.value.line in (3, 4)


def test_missing_and_unknown_options_in_one_error(connectors_dir):
    with pytest.raises(luaconn.OptionError) as info:
        luaconn.Connector(connectors_dir / "modulo_items.lua", no_such_option="x")
    assert "'url'" in str(info.value)
    assert "'no_such_option'" in str(info.value)


def test_unknown_connector_is_not_found():
    with pytest.raises(luaconn.NotFoundError):
        luaconn.Connector("no_such_connector_anywhere")


def test_value_that_does_not_fit_its_column():
    conn = luaconn.Connector(script="""
return { schema = "id INT", read = function(opts, partition, emit) emit { id = "seven" } end }
""")
    with pytest.raises(luaconn.ConnectorValueError) as info:
        list(conn.read())
    assert "id" in info.value.message


def test_errors_survive_pickling(connectors_dir):
    conn = luaconn.Connector(connectors_dir / "failing_read.lua")
    with pytest.raises(luaconn.ScriptError) as info:
        list(conn.read())
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is luaconn.ScriptError
    assert (copy.message, copy.script, copy.line, str(copy)) == (
        info.value.message, info.value.script, info.value.line, str(info.value))


def test_one_runtime_per_thread_reads_in_parallel(api_server):
    results = {}

    def read(name):
        conn = luaconn.Connector("rest", url=f"{api_server}/items?rows=3000", page_size=250)
        results[name] = conn.read_all().column("id").to_pylist()

    threads = [threading.Thread(target=read, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results == {n: list(range(1, 3001)) for n in range(3)}


def test_connector_refuses_another_thread(api_server):
    conn = luaconn.Connector("rest", url=f"{api_server}/items")
    errors = []
    t = threading.Thread(target=lambda: errors.append(_capture(conn.partitions)))
    t.start()
    t.join()
    assert isinstance(errors[0], luaconn.ConnectorError)
    assert "thread" in str(errors[0])


def _capture(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 (the test inspects it)
        return exc
    return None


# json.encode_rows writes a row's JSON in C; the Lua path (a table per row, then
# json.encode of the list) is what it must match, value for value and batch for batch.
LUA_PATH_WRITER = """
local http = require "http"
local json = require "json"
local batch = require "luaconn.batch"
return {
  schema = "id INT",
  options = { target_url = { type = "string" }, batch_size = { type = "integer" } },
  write = function(opts, rows)
    local sent, batches = batch.each(rows, opts.batch_size, function(list)
      http.post(opts.target_url, { body = json.encode(list) })
    end)
    return { rows = sent, batches = batches }
  end,
}
"""

WRITE_SCHEMA = pa.schema([
    ("i", pa.int32()), ("l", pa.int64()), ("d", pa.float64()), ("f", pa.float32()),
    ("b", pa.bool_()), ("s", pa.string()), ("dt", pa.date32()),
    ("ts", pa.timestamp("us", tz="UTC")), ("tags", pa.list_(pa.string())),
])


def _write_rows(n):
    texts = ["plain", 'quote " and \\ backslash', "slash / here", "tab\there\nnewline",
             "Zoë 東京 🚀", "\x01 control", ""]
    return [{
        "i": None if k % 11 == 0 else k * (-1) ** k,
        "l": 2 ** 40 + k, "d": None if k % 5 == 0 else k / 3 * 1e-7 + k * 1e15,
        "f": k / 7, "b": None if k % 13 == 0 else k % 2 == 0,
        "s": None if k % 9 == 0 else f"{texts[k % len(texts)]} {k}",
        "dt": dt.date(2024, 1, 1) + dt.timedelta(days=k),
        "ts": dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=k * 1234567),
        "tags": None if k % 4 else [f"t{k}", "x"],
    } for k in range(1, n + 1)]


@pytest.mark.parametrize("batch_size,chunk", [(5, 7), (500, 1500), (3, 3)])
def test_rows_encoded_in_c_match_the_lua_path(api_server, sink, unique_key, batch_size, chunk):
    table = pa.Table.from_pylist(_write_rows(103), schema=WRITE_SCHEMA)
    fast = luaconn.Connector("rest", target_url=f"{api_server}/sink/{unique_key}-c",
                             batch_size=batch_size)
    lua = luaconn.Connector(script=LUA_PATH_WRITER, target_url=f"{api_server}/sink/{unique_key}-lua",
                            batch_size=batch_size)
    assert fast.write(table.to_batches(max_chunksize=chunk)) == {
        "rows": 103, "accepted": 103, "rejected": 0, "batches": -(-103 // batch_size)}
    lua.write(table.to_batches(max_chunksize=chunk))
    by_c, by_lua = sink(f"{unique_key}-c"), sink(f"{unique_key}-lua")
    assert by_c["batches"] == by_lua["batches"] == [batch_size] * (103 // batch_size) + (
        [103 % batch_size] if 103 % batch_size else [])
    assert by_c["rows"] == by_lua["rows"]
    expected = _write_rows(103)
    for column in ("i", "l", "b", "s", "tags"):
        assert [r[column] for r in by_c["rows"]] == [r[column] for r in expected], column


def test_rows_json_cannot_encode_fail_as_the_lua_path_fails(api_server, unique_key):
    table = pa.table({"id": pa.array([1, 2], pa.int32()), "x": pa.array([1.5, float("nan")])})
    url = f"{api_server}/sink/{unique_key}"
    errors = []
    for conn in (luaconn.Connector("rest", target_url=url, batch_size=10),
                 luaconn.Connector(script=LUA_PATH_WRITER, target_url=url, batch_size=10)):
        with pytest.raises(luaconn.ConnectorError) as info:
            conn.write(table)
        errors.append(str(info.value))
    assert "row 2: Cannot serialise number: must not be NaN or Inf" in errors[0]
    assert "Cannot serialise number: must not be NaN or Inf" in errors[1]


def test_a_write_that_drops_encoded_rows_is_not_silent(api_server, unique_key):
    conn = luaconn.Connector(script="""
local json = require "json"
return { schema = "id INT", write = function(opts, rows)
  json.encode_rows(rows, 2)   -- takes two rows and drops them: the rest are never read
end }""")
    with pytest.raises(luaconn.ConnectorError, match="returned before reading every row"):
        conn.write(pa.table({"id": pa.array(range(5), pa.int32())}))


def feed_requests(api_server, key):
    with urllib.request.urlopen(f"{api_server}/_attempts?key={key}") as reply:
        return json.load(reply)["count"]


@pytest.mark.parametrize("max_records", [None, 30])
def test_rest_stream_fetches_each_record_once_per_micro_batch(api_server, unique_key, max_records):
    feed = f"{api_server}/feed/{unique_key}"
    urllib.request.urlopen(urllib.request.Request(f"{feed}?count=120", method="POST")).close()
    options = dict(url=f"{feed}?key={unique_key}", field="seq", results_field="events",
                   page_size=50, schema="seq BIGINT, name STRING")
    if max_records:
        options["max_records_per_batch"] = max_records
    conn = luaconn.Connector("rest_stream", **options)
    start = conn.initial_offset()
    end = conn.latest_offset(start)
    assert json.loads(end) == {"after": max_records or 120}
    fetched_for_the_offset = feed_requests(api_server, unique_key)
    [partition] = conn.stream_partitions(start, end)
    rows = [row for batch in conn.read_json(partition) for row in batch.to_pylist()]
    assert [row["seq"] for row in rows] == list(range(1, (max_records or 120) + 1))
    assert feed_requests(api_server, unique_key) == fetched_for_the_offset
    # A partition planned elsewhere (a restart from the checkpoint) reads the range itself.
    replanned = json.dumps({"after": 0, "upto": max_records or 120})
    again = [row for batch in conn.read_json(replanned) for row in batch.to_pylist()]
    assert again == rows


def test_small_integers_and_timestamp_ntz_reach_arrow_with_their_types():
    conn = luaconn.Connector(script="""
return { schema = "t TINYINT, s SMALLINT, n TIMESTAMP_NTZ",
  read = function(opts, partition, emit) emit { t = 5, s = -300, n = "2024-03-01T10:00:00" } end }
""")
    table = conn.read_all()
    assert table.schema.types == [pa.int8(), pa.int16(), pa.timestamp("us")]
    assert table.to_pylist() == [{"t": 5, "s": -300, "n": dt.datetime(2024, 3, 1, 10, 0)}]


def test_decimals_reach_arrow_as_decimal128():
    import decimal

    conn = luaconn.Connector(script="""
return { schema = "price DECIMAL(12,2)",
  read = function(opts, partition, emit) emit { price = "1234567890.25" } emit { price = 0.1 } end }
""")
    table = conn.read_all()
    assert table.schema.types == [pa.decimal128(12, 2)]
    assert table.column("price").to_pylist() == [decimal.Decimal("1234567890.25"),
                                                  decimal.Decimal("0.10")]
