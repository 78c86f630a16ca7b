"""The plain Python API over the C runtime (cffi, API mode): Connector and check.

A runtime must be used by one thread at a time, so each thread gets its own, created on
first use and reused by every Connector that thread opens (in a Spark Python worker:
one runtime per worker process, reused across partitions).
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Union

if TYPE_CHECKING:
    import pyarrow as pa

    Batches = Union["pa.RecordBatch", "pa.Table", Iterable[Union["pa.RecordBatch", "pa.Table"]]]

from . import errors
from ._luaconn import ffi, lib

LUA_ROOT = Path(__file__).resolve().parent / "lua"

_log = logging.getLogger("luaconn")
_local = threading.local()

_ERROR_CLASSES = {
    lib.LC_ERR_NOT_FOUND: errors.NotFoundError,
    lib.LC_ERR_SYNTAX: errors.ScriptSyntaxError,
    lib.LC_ERR_CONTRACT: errors.ContractError,
    lib.LC_ERR_OPTION: errors.OptionError,
    lib.LC_ERR_SCHEMA: errors.SchemaError,
    lib.LC_ERR_VALUE: errors.ConnectorValueError,
    lib.LC_ERR_SCRIPT: errors.ScriptError,
    lib.LC_ERR_MEMORY_LIMIT: errors.MemoryLimitError,
    lib.LC_ERR_TIME_LIMIT: errors.TimeLimitError,
    lib.LC_ERR_HTTP: errors.HttpError,
    lib.LC_ERR_AMQP: errors.AmqpError,
    lib.LC_ERR_IO: errors.FileReadError,
}


@ffi.def_extern()
def lc_py_log(ctx, level, connector, message):
    name = _text(connector) or "luaconn"
    _log.log(level, "%s: %s", name, _text(message))


def _text(c_string):
    """A Python str from a borrowed C string (None for NULL)."""
    if c_string == ffi.NULL:
        return None
    return ffi.string(c_string).decode("utf-8", errors="replace")


def _take_text(c_string):
    """A Python str from a C string the caller owns; frees it."""
    try:
        return _text(c_string)
    finally:
        lib.lc_free(c_string)


def _address(cdata):
    return int(ffi.cast("uintptr_t", cdata))


def _release(struct_ptr):
    if struct_ptr.release != ffi.NULL:
        struct_ptr.release(struct_ptr)


def _exception(err):
    """The ConnectorError (subclass by code) for an lc_error."""
    return _ERROR_CLASSES.get(err.code, errors.ConnectorError)(
        _text(err.message) or _text(lib.lc_status_string(err.code)), code=err.code,
        script=_text(err.script), line=err.line, traceback=_text(err.traceback))


class _Runtime:
    """One lc_runtime, owned by the thread that created it."""

    def __init__(self, record_dir=None, replay_dir=None):
        config = ffi.new("lc_config *")
        lua_root = ffi.new("char[]", os.fsencode(LUA_ROOT))
        config.lua_root = lua_root
        # lc_runtime_new copies the strings: the buffers need to live only till then.
        tapes = [ffi.new("char[]", os.fsencode(d)) if d else ffi.NULL
                 for d in (record_dir, replay_dir)]
        config.http_record, config.http_replay = tapes
        config.log = lib.lc_py_log
        # An edited connector file takes effect at the next safe point (a new read,
        # write or micro-batch), never in the middle of one.
        config.hot_reload = 1
        # INFO and above always reach the "luaconn" logger, which filters them; DEBUG
        # lines (one per HTTP request) only when it was enabled before this runtime.
        config.log_level = lib.LC_LOG_DEBUG if _log.isEnabledFor(lib.LC_LOG_DEBUG) \
            else lib.LC_LOG_INFO
        out = ffi.new("lc_runtime **")
        status = lib.lc_runtime_new(config, out)
        if status != lib.LC_OK:
            raise errors.ConnectorError(
                "cannot create a luaconn runtime: " + _text(lib.lc_status_string(status)),
                code=status)
        self.ptr = ffi.gc(out[0], lib.lc_runtime_free)
        self.thread = threading.get_ident()

    def error(self, status):
        """The exception for a failed call (status) on this runtime."""
        err = lib.lc_runtime_error(self.ptr)
        if err == ffi.NULL or err.code == lib.LC_OK:
            return _ERROR_CLASSES.get(status, errors.ConnectorError)(
                _text(lib.lc_status_string(status)), code=status)
        return _exception(err)

    def check(self, status):
        if status != lib.LC_OK:
            raise self.error(status)


def _runtime():
    runtime = getattr(_local, "runtime", None)
    if runtime is None:
        runtime = _local.runtime = _Runtime()
    return runtime


def _option_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _source(ref, script):
    """(lc_source_kind, bytes) for a connector reference or inline source."""
    if (ref is None) == (script is None):
        raise TypeError("give a connector name or path, or script=<Lua source>, not both")
    if script is not None:
        return lib.LC_SOURCE_INLINE, script.encode("utf-8")
    return lib.LC_SOURCE_AUTO, os.fsencode(ref)


def check(ref: Optional[Union[str, os.PathLike]] = None, *,
          script: Optional[str] = None) -> dict[str, Any]:
    """Loads a connector without options and checks it against the contract.

    Returns the runtime's JSON summary of the connector, decoded."""
    runtime = _runtime()
    kind, source = _source(ref, script)
    out = ffi.new("char **")
    runtime.check(lib.lc_connector_check(runtime.ptr, kind, source, out))
    return json.loads(_take_text(out[0]))


