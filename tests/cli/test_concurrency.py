"""Several requests in flight (rest.lua's concurrency, http.start under luaconn.paginate)
against a server that answers pages out of order and fails some of them (503, and 429
with Retry-After): every row once and in page order, every retry made and Retry-After
obeyed, more than one request in flight at the server, and the time limit still ending
a read with requests in flight."""
import pytest
from api_server import dataset


def read(cli, url, *options, timeout=None):
    args = ["read", "rest", "-o", f"url={url}", "-o", "backoff=0.01"]
    if timeout:
        args[1:1] = ["--timeout", str(timeout)]
    for option in options:
        args += ["-o", option]
    return cli.run(*args)


# (paginator, path, options, pages that hold rows for ROWS at PAGE_SIZE)
ROWS, PAGE_SIZE = 100, 10
STYLES = [
    ("offset", "pages/offset", ["results_field=data"], range(0, 10)),
    ("offset", "pages/offset", ["results_field=data", "total_field=total"], range(0, 10)),
    ("page", "pages/number", ["results_field=items", "page_size_param=per_page"], range(1, 11)),
    ("page", "pages/number", ["results_field=items", "page_size_param=per_page",
                              "total_pages_field=total_pages"], range(1, 11)),
]


def read_pages(cli, url, style, options, concurrency):
    """Reads ROWS rows of url in pages of PAGE_SIZE; checks every row came once, in order."""
    result = read(cli, url, f"paginator={style}", f"page_size={PAGE_SIZE}",
                  f"concurrency={concurrency}", *options).ok()
    assert result.rows() == dataset(ROWS)


@pytest.mark.parametrize("style, path, options, pages", STYLES)
def test_out_of_order_and_failing_pages_give_every_row_once_in_order(
        cli, api_server, attempts, unique_key, style, path, options, pages):
    url = f"{api_server}/{path}?rows={ROWS}&key={unique_key}&jitter=0.04&flaky=1"
    read_pages(cli, url, style, options, concurrency=4)
    seen = attempts(unique_key)
    assert seen["max_in_flight"] > 1, seen
    for page in pages:
        times = seen["pages"][str(page)]
        # 503 on the first request of pages 1, 5, 9 (p % 4 == 1), 429 on 3, 7: retried once
        assert len(times) == (2 if page % 4 in (1, 3) else 1), (page, seen["pages"])
        if page % 4 == 3:
            assert times[1] - times[0] >= 1.0, f"Retry-After: 1 not obeyed on page {page}"


@pytest.mark.parametrize("style, path, options, pages", STYLES[:1] + STYLES[2:3])
def test_concurrency_one_keeps_one_request_in_flight(
        cli, api_server, attempts, unique_key, style, path, options, pages):
    read_pages(cli, f"{api_server}/{path}?rows={ROWS}&key={unique_key}&jitter=0.01", style,
               options, concurrency=1)
    seen = attempts(unique_key)
    assert seen["max_in_flight"] == 1
    assert seen["count"] == len(pages) + 1, "one request past the end: the empty page"


def test_a_server_capping_page_sizes_loses_nothing(cli, api_server, attempts, unique_key):
    # page_size 20000 asks for more than the server's cap (10000): pages planned 20000
    # apart would skip rows, so the read follows the records received instead.
    rows = 25000
    url = f"{api_server}/pages/offset?rows={rows}&key={unique_key}"
    result = read(cli, url, "paginator=offset", "results_field=data", "page_size=20000",
                  "concurrency=4").ok()
    assert [r["id"] for r in result.rows()] == list(range(1, rows + 1))


def test_rate_limit_still_spaces_request_starts(cli, api_server, attempts, unique_key):
    url = f"{api_server}/pages/offset?rows=60&key={unique_key}"
    read(cli, url, "paginator=offset", "results_field=data", "page_size=10", "concurrency=4",
         "rate_limit=10").ok()
    times = attempts(unique_key)["times"]
    # Arrival stamps jitter by a few ms on a loaded machine; an unlimited client's
    # requests in flight together arrive within ~1 ms of each other.
    assert all(b - a >= 0.07 for a, b in zip(times, times[1:])), times


def test_time_limit_ends_a_read_with_requests_in_flight(cli, api_server, attempts, unique_key):
    url = f"{api_server}/pages/offset?rows=1000&key={unique_key}&slow=30"
    error = read(cli, url, "paginator=offset", "results_field=data", "concurrency=4",
                 timeout=1).error()
    assert "time limit exceeded" in error
    assert attempts(unique_key)["max_in_flight"] == 4


