"""cffi build script: compiles the C runtime (runtime/src/*.c) into luaconn._luaconn.

The declarations come from runtime/include/luaconn.h, between its LC_CDEF markers, so
the binding never drifts from the header. setup.py names this file in cffi_modules.
"""
import os
import shutil
import subprocess
from pathlib import Path

import cffi

HERE = Path(__file__).resolve().parent
# lua-cjson is linked as Debian's shared liblua5.1-cjson: its static archive is not
# position-independent (fpconv.o), so it cannot go into a Python extension module.
CJSON_LIBRARY = "lua5.1-cjson"
PKG_CONFIG_PACKAGES = ["luajit", "libcurl", "librabbitmq", "yajl"]


def source_root():
    """The repository root holding runtime/ and lua/ (LUACONN_SOURCE_DIR wins)."""
    candidates = [os.environ.get("LUACONN_SOURCE_DIR"), HERE.parent.parent]
    for candidate in filter(None, candidates):
        root = Path(candidate).resolve()
        if (root / "runtime" / "include" / "luaconn.h").is_file():
            return root
    raise RuntimeError(
        "luaconn: cannot find runtime/include/luaconn.h; build from a clone of the "
        "repository or set LUACONN_SOURCE_DIR to it")


def _between(text, begin, end):
    start = text.index(begin)
    start = text.index("\n", start) + 1
    return text[start:text.index(end, start)]


def cdef_text(header):
    text = header.read_text()
    return (_between(text, "/* LC_CDEF_ARROW_BEGIN", "/* LC_CDEF_ARROW_END */")
            + _between(text, "/* LC_CDEF_BEGIN */", "/* LC_CDEF_END */"))


def stage_runtime(root):
    """Copies runtime/include and runtime/src under build/ (mtimes kept, so rebuilds stay
    incremental): setuptools wants source paths relative to this directory and inside it.
    Returns the staged runtime directory, relative to this directory."""
    staged = Path("build") / "runtime"
    for sub in ("include", "src"):
        dest = HERE / staged / sub
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(root / "runtime" / sub, dest,
                        ignore=shutil.ignore_patterns("*.o", "*.a", "*.so"))
    return staged


def _pkg_config(flag):
    out = subprocess.run(["pkg-config", flag] + PKG_CONFIG_PACKAGES,
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def ffibuilder():
    runtime = stage_runtime(source_root())
    header = runtime / "include" / "luaconn.h"
    cflags = _pkg_config("--cflags")
    libs = _pkg_config("--libs")
    builder = cffi.FFI()
    builder.cdef(cdef_text(HERE / header))
    # Lua log lines are routed to Python's logging module through this callback.
    builder.cdef('extern "Python" void lc_py_log(void *, int, const char *, const char *);')
    builder.set_source(
        "luaconn._luaconn",
        '#include "luaconn.h"',
        sources=sorted(str(p.relative_to(HERE)) for p in (HERE / runtime / "src").glob("lc_*.c")),
        include_dirs=[str(runtime / "include"), str(runtime / "src")]
                     + [f[2:] for f in cflags if f.startswith("-I")],
        libraries=[f[2:] for f in libs if f.startswith("-l")] + [CJSON_LIBRARY, "m", "pthread"],
        library_dirs=[f[2:] for f in libs if f.startswith("-L")],
        extra_compile_args=["-std=gnu11", "-fvisibility=hidden", "-DLC_BUILDING_LIBRARY"],
        depends=[str(header), str(runtime / "src" / "lc_internal.h")],
    )
    return builder


if __name__ == "__main__":
    ffibuilder().compile(verbose=True)