class Connector:
    """A loaded connector with validated options.

    Connector("rest", url=...) loads a bundled connector (or one on LUACONN_PATH),
    Connector("path/to/x.lua", ...) a file, Connector(script="return {...}", ...)
    inline Lua source; script_name names inline source in errors (e.g. the path a
    driver read it from). Options become strings (booleans "true"/"false"); None
    means "not given". Use a Connector from the thread that created it, one read or
    write at a time.

    A connector loaded from a file hot-reloads: when the file (or a module it
    requires) changes, the next partitions/read/write/stream call runs the new
    version if it compiles and passes the contract; otherwise the last good version
    keeps running and reload_error says why.

    record_dir stores every HTTP exchange in that directory (secrets redacted);
    replay_dir answers every HTTP request from such a recording, with no network, and
    fails on a request that is not in it (offline connector tests). Either gives
    the Connector a runtime of its own.
    """

    def __init__(self, ref: Optional[Union[str, os.PathLike]] = None, *,
                 script: Optional[str] = None, script_name: Optional[str] = None,
                 record_dir: Optional[str] = None, replay_dir: Optional[str] = None,
                 **options: Any) -> None:
        self._runtime = (_Runtime(record_dir, replay_dir) if record_dir or replay_dir
                         else _runtime())
        kind, source = _source(ref, script)
        pairs = [ffi.new("char[]", text.encode("utf-8"))
                 for key, value in options.items() if value is not None
                 for text in (key, _option_value(value))]
        c_options = ffi.new("const char *[]", pairs)
        out = ffi.new("lc_connector **")
        if script is not None and script_name is not None:
            status = lib.lc_connector_open_source(
                self._runtime.ptr, script_name.encode("utf-8"), source, c_options,
                len(pairs) // 2, out)
        else:
            status = lib.lc_connector_open(
                self._runtime.ptr, kind, source, c_options, len(pairs) // 2, out)
        self._runtime.check(status)
        self._ptr = ffi.gc(out[0], lib.lc_connector_free)

    # -- lifetime -------------------------------------------------------------------
    def close(self) -> None:
        """Frees the connector now instead of at garbage collection."""
        if self._ptr is not None:
            ffi.release(self._ptr)
            self._ptr = None

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _handle(self):
        if self._ptr is None:
            raise errors.ConnectorError("the connector is closed")
        if threading.get_ident() != self._runtime.thread:
            raise errors.ConnectorError(
                "a Connector must be used by the thread that created it")
        return self._ptr

    def _check(self, status):
        self._runtime.check(status)

    # -- description ----------------------------------------------------------------
    @property
    def schema(self) -> str:
        """The connector's schema as a Spark DDL string."""
        return _text(lib.lc_connector_schema(self._handle()))

    @property
    def script_name(self) -> str:
        """The path or chunk name the connector was loaded from."""
        return _text(lib.lc_connector_script(self._handle()))

    @property
    def source(self) -> str:
        """The running version's Lua source text."""
        return _text(lib.lc_connector_source(self._handle(), ffi.NULL))

    @property
    def generation(self) -> int:
        """1 for the version first loaded, +1 for each hot reload that took effect."""
        return lib.lc_connector_generation(self._handle())

    @property
    def reload_error(self) -> Optional[errors.ConnectorError]:
        """Why the newest edit was refused (a ConnectorError), or None when the
        newest version is the one running."""
        err = lib.lc_connector_reload_error(self._handle())
        return None if err == ffi.NULL else _exception(err)

    def reload(self) -> int:
        """Checks for an edited script now (calls do it themselves at safe points).
        Returns the generation running afterwards."""
        lib.lc_connector_reload(self._handle())
        return self.generation

    def infer(self, max_records: Optional[int] = None, partition: Any = None) -> str:
        """A Spark DDL schema fitting the first max_records records (default 1000) of
        partition (None = {}); for a connector whose schema is "infer" it becomes the
        schema. Warnings (a declared column no record has) go to the "luaconn" logger."""
        out = ffi.new("char **")
        self._check(lib.lc_connector_infer(
            self._handle(), _c_text(None if partition is None else json.dumps(partition)),
            max_records or 0, out))
        return _take_text(out[0])

    def set_schema(self, ddl: str) -> None:
        """Fixes the schema of a connector whose schema is "infer" (what the driver
        inferred)."""
        self._check(lib.lc_connector_set_schema(self._handle(), ddl.encode("utf-8")))

    def lock_schema(self, locked: bool = True) -> None:
        """While locked, a reload that would change the schema is refused."""
        lib.lc_connector_lock_schema(self._handle(), int(bool(locked)))

    @property
    def can_read(self) -> bool:
        return bool(lib.lc_connector_can_read(self._handle()))

    @property
    def can_write(self) -> bool:
        return bool(lib.lc_connector_can_write(self._handle()))

    @property
    def arrow_schema(self) -> pa.Schema:
        """The schema as a pyarrow.Schema (the type of every batch read returns)."""
        return self.rows_from_json([]).schema

    def __repr__(self) -> str:
        return f"<luaconn.Connector {self.script_name!r}: {self.schema}>"

    # -- reading --------------------------------------------------------------------
    def partitions(self) -> list[Any]:
        """The planned partitions, JSON-decoded (pass one to read)."""
        return [json.loads(spec) for spec in self.partition_specs()]

    def partition_specs(self) -> list[str]:
        """The planned partitions as JSON texts, one per partition (pass one to
        read_json)."""
        out = ffi.new("char **")
        self._check(lib.lc_connector_partitions(self._handle(), out))
        return _take_text(out[0]).splitlines()

    def filters(self) -> dict[str, dict[str, str]]:
        """The filters the connector takes for its options (filter pushdown):
        {column: {operator: "exact" | "inexact"}}; {} when it declares none. Push
        filters with the option filters=JSON list of {"column", "op", "value"}."""
        out = ffi.new("char **")
        self._check(lib.lc_connector_filters(self._handle(), out))
        return json.loads(_take_text(out[0]))

    def read(self, partition: Any = None) -> Iterator[pa.RecordBatch]:
        """Iterates over one partition (None = the default partition, {}) as
        pyarrow.RecordBatch, imported zero-copy from the runtime."""
        return self.read_json(None if partition is None else json.dumps(partition))

    def read_json(self, partition_json: Optional[str]) -> Iterator[pa.RecordBatch]:
        """Like read, with the partition as JSON text (as partition_specs gives it)."""
        import pyarrow as pa

        handle = self._handle()
        self._check(lib.lc_read_begin(handle, _c_text(partition_json)))
        while True:
            schema = ffi.new("struct ArrowSchema *")
            array = ffi.new("struct ArrowArray *")
            status = lib.lc_read_next(self._handle(), schema, array)
            if status == lib.LC_DONE:
                return
            self._check(status)
            yield pa.RecordBatch._import_from_c(_address(array), _address(schema))

    def read_all(self) -> pa.Table:
        """Every planned partition, read in order, as one pyarrow.Table."""
        import pyarrow as pa

        batches = [batch for spec in self.partition_specs() for batch in self.read_json(spec)]
        return pa.Table.from_batches(batches, schema=self.arrow_schema)

    def rows_from_json(self, rows: Iterable[dict[str, Any]]) -> pa.RecordBatch:
        """Converts rows (an iterable of dicts) into one RecordBatch of the connector's
        schema, with the same type checks as read."""
        import pyarrow as pa

        jsonl = "".join(json.dumps(row) + "\n" for row in rows).encode("utf-8")
        schema = ffi.new("struct ArrowSchema *")
        array = ffi.new("struct ArrowArray *")
        self._check(lib.lc_connector_rows_from_json(
            self._handle(), jsonl, len(jsonl), 0, schema, array))
        return pa.RecordBatch._import_from_c(_address(array), _address(schema))

    # -- writing --------------------------------------------------------------------
    def write(self, batches: Batches) -> Any:
        """Writes a RecordBatch, a Table, or an iterable of them through the script's
        write; returns its commit message (JSON-decoded) for commit or abort."""
        return json.loads(self.write_json(batches))

    def write_json(self, batches: Batches) -> str:
        """Like write, returning the commit message as JSON text."""
        handle = self._handle()
        self._check(lib.lc_write_begin(handle))
        try:
            for batch in _record_batches(batches):
                self._write_batch(batch)
            out = ffi.new("char **")
            self._check(lib.lc_write_end(handle, out))
        except BaseException:
            lib.lc_write_cancel(handle)
            raise
        return _take_text(out[0])

    def _write_batch(self, batch):
        schema = ffi.new("struct ArrowSchema *")
        array = ffi.new("struct ArrowArray *")
        batch._export_to_c(_address(array), _address(schema))
        try:
            self._check(lib.lc_write_batch(self._handle(), schema, array))
        finally:
            _release(array)
            _release(schema)

    def commit(self, messages: Iterable[Any]) -> None:
        """Driver side: hands the script every task's commit message (None for a
        failed task)."""
        self._check(lib.lc_connector_commit(self._handle(), _c_text(json.dumps(list(messages)))))

    def abort(self, messages: Iterable[Any]) -> None:
        """Driver side: tells the script the write failed, with every task's message."""
        self._check(lib.lc_connector_abort(self._handle(), _c_text(json.dumps(list(messages)))))

    # -- streaming (offsets are JSON text; Spark's checkpoint stores them) -------------
    @property
    def can_stream(self) -> bool:
        return bool(lib.lc_connector_can_stream(self._handle()))

    def initial_offset(self) -> str:
        """Where a new stream starts, as the connector's offset JSON."""
        out = ffi.new("char **")
        self._check(lib.lc_stream_initial_offset(self._handle(), out))
        return _take_text(out[0])

    def latest_offset(self, start_json: str, limit: Optional[dict[str, int]] = None) -> str:
        """The offset just past the newest data (at most limit["max_rows"] rows past
        start_json when limit is given)."""
        out = ffi.new("char **")
        limit_json = None if limit is None else json.dumps(limit)
        self._check(lib.lc_stream_latest_offset(
            self._handle(), _c_text(start_json), _c_text(limit_json), out))
        return _take_text(out[0])

    def stream_partitions(self, start_json: str, end_json: str) -> list[str]:
        """The partitions covering [start, end), each as JSON text for read_json."""
        out = ffi.new("char **")
        self._check(lib.lc_stream_partitions(
            self._handle(), _c_text(start_json), _c_text(end_json), out))
        return _take_text(out[0]).splitlines()

    def stream_commit(self, end_json: str) -> None:
        """Tells the connector everything before end_json is processed (a hint)."""
        self._check(lib.lc_stream_commit(self._handle(), _c_text(end_json)))


def _c_text(text):
    return ffi.NULL if text is None else text.encode("utf-8")


def _record_batches(batches):
    import pyarrow as pa

    if isinstance(batches, (pa.RecordBatch, pa.Table)):
        batches = [batches]
    for item in batches:
        if isinstance(item, pa.Table):
            yield from item.to_batches()
        else:
            yield item
