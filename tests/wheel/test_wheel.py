"""The wheel `make wheel` builds is all an executor needs: installed into a fresh venv
(with only pyspark and pyarrow besides it) it runs, with the system's LuaJIT, libcurl
and librabbitmq hidden, the `luaconn` console script, a Spark local[2]
job whose Python workers use the venv, and verified HTTPS reads."""
import glob
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

HIDDEN = ["libluajit-5.1", "libcurl", "librabbitmq"]
TAG = re.compile(r"luaconn-(?P<version>[^-]+)-cp39-abi3-manylinux_2_(?P<glibc>\d+)_x86_64\.whl")


@pytest.fixture(scope="module")
def wheel(source_dir) -> Path:
    """The wheel; make rebuilds it only when something it carries changed."""
    subprocess.run(["make", "-s", "-C", str(source_dir), "wheel"], check=True,
                   stdout=subprocess.DEVNULL)
    return Path((source_dir / "build" / "wheel" / "path").read_text().strip())


def hidden_files() -> list[str]:
    """The real files behind every name of the libraries the wheel must not need."""
    names = [p for lib in HIDDEN for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu")
             for p in glob.glob(f"{d}/{lib}.so*")]
    return sorted({os.path.realpath(p) for p in names})


def run_hidden(args, **kwargs) -> subprocess.CompletedProcess:
    """Runs args in a mount namespace where /dev/null covers each hidden library."""
    script = 'IFS=:; for f in $HIDE; do mount --bind /dev/null "$f"; done; unset IFS; exec "$@"'
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUACONN")}
    env.update(kwargs.pop("env", {}), HIDE=":".join(hidden_files()))
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel, pyspark and pyarrow (the versions installed here)."""
    path = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in ("pyspark", "pyarrow")]
    subprocess.run([str(path / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                    str(wheel), *pins], check=True)
    return path


def test_wheel_is_abi3_manylinux_2_34_or_older(wheel, source_dir):
    match = TAG.fullmatch(wheel.name)
    assert match, wheel.name
    assert match["version"] == (source_dir / "VERSION").read_text().strip()
    assert int(match["glibc"]) <= 34


def test_auditwheel_finds_nothing_outside_the_policy(wheel):
    shown = subprocess.run([sys.executable, "-m", "auditwheel", "show", str(wheel)],
                           capture_output=True, text=True, check=True).stdout
    glibc = TAG.fullmatch(wheel.name)["glibc"]
    assert f'consistent with the following platform tag: "manylinux_2_{glibc}_x86_64"' in \
        " ".join(shown.split())


def test_wheel_carries_cli_licences_and_no_build_paths(wheel, tmp_path):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert z.getinfo("luaconn/bin/luaconn").external_attr >> 16 & 0o111, "CLI not executable"
        z.extractall(tmp_path)
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    elves = ["luaconn/_luaconn.abi3.so", "luaconn/bin/luaconn"] + \
        [n for n in names if n.startswith("luaconn.libs/")]
    for name in elves:
        dynamic = subprocess.run(["readelf", "-d", str(tmp_path / name)], check=True,
                                 capture_output=True, text=True).stdout
        for path in re.findall(r"\((?:RPATH|RUNPATH)\).*\[(.*)\]", dynamic):
            assert all(p.startswith("$ORIGIN") for p in path.split(":")), (name, path)
    licences = {n.rsplit("/", 1)[1] for n in names if n.startswith("luaconn/licenses/")}
    for bundled in ("luajit", "librabbitmq", "yyjson", "libcurl4", "libssl3"):
        assert f"{bundled}.copyright" in licences
    with zipfile.ZipFile(wheel) as z:
        sources = z.read("luaconn/licenses/SOURCES").decode().splitlines()
    # The rebuilt archives come from the very source versions (security fixes included)
    # the system's libraries were built from.
    system = subprocess.run(["dpkg-query", "-W", "-f=${source:Package} ${source:Version}\\n",
                             "libluajit-5.1-dev", "librabbitmq-dev"],
                            check=True, capture_output=True, text=True).stdout.split("\n")
    assert sorted(sources) == sorted(line for line in system if line)
    assert "License-Expression: MIT" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_libraries_are_really_hidden():
    """The namespace trick works: the system's libcurl cannot be loaded inside it."""
    done = run_hidden([sys.executable, "-c", "import ctypes; ctypes.CDLL('libcurl.so.4')"])
    assert done.returncode != 0 and "libcurl.so.4" in done.stderr


def test_console_script_reads_with_system_libraries_hidden(venv, api_server):
    done = run_hidden([venv / "bin" / "luaconn", "read", "rest", "-o", f"url={api_server}/items",
                       "--limit", "25"])
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["id"] for row in rows] == list(range(1, 26))
    version = run_hidden([venv / "bin" / "python", "-m", "luaconn", "--version"])
    assert version.stdout.startswith("luaconn ")


def test_spark_job_reads_and_writes_with_system_libraries_hidden(venv, api_server):
    python = venv / "bin" / "python"
    name = f"wheel-{uuid.uuid4().hex[:8]}"
    done = run_hidden([python, Path(__file__).with_name("spark_job.py"), api_server, name],
                      env={"PYSPARK_PYTHON": str(python), "PYSPARK_DRIVER_PYTHON": str(python)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"read": 2500}
    with urllib.request.urlopen(f"{api_server}/sink/{name}") as reply:
        received = json.load(reply)["rows"]
    assert len(received) == 2500
    assert {row["status"] for row in received} == {"ACTIVE", "INACTIVE", None}


def test_https_with_a_private_ca(venv, https):
    url, ca, other = https
    cli = venv / "bin" / "luaconn"
    by_option = run_hidden([cli, "read", "rest", "-o", f"url={url}", "-o", f"ca_file={ca}"])
    assert by_option.returncode == 0, by_option.stderr
    assert len(by_option.stdout.splitlines()) == 100
    by_env = run_hidden([cli, "read", "rest", "-o", f"url={url}"],
                        env={"SSL_CERT_FILE": str(ca), "CURL_CA_BUNDLE": ""})
    assert by_env.returncode == 0, by_env.stderr
    assert len(by_env.stdout.splitlines()) == 100
    refused = run_hidden([cli, "read", "rest", "-o", f"url={url}", "-o", f"ca_file={other}",
                          "-o", "retries=0"])
    assert refused.returncode != 0
    assert "SSL certificate problem" in refused.stderr
    assert "untrusted certificate" in refused.stderr
