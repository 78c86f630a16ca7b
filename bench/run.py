"""luaconn against the seed's hand-written Python connectors (issues 7 and 14): runs
every workload on the same data, prints the table and writes bench/results.md and
the chart of the ratios against their goals (bench/results.png).

    python3 bench/run.py [--scale 0.1] [--only rest,write,mq,ids,mem,latency,pushdown]
                         [--no-write-results]
    (make bench BENCH_SCALE=0.1 BENCH_ONLY=latency,pushdown)

Environment: BENCH_SCALE (default 1), BENCH_DATA (pre-rendered pages; default
/tmp/luaconn-bench-data, reused across runs), BENCH_REPEAT (standalone runs, best
kept; default 3), LUACONN_CLI, BENCH_CEILING and BENCH_MQ_CONSUMER (binaries; default
build/).
"""
import argparse
import datetime
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

import data  # noqa: E402
import servers  # noqa: E402

PAGE = 1000
SEED_PARTITIONS = 8
LATENCY_MS = 20          # what the API server of the latency and pushdown workloads adds
MQ_PREFETCH = 1000       # rabbitmq.lua's default, given to both stream readers
MQ_BARE = "bare librabbitmq consumer (C: no conversion, no Lua)"
LATENCY = "7. {} read, " + f"{LATENCY_MS} ms latency, standalone"
SEED_LOOP = "seed read() loop (requests)"
SEED_PAGED = "seed PartitionedReader, {} partitions"
SELECTIVE = 0.01         # the pushdown workload's filter keeps this share of the ids


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def rounded(n, unit):
    return max(unit, int(round(n / unit)) * unit)


# ---- measuring ----------------------------------------------------------------------

def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def best_of(repeat, fn):
    """(result, seconds) of the fastest of repeat runs (the machine is shared)."""
    runs = [timed(fn) for _ in range(repeat)]
    return min(runs, key=lambda r: r[1])


