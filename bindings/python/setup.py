"""Builds the cffi extension from ../../runtime and ships ../../lua as package data."""
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
    Spark executor needs nothing but the installed package."""

    def run(self):
        super().run()
        lua_src = source_root() / "lua"
        lua_dest = Path(self.build_lib) / "luaconn" / "lua"
        for sub in LUA_DIRS:
            dest = lua_dest / sub
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            for script in sorted((lua_src / sub).glob("*.lua")):
                shutil.copy2(script, dest / script.name)


setup(
    cffi_modules=["luaconn_build.py:ffibuilder"],
    cmdclass={"build_py": build_py_with_lua},
    zip_safe=False,
)
