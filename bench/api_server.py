"""The benchmark's API with latency: answers every request after a fixed delay (as a
real API tens of milliseconds away does) and counts the requests it gets, for the
latency and pushdown workloads. Python stdlib, one thread per connection, so
requests in flight together wait out their delays together.

    python3 bench/api_server.py [--latency-ms 20] [--port 0]
prints ``listening on http://127.0.0.1:PORT`` once it accepts connections.

  GET /rest/<rows>/items?limit=L[&cursor=C][&since=S]   cursor pages of data.rest_row
      ids S.. (default 1) up to rows: {"results": [...], "next_cursor": "<id>"|null}
  GET /rest/<rows>/items?limit=L&offset=O[&since=S]     the same rows by offset:
      {"results": [...], "total": <rows from S on>}
  GET /ids/<n>/stats                                   {"min_id": 1, "max_id": n}
  GET /ids/<n>/records?id_gte=A&id_lt=B[&limit=L]      [{"id": i, "value": "v<i>"}, ...]
      for A <= i < B (at most L of them), as bench/data.py renders them
  GET /_requests                                       {"<path>": requests so far}
  DELETE /_requests                                    sets every count to zero

`since` is an id (as GitHub's `?since=<id>`): the server's own filter, which a
connector's filter pushdown maps `id >= S` to. Bodies are built once and cached, so
the server's own work per request stays far below the delay.
"""
import argparse
import functools
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402

REST = re.compile(r"^/rest/(\d+)/items$")
IDS = re.compile(r"^/ids/(\d+)/(stats|records)$")


def _json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@functools.lru_cache(maxsize=8192)
def rest_page(rows, first, limit, with_total, total):
    """Records first..first+limit-1 (clipped to rows): a cursor page, or an offset page
    with total."""
    ids = range(first, min(first + limit, rows + 1))
    page = {"results": [data.rest_row(i) for i in ids]}
    if with_total:
        page["total"] = total
    else:
        page["next_cursor"] = str(ids.stop) if ids.stop <= rows else None
    return _json(page)


@functools.lru_cache(maxsize=8192)
def id_page(n, gte, lt):
    ids = range(max(gte, 1), min(lt, n + 1))
    return ("[" + ",".join(f'{{"id":{i},"value":"v{i}"}}' for i in ids) + "]").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive: Content-Length on every reply
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms wait on an ACK

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_DELETE(self):
        if urlsplit(self.path).path != "/_requests":
            return self.reply(404, b'{"error":"not found"}')
        with self.server.lock:
            self.server.counts.clear()
        self.reply(200, b"{}")

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/_requests":
            with self.server.lock:
                return self.reply(200, _json(dict(self.server.counts)))
        with self.server.lock:
            self.server.counts[url.path] = self.server.counts.get(url.path, 0) + 1
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            body = self.body(url.path, q)
        except (KeyError, ValueError) as e:
            return self.reply(400, _json({"error": f"bad request: {e}"}))
        time.sleep(self.server.latency)
        if body is None:
            return self.reply(404, b'{"error":"not found"}')
        self.reply(200, body)

    def body(self, path, q):
        m = REST.match(path)
        if m:
            rows, limit = int(m.group(1)), int(q.get("limit", "100"))
            since = max(1, int(q.get("since", "1")))
            if "offset" in q:
                return rest_page(rows, since + int(q["offset"]), limit, True, max(0, rows - since + 1))
            return rest_page(rows, max(since, int(q.get("cursor", since))), limit, False, 0)
        m = IDS.match(path)
        if m and m.group(2) == "stats":
            return _json({"min_id": 1, "max_id": int(m.group(1))})
        if m:
            n, gte, lt = int(m.group(1)), int(q["id_gte"]), int(q["id_lt"])
            if "limit" in q:
                lt = min(lt, gte + int(q["limit"]))
            return id_page(n, gte, lt)
        return None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128   # the seed's reads open a connection per request

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):   # wrk hangs up when its time is up
            super().handle_error(request, client_address)


def serve(latency_ms, port=0):
    server = Server(("127.0.0.1", port), Handler)
    server.latency = latency_ms / 1000
    server.counts, server.lock = {}, threading.Lock()
    return server


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency-ms", type=float, default=20)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = serve(args.latency_ms, args.port)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
