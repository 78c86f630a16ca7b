"""A real HTTP API on 127.0.0.1 for luaconn's tests and demo (Python stdlib only).

Run it:
    python3 tests/server/api_server.py --port 0 [--rows N]
binds 127.0.0.1 (port 0 picks a free port), prints exactly
``listening on http://127.0.0.1:PORT`` to stdout once it accepts connections, and
exits with status 0 on SIGTERM or SIGINT. Or import it:
    server, base_url = start_server(rows=2500)   # serves from a daemon thread
    ...; server.shutdown(); server.server_close()
``dataset(n)`` and ``typed_dataset(n)`` return the exact rows the server pages over,
so tests can compare what a reader produced with what the server holds.

HTTP/1.1 with Content-Length on every reply, so clients keep connections alive.
Every reply body is JSON (except the deliberate ``malformed`` fault).

Endpoints
---------
GET /items?limit=L&cursor=C[&rows=N][&end=null|absent|empty][&empty_pages=1]
    Cursor pagination over ``dataset(N)`` (N = ``rows`` or the server's --rows,
    default 2500). Reply: {"results": [row, ...], "next_cursor": "<opaque>"}.
    limit defaults to 100 and is capped at 10000; limit < 1 or not a number is 400.
    No cursor starts at the first row. The cursor is opaque (base64 text); a cursor
    the server did not make is 400. On the last page next_cursor is null
    (end=null, the default), left out of the object (end=absent) or "" (end=empty).
    empty_pages=1: the first reply and the reply after every page of rows have no
    rows but do carry a cursor (a reader must follow it, not stop); the final reply
    (no rows, end marker) follows the last page of rows.
    Row i (1-based): {"id": i, "name": str, "status": "active"|"inactive"|null}.
    Names cycle through NAME_SAMPLES (ASCII, accents, CJK, emoji beyond the BMP,
    quotes, backslashes, a tab, "\n", "\r\n", the empty string, ...): every kind
    appears in the first 50 rows. status is null on every 7th row.

GET /typed?...
    The same pagination over ``typed_dataset(N)``, whose Spark DDL is TYPED_SCHEMA:
    b BOOLEAN, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, bin BINARY, dt DATE,
    ts TIMESTAMP. dt is "YYYY-MM-DD", ts is "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC),
    bin is a string whose UTF-8 bytes are the value. Column k (0-based, schema
    order) of row i (1-based) is null when (i + k) % 11 == 0.

ANY /echo
    {"method", "path", "query": {k: v}, "headers": {lowercase name: v}, "body": raw}.

POST /sink/<name>   body: a JSON array of rows -> stores it as one batch,
                    replies {"received": n}; a body that is not a JSON array is 400.
GET /sink/<name>    {"batches": [rows per POST, in order], "rows": [every row, in order]}
DELETE /sink/<name> clears it; replies {"cleared": name}.

GET /_attempts?key=K
    {"count": n, "times": [time.monotonic() of each request made with key=K]}
    (the server and an importing test share one clock only in-process; compare
    differences between times, never a time with the caller's clock).

Credentials (the auth fallback chain's tests)
---------------------------------------------
GET /auth/<kind>/items?...   /items, but only with the right credentials, else 401
    {"error": "unauthorized"} with WWW-Authenticate (never echoing what was sent):
    bearer   Authorization: Bearer API_TOKEN
    header   X-API-Key: API_TOKEN
    query    ?api_key=API_TOKEN
    basic    Authorization: Basic base64(BASIC_USER:BASIC_PASSWORD)
    oauth2   Authorization: Bearer <a live token from /oauth/token>
POST /oauth/token?key=K[&ttl=S][&uses=U]   OAuth2 client credentials: form body
    grant_type=client_credentials with client_id/client_secret in the body or as
    HTTP basic credentials (CLIENT_ID, CLIENT_SECRET); else 401. Replies
    {"access_token", "token_type": "bearer", "expires_in": S}; the token dies after
    S seconds (default 3600) or after U resource requests (default unlimited), and
    /auth/oauth2 then answers 401.
GET /oauth/stats?key=K   {"issued": tokens issued for K, "rejected": 401s /auth/oauth2
    gave for K's tokens}.

ID ranges (idrange.lua)
-----------------------
GET /ids/<min>/<max>/<cap>/stats     {"min_id": min, "max_id": max} (inclusive; both
    null when max < min: an empty table).
GET /ids/<min>/<max>/<cap>/records?id_gte=A&id_lt=B[&limit=L]
    A JSON array of {"id": i, "value": "v<i>"} for A <= i < B inside [min, max], in id
    order, at most min(L, cap) of them (L defaults to cap).

Paginator styles over dataset(N) (``rows`` as for /items)
--------------------------------------------------------
GET /pages/offset?offset=O&limit=L      {"data": [...], "total": N}
GET /pages/number?page=P&per_page=S     {"items": [...], "page": P, "total_pages": T}
    (pages from 1; a page past the end is empty)
GET /pages/link?page=P&per_page=S       a bare JSON array; header
    Link: <absolute url of the next page>; rel="next" while rows remain
GET /pages/next?after=A&limit=L         {"records": [...], "links": {"next": URL|null}}
    (rows with id > A; URL absolute, or relative with rel=1)
L, S default to 100 and are capped at 10000 (a longer request gets a shorter page).

A growing feed (incremental reads)
---------------------------------
POST /feed/<name>?count=K   appends K rows {"seq": n, "name": "event n"} (seq 1, 2, ...)
GET /feed/<name>?since=S&limit=L   {"events": rows with seq > S in seq order, at most L}

Faults (on any path except /_attempts; selected by query parameters)
--------------------------------------------------------------------
Requests are counted per ``key`` (thread-safe); give each test its own key.
    fail=503&times=K              the first K requests with this key get 503
    fail=429&times=K&retry_after=S  429 with "Retry-After: S"
    fail=500                      without ``times`` a fault lasts forever;
                                  the body is {"error": "boom"}
    malformed=1                   200, application/json, body ``{"results": [1, 2,``
    slow=S                        sleeps S seconds before answering
``times`` limits every fault (fail, malformed, slow) to the key's first K requests;
``after=N`` lets the key's first N requests through untouched first (so
fail=500&after=2 fails from the third request on: a failure mid-read).
A failed request does nothing else: a failed POST to /sink stores nothing.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as _dt
import json
import signal
import sys
import threading
import time
import uuid
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

DEFAULT_ROWS = 2500
DEFAULT_LIMIT = 100
MAX_LIMIT = 10000

TYPED_SCHEMA = ("b BOOLEAN, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, "
                "bin BINARY, dt DATE, ts TIMESTAMP")
TYPED_COLUMNS = ["b", "i", "l", "f", "d", "s", "bin", "dt", "ts"]

# "{i}" is replaced by the row number, so names are varied as well as tricky.
NAME_SAMPLES = [
    "user {i}",
    "Zoë Ångström-Łukasz {i}",
    "東京の猫 {i}",
    "rocket 🚀 party 🎉 {i}",
    'say "hello" {i}',
    "back\\slash\\ {i}",
    "tab\there {i}",
    "line one\nline two {i}",
    "crlf\r\nline {i}",
    "",
    "comma, semicolon; pipe | {i}",
    "null",
    "  padded {i}  ",
]

INT32_EDGES = [-2**31, 2**31 - 1, 0, -1]
INT64_EDGES = [2**53, -2**53, 2**32, -(2**32) - 1]
DOUBLE_EDGES = [0.1, 1 / 3, 1.7976931348623157e308, -5e-324, -0.0, 123456789.125]
DATE_EDGES = ["1970-01-01", "1969-12-31", "2000-02-29", "2024-02-29", "1900-01-01",
              "0001-01-01", "9999-12-31"]
TIMESTAMP_EDGES = ["1970-01-01T00:00:00.000000Z", "1969-12-31T23:59:59.999999Z",
                   "2024-02-29T12:34:56.789012Z", "1900-01-01T00:00:00.000001Z"]
STRING_SAMPLES = ["plain", "naïve café", "中文字符", "emoji 😀", 'q"uote', "nl\nx", ""]


def _name(i: int) -> str:
    return NAME_SAMPLES[(i - 1) % len(NAME_SAMPLES)].replace("{i}", str(i))


def dataset(n: int) -> list[dict]:
    """Rows 1..n of /items, as the server sends them. A fresh list the caller owns."""
    return [{"id": i, "name": _name(i),
             "status": None if i % 7 == 0 else ("active" if i % 2 else "inactive")}
            for i in range(1, n + 1)]


def _typed_values(i: int) -> list:
    def edge(edges, otherwise):
        return edges[i - 1] if i <= len(edges) else otherwise

    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    # Spread across 1940..2080 so both sides of 1970 appear in every few rows.
    moment = epoch + _dt.timedelta(seconds=(i * 7_777_777) % 4_400_000_000 - 950_000_000,
                                   microseconds=(i * 12_345) % 1_000_000)
    day = _dt.date(1970, 1, 1) + _dt.timedelta(days=(i * 337) % 60_000 - 20_000)
    return [
        i % 3 == 0,
        edge(INT32_EDGES, (i * 2_654_435_761) % 2**32 - 2**31),
        edge(INT64_EDGES, (2**32 + i * 1_000_000_007) * (-1 if i % 4 == 0 else 1)),
        (i % 1000 - 500) * 1.5,             # exact in float32
        edge(DOUBLE_EDGES, i / 7 * (-1) ** i),
        f"{STRING_SAMPLES[i % len(STRING_SAMPLES)]} {i}",
        f"bytes-{i:05d}",
        edge(DATE_EDGES, day.isoformat()),
        edge(TIMESTAMP_EDGES, moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    ]


def typed_dataset(n: int) -> list[dict]:
    """Rows 1..n of /typed (columns TYPED_COLUMNS). A fresh list the caller owns."""
    rows = []
    for i in range(1, n + 1):
        values = _typed_values(i)
        rows.append({col: (None if (i + k) % 11 == 0 else values[k])
                     for k, col in enumerate(TYPED_COLUMNS)})
    return rows


@lru_cache(maxsize=16)
def _items(n: int) -> tuple:
    return tuple(json.dumps(r, ensure_ascii=False) for r in _dataset_cached(n))


@lru_cache(maxsize=16)
def _typed(n: int) -> tuple:
    return tuple(json.dumps(r, ensure_ascii=False) for r in typed_dataset(n))


class BadRequest(Exception):
    pass


# The credentials /auth/<kind> and /oauth/token accept (tests compare against them).
API_TOKEN = "tok-7f3e9a1c-secret-bearer"
BASIC_USER, BASIC_PASSWORD = "luaconn", "pw-2b8d4e6f-secret"
CLIENT_ID, CLIENT_SECRET = "luaconn-client", "cs-5a1f7c3d-secret"


class _Tokens:
    """OAuth2 tokens issued by /oauth/token: each dies at its expiry time or after
    its allowed number of uses. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._live: dict[str, list] = {}          # token -> [key, expires_at, uses_left]
        self._counts: dict[str, dict] = {}

    def _count(self, key: str, what: str) -> None:
        counts = self._counts.setdefault(key, {"issued": 0, "rejected": 0})
        counts[what] += 1

    def issue(self, key: str, ttl: float, uses: int | None) -> str:
        with self._lock:
            self._count(key, "issued")
            token = f"at-{key}-{self._counts[key]['issued']}-{uuid.uuid4().hex}"
            self._live[token] = [key, time.monotonic() + ttl, uses]
            return token

    def use(self, token: str) -> bool:
        """True when token is live (and spends one of its uses)."""
        with self._lock:
            entry = self._live.get(token)
            if entry is None:
                return False
            key, expires_at, uses = entry
            if time.monotonic() >= expires_at or uses == 0:
                self._count(key, "rejected")
                return False
            if uses is not None:
                entry[2] = uses - 1
            return True

    def stats(self, key: str) -> dict:
        with self._lock:
            return dict(self._counts.get(key, {"issued": 0, "rejected": 0}))


