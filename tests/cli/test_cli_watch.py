"""`luaconn watch` re-reads when the script changes and keeps the last good version
when an edit is broken: driven by this test editing the file while watch runs."""
import json
import os
import selectors
import subprocess
import time

import pytest

VERSION = """local C = {{ description = "watched", schema = "id INT, label STRING" }}
function C.read(opts, p, emit)
  for i = 1, 3 do emit {{ id = i, label = "{label}" }} end
end
return C
"""


def write(path, text):
    path.write_text(text)
    # Editors save seconds apart; make each save visible even within one clock tick.
    stamp = time.time() + write.bump
    write.bump += 1
    os.utime(path, (stamp, stamp))


write.bump = 1


class Stream:
    """Reads lines from a child's pipe with a deadline, so a hang fails the test."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.selector = selectors.DefaultSelector()
        self.selector.register(pipe, selectors.EVENT_READ)
        self.buffer = b""

    def line(self, timeout=20):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                pytest.fail(f"no output within {timeout} s (have {self.buffer!r})")
            chunk = os.read(self.pipe.fileno(), 65536)
            if not chunk:
                pytest.fail(f"the watcher exited (have {self.buffer!r})")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def test_watch_rereads_after_each_edit_and_survives_a_broken_one(cli, tmp_path):
    script = tmp_path / "watched.lua"
    write(script, VERSION.format(label="first"))
    proc = subprocess.Popen([str(cli.path), "watch", str(script), "--interval", "0.05", "--runs", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.environment())
    out, err = Stream(proc.stdout), Stream(proc.stderr)
    try:
        assert [json.loads(out.line())["label"] for _ in range(3)] == ["first"] * 3
        assert "watching" in err.line()

        write(script, "local C = { schema = 'id INT' }\nfunction C.read(opts, p, emit)\n"
                      "  emit({ id = 1 }\nend\nreturn C\n")
        refused = err.line()
        assert f"{script}:4:" in refused
        assert "generation 1 keeps running" in refused

        write(script, VERSION.format(label="second"))
        assert [json.loads(out.line()) for _ in range(3)] == [
            {"id": i, "label": "second"} for i in (1, 2, 3)]
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        proc.wait()
