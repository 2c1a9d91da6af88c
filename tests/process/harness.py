"""Process-level test harness: starts real `clusterkit` binaries on free loopback ports,
talks to them over HTTP/1.1 keep-alive, and stops what it started by PID.

Every wait is bounded and fails with a message that says what was awaited.
"""

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

BINARY = os.environ.get("CLUSTERKIT_BIN", "")


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


_port_rng = random.Random(os.getpid() ^ int(time.time() * 1000))
_ports_handed_out = set()


def free_port():
    """A port that was free a moment ago on 127.0.0.1, chosen OUTSIDE the kernel's ephemeral
    range: a port from bind(0) is ephemeral, and the nodes' own outgoing connections (to each
    other) take ephemeral ports too, so such a port may be taken before the node listens on it.
    Never hands out the same port twice in one process."""
    low, high = _ephemeral_range()
    candidates = (10000, low - 1) if low - 1 - 10000 >= 1000 else (high + 1, 65535)
    for _ in range(1000):
        port = _port_rng.randint(*candidates)
        if port in _ports_handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_handed_out.add(port)
        return port
    raise RuntimeError("no free port found outside the ephemeral range")


def wait_until(predicate, timeout_s, what, interval_s=0.05, describe=None):
    """Polls `predicate` until it returns a truthy value or `timeout_s` passes. On time-out the
    message names `what` and, with `describe` (a callable returning text), what was last seen."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (OSError, http.client.HTTPException) as e:
            last_error = e
        time.sleep(interval_s)
    detail = ""
    if describe is not None:
        try:
            detail = "\n" + describe()
        except Exception as e:  # the description must never hide the time-out itself
            detail = f"\n(describe failed: {e!r})"
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last error: {last_error}){detail}")


def rss_kib(pid):
    """The resident set size of process `pid` in KiB (0 when unknown)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


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

    def __init__(self, node_id="node-1", data_dir=None, env=None, args=None, bootstrap=True, join=None):
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
        # join=[node or "host:port", ...]: JOIN_ADDR lists those members' HTTP addresses, no BOOTSTRAP.
        self.join = list(join or [])
        if self.join:
            self.bootstrap = False
        self._client = None
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
            "LOG_LEVEL": os.environ.get("CLUSTERKIT_TEST_LOG_LEVEL", "info"),  # debug: raft lines
        })
        if self.bootstrap:
            env["BOOTSTRAP"] = "true"
        if self.join:
            env["JOIN_ADDR"] = ",".join(m.http_addr if isinstance(m, Node) else str(m) for m in self.join)
        env.update(self.extra_env)
        return env

    def start(self, wait=True):
        # A first start on an empty data dir may meet a port another test process took after
        # free_port() checked it (tests run in parallel): then it starts over on fresh ports,
        # up to 3 times. Later starts keep their ports (the cluster knows the node by them).
        fresh = self.proc is None and (not os.path.isdir(self.data_dir) or not os.listdir(self.data_dir))
        for attempt in range(3 if fresh and wait else 1):
            self.log_file = open(self.log_path, "ab")
            log_from = self.log_file.tell()
            self.proc = subprocess.Popen([BINARY] + self.args, env=self.environment(),
                                         stdout=self.log_file, stderr=subprocess.STDOUT)
            if not wait:
                return self
            try:
                self.wait_healthy()
                return self
            except AssertionError:
                with open(self.log_path, "rb") as f:
                    f.seek(log_from)
                    this_attempt = f.read().decode(errors="replace")
                if attempt == 2 or self.proc.poll() is None or "Address already in use" not in this_attempt:
                    raise
            self.log_file.close()
            shutil.rmtree(self.data_dir, ignore_errors=True)
            os.makedirs(self.data_dir, exist_ok=True)
            self.http_port, self.kv_port, self.raft_port = free_port(), free_port(), free_port()
            self._client = None
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

    # --- additions for multi-node tests -------------------------------------------------------

    @property
    def http_addr(self):
        return f"127.0.0.1:{self.http_port}"

    @property
    def kv_addr(self):
        return f"127.0.0.1:{self.kv_port}"

    @property
    def raft_addr(self):
        return f"127.0.0.1:{self.raft_port}"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_running(self):
        """Raises AssertionError (which wait_until does not swallow) if the process has exited."""
        if self.proc is None:
            raise AssertionError(f"{self.node_id} is not started")
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.node_id} exited with {self.proc.returncode}; log tail:\n"
                                 f"{self.log_tail()}")

    def restart_as_member(self, wait=True):
        """Starts the node again on its DATA_DIR and ports with neither BOOTSTRAP nor JOIN_ADDR."""
        self.bootstrap = False
        self.join = []
        return self.start(wait=wait)

    def get_json(self, path, timeout_s=3):
        """GET on the cluster API with a cached keep-alive client: (status, body or None when the
        body is not JSON). Connection errors propagate (wait_until records them)."""
        return self.request_json("GET", path, timeout_s=timeout_s)

    def request_json(self, method, path, body=None, headers=None, timeout_s=3):
        if self._client is None or self._client.timeout_s != timeout_s:
            if self._client is not None:
                self._client.close()
            self._client = Client(self.http_port, timeout_s=timeout_s)
        try:
            r = self._client.request(method, path, body=body, headers=headers)
        except Exception:
            self._client.close()  # a timed-out connection is unusable; the next call reconnects
            raise
        try:
            return r.status, r.json()
        except ValueError:
            return r.status, None

    def signal(self, sig):
        """Sends `sig` to the process by PID without waiting."""
        if self.running():
            self.proc.send_signal(sig)

    def wait_stopped(self, timeout_s=20):
        """Waits for a signalled process to exit; SIGKILL and raise if it does not in time."""
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"{self.node_id} did not stop within {timeout_s}s; log tail:\n"
                                 f"{self.log_tail()}")
        finally:
            if self._client is not None:
                self._client.close()
        code = self.proc.returncode
        self.proc = None
        if self.log_file:
            self.log_file.close()
            self.log_file = None
        return code

    def full_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=20):
        return "\n".join(self.full_log().splitlines()[-lines:])

    def log_lines(self, word):
        """The log lines containing `word`, case-insensitively."""
        return [l for l in self.full_log().splitlines() if word.lower() in l.lower()]

    def kv(self):
        return Client(self.kv_port)


