"""Spark batch writes through luaconn.delivery (rest.lua) to the strict ledger server:
each job gets its own task ids, so two jobs never share idempotency keys, while a
re-run with the same write_id applies nothing twice; rejections fail the job past
max_rejected."""
import json
import urllib.request

import pytest
from ledger_server import start_ledger_server


@pytest.fixture(scope="module")
def ledger():
    server, base = start_ledger_server()
    yield base
    server.shutdown()
    server.server_close()


def save(df, target, **options):
    writer = (df.write.format("luaconn").option("connector", "rest").option("target_url", target)
              .option("batch_size", "50").option("backoff", "0.01"))
    for key, value in options.items():
        writer = writer.option(key, value)
    writer.mode("append").save()


def state(target):
    with urllib.request.urlopen(target) as reply:
        return json.load(reply)


def test_job_ids_keep_keys_apart_and_write_id_makes_reruns_idempotent(spark, ledger, unique_key):
    df = spark.range(1, 401).selectExpr("CAST(id AS INT) AS id", "concat('n', id) AS name",
                                        "'ok' AS status").repartition(2)
    target = f"{ledger}/ledger/{unique_key}"
    save(df, target)
    save(df, target)                      # a second job: new keys, applied again
    assert len(state(target)["rows"]) == 800
    again = f"{target}-same"
    save(df, again, write_id="nightly-7")
    save(df, again, write_id="nightly-7")  # the same job re-run: nothing new applied
    rows = state(again)["rows"]
    assert sorted(row["id"] for row in rows) == list(range(1, 401))


def test_rejections_past_max_rejected_fail_the_job(spark, ledger, unique_key):
    df = spark.range(1, 101).selectExpr("CAST(id AS INT) AS id",
                                        "IF(id % 10 = 0, NULL, concat('n', id)) AS name",
                                        "'ok' AS status").coalesce(1)
    with pytest.raises(Exception) as failed:
        save(df, f"{ledger}/ledger/{unique_key}")
    assert "10 of 100 rows were rejected" in str(failed.value)
    save(df, f"{ledger}/ledger/{unique_key}-ok", max_rejected="10")
