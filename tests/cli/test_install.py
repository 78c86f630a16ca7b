"""`make install` honours PREFIX and DESTDIR, and the installed CLI finds the
installed connectors without any environment."""
import os
import subprocess


def test_install_into_destdir_finds_bundled_connectors(tmp_path, source_dir):
    build = tmp_path / "build"
    subprocess.run(["make", "-s", "-C", source_dir, f"BUILD={build}", "install",
                    "PREFIX=/opt/lc", f"DESTDIR={tmp_path / 'root'}"],
                   check=True, capture_output=True, text=True)
    prefix = tmp_path / "root" / "opt" / "lc"
    cli = prefix / "bin" / "luaconn"
    assert (prefix / "include" / "luaconn.h").exists()
    assert (prefix / "lib" / "libluaconn.so").exists()
    assert (prefix / "share" / "luaconn" / "lua" / "luaconn" / "paginate.lua").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUACONN")}
    listing = subprocess.run([str(cli), "list"], capture_output=True, text=True, env=env)
    assert listing.returncode == 0, listing.stderr
    assert "rest" in listing.stdout
    assert str(prefix / "share" / "luaconn" / "lua" / "connectors" / "rest.lua") in listing.stdout
