"""`luaconn write rest`: JSON lines on stdin become batched POSTs to the test API's sink."""

import json
import re

import pytest
from api_server import dataset


def jsonl(rows):
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def without_nulls(rows):
    """A null column may reach the API as null or as a missing key (a Lua table
    cannot hold nil); both mean the same row."""
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


@pytest.mark.parametrize("batch_size, batches", [(None, [500, 500, 234]), (1000, [1000, 234])])
def test_write_posts_every_row_once_in_batches(cli, api_server, sink, unique_key, batch_size,
                                                batches):
    rows = dataset(1234)
    options = ["-o", f"target_url={api_server}/sink/{unique_key}"]
    if batch_size:
        options += ["-o", f"batch_size={batch_size}"]
    result = cli.run("write", "rest", *options, input=jsonl(rows)).ok()
    stored = sink(unique_key)
    assert stored["batches"] == batches
    assert without_nulls(stored["rows"]) == without_nulls(rows)
    summary = result.stderr.strip().split("\n")
    assert len(summary) == 1 and "1234" in summary[0].replace(",", ""), result.stderr


def test_write_retries_a_503_without_duplicating_rows(cli, api_server, sink, attempts, unique_key):
    rows = dataset(600)
    url = f"{api_server}/sink/{unique_key}?key={unique_key}&fail=503&times=1"
    cli.run("write", "rest", "-o", f"target_url={url}", input=jsonl(rows)).ok()
    stored = sink(unique_key)
    assert stored["batches"] == [500, 100]
    assert without_nulls(stored["rows"]) == without_nulls(rows)
    assert attempts(unique_key)["count"] == 3


def test_write_to_a_failing_sink_reports_the_status(cli, api_server, sink, unique_key):
    url = f"{api_server}/sink/{unique_key}?key={unique_key}&fail=500"
    result = cli.run("write", "rest", "-o", f"target_url={url}", "-o", "retries=0",
                     input=jsonl(dataset(10)))
    assert "500" in result.error()
    assert sink(unique_key)["rows"] == []


def test_write_without_target_url_names_the_option(cli):
    result = cli.run("write", "rest", input=jsonl(dataset(3)))
    assert "target_url" in result.error()


def test_write_rejects_a_row_that_does_not_fit_the_schema(cli, api_server, unique_key):
    lines = jsonl(dataset(3)) + '{"id": "not a number", "name": "x", "status": null}\n'
    result = cli.run("write", "rest", "-o", f"target_url={api_server}/sink/{unique_key}",
                     input=lines)
    assert re.search(r"\bid\b", result.error())
