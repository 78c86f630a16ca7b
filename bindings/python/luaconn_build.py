"""cffi build script: compiles the C runtime (runtime/src/<layer>/*.c and the libraries
vendored under runtime/third_party) into luaconn._luaconn.

What to compile and link comes from runtime/build.mk, the description the Makefile
includes too, so both builds use the same sources, flags and libraries. The
declarations come from runtime/include/luaconn.h, between its LC_CDEF markers, so the
binding never drifts from the header. setup.py names this file in cffi_modules.
"""
import os
import shutil
import subprocess
from pathlib import Path

import cffi

HERE = Path(__file__).resolve().parent


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


def build_settings(build_mk):
    """The NAME = value lines of runtime/build.mk, each value split into words."""
    settings = {}
    for line in build_mk.read_text().splitlines():
        name, eq, value = line.partition("=")
        if eq and not line.startswith("#"):
            settings[name.strip()] = value.split()
    return settings


def stage_runtime(root):
    """Copies runtime/include, runtime/src and runtime/third_party under build/ (mtimes kept, so rebuilds stay
    incremental) and writes luaconn_version.h from VERSION there: setuptools wants
    source paths relative to this directory and inside it.
    Returns the staged runtime directory, relative to this directory."""
    staged = Path("build") / "runtime"
    for sub in ("include", "src", "third_party"):
        dest = HERE / staged / sub
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(root / "runtime" / sub, dest,
                        ignore=shutil.ignore_patterns("*.o", "*.a", "*.so"))
    version = (root / "VERSION").read_text().strip()
    (HERE / staged / "include" / "luaconn_version.h").write_text(
        f'/* Generated from VERSION by luaconn_build.py. */\n#define LUACONN_VERSION "{version}"\n')
    return staged


def _pkg_config(flag, packages):
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


def link_options(settings):
    """(pkg-config --cflags words, link words, archives to link in). With
    LUACONN_STATIC_DEPS (make wheel: the prefix scripts/build-deps.sh filled) the
    self-contained build of runtime/build.mk's LC_STATIC_* lines, else the system's
    shared libraries."""
    static = os.environ.get("LUACONN_STATIC_DEPS")
    if not static:
        return (_pkg_config("--cflags", settings["LC_PKG_CONFIG"]),
                _pkg_config("--libs", settings["LC_PKG_CONFIG"]) + settings["LC_LIBS"], [])
    prefix = Path(static)
    return ([f"-I{prefix / 'include' / 'luajit-2.1'}", f"-I{prefix / 'include'}"],
            _pkg_config("--libs", settings["LC_STATIC_PKG_CONFIG"]) + settings["LC_STATIC_LIBS"],
            [str(prefix / "lib" / a) for a in settings["LC_STATIC_ARCHIVES"]])


def ffibuilder():
    root = source_root()
    runtime = stage_runtime(root)
    settings = build_settings(root / "runtime" / "build.mk")
    header = runtime / "include" / "luaconn.h"
    cflags, libs, archives = link_options(settings)
    sources = ([p for layer in settings["LC_LAYERS"]
                for p in sorted((HERE / runtime / "src" / layer).glob("lc_*.c"))]
               + [HERE / runtime / "third_party" / name / f"{name}.c"
                  for name in settings.get("LC_VENDORED", [])])
    vendored = [str(runtime / "third_party" / name) for name in settings.get("LC_VENDORED", [])]
    builder = cffi.FFI()
    builder.cdef(cdef_text(HERE / header))
    # Lua log lines are routed to Python's logging module through this callback.
    builder.cdef('extern "Python" void lc_py_log(void *, int, const char *, const char *);')
    builder.set_source(
        "luaconn._luaconn",
        '#include "luaconn.h"',
        sources=[str(p.relative_to(HERE)) for p in sources],
        include_dirs=[str(runtime / "include"), str(runtime / "src")] + vendored
                     + [f[2:] for f in cflags if f.startswith("-I")],
        libraries=[f[2:] for f in libs if f.startswith("-l")],
        library_dirs=[f[2:] for f in libs if f.startswith("-L")],
        extra_objects=archives,
        extra_link_args=settings["LC_STATIC_LDFLAGS"] if archives else [],
        extra_compile_args=settings["LC_CFLAGS"],
        depends=[str(header)] + [str(p) for p in sorted((runtime / "src").glob("*/*.h"))]
                + [str(p) for p in sorted((runtime / "third_party").glob("*/*.h"))],
    )
    return builder


if __name__ == "__main__":
    ffibuilder().compile(verbose=True)