class _Feeds:
    """Named append-only feeds of rows {"seq", "name"}. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: dict[str, list] = {}

    def append(self, name: str, count: int) -> int:
        with self._lock:
            rows = self._rows.setdefault(name, [])
            for _ in range(count):
                seq = len(rows) + 1
                rows.append({"seq": seq, "name": f"event {seq}"})
            return len(rows)

    def since(self, name: str, since: int, limit: int) -> list:
        with self._lock:
            rows = self._rows.get(name, [])
            return rows[since:since + limit] if since >= 0 else rows[:limit]


def _encode_cursor(offset: int, empty_next: bool) -> str:
    raw = f"{'e' if empty_next else 'o'}:{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, bool]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, offset = raw.split(":")
        if kind not in ("e", "o") or int(offset) < 0:
            raise ValueError(raw)
        return int(offset), kind == "e"
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(f"bad cursor: {cursor!r}") from None


def _int_param(query: dict, name: str, default: int) -> int:
    try:
        return int(query.get(name, default))
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


def paginate(rows_json: tuple, query: dict) -> bytes:
    """One page of rows_json (pre-encoded rows) following the /items rules."""
    limit = _int_param(query, "limit", DEFAULT_LIMIT)
    if limit < 1:
        raise BadRequest("limit must be at least 1")
    limit = min(limit, MAX_LIMIT)
    empty_pages = query.get("empty_pages") == "1"
    end = query.get("end", "null")
    if end not in ("null", "absent", "empty"):
        raise BadRequest("end must be null, absent or empty")

    if "cursor" in query:
        offset, empty_page = _decode_cursor(query["cursor"])
    else:
        offset, empty_page = 0, empty_pages

    if empty_page:
        page, next_cursor = [], _encode_cursor(offset, False)
    else:
        page = rows_json[offset:offset + limit]
        after = offset + len(page)
        if empty_pages:
            next_cursor = _encode_cursor(after, True) if page else None
        else:
            next_cursor = _encode_cursor(after, False) if after < len(rows_json) else None

    body = '{"results": [' + ", ".join(page) + "]"
    if next_cursor is not None:
        body += ', "next_cursor": ' + json.dumps(next_cursor)
    elif end == "null":
        body += ', "next_cursor": null'
    elif end == "empty":
        body += ', "next_cursor": ""'
    return (body + "}").encode()


class _Faults:
    """Per-key request counters and times, shared by the handler threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = {}

    def record(self, key: str) -> int:
        """Records a request; returns its 1-based number for this key."""
        with self._lock:
            times = self._times.setdefault(key, [])
            times.append(time.monotonic())
            return len(times)

    def attempts(self, key: str) -> dict:
        with self._lock:
            times = list(self._times.get(key, []))
        return {"count": len(times), "times": times}