def _status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def spark_workers():
    """Pids of the Python worker processes of pyspark's daemon (forked children)."""
    daemons, parent = set(), {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            if b"pyspark.daemon" in cmd:
                daemons.add(pid)
                parent[pid] = _status_kb(pid, "PPid")
        except OSError:
            pass
    return [pid for pid in daemons if str(parent[pid]) in daemons]


def reset_peaks():
    """Resets the workers' peak RSS (VmHWM) so the next figure is the next job's."""
    for pid in spark_workers():
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def worker_peak_mb():
    return max((_status_kb(pid, "VmHWM") for pid in spark_workers()), default=0) / 1024


# ---- machine ------------------------------------------------------------------------

def yyjson_version():
    """The vendored yyjson's release, from its header."""
    header = (ROOT / "runtime" / "third_party" / "yyjson" / "yyjson.h").read_text()
    return re.search(r'#define YYJSON_VERSION_STRING "([^"]+)"', header).group(1)


def _version(cmd, pattern=r"([\d][\w.~+-]*)"):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        m = re.search(pattern, out.stdout + out.stderr)
        return m.group(1) if m else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gb = int(f.readline().split()[1]) / 1024 / 1024
    import importlib.metadata as md

    def py(name):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "-"
    java = _version(["java", "-version"], r'version "([^"]+)')
    deb = lambda pkg: _version(["dpkg-query", "-W", "-f=${Version}", pkg], r"(\S+)")  # noqa: E731
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores", "memory": f"{mem_gb:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "versions": (f"luaconn {py('luaconn')}, LuaJIT {deb('libluajit-5.1-2')}, "
                     f"yyjson {yyjson_version()} (vendored), lua-cjson {deb('lua-cjson')} (ceiling), "
                     f"libcurl {deb('libcurl4')}, "
                     f"Python {platform.python_version()}, pyspark {py('pyspark')}, "
                     f"pyarrow {py('pyarrow')}, requests {py('requests')}, pika {py('pika')}, "
                     f"Java {java}, "
                     f"nginx {deb('nginx-light')}, rabbitmq-server {deb('rabbitmq-server')}"),
    }


# ---- Spark --------------------------------------------------------------------------

def spark_session():
    from pyspark.sql import SparkSession

    import luaconn.spark
    import seed

    os.environ["PYSPARK_PYTHON"] = sys.executable
    # Workers import the seed's classes (pickled by reference) from bench/.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    spark = (SparkSession.builder.master("local[2]").appName("luaconn-bench")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "2g")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.sql.session.timeZone", "UTC")
             # Filter pushdown to Python data sources (Spark 4.1+; luaconn.spark.register
             # reads it): the pushdown workload's filters reach the connectors.
             .config("spark.sql.python.filterPushdown.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    luaconn.spark.register(spark)
    seed.register(spark)
    # Warm up the JVM and start the Python workers, so no workload pays for it.
    warm = "return { schema = 'id INT', read = function(o, p, emit) emit { id = 1 } end }"
    for _ in range(3):
        spark.range(0, 100_000, numPartitions=2).selectExpr("sum(id)").collect()
        spark.read.format("luaconn").option("script", warm).load().collect()
    return spark


def spark_read(spark, fmt, options, repeat=1):
    """Reads every row (count and sum of ids force each one through Spark), the
    fastest of repeat jobs; returns ((rows, id sum), seconds, worker peak MB)."""
    df = spark.read.format(fmt).options(**options).load()
    reset_peaks()
    row, seconds = best_of(repeat, lambda: df.selectExpr("count(*) AS n", "sum(id) AS s").collect()[0])
    return (row["n"], row["s"]), seconds, worker_peak_mb()


# ---- the workloads ------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.scale = args.scale
        self.repeat = int(os.environ.get("BENCH_REPEAT", "3"))
        self.data_dir = os.environ.get("BENCH_DATA", "/tmp/luaconn-bench-data")
        self.cli = os.environ.get("LUACONN_CLI", str(ROOT / "build" / "luaconn"))
        self.ceiling = os.environ.get("BENCH_CEILING", str(ROOT / "build" / "bench-ceiling"))
        self.mq_consumer = os.environ.get("BENCH_MQ_CONSUMER", str(ROOT / "build" / "bench-mq-consumer"))
        self.rest_rows = rounded(1_000_000 * self.scale, PAGE)
        self.write_rows = rounded(1_000_000 * self.scale, 1000)
        self.mq_messages = rounded(500_000 * self.scale, 1000)
        self.ids = rounded(10_000_000 * self.scale, SEED_PARTITIONS * PAGE)
        self.mem_small = rounded(1_000_000 * self.scale, PAGE)
        self.latency_rows = rounded(100_000 * self.scale, PAGE)
        # At least 50 pages, so that reading every page and the covering ones differ.
        self.pushdown_rows = max(self.latency_rows, 50 * PAGE)
        self.rows = []       # (workload, system, rows, seconds, peak MB, note)
        self.requests = {}   # (workload, system) -> requests per read, counted by the API server
        self.covering = {}   # workload -> requests a read of only the matching rows needs
        self.unavailable = []  # (workload, feature) the connectors do not offer yet
        self.capacity = []   # (server endpoint, requests/s, rows/s)
        self.notes = []
        self.spark = None
        self.nginx = self.api = None

    def add(self, workload, system, rows, seconds, peak=None, note=""):
        self.rows.append((workload, system, rows, seconds, peak, note))
        log(f"{workload} | {system}: {rows} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s"
            + (f", worker peak {peak:.0f} MB" if peak else "") + (f" ({note})" if note else ""))

    def get_spark(self):
        if self.spark is None:
            log("starting Spark local[2]")
            self.spark = spark_session()
        return self.spark

    # -- data and servers --
    def prepare(self, only):
        if {"rest", "write", "ids", "mem"} & only:
            log(f"rendering pages into {self.data_dir} (once per size)")
            if "rest" in only:
                self.rest_path = data.render_rest(self.data_dir, self.rest_rows, PAGE)
            if {"ids", "mem"} & only:
                self.ids_paths = data.render_ids(self.data_dir, sorted({self.mem_small, self.ids}),
                                                 PAGE, SEED_PARTITIONS)
            self.nginx = servers.Nginx(self.data_dir).start()
            self.base = self.nginx.url
            self.measure_capacity(only)
        if {"latency", "pushdown"} & only:
            self.api = servers.ApiServer(LATENCY_MS).start()
            connections = 32
            rps = servers.wrk(f"{self.api.url}/rest/{self.latency_rows}/items?limit={PAGE}&offset=0",
                              connections=connections)
            self.capacity.append((f"GET one REST page (1,000 rows) from the {LATENCY_MS} ms API server, "
                                  f"{connections} connections", rps, rps * PAGE))

    def measure_capacity(self, only):
        if "rest" in only:
            middle = self.rest_rows // PAGE // 2 or 1
            rps = servers.wrk(f"{self.base}{self.rest_path}?limit={PAGE}&cursor={middle}")
            self.capacity.append(("GET one REST page (1,000 rows)", rps, rps * PAGE))
        if {"ids", "mem"} & only:
            rps = servers.wrk(f"{self.base}{self.ids_paths[self.ids]}/records?id_gte=1"
                              f"&id_lt={self.ids + 1}&limit={PAGE}")
            self.capacity.append(("GET one id page (1,000 rows)", rps, rps * PAGE))
        if "write" in only:
            body = os.path.join(self.nginx.state, "body.json")
            import json
            with open(body, "w") as f:
                json.dump([data.rest_row(i) for i in range(1, 501)], f)
            rps = servers.wrk(f"{self.base}/sink/wrk", body_file=body)
            self.capacity.append(("POST a 500-row batch", rps, rps * 500))

    # -- 1 + 2: REST read --
    def rest_standalone(self):
        url = f"{self.base}{self.rest_path}"
        n = self.rest_rows
        cmd = [self.cli, "read", "rest", "-o", f"url={url}", "-o", f"page_size={PAGE}"]
        self.cli_cmd = " ".join(shlex.quote(c) for c in cmd) + " > /dev/null"
        _, s = best_of(self.repeat, lambda: subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True))
        self.add("2. REST read, standalone", "luaconn CLI (JSON lines to /dev/null)", n, s)

        import luaconn
        conn = luaconn.Connector("rest", url=url, page_size=PAGE)
        got, s = best_of(self.repeat, lambda: sum(b.num_rows for b in conn.read()))
        assert got == n, got
        self.add("2. REST read, standalone", "luaconn plain Python API (Arrow batches)", n, s)

        import seed
        got, s = best_of(self.repeat, lambda: seed.requests_loop(url, PAGE))
        assert got == n, got
        self.add("2. REST read, standalone", "Python loop with requests (seed read())", n, s)

        files = os.path.join(self.nginx.state, "pages.txt")
        with open(files, "w") as f:
            f.write("\n".join(data.rest_page_files(self.data_dir, n)) + "\n")
        for mode, label in (([], "JIT off, as connectors run"), (["--jit"], "JIT on")):
            out = min((subprocess.run([self.ceiling, files, "results", *mode], capture_output=True,
                                      text=True, check=True).stdout.split()
                       for _ in range(self.repeat)), key=lambda r: float(r[1]))
            self.add("2. REST read, standalone", f"ceiling: lua-cjson decode only ({label})",
                     int(out[0]), float(out[1]), note="pages in memory, no HTTP, no rows built")
        out = subprocess.run(["luajit", str(HERE / "ceiling.lua"), files, "results"],
                             capture_output=True, text=True, check=True).stdout.split()
        self.add("2. REST read, standalone", "lua-cjson decode only, in the luajit binary",
                 int(out[0]), float(out[1]), note="LuaJIT's own allocator; for reference")

    def rest_spark(self):
        spark = self.get_spark()
        url = f"{self.base}{self.rest_path}"
        n = self.rest_rows
        expect = (n, n * (n + 1) // 2)
        for system, fmt in (("seed RestApiDataSource", "rest-api"), ("luaconn rest.lua", "luaconn")):
            opts = {"url": url, "page_size": PAGE}
            if fmt == "luaconn":
                opts["connector"] = "rest"
            got, s, peak = spark_read(spark, fmt, opts, self.repeat)
            assert got == expect, (system, got, expect)
            self.add("1. REST read, Spark local[2]", system, n, s, peak)

    # -- 3: write --
    def write_spark(self):
        spark = self.get_spark()
        n = self.write_rows
        df = spark.range(1, n + 1, numPartitions=2).selectExpr(
            "CAST(id AS INT) AS id", "concat('user ', id) AS name",
            "CASE WHEN id % 7 = 0 THEN NULL WHEN id % 2 = 0 THEN 'inactive' ELSE 'active' END AS status")
        df = df.cache()
        df.count()
        for system, fmt, sink in (("seed RestApiBatchWriter", "rest-api", "seed"),
                                  ("luaconn rest.lua", "luaconn", "luaconn")):
            reset_peaks()
            runs = []
            for k in range(self.repeat):   # each run to its own sink, checked whole
                w = df.write.format(fmt).mode("append").option("target_url",
                                                               f"{self.base}/sink/{sink}{k}")
                if fmt == "luaconn":
                    w = w.option("connector", "rest").option("batch_size", "500")
                _, s = timed(w.save)
                posts, size = self.nginx.sink_posts(f"{sink}{k}")
                assert posts == n // 500, (system, posts)
                runs.append(s)
            self.add("3. Write, Spark local[2], batches of 500", system, n, min(runs), worker_peak_mb(),
                     note=f"{posts} POSTs, {size / 1e6:.0f} MB")
        df.unpersist()

    # -- 4: RabbitMQ --
    def mq(self):
        from broker import Broker

        import luaconn
        n = self.mq_messages
        log(f"starting rabbitmq-server and publishing {n} messages")
        with Broker() as broker:

            def broker_seconds():
                """CPU seconds the broker's Erlang VM (in the broker's session) used so far."""
                total = 0.0
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        if os.getsid(int(pid)) != broker.process.pid:
                            continue
                        with open(f"/proc/{pid}/stat") as f:
                            fields = f.read().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                return total

            def with_broker_cpu(fn):
                """fn's (result, seconds) and the broker's CPU share (1.0 = one core busy)
                over all of fn's wall time."""
                cpu, wall = broker_seconds(), time.perf_counter()
                result, seconds = fn()
                return result, seconds, (broker_seconds() - cpu) / (time.perf_counter() - wall)

            queue = "bench"
            with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue, write_id="bench") as c:
                for start in range(0, n, 50_000):
                    rows = [{"body": f'{{"n":{i},"payload":"message {i}"}}'}
                            for i in range(start, min(n, start + 50_000))]
                    c.write(c.rows_from_json(rows))
            self.wait_message_count(broker.url, queue, n)

            def bare():
                out = subprocess.run([self.mq_consumer, broker.url, queue, "0", str(n), str(MQ_PREFETCH)],
                                     capture_output=True, text=True, check=True).stdout.split()
                return int(out[0]), float(out[1])

            # Side by side: the bare consumer and luaconn take turns on the same stream,
            # each going first in every other round, after an untimed read that brings
            # the stream into the broker's memory.
            bare()
            runs = {"bare": [], "luaconn": []}
            with luaconn.Connector("rabbitmq", broker=broker.url, queue=queue, prefetch=MQ_PREFETCH) as c:
                part = f'{{"start": 0, "end": {n}}}'
                readers = {"bare": bare,
                           "luaconn": lambda: timed(lambda: sum(b.num_rows for b in c.read_json(part)))}
                for k in range(self.repeat):
                    for name in (("bare", "luaconn") if k % 2 == 0 else ("luaconn", "bare")):
                        runs[name].append(with_broker_cpu(readers[name]))
            for system, name in ((MQ_BARE, "bare"), ("luaconn plain Python API", "luaconn")):
                got, s, busy = min(runs[name], key=lambda r: r[1])
                assert got == n, (system, got)
                self.add("4. RabbitMQ stream read, standalone", system, n, s,
                         note=f"prefetch {MQ_PREFETCH}; broker CPU {busy:.0%} of one core")
            spark = self.get_spark()
            for system, fmt, opts in (
                    ("seed QueueStreamReader (pika)", "seed-queue", {}),
                    ("luaconn rabbitmq.lua", "luaconn",
                     {"connector": "rabbitmq", "partitions": "2", "starting_offset": "earliest"})):
                (got, peak), s, busy = with_broker_cpu(lambda: self.stream_all(
                    spark, fmt, {"broker": broker.url, "queue": queue, **opts}, n))
                assert got == n, (system, got)
                self.add("4. RabbitMQ stream read, Spark Structured Streaming", system, n, s, peak,
                         note=f"one availableNow trigger; broker CPU {busy:.0%} of one core")

    def wait_message_count(self, url, queue, n):
        import pika
        deadline = time.monotonic() + 60
        while True:
            conn = pika.BlockingConnection(pika.URLParameters(url))
            count = conn.channel().queue_declare(queue=queue, passive=True).method.message_count
            conn.close()
            if count >= n or time.monotonic() > deadline:
                return
            time.sleep(0.5)

    def stream_all(self, spark, fmt, options, n):
        """Reads the stream to its end in one availableNow trigger into a noop sink;
        returns ((rows, worker peak MB), seconds)."""
        import tempfile
        reader = spark.readStream.format(fmt).options(**options)
        with tempfile.TemporaryDirectory(prefix="luaconn-bench-chk-") as checkpoint:
            reset_peaks()
            start = time.perf_counter()
            query = (reader.load().writeStream.format("noop")
                     .option("checkpointLocation", checkpoint)
                     .trigger(availableNow=True).start())
            query.awaitTermination()
            seconds = time.perf_counter() - start
            rows = sum(p["numInputRows"] for p in query.recentProgress)
        return (rows, worker_peak_mb()), seconds

    # -- 5: ID ranges --
    def ids_spark(self):
        spark = self.get_spark()
        n = self.ids
        url = f"{self.base}{self.ids_paths[n]}"
        got, s, peak = spark_read(spark, "seed-idrange", {"url": url, "partitions": SEED_PARTITIONS},
                                  self.repeat)
        self.add("5. ID-range read, Spark local[2], 8 partitions", "seed PartitionedReader",
                 got[0], s, peak,
                 note=f"{n - got[0]} id(s) missed: the seed's ranges end at max_id exclusive")
        got, s, peak = spark_read(spark, "luaconn", {"connector": "idrange", "url": url,
                                                     "partitions": SEED_PARTITIONS, "page_size": PAGE},
                                  self.repeat)
        assert got == (n, n * (n + 1) // 2), got
        self.add("5. ID-range read, Spark local[2], 8 partitions", "luaconn idrange.lua", n, s, peak)

    # -- 6: memory --
    def memory(self):
        spark = self.get_spark()
        for n in (self.mem_small, self.ids):
            url = f"{self.base}{self.ids_paths[n]}"
            got, s, peak = spark_read(spark, "luaconn", {"connector": "idrange", "url": url,
                                                         "partitions": 1, "page_size": PAGE})
            assert got[0] == n, got
            self.add("6. Memory: one partition, one Python worker", f"luaconn idrange.lua, {n:,} rows",
                     n, s, peak)

    # -- 7: latency --
    def takes_option(self, connector, **option):
        """Whether connector accepts option (features of issue 14 land one by one)."""
        import luaconn
        try:
            luaconn.Connector(connector, url="http://127.0.0.1:9", **option).close()
            return True
        except luaconn.OptionError:
            return False

    def counted(self, workload, system, prefix, fn):
        """best_of(fn), recording the API server's requests under prefix per run."""
        self.api.reset()
        result, seconds = best_of(self.repeat, fn)
        self.requests[(workload, system)] = self.api.requests(prefix) / self.repeat
        return result, seconds

    def latency(self):
        """Cursor, offset and id-range reads from an API that answers after LATENCY_MS:
        the seed's readers in a plain Python loop against the plain Python API."""
        import luaconn
        import seed
        n = self.latency_rows
        rest, ids = f"/rest/{n}/items", f"/ids/{n}"
        cases = [
            ("cursor", rest, lambda: seed.requests_loop(self.api.url + rest, PAGE),
             "rest", dict(url=self.api.url + rest, page_size=PAGE), False),
            ("offset", rest, lambda: seed.offset_loop(self.api.url + rest, PAGE),
             "rest", dict(url=self.api.url + rest, page_size=PAGE, paginator="offset",
                          results_field="results", total_field="total"), True),
            # The seed asks a whole partition in one reply; one partition per PAGE ids makes
            # it fetch the pages luaconn fetches, as it must from an API capping replies.
            ("id-range", ids, lambda: seed.partitioned_loop(self.api.url + ids, n // PAGE),
             "idrange", dict(url=self.api.url + ids, partitions=SEED_PARTITIONS, page_size=PAGE), True),
        ]
        for kind, prefix, seed_read, connector, options, fetches_ahead in cases:
            workload = LATENCY.format(kind)
            seed_name = SEED_PAGED.format(n // PAGE) if connector == "idrange" else SEED_LOOP
            got, s = self.counted(workload, seed_name, prefix, seed_read)
            assert got == n or (connector == "idrange" and got == n - 1), (workload, seed_name, got)
            missed = f"; {n - got} id(s) missed: the seed's ranges end at max_id exclusive" if got < n else ""
            self.add(workload, seed_name, got, s, note=self.requests_note(workload, seed_name) + missed)
            runs = [("luaconn plain Python API", options)]
            if fetches_ahead and self.takes_option(connector, concurrency=1):
                runs.append(("luaconn plain Python API, concurrency=1", dict(options, concurrency=1)))
            elif fetches_ahead:
                self.unavailable.append(
                    (workload, f"{connector}.lua's concurrency option (one request in flight)"))
            for system, opts in runs:
                conn = luaconn.Connector(connector, **opts)
                got, s = self.counted(workload, system, prefix, lambda: conn.read_all().num_rows)
                conn.close()
                assert got == n, (workload, system, got)
                self.add(workload, system, n, s, note=self.requests_note(workload, system))

    def requests_note(self, workload, system):
        count = self.requests[(workload, system)]
        return f"{count:,.0f} request{'' if count == 1 else 's'}"

    # -- 8: pushdown --
    def pushdown(self):
        """A filter keeping SELECTIVE of the ids, through Spark: once as Spark can push
        it to the source, once on `abs(id)` (the same rows: ids are positive), which no
        source can take (the reader reads everything and Spark filters; `id + 0` would
        not do, Spark's optimizer folds it back to `id`). The API server counts the
        requests."""
        spark = self.get_spark()
        n = self.pushdown_rows
        matching = max(1, int(n * SELECTIVE))
        lo = n // 2 + 1
        since = n - matching + 1
        filter_params = '{"id>=":"since"}'
        rest_pushdown = self.takes_option("rest", filter_params=filter_params)
        if not rest_pushdown:
            self.unavailable.append(("8. selective filter on REST with a since parameter",
                                     "rest.lua's filter_params option"))
        cases = [
            ("8. selective filter on idrange, 8 partitions", f"/ids/{n}/records",
             {"connector": "idrange", "url": f"{self.api.url}/ids/{n}", "partitions": SEED_PARTITIONS,
              "page_size": PAGE},
             f"id BETWEEN {lo} AND {lo + matching - 1}", f"abs(id) BETWEEN {lo} AND {lo + matching - 1}",
             range(lo, lo + matching), SEED_PARTITIONS + -(-matching // PAGE)),
            ("8. selective filter on REST with a since parameter", f"/rest/{n}/items",
             {"connector": "rest", "url": f"{self.api.url}/rest/{n}/items", "page_size": PAGE,
              **({"filter_params": filter_params} if rest_pushdown else {})},
             f"id >= {since}", f"abs(id) >= {since}", range(since, n + 1), 1 + -(-matching // PAGE)),
        ]
        for workload, prefix, options, pushable, opaque, expect, covering in cases:
            self.covering[workload] = covering
            df = spark.read.format("luaconn").options(**options).load()
            pushed, whole = (f"luaconn, WHERE {pushable}", f"luaconn, WHERE {opaque} (nothing to push)")
            for system, condition in ((pushed, pushable), (whole, opaque)):
                # A new DataFrame each run: collecting one twice reuses its first result.
                row, s = self.counted(workload, system, prefix, lambda: df.where(condition).selectExpr(
                    "count(*) AS n", "sum(id) AS s").collect()[0])
                assert (row["n"], row["s"]) == (len(expect), sum(expect)), (workload, system, row)
                self.add(workload, system, len(expect), s,
                         note=f"{self.requests_note(workload, system)} of {PAGE} rows at most")
            if (self.requests[(workload, pushed)] >= self.requests[(workload, whole)]
                    and workload not in dict(self.unavailable)):
                self.unavailable.append((workload, "filter pushdown (every page read either way)"))

    def close(self):
        if self.spark is not None:
            self.spark.stop()
        if self.nginx:
            self.nginx.stop()
        if self.api:
            self.api.stop()


# ---- the report ---------------------------------------------------------------------

REST_SPARK = "1. REST read, Spark local[2]"
REST_ALONE = "2. REST read, standalone"
PLAIN_API = "luaconn plain Python API (Arrow batches)"
CEILING_OFF = "ceiling: lua-cjson decode only (JIT off, as connectors run)"
MQ_ALONE = "4. RabbitMQ stream read, standalone"
MQ_SPARK = "4. RabbitMQ stream read, Spark Structured Streaming"


def goals(bench):
    """The ratio table: issue 14's goals first (its | workload | today | goal | rows,
    with the measured value in place of today), then issue 7's and ratios without a
    goal. Each row: (workload, measured, goal, met or None, score) where score is
    how far the measurement is towards its goal (1 = just met; None: no goal)."""
    rate = {(w, s): r / sec for w, s, r, sec, _, _ in bench.rows}
    capacity = {what: rows for what, _, rows in bench.capacity}
    out = []

    def ratio(label, w, mine, base, goal=None):
        if (w, mine) in rate and (w, base) in rate:
            x = rate[(w, mine)] / rate[(w, base)]
            score = x / goal if goal else None
            out.append((label, f"{x:.2f}x", f">= {goal:g}x" if goal else "-", x >= goal if goal else None,
                        score))

    ratio("Spark REST read, luaconn / seed", REST_SPARK, "luaconn rest.lua", "seed RestApiDataSource", 10)
    nginx = capacity.get("GET one REST page (1,000 rows)")
    if (REST_ALONE, PLAIN_API) in rate and nginx:
        r = rate[(REST_ALONE, PLAIN_API)]
        score = min(r / 3e6, r / nginx / 0.5)
        out.append(("plain Python API REST read, rows/s, vs nginx's delivery rate of the same pages",
                    f"{r / 1e6:.2f}M rows/s ({r / nginx:.0%})", ">= 3M rows/s (>= 50%)", score >= 1, score))
    for kind, seed_name, goal in (("offset", SEED_LOOP, 6),
                                  ("id-range", SEED_PAGED.format(bench.latency_rows // PAGE), 6),
                                  ("cursor", SEED_LOOP, 1.3)):
        w = LATENCY.format(kind)
        ratio(f"{kind} read with {LATENCY_MS} ms latency, luaconn / seed", w, "luaconn plain Python API",
              seed_name, goal)
    for w, what in (("8. selective filter on idrange, 8 partitions", "idrange"),
                    ("8. selective filter on REST with a since parameter", "REST with a since parameter")):
        made = {s: n for (wl, s), n in bench.requests.items() if wl == w}
        if len(made) == 2:
            pushed, whole = (made[s] for s in sorted(made, key=lambda s: "nothing to push" in s))
            covering = bench.covering[w]
            score = covering / max(pushed, 1)
            out.append((f"selective filter ({SELECTIVE:.0%} of ids) on {what}, requests made",
                        f"{pushed:,.0f} (without pushdown {whole:,.0f})",
                        f"only the covering ones (<= {covering})", pushed <= covering, min(score, 1e3)))
    ratio("RabbitMQ stream read, luaconn / bare librabbitmq consumer", MQ_ALONE, "luaconn plain Python API",
          MQ_BARE, 0.9)
    mem = [peak for w, s, r, sec, peak, _ in bench.rows if w.startswith("6.")]
    if len(mem) == 2 and mem[0]:
        x = mem[1] / mem[0]
        out.append((f"peak RSS, {bench.ids:,} rows / {bench.mem_small:,} rows", f"{x:.2f}x", "<= 1.2x",
                    x <= 1.2, 1.2 / x))
    ratio("Write through Spark, batches of 500, luaconn / seed", "3. Write, Spark local[2], batches of 500",
          "luaconn rest.lua", "seed RestApiBatchWriter", 10)
    ratio("RabbitMQ stream read through Spark, luaconn / seed", MQ_SPARK, "luaconn rabbitmq.lua",
          "seed QueueStreamReader (pika)", 10)
    if (MQ_ALONE, "luaconn plain Python API") in rate:
        r = rate[(MQ_ALONE, "luaconn plain Python API")]
        out.append(("RabbitMQ stream read, luaconn messages/s", f"{r:,.0f}", ">= 200,000", r >= 200_000,
                    r / 200_000))
    ratio("REST read, luaconn CLI / lua-cjson decode ceiling (JIT off)", REST_ALONE,
          "luaconn CLI (JSON lines to /dev/null)", CEILING_OFF, 0.6)
    ratio("REST read, plain Python API / lua-cjson decode ceiling (JIT off)", REST_ALONE, PLAIN_API,
          CEILING_OFF, 0.6)
    ratio("REST read, plain Python API / the seed's read() in a Python loop", REST_ALONE, PLAIN_API,
          "Python loop with requests (seed read())")
    ratio("REST read, plain Python API / lua-cjson decode ceiling (JIT on)", REST_ALONE, PLAIN_API,
          "ceiling: lua-cjson decode only (JIT on)")
    ratio("ID-range read through Spark, luaconn / seed", "5. ID-range read, Spark local[2], 8 partitions",
          "luaconn idrange.lua", "seed PartitionedReader")
    for kind in ("offset", "id-range"):
        ratio(f"{kind} read with {LATENCY_MS} ms latency, luaconn default / concurrency=1",
              LATENCY.format(kind),
              "luaconn plain Python API", "luaconn plain Python API, concurrency=1")
    return out


def chart(rows, path):
    """A PNG of each goal's score (measured against goal, 1 = met) on a log scale."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    rows = [r for r in rows if r[4] is not None][::-1]
    fig, ax = plt.subplots(figsize=(13, 0.45 * len(rows) + 1.4))
    scores = [max(r[4], 1e-3) for r in rows]
    ax.barh(range(len(rows)), scores, color=["#2e8b57" if r[3] else "#c0392b" for r in rows])
    ax.axvline(1, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    for y, (r, x) in enumerate(zip(rows, scores)):
        ax.text(x * 1.05, y, f"{r[1]}  (goal {r[2]})", va="center", fontsize=7)
    ax.set_xlim(min(0.05, min(scores) / 2), max(30, max(scores) * 40))
    ax.set_xlabel("measured against goal (1 = goal met; log scale)")
    ax.set_title("luaconn benchmarks: each ratio against its goal (green: met)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render(bench, info, command, chart_name=None):
    lines = [f"# luaconn benchmarks", "",
             f"Run {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} with `{command}`"
             f" (scale {bench.scale:g}).", "",
             f"Machine: {info['CPU']}, {info['memory']}, {info['OS']}.  ",
             f"Versions: {info['versions']}.", "",
             "| workload | system | rows | seconds | rows/s | Python worker peak RSS | note |",
             "|---|---|---:|---:|---:|---:|---|"]
    for w, s, r, sec, peak, note in bench.rows:
        lines.append(f"| {w} | {s} | {r:,} | {sec:.2f} | {r / sec:,.0f} | "
                     f"{f'{peak:.0f} MB' if peak else '-'} | {note} |")
    lines += ["", "| workload | measured | goal | met |", "|---|---:|---:|---|"]
    for label, measured, goal, met, _ in goals(bench):
        lines.append(f"| {label} | {measured} | {goal} | {'' if met is None else 'yes' if met else 'NO'} |")
    if chart_name:
        lines += ["", f"![each ratio against its goal]({chart_name})"]
    if bench.unavailable:
        lines += ["", "Not in this build yet (the workload measured what there is):", ""]
        lines += [f"- {w}: {feature}" for w, feature in bench.unavailable]
    lines += ["", "Server capacity on its own (wrk, 1 thread, 3 s; nginx: 1 worker process, "
              "pre-rendered files, 2 keep-alive connections; the API server: as stated):", "",
              "| endpoint | requests/s | rows/s |", "|---|---:|---:|"]
    for what, rps, rows in bench.capacity:
        lines.append(f"| {what} | {rps:,.0f} | {rows:,.0f} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    ap.add_argument("--only", default="rest,write,mq,ids,mem,latency,pushdown")
    ap.add_argument("--results", default=str(HERE / "results.md"))
    ap.add_argument("--no-write-results", action="store_true")
    ap.add_argument("--command", default=None, help="the command to record in results.md")
    args = ap.parse_args()
    only = set(args.only.split(","))
    bench = Bench(args)
    info = machine()
    bench.prepare(only)
    try:
        if "rest" in only:
            bench.rest_standalone()
            bench.rest_spark()
        if "write" in only:
            bench.write_spark()
        if "mq" in only:
            bench.mq()
        if "ids" in only:
            bench.ids_spark()
        if "mem" in only:
            bench.memory()
        if "latency" in only:
            bench.latency()
        if "pushdown" in only:
            bench.pushdown()
    finally:
        bench.close()
    command = args.command or "python3 bench/run.py " + " ".join(map(shlex.quote, sys.argv[1:]))
    results = Path(args.results)
    chart_path = None if args.no_write_results else results.with_suffix(".png")
    report = render(bench, info, command, chart_path and chart_path.name)
    print(report)
    if chart_path:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(report)
        chart(goals(bench), chart_path)
        log(f"wrote {results} and {chart_path}")


if __name__ == "__main__":
    main()
