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
    """The directory holding runtime/ and lua/: LUACONN_SOURCE_DIR if set, else this one
    (links to the repository's directories in a clone, real ones in the sdist)."""
    candidates = [os.environ.get("LUACONN_SOURCE_DIR"), HERE]
    for candidate in filter(None, candidates):
        root = Path(candidate).resolve()
        if (root / "runtime" / "include" / "luaconn.h").is_file():
            return root
    raise RuntimeError(
        "luaconn: cannot find runtime/include/luaconn.h; build from a clone of the "
        "repository, from the sdist, or set LUACONN_SOURCE_DIR to a clone")


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


def _pkg_config(flag, packages=PKG_CONFIG_PACKAGES):
    """pkg-config's output split into words; a missing package stops the build with
    pkg-config's own message (which names the package and the .pc file it looked for)."""
    try:
        done = subprocess.run(["pkg-config", flag] + packages, capture_output=True, text=True)
    except FileNotFoundError:
        raise SystemExit("luaconn: building from source needs pkg-config and the "
                         "development packages of " + ", ".join(packages)) from None
    if done.returncode != 0:
        raise SystemExit("luaconn: pkg-config could not find the libraries luaconn builds "
                         "against:\n" + done.stderr.strip())
    return done.stdout.split()


# The self-contained wheel (make wheel): LuaJIT, lua-cjson and rabbitmq-c come from the
# position-independent archives scripts/build-deps.sh builds, yajl from Debian's
# libyajl_s.a; libcurl and OpenSSL stay shared and auditwheel vendors them.
STATIC_DEPS = os.environ.get("LUACONN_STATIC_DEPS")
STATIC_ARCHIVES = ["libluajit-5.1.a", "liblua5.1-cjson.a", "librabbitmq.a"]


def link_options():
    """(include_dirs, libraries, library_dirs, extra_objects, extra_link_args)."""
    if not STATIC_DEPS:
        cflags, libs = _pkg_config("--cflags"), _pkg_config("--libs")
        return ([f[2:] for f in cflags if f.startswith("-I")],
                [f[2:] for f in libs if f.startswith("-l")] + [CJSON_LIBRARY, "m", "pthread"],
                [f[2:] for f in libs if f.startswith("-L")], [], [])
    prefix = Path(STATIC_DEPS)
    yajl = _pkg_config("--variable=libdir", ["yajl"])[0]
    curl = _pkg_config("--libs", ["libcurl", "openssl"])
    return ([str(prefix / "include" / "luajit-2.1"), str(prefix / "include")]
            + [f[2:] for f in _pkg_config("--cflags", ["yajl"]) if f.startswith("-I")],
            [f[2:] for f in curl if f.startswith("-l")] + ["m", "pthread", "dl"], [],
            [str(prefix / "lib" / a) for a in STATIC_ARCHIVES] + [f"{yajl}/libyajl_s.a"],
            # The bundled libraries' symbols stay inside the extension.
            ["-Wl,--exclude-libs,ALL"])


def ffibuilder():
    runtime = stage_runtime(source_root())
    header = runtime / "include" / "luaconn.h"
    include_dirs, libraries, library_dirs, extra_objects, extra_link_args = link_options()
    builder = cffi.FFI()
    builder.cdef(cdef_text(HERE / header))
    # Lua log lines are routed to Python's logging module through this callback.
    builder.cdef('extern "Python" void lc_py_log(void *, int, const char *, const char *);')
    builder.set_source(
        "luaconn._luaconn",
        '#include "luaconn.h"',
        sources=sorted(str(p.relative_to(HERE)) for p in (HERE / runtime / "src").rglob("lc_*.c")),
        include_dirs=[str(runtime / "include"), str(runtime / "src")] + include_dirs,
        libraries=libraries,
        library_dirs=library_dirs,
        extra_objects=extra_objects,
        extra_link_args=extra_link_args,
        extra_compile_args=["-std=gnu11", "-fvisibility=hidden", "-DLC_BUILDING_LIBRARY"],
        depends=[str(header), str(runtime / "src" / "lc_internal.h")],
    )
    return builder


if __name__ == "__main__":
    ffibuilder().compile(verbose=True)
