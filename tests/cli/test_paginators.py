"""Every luaconn.paginate style through rest.lua, against the test API speaking that
style: all rows once, in order, and the stop conditions (how many pages)."""
import pytest
from api_server import dataset


def read(cli, url, *options):
    args = ["read", "rest", "-o", f"url={url}"]
    for option in options:
        args += ["-o", option]
    return cli.run(*args)


@pytest.mark.parametrize("rows", [2500, 2450, 0])
@pytest.mark.parametrize("style, path, options, pages_for", [
    ("cursor", "items", [], lambda n: max(1, -(-n // 100))),
    ("offset", "pages/offset", ["results_field=data", "total_field=total"], lambda n: max(1, -(-n // 100))),
    ("offset", "pages/offset", ["results_field=data"], lambda n: -(-n // 100) + 1),
    ("page", "pages/number", ["results_field=items", "page_size_param=per_page"], lambda n: -(-n // 100) + 1),
    ("link", "pages/link", ["results_field=", "page_size_param=per_page"], lambda n: max(1, -(-n // 100))),
    ("next_url", "pages/next", ["results_field=records", "next_field=links.next"], lambda n: max(1, -(-n // 100))),
    ("next_url", "pages/next?rel=1", ["results_field=records", "next_field=links.next"], lambda n: max(1, -(-n // 100))),
])
def test_each_style_reads_every_row_once(cli, api_server, attempts, unique_key, rows, style,
                                         path, options, pages_for):
    sep = "&" if "?" in path else "?"
    url = f"{api_server}/{path}{sep}rows={rows}&key={unique_key}"
    # One request at a time, so the requests made are the pages the style reads
    # (test_concurrency.py reads with several in flight).
    result = read(cli, url, f"paginator={style}", "concurrency=1", *options).ok()
    assert result.rows() == dataset(rows)
    assert attempts(unique_key)["count"] == pages_for(rows)


def test_unknown_style_is_named(cli, api_server):
    error = read(cli, f"{api_server}/items", "paginator=scroll").error()
    assert "unknown paginator 'scroll' (cursor, last_record, offset, page, link or next_url)" in error


def test_missing_records_array_names_the_field(cli, api_server):
    error = read(cli, f"{api_server}/pages/offset", "paginator=offset").error()
    assert "page 1 has no 'results' array (set results_field)" in error


def test_rate_limit_spaces_the_pages(cli, api_server, attempts, unique_key):
    read(cli, f"{api_server}/items?rows=600&key={unique_key}", "rate_limit=10").ok()
    times = attempts(unique_key)["times"]
    assert len(times) == 6
    # The server stamps arrivals, which jitter by a few ms on a loaded machine: every gap
    # is well above an unlimited client's (~1 ms), and the span shows the 0.1 s spacing.
    assert all(b - a >= 0.07 for a, b in zip(times, times[1:])), times
    assert times[-1] - times[0] >= 0.47, times
