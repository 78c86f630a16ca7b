"""rabbitmq.lua through the plain Python API and the CLI against a real broker:
offsets, replay, data-loss detection, confirmed publishes with deterministic ids,
and the errors a user sees when the broker is down or restarts."""
import json
import logging
import time

import pyarrow as pa
import pytest

import luaconn
from broker import Broker, free_port


def publish(broker, queue, n, **options):
    """Publishes n messages "m0".."m{n-1}" (with a header) through the connector."""
    with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue, **options) as conn:
        rows = [{"body": f"m{i}", "headers": json.dumps({"n": str(i)})} for i in range(n)]
        return conn.write(conn.rows_from_json(rows))


def read_range(broker, queue, start, end, **options):
    with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue, **options) as conn:
        partition = json.dumps({"start": start, "end": end})
        return pa.Table.from_batches(list(conn.read_json(partition)), schema=conn.arrow_schema)


def retry(call, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except luaconn.ConnectorError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_offsets_cover_the_stream_in_bounded_gap_free_batches(broker, queue):
    assert publish(broker, queue, 2500, write_id="load")["rows"] == 2500
    with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue, partitions=3,
                           max_records_per_batch=1000) as conn:
        start = conn.initial_offset()
        assert json.loads(start) == {"next": 0}
        offsets = []
        while True:
            end = conn.latest_offset(start, {"max_rows": 800})
            if end == start:
                break
            assert json.loads(end)["next"] - json.loads(start)["next"] <= 800
            for spec in conn.stream_partitions(start, end):
                for batch in conn.read_json(spec):
                    offsets += batch.column("offset").to_pylist()
            start = end
        # The option bounds a batch even when Spark passes no limit.
        assert json.loads(conn.latest_offset(json.dumps({"next": 0}))) == {"next": 1000}
    assert offsets == list(range(2500))


def test_replaying_a_range_returns_identical_rows(broker, queue):
    publish(broker, queue, 1200, write_id="replay")
    first = read_range(broker, queue, 300, 900)
    again = read_range(broker, queue, 300, 900)
    assert first.num_rows == 600
    assert first.equals(again)
    rows = first.to_pylist()
    assert rows[0]["offset"] == 300 and rows[-1]["offset"] == 899
    assert rows[0]["body"] == "m300"
    assert rows[0]["message_id"] == "replay/301"       # write id / row index (1-based)
    assert json.loads(rows[0]["headers"]) == {"n": "300", "x-stream-offset": 300}
    assert rows[0]["routing_key"] == queue


