"""A private rabbitmq-server for tests and the demo.

Each Broker gets its own node name, data dir, log dir, config (an AMQP listener on a
free 127.0.0.1 port), distribution port and HOME, so it never touches a system broker
or another test run. From Python:

    with Broker() as broker:          # or broker.start() ... broker.stop()
        broker.url                    # amqp://guest:guest@127.0.0.1:PORT/%2F

From C tests or shell (the state lives in DIR, stdout is the URL):

    python3 tests/broker.py start DIR
    python3 tests/broker.py stop DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

RABBIT_BIN = "/usr/lib/rabbitmq/bin"
# rabbitmqctl binds 35672-35682 for itself; the broker must stay out of that range.
CTL_PORTS = range(35672, 35683)
START_TIMEOUT = 90


def free_port():
    """A free TCP port on 127.0.0.1 outside rabbitmqctl's range."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in CTL_PORTS:
            return port


class Broker:
    """tls=(cert, key): the node also listens with TLS on tls_port (amqps)."""

    def __init__(self, base=None, tls=None):
        self.base = base or tempfile.mkdtemp(prefix="luaconn-rabbit-")
        self.tls = tls
        self.tls_port = None
        self.port = None
        self.node = None
        self.process = None

    @property
    def url(self):
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def tls_url(self):
        """amqps URL naming the host "localhost", as the test certificates do."""
        return f"amqps://guest:guest@localhost:{self.tls_port}/%2F"

    @property
    def _state_file(self):
        return os.path.join(self.base, "broker.json")

    def _env(self):
        env = dict(os.environ)
        env.update({
            "HOME": self.base,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_MNESIA_BASE": os.path.join(self.base, "data"),
            "RABBITMQ_LOG_BASE": os.path.join(self.base, "log"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.base, "rabbitmq"),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(self.base, "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.base, "enabled_plugins"),
            "RABBITMQ_PID_FILE": os.path.join(self.base, "rabbit.pid"),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
        })
        return env

    def _ctl(self, *args, timeout=60, check=True):
        return subprocess.run([os.path.join(RABBIT_BIN, "rabbitmqctl"), "-n", self.node, *args],
                              env=self._env(), capture_output=True, text=True,
                              timeout=timeout, check=check)

    def start(self):
        """Starts the node (again, keeping its data and port, after stop())."""
        if self.port is None:
            self.port = free_port()
            self.dist_port = free_port()
            self.node = f"luaconn-{os.getpid()}-{self.port}@localhost"
            with open(os.path.join(self.base, "rabbitmq.conf"), "w") as f:
                f.write(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
                        "loopback_users = none\n"
                        "log.console = false\n"
                        "log.file.level = warning\n")
                if self.tls:
                    self.tls_port = free_port()
                    cert, key = self.tls
                    f.write(f"listeners.ssl.1 = 127.0.0.1:{self.tls_port}\n"
                            f"ssl_options.certfile = {cert}\n"
                            f"ssl_options.keyfile = {key}\n"
                            "ssl_options.verify = verify_none\n"
                            "ssl_options.fail_if_no_peer_cert = false\n")
            with open(os.path.join(self.base, "enabled_plugins"), "w") as f:
                f.write("[].\n")
            open(os.path.join(self.base, "rabbitmq-env.conf"), "w").close()
        log = open(os.path.join(self.base, "server.out"), "ab")
        self.process = subprocess.Popen([os.path.join(RABBIT_BIN, "rabbitmq-server")],
                                        env=self._env(), stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._save()
        try:
            self._ctl("wait", "--timeout", str(START_TIMEOUT),
                      os.path.join(self.base, "rabbit.pid"), timeout=START_TIMEOUT + 10)
            self._wait_port()
        except Exception as e:
            self.kill()
            raise RuntimeError(f"rabbitmq-server did not start: {e}; see {self.base}/server.out "
                               f"and {self.base}/log") from e
        return self

    def _wait_port(self):
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _save(self):
        with open(self._state_file, "w") as f:
            json.dump({"port": self.port, "dist_port": self.dist_port, "node": self.node,
                       "pid": self.process.pid}, f)

    @classmethod
    def load(cls, base):
        broker = cls(base)
        with open(broker._state_file) as f:
            state = json.load(f)
        broker.port, broker.dist_port, broker.node = state["port"], state["dist_port"], state["node"]
        broker.pid = state["pid"]
        return broker

    def _pid(self):
        return self.process.pid if self.process else getattr(self, "pid", None)

    def stop(self):
        """Stops the node cleanly; kills it when it does not stop."""
        if self._pid() is None:
            return
        try:
            self._ctl("stop", timeout=60)
            self._wait_exit(30)
        except Exception:
            self.kill()

    def _wait_exit(self, seconds):
        if self.process:
            self.process.wait(timeout=seconds)
            return
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                os.kill(self._pid(), 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        raise TimeoutError("broker still running")

    def kill(self):
        """Kills the whole process group (the node and its helpers)."""
        pid = self._pid()
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.process:
            self.process.wait()

    def close_connections(self, reason="test"):
        """Drops every client connection (clients see a connection.close)."""
        self._ctl("close_all_connections", reason)

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        self.remove()


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.exit("usage: broker.py start|stop DIR")
    os.makedirs(argv[2], exist_ok=True)
    if argv[1] == "start":
        print(Broker(argv[2]).start().url, flush=True)
    else:
        Broker.load(argv[2]).stop()


if __name__ == "__main__":
    main(sys.argv)
