"""The runtime's folders are its layers (runtime/build.mk's LC_LAYERS, lowest first):
scripts/check_layers.py passes on the tree and fails on an include that points up."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check_layers.py"


def run_check(runtime_src):
    return subprocess.run([sys.executable, str(CHECK), str(runtime_src)],
                          capture_output=True, text=True)


def copy_runtime(tmp_path):
    shutil.copytree(ROOT / "runtime" / "src", tmp_path / "runtime" / "src")
    shutil.copy2(ROOT / "runtime" / "build.mk", tmp_path / "runtime" / "build.mk")
    return tmp_path / "runtime" / "src"


def test_the_tree_has_no_include_pointing_up():
    result = run_check(ROOT / "runtime" / "src")
    assert result.returncode == 0, result.stdout
    assert "base < arrow < vm < host < connector" in result.stdout


def test_an_upward_include_fails_and_names_file_and_layers(tmp_path):
    src = copy_runtime(tmp_path)
    json_c = src / "host" / "lc_json.c"
    json_c.write_text(json_c.read_text().replace(
        '#include "host/lc_host.h"', '#include "host/lc_host.h"\n#include "connector/lc_connector.h"'))
    result = run_check(src)
    assert result.returncode == 1
    assert f'{json_c}: includes "connector/lc_connector.h": connector is above host' in result.stdout


def test_a_header_outside_the_layers_and_a_stray_folder_fail(tmp_path):
    src = copy_runtime(tmp_path)
    (src / "extra").mkdir()
    state_c = src / "vm" / "lc_state.c"
    state_c.write_text('#include "lc_internal.h"\n' + state_c.read_text())
    result = run_check(src)
    assert result.returncode == 1
    assert "extra: a folder that is not a layer in LC_LAYERS" in result.stdout
    assert f'{state_c}: includes "lc_internal.h", not a layer\'s header' in result.stdout
