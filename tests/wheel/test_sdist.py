"""The sdist (`python -m build --sdist bindings/python`) carries runtime/ and lua/ and
builds into a working wheel in a fresh venv; a source build without the libraries it
needs stops with pkg-config's own message naming what is missing."""
import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def sdist(source_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(out),
                    str(source_dir / "bindings" / "python")], check=True, capture_output=True)
    return next(out.glob("luaconn-*.tar.gz"))


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sdist-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path


def test_sdist_carries_the_runtime_and_the_scripts(sdist, source_dir):
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for required in ("runtime/include/luaconn.h", "runtime/build.mk",
                     "runtime/src/host/lc_http.c", "lua/connectors/rest.lua",
                     "lua/luaconn/paginate.lua", "luaconn_build.py", "VERSION", "LICENSE",
                     "luaconn/py.typed"):
        assert required in names, required
    version = (source_dir / "VERSION").read_text().strip()
    assert sdist.name == f"luaconn-{version}.tar.gz"


def test_sdist_builds_a_working_wheel(sdist, venv, tmp_path, api_server):
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUACONN")}
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(tmp_path), str(sdist)], check=True,
                   env=env, capture_output=True)
    wheel = next(tmp_path.glob("luaconn-*-cp39-abi3-*.whl"))
    subprocess.run([*pip, "install", str(wheel),
                    f"pyarrow=={importlib.metadata.version('pyarrow')}"], check=True, env=env)
    code = ("import json, luaconn; t = luaconn.Connector('rest', url=%r).read_all(); "
            "print(json.dumps([luaconn.__version__, t.num_rows]))" % f"{api_server}/items")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [sdist.name[len("luaconn-"):-len(".tar.gz")], 2500]


def test_missing_library_gives_pkg_configs_message(sdist, venv, tmp_path):
    empty = tmp_path / "no-pc-files"
    empty.mkdir()
    env = {**os.environ, "PKG_CONFIG_LIBDIR": str(empty), "PKG_CONFIG_PATH": ""}
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "wheel", "--no-deps",
                           "-w", str(tmp_path), str(sdist)], capture_output=True, text=True,
                          env=env)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "pkg-config could not find the libraries luaconn builds against" in output
    assert "Package luajit was not found in the pkg-config search path" in output
    assert "CalledProcessError" not in output