class _Sinks:
    def __init__(self):
        self._lock = threading.Lock()
        self._batches: dict[str, list[list]] = {}

    def store(self, name: str, rows: list) -> None:
        with self._lock:
            self._batches.setdefault(name, []).append(rows)

    def snapshot(self, name: str) -> dict:
        with self._lock:
            batches = list(self._batches.get(name, []))
        return {"batches": [len(b) for b in batches], "rows": [r for b in batches for r in b]}

    def clear(self, name: str) -> None:
        with self._lock:
            self._batches.pop(name, None)


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, rows: int = DEFAULT_ROWS):
        super().__init__(("127.0.0.1", port), ApiHandler)
        self.rows = rows
        self.faults = _Faults()
        self.sinks = _Sinks()
        self.tokens = _Tokens()
        self.feeds = _Feeds()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle's algorithm
    # and the client's delayed ACK add 40 ms to every response.
    disable_nagle_algorithm = True
    server: ApiServer

    def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
        pass

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _handle(self):
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            body = self._read_body()
            if url.path == "/_attempts":
                return self._reply(200, self.server.faults.attempts(query.get("key", "")))
            if self._apply_faults(query):
                return
            self._route(url.path, query, body)
        except BadRequest as e:
            self._reply(400, {"error": str(e)})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _apply_faults(self, query: dict) -> bool:
        """Counts the request under its key; answers it if a fault applies."""
        number = self.server.faults.record(query.get("key", "")) - _int_param(query, "after", 0)
        if number < 1 or ("times" in query and number > _int_param(query, "times", 0)):
            return False
        if "slow" in query:
            time.sleep(float(query["slow"]))
        if "fail" in query:
            status = _int_param(query, "fail", 500)
            headers = {}
            if "retry_after" in query:
                headers["Retry-After"] = query["retry_after"]
            self._reply(status, {"error": "boom"}, headers)
            return True
        if query.get("malformed") == "1":
            self._send(200, b'{"results": [1, 2,')
            return True
        return False

    def _route(self, path: str, query: dict, body: bytes) -> None:
        rows = _int_param(query, "rows", self.server.rows)
        if path == "/items" and self.command == "GET":
            return self._send(200, paginate(_items(rows), query))
        if path == "/typed" and self.command == "GET":
            return self._send(200, paginate(_typed(rows), query))
        if path == "/echo":
            return self._reply(200, {
                "method": self.command, "path": path, "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", errors="replace")})
        if path.startswith("/sink/") and len(path) > len("/sink/"):
            return self._sink(path[len("/sink/"):], body)
        parts = path.strip("/").split("/")
        if parts[0] == "auth" and len(parts) == 3 and parts[2] == "items":
            if not self._authorized(parts[1], query):
                return self._reply(401, {"error": "unauthorized"},
                                   {"WWW-Authenticate": 'Bearer realm="luaconn-tests"'})
            return self._send(200, paginate(_items(rows), query))
        if path == "/oauth/token" and self.command == "POST":
            return self._oauth_token(query, body)
        if path == "/oauth/stats":
            return self._reply(200, self.server.tokens.stats(query.get("key", "")))
        if parts[0] == "ids" and len(parts) == 5:
            return self._ids(parts[1:4], parts[4], query)
        if parts[0] == "pages" and len(parts) == 2:
            return self._pages(parts[1], _dataset_cached(rows), query)
        if parts[0] == "feed" and len(parts) == 2:
            return self._feed(parts[1], query)
        self._reply(404, {"error": f"no route for {self.command} {path}"})

    def _authorized(self, kind: str, query: dict) -> bool:
        authorization = self.headers.get("Authorization", "")
        if kind == "bearer":
            return authorization == f"Bearer {API_TOKEN}"
        if kind == "header":
            return self.headers.get("X-API-Key") == API_TOKEN
        if kind == "query":
            return query.get("api_key") == API_TOKEN
        if kind == "basic":
            return _basic_credentials(authorization) == (BASIC_USER, BASIC_PASSWORD)
        if kind == "oauth2":
            return (authorization.startswith("Bearer ")
                    and self.server.tokens.use(authorization[len("Bearer "):]))
        raise BadRequest(f"unknown auth kind {kind!r}")

    def _oauth_token(self, query: dict, body: bytes) -> None:
        form = dict(parse_qsl(body.decode("utf-8", errors="replace")))
        credentials = _basic_credentials(self.headers.get("Authorization", "")) or (
            form.get("client_id"), form.get("client_secret"))
        if form.get("grant_type") != "client_credentials":
            raise BadRequest("grant_type must be client_credentials")
        if credentials != (CLIENT_ID, CLIENT_SECRET):
            return self._reply(401, {"error": "invalid_client"})
        ttl = float(query.get("ttl", 3600))
        uses = _int_param(query, "uses", 0) or None
        token = self.server.tokens.issue(query.get("key", ""), ttl, uses)
        self._reply(200, {"access_token": token, "token_type": "bearer", "expires_in": ttl})

    def _ids(self, bounds: list, what: str, query: dict) -> None:
        try:
            low, high, cap = (int(b) for b in bounds)
        except ValueError:
            raise BadRequest("use /ids/<min>/<max>/<cap>/(stats|records)") from None
        if what == "stats":
            empty = high < low
            return self._reply(200, {"min_id": None if empty else low,
                                     "max_id": None if empty else high})
        if what != "records":
            raise BadRequest(f"no {what} under /ids")
        start = max(_int_param(query, "id_gte", low), low)
        stop = min(_int_param(query, "id_lt", high + 1), high + 1)
        count = max(0, min(stop - start, _int_param(query, "limit", cap), cap))
        self._reply(200, [{"id": i, "value": f"v{i}"} for i in range(start, start + count)])

    def _pages(self, style: str, rows: tuple, query: dict) -> None:
        size_name = "per_page" if style in ("number", "link") else "limit"
        size = min(_int_param(query, size_name, DEFAULT_LIMIT), MAX_LIMIT)
        if size < 1:
            raise BadRequest(f"{size_name} must be at least 1")
        if style == "offset":
            offset = _int_param(query, "offset", 0)
            return self._reply(200, {"data": rows[offset:offset + size], "total": len(rows)})
        if style in ("number", "link"):
            page = _int_param(query, "page", 1)
            chunk = rows[(page - 1) * size:page * size] if page >= 1 else []
            if style == "number":
                return self._reply(200, {"items": chunk, "page": page,
                                         "total_pages": -(-len(rows) // size)})
            headers = {}
            if page * size < len(rows):
                next_query = {**query, "page": page + 1}
                headers["Link"] = f'<{self._self_url(next_query)}>; rel="next"'
            return self._reply(200, chunk, headers)
        if style == "next":
            after = _int_param(query, "after", 0)
            chunk = rows[after:after + size]
            next_url = None
            if after + len(chunk) < len(rows):
                next_url = self._self_url({**query, "after": after + len(chunk)},
                                          relative=query.get("rel") == "1")
            return self._reply(200, {"records": chunk, "links": {"next": next_url}})
        raise BadRequest(f"unknown paginator style {style!r}")

    def _self_url(self, query: dict, relative: bool = False) -> str:
        path = urlsplit(self.path).path + "?" + urlencode(query)
        return path if relative else self.server.base_url + path

    def _feed(self, name: str, query: dict) -> None:
        feeds = self.server.feeds
        if self.command == "POST":
            return self._reply(200, {"total": feeds.append(name, _int_param(query, "count", 1))})
        since = _int_param(query, "since", 0)
        limit = min(_int_param(query, "limit", DEFAULT_LIMIT), MAX_LIMIT)
        self._reply(200, {"events": feeds.since(name, since, limit)})

    def _sink(self, name: str, body: bytes) -> None:
        sinks = self.server.sinks
        if self.command == "POST":
            try:
                rows = json.loads(body)
            except ValueError:
                raise BadRequest("body is not JSON") from None
            if not isinstance(rows, list):
                raise BadRequest("body must be a JSON array")
            sinks.store(name, rows)
            return self._reply(200, {"received": len(rows)})
        if self.command == "GET":
            return self._reply(200, sinks.snapshot(name))
        if self.command == "DELETE":
            sinks.clear(name)
            return self._reply(200, {"cleared": name})
        self._reply(405, {"error": f"{self.command} not allowed on /sink"})

    def _reply(self, status: int, obj, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode(), headers)

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _basic_credentials(authorization: str) -> tuple | None:
    """(user, password) of an "Authorization: Basic ..." value, else None."""
    if not authorization.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return user, password


@lru_cache(maxsize=16)
def _dataset_cached(n: int) -> tuple:
    """dataset(n), built once and shared read-only (the page endpoints slice it)."""
    return tuple(dataset(n))


def start_server(rows: int = DEFAULT_ROWS, port: int = 0) -> tuple[ApiServer, str]:
    """Starts a server on a daemon thread. Caller stops it with shutdown() and
    server_close(). Returns (server, base_url)."""
    server = ApiServer(port, rows)
    threading.Thread(target=server.serve_forever, name="api_server", daemon=True).start()
    return server, server.base_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    args = parser.parse_args(argv)

    server = ApiServer(args.port, args.rows)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
