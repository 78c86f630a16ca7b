"""Failures a user meets through the CLI: HTTP faults, bad scripts, bad options, the
sandbox and the memory/time limits. Every failure must be one clear stderr line and
a normal non-zero exit (never a crash)."""

import re
import subprocess
import time

import pytest
from api_server import dataset


def read_items(cli, url, *args, **kwargs):
    return cli.run("read", "rest", "-o", f"url={url}", *args, **kwargs)


# ---- HTTP faults -----------------------------------------------------------------

def test_a_503_is_retried_and_every_row_arrives_once(cli, api_server, attempts, unique_key):
    url = f"{api_server}/items?key={unique_key}&fail=503&times=1"
    result = read_items(cli, url, "-o", "page_size=100").ok()
    assert result.rows() == dataset(2500)
    assert attempts(unique_key)["count"] == 26


def test_a_429_waits_for_retry_after(cli, api_server, attempts, unique_key):
    url = f"{api_server}/items?rows=150&key={unique_key}&fail=429&times=1&retry_after=1"
    result = read_items(cli, url).ok()
    assert result.rows() == dataset(150)
    times = attempts(unique_key)["times"]
    assert len(times) == 3
    assert times[1] - times[0] >= 1.0, "retried before Retry-After elapsed"


def test_a_persistent_500_fails_naming_status_and_url(cli, api_server, attempts, unique_key):
    url = f"{api_server}/items?key={unique_key}&fail=500"
    message = read_items(cli, url, "-o", "retries=2").error()
    assert "500" in message
    assert f"{api_server}/items" in message
    assert attempts(unique_key)["count"] == 3, "retries=2 means three attempts"


def test_a_failure_after_some_pages_is_still_a_failure(cli, api_server, unique_key):
    url = f"{api_server}/items?key={unique_key}&fail=500&after=2"
    result = read_items(cli, url, "-o", "retries=0")
    assert "500" in result.error()
    assert len(result.rows()) <= 200


def test_retry_after_zero_is_not_a_hot_loop(cli, api_server, attempts, unique_key):
    url = f"{api_server}/items?rows=10&key={unique_key}&fail=429&times=2&retry_after=0"
    assert read_items(cli, url).ok().rows() == dataset(10)
    times = attempts(unique_key)["times"]
    assert len(times) == 3
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.1


def test_malformed_json_names_the_url(cli, api_server, unique_key):
    url = f"{api_server}/items?key={unique_key}&malformed=1"
    message = read_items(cli, url).error()
    assert f"{api_server}/items" in message


def test_a_stalled_server_hits_the_http_timeout(cli, api_server, unique_key):
    url = f"{api_server}/items?key={unique_key}&slow=10"
    started = time.monotonic()
    message = read_items(cli, url, "-o", "timeout=1", "-o", "retries=0").error()
    assert time.monotonic() - started < 8
    assert re.search(r"timed? out|timeout", message, re.I), message


# ---- scripts and options ---------------------------------------------------------

SYNTAX_ERROR = """\
local C = { schema = "id INT" }
function C.read(opts, partition, emit)
  emit{id = 1 +}
end
return C
"""

RUNTIME_ERROR = """\
local C = { schema = "id INT" }
function C.read(opts, partition, emit)
  error("kaboom")
end
return C
"""

TYPED_OPTION = """\
local C = { schema = "id INT", options = { n = {type="integer", default=3} } }
function C.read(opts, partition, emit) for i = 1, opts.n do emit{id=i} end end
return C
"""


def test_syntax_error_names_file_and_line(cli, lua_script):
    path = lua_script(SYNTAX_ERROR, "broken.lua")
    assert re.search(r"broken\.lua:3: ", cli.run("read", path).error())
    assert re.search(r"broken\.lua:3: ", cli.run("check", path).error())


def test_runtime_error_names_file_line_and_message(cli, lua_script):
    message = cli.run("read", lua_script(RUNTIME_ERROR, "raises.lua")).error()
    assert re.search(r"raises\.lua:3: .*kaboom", message)


def test_check_rejects_a_script_that_is_not_a_connector(cli, lua_script):
    message = cli.run("check", lua_script("return 42\n", "notaconnector.lua")).error()
    assert "notaconnector.lua" in message


def test_unknown_connector_is_named(cli):
    assert "no_such_connector" in cli.run("read", "no_such_connector").error()


def test_missing_required_option_is_named(cli):
    assert re.search(r"\burl\b", cli.run("read", "rest").error())


def test_unknown_option_is_named(cli, api_server):
    message = read_items(cli, f"{api_server}/items", "-o", "bogus_knob=1").error()
    assert "bogus_knob" in message


def test_option_of_the_wrong_type_is_named(cli, lua_script):
    message = cli.run("read", lua_script(TYPED_OPTION), "-o", "n=lots").error()
    assert re.search(r"\bn\b", message), message


