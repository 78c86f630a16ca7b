"""The benchmark's HTTP server: Debian's nginx on 127.0.0.1 serving the pre-rendered
pages of bench/data.py as static files, plus a write sink; and wrk to measure what it
can deliver on its own.

  GET  /rest/<rows>/items?limit=L&cursor=K   the file rest/<rows>/page<K>.json
  GET  /ids/<n>/stats                        ids/<n>/stats
  GET  /ids/<n>/records?id_gte=A&limit=L     ids/pages/A_L.json (idrange.lua)
  GET  /ids/<n>/records?id_gte=A&id_lt=B     ids/<n>/seed_A_B.json (the seed reader)
  POST /sink/<name>                          reads the body, answers {"received":true};
                                             the access log records each POST's size

The query parameter limit is not interpreted: pages are rendered at the size both
clients ask for.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {state}/nginx.pid;
error_log {state}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path {state}/body;
  proxy_temp_path {state}/proxy;
  fastcgi_temp_path {state}/fastcgi;
  uwsgi_temp_path {state}/uwsgi;
  scgi_temp_path {state}/scgi;
  types {{ }}
  default_type application/json;
  log_format sink '$uri $content_length';
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location ~ ^/rest/(\\d+)/items$ {{ try_files /rest/$1/page$arg_cursor.json =404; }}
    location ~ ^/ids/(\\d+)/stats$ {{ try_files /ids/$1/stats =404; }}
    location ~ ^/ids/(\\d+)/records$ {{
      try_files /ids/pages/${{arg_id_gte}}_${{arg_limit}}.json
                /ids/$1/seed_${{arg_id_gte}}_${{arg_id_lt}}.json =404;
    }}
    location /sink/ {{
      client_max_body_size 0;
      client_body_buffer_size 1m;
      access_log {state}/sink.log sink;
      return 200 '{{"received":true}}';
    }}
  }}
}}
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """A private nginx (own config, pid, logs) serving root on a free port."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.state = tempfile.mkdtemp(prefix="luaconn-bench-nginx-")
        self.port = _free_port()
        self.process = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        conf = os.path.join(self.state, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(state=self.state, port=self.port, root=self.root))
        self.process = subprocess.Popen(["nginx", "-c", conf, "-p", self.state, "-e",
                                         os.path.join(self.state, "error.log")],
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start; see {self.state}/error.log")
                time.sleep(0.05)

    def sink_posts(self, name):
        """(POST count, body bytes) the sink <name> received so far."""
        posts = size = 0
        try:
            with open(os.path.join(self.state, "sink.log")) as f:
                for line in f:
                    uri, length = line.split()
                    if uri == f"/sink/{name}":
                        posts += 1
                        size += int(length) if length.isdigit() else 0
        except FileNotFoundError:
            pass
        return posts, size

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.state, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


WRK_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BENCH_WRK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
"""


def wrk(url, seconds=3, connections=2, body_file=None):
    """Requests per second wrk gets from url (POSTing body_file's bytes when given),
    with one thread and `connections` keep-alive connections."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    env = dict(os.environ)
    script = None
    if body_file:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(WRK_POST)
        script.close()
        cmd[1:1] = ["-s", script.name]
        env["BENCH_WRK_BODY"] = body_file
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    finally:
        if script:
            os.unlink(script.name)
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"wrk got error responses from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


class ApiServer:
    """bench/api_server.py in its own process: every reply after latency_ms, requests
    counted per path."""

    def __init__(self, latency_ms):
        self.latency_ms = latency_ms
        self.process = None
        self.url = None

    def start(self):
        import sys
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "api_server.py")
        self.process = subprocess.Popen([sys.executable, script, "--latency-ms", str(self.latency_ms)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError("bench/api_server.py did not start")
        self.url = line.split()[-1]
        return self

    def _call(self, method):
        import json
        import urllib.request
        with urllib.request.urlopen(urllib.request.Request(f"{self.url}/_requests", method=method)) as r:
            return json.load(r)

    def requests(self, prefix=""):
        """Requests made so far to paths that start with prefix."""
        return sum(n for path, n in self._call("GET").items() if path.startswith(prefix))

    def reset(self):
        self._call("DELETE")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
