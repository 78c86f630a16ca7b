"""`make install` honours PREFIX and DESTDIR; the installed CLI finds the installed
connectors without any environment; C users get luaconn.pc and a versioned library,
and examples/c/read_rows.c builds with pkg-config and reads rows without setting
lua_root."""
import os
import subprocess

import pytest


@pytest.fixture(scope="module")
def installed(tmp_path_factory, source_dir):
    """(DESTDIR, PREFIX inside it) of a fresh build installed with PREFIX=/opt/lc."""
    base = tmp_path_factory.mktemp("install")
    subprocess.run(["make", "-s", "-C", source_dir, f"BUILD={base / 'build'}", "install",
                    "PREFIX=/opt/lc", f"DESTDIR={base / 'root'}"],
                   check=True, capture_output=True, text=True)
    return base / "root", base / "root" / "opt" / "lc"


def clean_env(**extra):
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LUACONN")}, **extra}


def test_install_into_destdir_finds_bundled_connectors(installed):
    _, prefix = installed
    cli = prefix / "bin" / "luaconn"
    assert (prefix / "include" / "luaconn.h").exists()
    assert (prefix / "lib" / "libluaconn.so").exists()
    assert (prefix / "share" / "luaconn" / "lua" / "luaconn" / "paginate.lua").exists()
    listing = subprocess.run([str(cli), "list"], capture_output=True, text=True, env=clean_env())
    assert listing.returncode == 0, listing.stderr
    assert "rest" in listing.stdout
    assert str(prefix / "share" / "luaconn" / "lua" / "connectors" / "rest.lua") in listing.stdout


def test_versioned_library_and_pkg_config(installed, source_dir):
    _, prefix = installed
    version = (source_dir / "VERSION").read_text().strip()
    lib = prefix / "lib"
    assert (lib / f"libluaconn.so.{version}").is_file()
    assert os.readlink(lib / "libluaconn.so.0") == f"libluaconn.so.{version}"
    assert os.readlink(lib / "libluaconn.so") == "libluaconn.so.0"
    dynamic = subprocess.run(["readelf", "-d", str(lib / "libluaconn.so")], check=True,
                             capture_output=True, text=True).stdout
    assert "Library soname: [libluaconn.so.0]" in dynamic
    pc = (lib / "pkgconfig" / "luaconn.pc").read_text()
    assert "prefix=/opt/lc" in pc and f"Version: {version}" in pc
    header = (prefix / "include" / "luaconn_version.h").read_text()
    assert f'#define LUACONN_VERSION "{version}"' in header


def test_c_example_builds_with_pkg_config_and_reads_rows(installed, source_dir, api_server,
                                                         tmp_path):
    root, prefix = installed
    env = clean_env(PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"),
                    PKG_CONFIG_SYSROOT_DIR=str(root))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "luaconn"], check=True,
                           capture_output=True, text=True, env=env).stdout.split()
    assert f"-I{prefix / 'include'}" in flags and f"-L{prefix / 'lib'}" in flags
    program = tmp_path / "read_rows"
    subprocess.run(["cc", "-Wall", "-Werror", "-o", str(program),
                    str(source_dir / "examples" / "c" / "read_rows.c"), *flags],
                   check=True, capture_output=True, text=True)
    version = (source_dir / "VERSION").read_text().strip()
    run = subprocess.run([str(program), f"{api_server}/items"], capture_output=True, text=True,
                         env=clean_env(LD_LIBRARY_PATH=str(prefix / "lib")), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"luaconn {version}: 2500 rows in ")