# ---- sandbox -----------------------------------------------------------------------

def luajit_bytecode(source):
    """Real LuaJIT bytecode for source, as a Lua string literal, or a bare header."""
    try:
        raw = subprocess.run(["luajit", "-b", "-t", "raw", "-e", source, "-"],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raw = b"\x1bLJ\x02\x0a"
    return '"' + "".join(f"\\{b}" for b in raw) + '"'


ESCAPES = {
    "ffi": ('local ffi = require("ffi")', r"ffi"),
    "io": ('local f = io.open("/etc/hostname")', r"\bio\b"),
    "os.execute": ('os.execute("touch {marker}")', r"execute"),
    "load bytecode": ("local f, err = load({bytecode}) if not f then error(err) end "
                      "emit{{id = f()}}", r"binary|bytecode"),
    "loadstring bytecode": ("local f, err = loadstring({bytecode}) "
                            "if not f then error(err) end emit{{id = f()}}",
                            r"binary|bytecode|loadstring"),
    "string.dump": ("emit{{id = #string.dump(function() end)}}", r"dump"),
    "debug": ("debug.sethook()", r"debug"),
    "package.loadlib": ('package.loadlib("libc.so.6", "system")', r"loadlib|package"),
}


@pytest.mark.parametrize("escape", list(ESCAPES))
def test_sandbox_refuses(cli, lua_script, tmp_path, escape):
    snippet, pattern = ESCAPES[escape]
    marker = tmp_path / "escaped"
    body = snippet.format(marker=marker, bytecode=luajit_bytecode("return 42"))
    path = lua_script('local C = { schema = "id INT" }\n'
                      f"function C.read(opts, partition, emit)\n  {body}\nend\nreturn C\n")
    result = cli.run("read", path)
    message = result.error()
    assert re.search(pattern, message), message
    assert result.stdout == "", "the escape produced rows"
    assert not marker.exists()


MEMORY_HOGS = {
    "table": "local t = {} local i = 0 while true do i = i + 1 t[i] = {i, tostring(i)} end",
    "string": 'local s = "x" while true do s = s .. s end',
}


@pytest.mark.parametrize("hog", list(MEMORY_HOGS))
def test_memory_cap_stops_a_growing_script(cli, lua_script, hog):
    path = lua_script('local C = { schema = "id INT" }\n'
                      f"function C.read(opts, partition, emit)\n  {MEMORY_HOGS[hog]}\nend\n"
                      "return C\n")
    message = cli.run("read", "--memory-limit", "64M", path, timeout=120).error()
    # The configured cap, not the default 256 MiB: the option was applied.
    assert "memory limit exceeded (64 MiB)" in message, message


SPINNERS = {
    "interpreted": "while true do end",
    "jit-compiled": "local x = 0 while true do x = x + 1 end",
    "swallowing errors": "while true do pcall(function() while true do end end) end",
}


@pytest.mark.parametrize("spinner", list(SPINNERS))
def test_time_budget_stops_an_endless_loop(cli, lua_script, spinner):
    path = lua_script('local C = { schema = "id INT" }\n'
                      f"function C.read(opts, partition, emit)\n  {SPINNERS[spinner]}\nend\n"
                      "return C\n")
    started = time.monotonic()
    message = cli.run("read", "--timeout", "2", path, timeout=60).error()
    assert time.monotonic() - started < 20
    assert re.search(r"time limit", message, re.I), message


HELPER_CALLER = """
local paginate = require "luaconn.paginate"
local auth = require "luaconn.auth"
return { schema = "id INT, name STRING, status STRING",
  options = auth.with_options { url = {}, how = {} },
  read = function(opts, partition, emit)
    if opts.how == "fetch" then
      auth.fetcher(opts)(opts.url)
    else
      paginate.cursor({ url = opts.url }, emit)
    end
  end }
"""


@pytest.mark.parametrize("how, line, fault, says", [
    ("fetch", 8, "fail=404", "HTTP 404"), ("page", 10, "fail=404", "HTTP 404"),
    ("fetch", 8, "malformed=1", "not valid JSON"), ("page", 10, "malformed=1", "not valid JSON"),
    ("page", 10, "", "has no 'results' array")])
def test_errors_inside_helpers_name_the_connectors_line(cli, lua_script, api_server, unique_key,
                                                        how, line, fault, says):
    script = lua_script(HELPER_CALLER)
    path = "pages/offset" if not fault else "items"
    url = f"{api_server}/{path}?key={unique_key}&{fault}"
    error = cli.run("read", script, "-o", f"url={url}", "-o", f"how={how}").error()
    assert error.startswith(f"luaconn: {script}:{line}: "), error
    assert says in error
