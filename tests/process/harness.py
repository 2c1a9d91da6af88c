"""Process-level test harness: starts real `clusterkit` binaries on free loopback ports,
talks to them over HTTP/1.1 keep-alive, and stops what it started by PID.

Every wait is bounded and fails with a message that says what was awaited.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BINARY = os.environ.get("CLUSTERKIT_BIN", "")


def free_port():
    """A port that was free a moment ago on 127.0.0.1 (the node retries are the caller's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout_s, what):
    """Polls `predicate` until it returns a truthy value or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, http.client.HTTPException) as e:
            last_error = e
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last error: {last_error})")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Response({self.status}, {self.body[:200]!r})"


class Client:
    """A keep-alive HTTP/1.1 client for one host:port; reconnects when the server closed."""

    def __init__(self, port, timeout_s=10):
        self.port = port
        self.timeout_s = timeout_s
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return Response(r.status, dict((k.lower(), v) for k, v in r.getheaders()), data)
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                # A keep-alive connection the server closed (idle timeout): retry once, fresh.
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Node:
    """One clusterkit process with its own data dir and ports."""

    def __init__(self, node_id="node-1", data_dir=None, env=None, args=None, bootstrap=True):
        if not BINARY or not os.path.exists(BINARY):
            raise RuntimeError("CLUSTERKIT_BIN must name the built clusterkit binary")
        self.node_id = node_id
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix=f"ck-{node_id}-")
        self.http_port = free_port()
        self.kv_port = free_port()
        self.raft_port = free_port()
        self.extra_env = dict(env or {})
        self.args = list(args or [])
        self.bootstrap = bootstrap
        self.proc = None
        self.log_path = self.data_dir.rstrip("/") + ".log"
        self.log_file = None

    def environment(self):
        env = {k: v for k, v in os.environ.items() if k not in (
            "NODE_ID", "BOOTSTRAP", "JOIN_ADDR", "DATA_DIR", "HTTP_ADDR", "KV_ADDR", "RAFT_ADDR")}
        env.update({
            "NODE_ID": self.node_id,
            "HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "KV_ADDR": f"127.0.0.1:{self.kv_port}",
            "RAFT_ADDR": f"127.0.0.1:{self.raft_port}",
            "DATA_DIR": self.data_dir,
            "LOG_LEVEL": "info",
        })
        if self.bootstrap:
            env["BOOTSTRAP"] = "true"
        env.update(self.extra_env)
        return env

    def start(self, wait=True):
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BINARY] + self.args, env=self.environment(),
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout_s=15):
        def healthy():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.node_id} exited with {self.proc.returncode}: {self.log()}")
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=1):
                pass
            probe = Client(self.http_port, timeout_s=2)
            try:
                return probe.get("/health").status == 200
            finally:
                probe.close()
        wait_until(healthy, timeout_s, f"{self.node_id} /health on :{self.http_port}")

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout_s=20):
        """Stops the process by PID; returns its exit code. SIGKILL if it does not stop in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"{self.node_id} did not stop within {timeout_s}s after {sig}")
        code = self.proc.returncode
        self.proc = None
        if self.log_file:
            self.log_file.close()
            self.log_file = None
        return code

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
        finally:
            self.proc = None
            if self.owns_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                try:
                    os.unlink(self.log_path)
                except OSError:
                    pass

    def api(self):
        return Client(self.http_port)

    def kv(self):
        return Client(self.kv_port)


def run_binary(env, args=(), timeout_s=20):
    """Runs clusterkit to completion (for start-up failures); returns (code, stdout, stderr)."""
    full_env = {k: v for k, v in os.environ.items() if k not in (
        "NODE_ID", "BOOTSTRAP", "JOIN_ADDR", "DATA_DIR")}
    full_env.update(env)
    p = subprocess.run([BINARY] + list(args), env=full_env, capture_output=True, timeout=timeout_s)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
