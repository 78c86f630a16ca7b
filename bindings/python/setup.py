"""Builds the cffi extension from runtime/ and ships lua/ as package data (both are links
to the repository's own directories, and real directories in the sdist)."""
import os
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent))
from luaconn_build import source_root  # noqa: E402

LUA_DIRS = ("connectors", "luaconn")


class build_py_with_lua(build_py):
    """Copies lua/connectors and lua/luaconn into the package (luaconn/lua/...), so a
    Spark executor needs nothing but the installed package, and writes _version.py from
    VERSION. With LUACONN_CLI_BINARY set
    (make wheel) the C CLI goes in too, as luaconn/bin/luaconn next to luaconn/lua."""

    def run(self):
        super().run()
        lua_src = source_root() / "lua"
        package = Path(self.build_lib) / "luaconn"
        for sub in LUA_DIRS:
            dest = package / "lua" / sub
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            for script in sorted((lua_src / sub).glob("*.lua")):
                shutil.copy2(script, dest / script.name)
        version = (source_root() / "VERSION").read_text().strip()
        (package / "_version.py").write_text(
            f'"""Generated from VERSION by setup.py."""\n__version__ = "{version}"\n')
        cli = os.environ.get("LUACONN_CLI_BINARY")
        if cli:
            (package / "bin").mkdir(exist_ok=True)
            shutil.copy2(cli, package / "bin" / "luaconn")


options = {
    # One wheel for every CPython >= 3.9: cffi builds the extension on the stable ABI.
    "bdist_wheel": {"py_limited_api": "cp39"},
    "build_ext": {"parallel": os.cpu_count() or 1},
}
if os.environ.get("LUACONN_STATIC_DEPS"):
    # The self-contained build links differently: its own build directory, so neither
    # build mistakes the other's extension for an up-to-date one.
    options["build"] = {"build_base": "build/static"}

setup(
    cffi_modules=["luaconn_build.py:ffibuilder"],
    cmdclass={"build_py": build_py_with_lua},
    options=options,
    zip_safe=False,
)