def test_concurrency_must_be_positive(cli, api_server):
    error = read(cli, f"{api_server}/pages/offset", "paginator=offset", "results_field=data",
                 "concurrency=0").error()
    assert "option 'concurrency' must be a whole number >= 1" in error


CURSOR_OVERLAP = """
local paginate = require "luaconn.paginate"
local client = require "luaconn.client"
local C = { schema = function() return "event STRING" end,
            options = { url = { type = "string" } } }
function C.read(opts, partition, emit)
  local events = {}
  local function start(url, query, raw, body)
    events[#events + 1] = "request " .. tostring(query.cursor or "first")
    return client.start(url, query, raw, body)
  end
  paginate.cursor({ url = opts.url, page_size = 50, fetch = client.fetch, start = start },
                  function(record) events[#events + 1] = "record " .. record.id end)
  for _, event in ipairs(events) do emit { event = event } end
end
return C
"""


def test_a_cursor_read_asks_for_the_next_page_before_reading_a_page(cli, api_server, lua_script):
    # The records are decoded in Lua here (the callback is not the read's emit), so the
    # cursor is known before the page's records are read: the next request goes first.
    path = lua_script(CURSOR_OVERLAP)
    events = [r["event"] for r in cli.run("read", path, "-o", f"url={api_server}/items?rows=120")
              .ok().rows()]
    requests = [i for i, e in enumerate(events) if e.startswith("request")]
    first_records = [events.index(f"record {n}") for n in (1, 51, 101)]
    assert len(requests) == 3
    assert requests[1] < first_records[0] and requests[2] < first_records[1], events
    assert [e for e in events if e.startswith("record")] == [f"record {n}" for n in range(1, 121)]


@pytest.mark.parametrize("cap, step, page_size", [
    (1000, 1, 100),   # dense ids: every page ahead is used
    (37, 1, 100),     # the server caps pages below page_size
    (1000, 3, 100),   # sparse ids, evenly spread
    (37, 7, 50),      # both
])
def test_id_range_reads_ahead_and_loses_nothing(cli, api_server, attempts, unique_key, cap, step,
                                                page_size):
    low, high = 10, 2009
    records = f"/records?step={step}&key={unique_key}&slow=0.02"
    rows = cli.run("read", "idrange", "-o", f"url={api_server}/ids/{low}/{high}/{cap}",
                   "-o", f"records_path={records}", "-o", "partitions=1",
                   "-o", f"page_size={page_size}", "-o", "concurrency=4").ok().rows()
    assert [r["id"] for r in rows] == list(range(low, high + 1, step))
    assert attempts(unique_key)["max_in_flight"] > 1


ABANDONING = """
local http = require "http"
local held = {}   -- the handles stay referenced: only the end of the read can stop them
return { schema = "x INT", options = { a = { type = "string" }, b = { type = "string" } },
  read = function(opts, partition, emit)
    if partition.fail then
      for page = 0, 3 do
        held[#held + 1] = http.start{ url = opts.a .. "&offset=" .. page * 10,
                                      retries = 3, backoff = 0.01 }
      end
      error("the read fails with requests in flight")
    end
    http.request{ url = opts.b }
    emit{ x = 1 }
  end }
"""


def test_a_failed_read_leaves_no_request_behind(api_server, attempts, unique_key):
    """Requests still in flight when a read fails are stopped with it: a later read on
    the same connector must not carry them on (nor retry the failing ones)."""
    import luaconn
    left = f"{api_server}/pages/offset?rows=40&limit=10&key={unique_key}-left&flaky=1&jitter=0.2"
    # The later read's one page takes 0.8 s: time for a retry the failed read left behind.
    later = f"{api_server}/pages/offset?rows=40&limit=10&offset=10&key={unique_key}-later&jitter=1.6"
    with luaconn.Connector(script=ABANDONING, a=left, b=later) as conn:
        with pytest.raises(luaconn.ScriptError, match="the read fails with requests in flight"):
            list(conn.read({"fail": True}))
        assert sum(batch.num_rows for batch in conn.read({"fail": False})) == 1
    assert attempts(f"{unique_key}-later")["count"] == 1
    # Page 1 answers its first request with 503: a request carried on would retry it.
    left_pages = attempts(f"{unique_key}-left")["pages"]
    assert all(len(times) == 1 for times in left_pages.values()), left_pages
