"""Hot reload in Spark: a running streaming query picks up an edited connector at the
next micro-batch (driver and executors), keeps running on the last good version when
an edit is broken or changes the schema, and batch jobs use the newest version."""
import time

import pytest

TICKER = """local C = {{ description = "a never-ending counter", schema = "{schema}" }}
function C.initial_offset(opts) return {{ next = 0 }} end
function C.latest_offset(opts, start) return {{ next = start.next + 4 }} end
function C.stream_partitions(opts, start, stop)
  return {{ {{ lo = start.next, hi = stop.next }} }}
end
local function label(i) return {label} end
function C.read(opts, p, emit)
  for i = p.lo, p.hi - 1 do emit {{ id = i, label = label(i) }} end
end
return C
"""
SCHEMA = "id INT, label STRING"


def write(path, schema=SCHEMA, label='"v1"'):
    path.write_text(TICKER.format(schema=schema, label=label))


def rows(spark, table):
    return [(row.id, row.label) for row in spark.sql(f"SELECT id, label FROM {table} ORDER BY id").collect()]


def wait_for(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def test_a_running_stream_picks_up_edits_and_survives_broken_ones(spark, tmp_path):
    script = tmp_path / "ticker.lua"
    write(script)
    query = (spark.readStream.format("luaconn").option("connector", str(script)).load()
             .writeStream.format("memory").queryName("reload_ticker")
             .trigger(processingTime="500 milliseconds").start())
    try:
        wait_for(lambda: len(rows(spark, "reload_ticker")) >= 8, "two micro-batches of v1")

        write(script, label='"v2:" .. i * 10')           # the transformation
        wait_for(lambda: any(label.startswith("v2") for _, label in rows(spark, "reload_ticker")),
                 "rows from the edited script")

        script.write_text("local C = { schema = 'id INT, label STRING' }\nfunction C.read(\n")
        seen = len(rows(spark, "reload_ticker"))
        wait_for(lambda: len(rows(spark, "reload_ticker")) >= seen + 8,
                 "micro-batches after a broken edit")
        assert query.isActive and query.exception() is None

        write(script, schema="id BIGINT, label STRING, extra STRING", label='"v3"')
        seen = len(rows(spark, "reload_ticker"))
        wait_for(lambda: len(rows(spark, "reload_ticker")) >= seen + 8,
                 "micro-batches after a schema-changing edit")
        assert query.isActive and query.exception() is None
    finally:
        query.stop()

    result = rows(spark, "reload_ticker")
    ids = [i for i, _ in result]
    assert ids == list(range(len(ids))), "every offset exactly once, no gaps"
    labels = [label for _, label in result]
    first_v2 = next(n for n, label in enumerate(labels) if label != "v1")
    # Earlier micro-batches keep v1, every later row comes from the edited script:
    # neither the broken edit nor the schema change ever replaced it.
    assert first_v2 >= 8 and first_v2 % 4 == 0, "the switch happens at a micro-batch boundary"
    assert all(label == "v1" for label in labels[:first_v2])
    assert labels[first_v2:] == [f"v2:{i * 10}" for i in ids[first_v2:]]


def test_batch_jobs_after_an_edit_use_the_new_version(spark, tmp_path):
    script = tmp_path / "batch_ticker.lua"
    script.write_text('local C = { schema = "id INT, label STRING" }\n'
                      'function C.read(opts, p, emit) for i = 1, 3 do emit { id = i, label = "old" } end end\n'
                      'return C\n')

    def labels():
        df = spark.read.format("luaconn").option("connector", str(script)).load()
        return sorted(row.label for row in df.collect())

    assert labels() == ["old"] * 3
    script.write_text('local C = { schema = "id INT, label STRING" }\n'
                      'function C.read(opts, p, emit) for i = 1, 3 do emit { id = i, label = "new" } end end\n'
                      'return C\n')
    assert labels() == ["new"] * 3
