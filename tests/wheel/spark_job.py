"""Run by test_wheel.py with the wheel's venv Python: a local[2] Spark job that reads
through rest.lua, upper-cases status and writes back through rest.lua. Prints the
number of rows read as JSON."""
import json
import sys

from pyspark.sql import SparkSession
from pyspark.sql.functions import upper

import luaconn.spark

api, sink = sys.argv[1], sys.argv[2]
spark = (SparkSession.builder.master("local[2]").appName("luaconn-wheel")
         .config("spark.ui.enabled", "false").getOrCreate())
luaconn.spark.register(spark)
df = spark.read.format("luaconn").option("connector", "rest").option("url", f"{api}/items").load()
(df.withColumn("status", upper("status")).write.format("luaconn").option("connector", "rest")
   .option("target_url", f"{api}/sink/{sink}").mode("append").save())
print(json.dumps({"read": df.count()}))
spark.stop()
