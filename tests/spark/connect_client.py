"""A Spark Connect client, run by test_connect.py in its own process (as a user's
notebook would be): python connect_client.py sc://HOST:PORT API_URL WORKDIR

Registers luaconn, reads and writes through rest.lua, reads a REST feed as a stream,
reads with credentials from the cluster's secrets file, and tries the session-conf
store; prints what each step saw as one JSON object."""
import json
import sys
import time
import urllib.request

from pyspark.sql import SparkSession
from pyspark.sql.functions import upper

import luaconn.spark

url, api, workdir = sys.argv[1:4]
spark = SparkSession.builder.remote(url).getOrCreate()
luaconn.spark.register(spark)
seen = {"session": type(spark).__module__}

df = (spark.read.format("luaconn").option("connector", "rest")
      .option("url", f"{api}/items").option("page_size", "500").load())
seen["read"] = df.count()
seen["sink"] = f"connect-{int(time.time() * 1000)}"
(df.withColumn("status", upper("status")).write.format("luaconn").option("connector", "rest")
   .option("target_url", f"{api}/sink/{seen['sink']}").mode("append").save())

feed = f"{api}/feed/connect-{int(time.time() * 1000)}"
urllib.request.urlopen(urllib.request.Request(f"{feed}?count=120", method="POST")).close()
query = (spark.readStream.format("luaconn").option("connector", "rest_stream")
         .option("url", feed).option("field", "seq").option("results_field", "events")
         .option("page_size", "50").option("schema", "seq BIGINT, name STRING").load()
         .writeStream.format("parquet").option("path", f"{workdir}/sink")
         .option("checkpointLocation", f"{workdir}/checkpoint").start())
try:
    query.processAllAvailable()
finally:
    query.stop()
seen["stream"] = sorted(r.seq for r in spark.read.parquet(f"{workdir}/sink").collect())


def bearer_read(key):
    return (spark.read.format("luaconn").option("connector", "rest")
            .option("url", f"{api}/auth/bearer/items").option("auth", "bearer")
            .option("secret_scope", "team").option("secret_key", key).load())


seen["secrets_file_read"] = bearer_read("token").count()
spark.conf.set("spark.luaconn.secrets.team.other", sys.stdin.read().strip())
luaconn.spark.register(spark)
try:
    bearer_read("other").collect()
    seen["conf_store_error"] = None
except Exception as e:  # noqa: BLE001 - the test looks at the message
    seen["conf_store_error"] = str(e)
spark.stop()
print(json.dumps(seen))