def run_binary(env, args=(), timeout_s=20):
    """Runs clusterkit to completion (for start-up failures); returns (code, stdout, stderr)."""
    full_env = {k: v for k, v in os.environ.items() if k not in (
        "NODE_ID", "BOOTSTRAP", "JOIN_ADDR", "DATA_DIR")}
    full_env.update(env)
    p = subprocess.run([BINARY] + list(args), env=full_env, capture_output=True, timeout=timeout_s)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# --- multi-node clusters ----------------------------------------------------------------------

# Short failure-detector thresholds so suspect/dead show up within seconds (defaults 3000/30000).
FAST_FAILURE_ENV = {"FAILURE_SUSPECT_AFTER_MS": "1500", "FAILURE_DEAD_AFTER_MS": "5000"}


def stop_all(nodes, sig=signal.SIGTERM, timeout_s=20):
    """Signals every running node first, then waits for each: {node_id: exit code}."""
    for n in nodes:
        n.signal(sig)
    return {n.node_id: n.wait_stopped(timeout_s) for n in nodes}


class Cluster:
    """Nodes sharing one temporary directory (DATA_DIR <dir>/<id>, log <dir>/<id>.log) and a common
    environment. cleanup() kills what is still running by PID and removes the directory, unless
    CLUSTERKIT_KEEP_LOGS is set."""

    def __init__(self, env=None):
        self.env = dict(FAST_FAILURE_ENV)
        self.env.update(env or {})
        self.dir = tempfile.mkdtemp(prefix="ck-cluster-")
        self.nodes = []
        self.last_views = {}

    def add(self, node_id, bootstrap=False, join=None, start=True, wait=True, env=None):
        """A new node; node-1 style bootstrap with bootstrap=True, else join=[members]."""
        full_env = dict(self.env)
        full_env.update(env or {})
        node = Node(node_id, data_dir=os.path.join(self.dir, node_id), env=full_env,
                    bootstrap=bootstrap, join=join)
        self.nodes.append(node)
        if start:
            node.start(wait=wait)
        return node

    def node(self, node_id):
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(node_id)

    def running(self):
        return [n for n in self.nodes if n.running()]

    def views(self, nodes=None, path="/cluster"):
        """{node_id: body} of GET `path` on each node (None for a non-200 answer or no answer)."""
        out = {}
        for n in (self.nodes if nodes is None else nodes):
            n.assert_running()
            try:
                status, body = n.get_json(path)
            except (OSError, http.client.HTTPException) as e:
                status, body = None, f"{type(e).__name__}: {e}"
            out[n.node_id] = body if status == 200 else None
            self.last_views[n.node_id] = (status, body)
        return out

    def converged(self, expected_ids, nodes=None):
        """The /cluster views when every node in `nodes` (default: all) lists exactly
        `expected_ids`, each once and `alive`, with min(5, n) voters and the rest learners in
        the meta group, and all agree on a non-empty leader_id and cluster_id; else False."""
        expected = sorted(expected_ids)
        views = self.views(nodes)
        leaders, clusters = set(), set()
        for body in views.values():
            if not isinstance(body, dict):
                return False
            members = body.get("nodes") or []
            ids = [m.get("id") for m in members]
            if sorted(ids) != expected:
                return False
            if any(m.get("status") != "alive" for m in members):
                return False
            # The meta group settled too: up to 5 members are all voters (the default
            # META_VOTERS_MAX); beyond, 5 voters and the rest learners.
            roles = [m.get("meta_role") for m in members]
            if roles.count("voter") != min(5, len(expected)) or \
                    roles.count("learner") != len(expected) - min(5, len(expected)):
                return False
            leaders.add(body.get("leader_id"))
            clusters.add(body.get("cluster_id"))
        if len(leaders) != 1 or len(clusters) != 1 or "" in leaders | clusters or None in leaders | clusters:
            return False
        return views

    def wait_converged(self, expected_ids, timeout_s, nodes=None, what=None):
        what = what or f"{sorted(expected_ids)} alive with one agreed leader on every node"
        return wait_until(lambda: self.converged(expected_ids, nodes), timeout_s, what,
                          interval_s=0.1, describe=lambda: self.describe(nodes))

    def wait_replicated(self, timeout_s=60, node=None):
        """Until every partition has its full replica set as voters, a leader, and no move runs
        (/partitions/stats): before that a partition may still be one voter plus learners, and
        killing that voter's node would leave it without a quorum (Raft, not a bug)."""
        node = node or self.nodes[0]
        def replicated():
            status, body = node.get_json("/partitions/stats")
            return (status == 200 and body["under_replicated"] == 0 and body["without_leader"] == 0
                    and body["moves_in_progress"] == 0)
        wait_until(replicated, timeout_s, "every partition fully replicated, led, no move running",
                   interval_s=0.1, describe=lambda: str(node.get_json("/partitions/stats")))

    def describe(self, nodes=None, log_lines=12):
        """What each node last answered (compact) and the tail of its log."""
        out = []
        for n in (self.nodes if nodes is None else nodes):
            status, body = self.last_views.get(n.node_id, (None, None))
            if isinstance(body, dict) and "nodes" in body:
                body = {"leader_id": body.get("leader_id"), "term": body.get("term"),
                        "cluster_id": body.get("cluster_id"),
                        "nodes": [(m.get("id"), m.get("status"), m.get("meta_role"))
                                  for m in body.get("nodes") or []]}
            state = "running" if n.running() else "stopped"
            out.append(f"--- {n.node_id} ({state}, http {n.http_addr}, raft {n.raft_addr}) "
                       f"last answer: {status} {json.dumps(body)[:600] if body is not None else ''}")
            out.append(n.log_tail(log_lines))
        return "\n".join(out)

    def cleanup(self):
        for n in self.nodes:
            try:
                if n._client is not None:
                    n._client.close()
                n.cleanup()  # kills by PID if still running; the directory is ours
            except Exception:
                pass
        if os.environ.get("CLUSTERKIT_KEEP_LOGS"):
            print(f"cluster logs kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- partitions / replicated KV (issue 5) -----------------------------------------------------

def start_cluster(size, env=None, cleanup_with=None, timeout_s=60):
    """A Cluster of `size` nodes: node-1 BOOTSTRAP=true, waits for it to lead the meta group, then
    node-2..size join node-1; waits until every node answers /health and lists all members alive.
    cleanup_with: a callable registering the cleanup (e.g. TestCase.addClassCleanup), called
    before anything starts so processes are stopped by PID even when the start fails."""
    cluster = Cluster(env=env)
    if cleanup_with is not None:
        cleanup_with(cluster.cleanup)
    first = cluster.add("node-1", bootstrap=True)
    wait_until(lambda: first.get_json("/consensus/leader")[0] == 200, 20,
               "node-1 (BOOTSTRAP=true) to lead the meta group (/consensus/leader 200)",
               interval_s=0.1, describe=lambda: first.log_tail())
    for i in range(2, size + 1):
        cluster.add(f"node-{i}", join=[first], wait=False)
    for n in cluster.nodes[1:]:
        n.wait_healthy()
    cluster.wait_converged([f"node-{i}" for i in range(1, size + 1)], timeout_s)
    return cluster


def start_replicated_cluster(size, env=None, cleanup_with=None, needs=()):
    """start_cluster, then wait until every partition has its full replica set (a client that
    reads the partition map once, or kills a node, needs that). `needs`: (environment variable,
    what it must name) pairs of other binaries the test uses, checked first."""
    for variable, what in needs:
        path = os.environ.get(variable, "")
        if not path or not os.path.exists(path):
            raise RuntimeError(f"{variable} must name {what}")
    cluster = start_cluster(size, env=env, cleanup_with=cleanup_with)
    cluster.wait_replicated()
    return cluster


def kv_count(node, timeout_s=5):
    """The node's /kv/list count (keys on the replicas it hosts); raises on a non-200 answer."""
    c = Client(node.kv_port, timeout_s=timeout_s)
    try:
        r = c.get("/kv/list?limit=1")
        if r.status != 200:
            raise AssertionError(f"{node.node_id} /kv/list -> {r}")
        return r.json()["count"]
    finally:
        c.close()


class RawKV:
    """A keep-alive KV client that NEVER retries a request (a retried set could apply twice, which
    a linearizability check must not be fed). request() returns (status, body dict or None) or
    raises; after any exception the connection is dropped and the next call reconnects."""

    def __init__(self, port, timeout_s=5, host="127.0.0.1"):
        self.port = port
        self.host = host
        self.timeout_s = timeout_s
        self.conn = None

    def request(self, method, path, body=None):
        headers = {}
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
        except BaseException:
            self.close()
            raise
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, None

    def set(self, key, value):
        return self.request("POST", "/kv/set", {"key": key, "value": value})

    def get(self, key, consistency=None):
        q = "/kv/get?key=" + urllib.parse.quote(key, safe="")
        if consistency:
            q += "&consistency=" + consistency
        return self.request("GET", q)

    def delete(self, key):
        return self.request("POST", "/kv/delete?key=" + urllib.parse.quote(key, safe=""))

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