def test_each_row_has_only_its_own_message_fields(broker, queue):
    """Properties and headers of one message never show up on the next one."""
    with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue) as conn:
        conn.write(conn.rows_from_json([
            {"body": "a", "message_id": "id-a", "timestamp": "2024-05-01T12:00:00Z",
             "headers": json.dumps({"kind": "x", "n": 1})},
            {"body": "b"},
            {"body": "c", "headers": json.dumps({"kind": "y"})},
        ]))
    rows = read_range(broker, queue, 0, 3).to_pylist()
    assert [r["body"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["message_id"] == "id-a" and rows[1]["message_id"] != "id-a"
    assert rows[0]["timestamp"] is not None and rows[1]["timestamp"] is None
    assert rows[0]["headers"] == '{"kind":"x","n":1,"x-stream-offset":0}'
    assert rows[1]["headers"] == '{"x-stream-offset":1}'
    assert rows[2]["headers"] == '{"kind":"y","x-stream-offset":2}'


def test_offsets_are_found_with_a_large_prefetch(broker, queue):
    """A head probe stopped with many deliveries in flight must not hide the tail."""
    publish(broker, queue, 6000, write_id="big")
    with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue, prefetch=20000) as conn:
        assert json.loads(conn.initial_offset()) == {"next": 0}
        assert json.loads(conn.latest_offset(json.dumps({"next": 0}))) == {"next": 6000}
        rows = pa.Table.from_batches(list(conn.read_json('{"start": 0, "end": 6000}')))
    assert rows.column("offset").to_pylist() == list(range(6000))


def test_binary_bodies(broker, queue):
    publish(broker, queue, 3)
    table = read_range(broker, queue, 0, 3, body="binary")
    assert table.schema.field("body").type == pa.binary()
    assert table.column("body").to_pylist() == [b"m0", b"m1", b"m2"]


def test_message_ids_are_deterministic_without_a_write_id(broker, queue):
    publish(broker, queue, 2)
    publish(broker, queue, 2)   # the same rows again: a consumer can drop them
    ids = read_range(broker, queue, 0, 4).column("message_id").to_pylist()
    assert ids[:2] == ids[2:] and ids[0] != ids[1]


def test_cli_reads_a_range_and_the_whole_stream(broker, queue, run_cli):
    publish(broker, queue, 50)
    ranged = run_cli("read", "rabbitmq", "-o", f"broker={broker.url}", "-o", f"queue={queue}",
                     "--partition", '{"start": 10, "end": 20}').ok().rows()
    assert [row["offset"] for row in ranged] == list(range(10, 20))
    assert [row["body"] for row in ranged] == [f"m{i}" for i in range(10, 20)]
    assert json.loads(ranged[0]["headers"])["n"] == "10"
    everything = run_cli("read", "rabbitmq", "-o", f"broker={broker.url}",
                         "-o", f"queue={queue}").ok().rows()
    assert [row["body"] for row in everything] == [f"m{i}" for i in range(50)]


def offsets(table):
    return table.column("offset").to_pylist()


def test_a_range_ends_at_its_end_bound_across_an_offset_gap(broker, queue):
    publish(broker, queue, 3)                # offsets 0, 1, 2
    broker.write_tracking_entry(queue)       # offset 3 holds no message
    publish(broker, queue, 2)                # offsets 4, 5
    assert offsets(read_range(broker, queue, 0, 6)) == [0, 1, 2, 4, 5]
    # The range [0, 4) ends in the gap: the first delivered offset at or past 4 ends it.
    below = read_range(broker, queue, 0, 4)
    assert offsets(below) == [0, 1, 2]
    assert below.column("body").to_pylist() == ["m0", "m1", "m2"]
    # A range starting in the gap is not data loss: offset 3 never held a message.
    assert offsets(read_range(broker, queue, 3, 5)) == [4]
    assert offsets(read_range(broker, queue, 3, 4)) == []
    assert offsets(read_range(broker, queue, 4, 6)) == [4, 5]


def earliest(conn):
    return json.loads(conn.initial_offset())["next"]


def test_retention_truncation_is_detected_as_data_loss(broker, queue, caplog):
    small_segments = json.dumps({"x-stream-max-segment-size-bytes": 4000})
    publish(broker, queue, 300, queue_arguments=small_segments)   # about ten segments
    broker.trim_stream(queue)     # retention keeps only the active segment
    publish(broker, queue, 5, queue_arguments=small_segments)   # too few to roll a segment
    with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue) as conn:
        deadline = time.monotonic() + 30    # the broker trims at once, but asynchronously
        while earliest(conn) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        head = earliest(conn)     # stays: no segment rolls over from here on
        tail = json.loads(conn.latest_offset(json.dumps({"next": head})))["next"]
    assert 0 < head < tail     # offsets may skip values: tail is not a count
    with pytest.raises(luaconn.ConnectorError) as failure:
        read_range(broker, queue, 0, tail)
    assert (f"data loss in stream '{queue}': offsets [0, {head}) are no longer retained"
            in str(failure.value)), str(failure.value)
    assert "fail_on_data_loss=false" in str(failure.value)
    with caplog.at_level(logging.WARNING):
        rows = read_range(broker, queue, 0, tail, fail_on_data_loss="false")
    assert f"offsets [0, {head})" in caplog.text
    # What was skipped is exactly what is gone: every retained message, once, in order.
    assert offsets(rows)[0] == head and offsets(rows) == sorted(set(offsets(rows)))
    assert rows.column("body").to_pylist()[-5:] == [f"m{i}" for i in range(5)]
    assert rows.equals(read_range(broker, queue, head, tail))


def test_broker_down_names_host_and_port(run_cli):
    port = free_port()
    url = f"amqp://guest:guest@127.0.0.1:{port}/%2F"
    with pytest.raises(luaconn.ConnectorError) as failure:
        luaconn.Connector("rabbitmq", broker=url, queue="q").initial_offset()
    assert f"amqp: cannot connect to 127.0.0.1:{port}: connection refused" in str(failure.value)
    line = run_cli("read", "rabbitmq", "-o", f"broker={url}", "-o", "queue=q").error()
    assert f"cannot connect to 127.0.0.1:{port}: connection refused" in line


def test_broker_restart_fails_cleanly_then_recovers_without_loss():
    with Broker() as own:
        publish(own, "durable", 500)
        conn = luaconn.Connector("rabbitmq", broker=own.url, queue="durable")
        assert json.loads(conn.latest_offset('{"next": 0}')) == {"next": 500}
        own.stop()
        with pytest.raises(luaconn.ConnectorError, match=r"127\.0\.0\.1:\d+"):
            conn.latest_offset('{"next": 0}')
        own.start()
        # The same connector reconnects once the stream is back (its leader may take
        # a moment); the stream kept every message.
        assert json.loads(retry(lambda: conn.latest_offset('{"next": 0}'))) == {"next": 500}
        assert read_range(own, "durable", 0, 500).column("body").to_pylist() == \
            [f"m{i}" for i in range(500)]
        conn.close()


def test_messages_without_timestamp_read_as_null_without_a_misspelt_column_warning(
        broker, queue, caplog):
    publish(broker, queue, 3)   # no timestamp property on these messages
    with caplog.at_level(logging.WARNING):
        rows = read_range(broker, queue, 0, 3)
    assert rows.column("timestamp").to_pylist() == [None, None, None]
    assert rows.column("body").to_pylist() == ["m0", "m1", "m2"]
    assert "misspelt" not in caplog.text
