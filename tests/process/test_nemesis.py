"""Issue 13, finding 10: real network partitions between live processes.

Three nodes run in their own network namespaces on a bridge (the walkthrough's network, plus a
veth from this namespace so the test's clients reach every node directly). While 6 clients (2
per node, no retries) do random set/get/delete on 5 keys, a nemesis cuts links between node
namespaces with blackhole routes (both directions; clients keep reaching every node):

  - isolate: one node cut from the other two for 3 s, then healed;
  - flap:    the link between two nodes cut and healed for 4 s, each cut 0.3-2 s long (longer
             than the transport's failure detection) and each heal 0.2-1 s (seeded);
  - slow:    one node's link (both directions) throttled to 256 kbit/s for 4 s by a token
             bucket (tc tbf) whose queue holds ~85 ms and drops the rest: delay and loss.

Afterwards every key is read from each node once all are ready again; the history must be
linearizable (linearizability.py) and no acknowledged write may be lost. NEMESIS_RUNS runs
(default 2; CI runs 3, one of each kind; the `long` label runs 20), seeds as in
test_linearizable_kv (NEMESIS_SEED).
Delay and loss come from tbf because this kernel has neither the netem qdisc nor tc actions
(random drop); where tbf is missing too, the slow runs become isolate runs (logged). Needs root
and `ip netns`: skipped with the reason otherwise.
"""

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import BINARY, RawKV, wait_until
from linearizability import check, format_op, lost_acknowledged_writes, record
from test_linearizable_kv import client_loop, final_read
from test_walkthrough import Net, netns_unavailable_reason, run

RUNS = int(os.environ.get("NEMESIS_RUNS", "2"))
BASE_SEED = int(os.environ.get("NEMESIS_SEED", str(int(time.time()) % 100000)))
NODES = ["node1", "node2", "node3"]


def log(msg):
    print(f"[test_nemesis] {msg}", file=sys.stderr, flush=True)


class Cut:
    """Blackhole routes between node namespaces (both directions); heal() removes them all."""

    def __init__(self, net):
        self.net = net
        self.routes = set()

    def cut(self, a, b):
        for x, y in ((a, b), (b, a)):
            if (x, y) not in self.routes:
                run(["ip", "-n", self.net.node_ns[x], "route", "add", "blackhole",
                     f"{self.net.ips[y]}/32"])
                self.routes.add((x, y))

    def heal(self, a=None, b=None):
        for x, y in list(self.routes):
            if a is None or {x, y} == {a, b}:
                run(["ip", "-n", self.net.node_ns[x], "route", "del", "blackhole",
                     f"{self.net.ips[y]}/32"], check=False)
                self.routes.discard((x, y))


class Throttle:
    """A token bucket on both ends of one node's link: its traffic queues (delay) and, past the
    queue's ~85 ms (20 ms + a 2 kB burst at 32 kB/s), is dropped (loss). off() removes them."""

    RATE, BURST, LATENCY = "256kbit", "2kb", "20ms"

    def __init__(self, net):
        self.net = net
        self.on_devices = []

    def devices(self, name):
        return [(self.net.node_ns[name], "eth0"), (self.net.switch, f"p-{name}")]

    @staticmethod
    def tc(ns, *args):
        return ["ip", "netns", "exec", ns, "tc", *args]

    @staticmethod
    def add_command(ns, dev):
        return Throttle.tc(ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", Throttle.RATE,
                           "burst", Throttle.BURST, "latency", Throttle.LATENCY)

    @staticmethod
    def unavailable_reason(ns, dev):
        probe = run(Throttle.add_command(ns, dev), check=False)
        if probe.returncode != 0:
            return probe.stderr.strip() or f"tc exited {probe.returncode}"
        run(Throttle.tc(ns, "qdisc", "del", "dev", dev, "root"), check=False)
        return None

    def on(self, name):
        for ns, dev in self.devices(name):
            run(self.add_command(ns, dev))
            self.on_devices.append((ns, dev))

    def off(self):
        """Removes the buckets; returns the packets they sent, delayed and dropped."""
        totals = {"sent": 0, "overlimits": 0, "dropped": 0}
        for ns, dev in self.on_devices:
            shown = run(self.tc(ns, "-s", "qdisc", "show", "dev", dev), check=False).stdout
            m = re.search(r"Sent \d+ bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)", shown)
            if m:
                totals["sent"] += int(m.group(1))
                totals["dropped"] += int(m.group(2))
                totals["overlimits"] += int(m.group(3))
            run(self.tc(ns, "qdisc", "del", "dev", dev, "root"), check=False)
        self.on_devices = []
        return totals


class Nemesis(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = netns_unavailable_reason()
        if reason:
            raise unittest.SkipTest(f"network partitions need network namespaces: {reason}")
        if not BINARY or not os.path.exists(BINARY):
            raise RuntimeError("CLUSTERKIT_BIN must name the built clusterkit binary")

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ck-nemesis-")
        self.net = Net()
        self.procs = {}
        self.logs = {}
        self.addCleanup(self.teardown_all)
        self.net.build()
        # This namespace joins the bridge too (host side "ckh<pid>", switch side "p-host").
        self.host_if = f"ckh{os.getpid() % 100000}"
        run(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", "p-host",
             "netns", self.net.switch])
        run(["ip", "-n", self.net.switch, "link", "set", "p-host", "master", "br0"])
        run(["ip", "-n", self.net.switch, "link", "set", "p-host", "up"])
        run(["ip", "addr", "add", f"{self.net.prefix}.200/24", "dev", self.host_if])
        run(["ip", "link", "set", self.host_if, "up"])
        self.cut = Cut(self.net)
        self.throttle = Throttle(self.net)
        self.no_throttle = Throttle.unavailable_reason(self.net.switch, "p-host")
        if self.no_throttle:
            log(f"tc tbf unavailable ({self.no_throttle}): slow runs become isolate runs")

    def teardown_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        for f in self.logs.values():
            f.close()
        run(["ip", "link", "delete", self.host_if], check=False)
        self.net.teardown()
        if os.environ.get("CLUSTERKIT_KEEP_LOGS"):
            print(f"nemesis logs kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, name, first):
        i = int(name[-1])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "TLS_"))}
        env.update({"NODE_ID": f"node-{i}", "HTTP_ADDR": ":8080", "KV_ADDR": ":9080",
                    "RAFT_ADDR": f"{name}:9001", "DATA_DIR": os.path.join(self.dir, name),
                    "PARTITIONS": "16", "LOG_LEVEL": "info",
                    "FAILURE_SUSPECT_AFTER_MS": "1500", "FAILURE_DEAD_AFTER_MS": "30000"})
        if first:
            env["BOOTSTRAP"] = "true"
        else:
            env["JOIN_ADDR"] = "node1:8080"
        self.logs[name] = open(os.path.join(self.dir, f"{name}.log"), "ab")
        self.procs[name] = subprocess.Popen(
            ["ip", "netns", "exec", self.net.node_ns[name], BINARY], env=env,
            stdout=self.logs[name], stderr=subprocess.STDOUT)

    def ready(self, name, path="/ready"):
        kv = RawKV(8080, timeout_s=2, host=self.net.ips[name])
        try:
            status, _ = kv.request("GET", path)
            return status == 200
        except OSError:
            return False
        finally:
            kv.close()

    def log_tail(self, name, n=20):
        with open(os.path.join(self.dir, f"{name}.log"), "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])

    def test_linearizable_under_partitions(self):
        log(f"{RUNS} run(s), seeds {BASE_SEED}..{BASE_SEED + RUNS - 1}")
        self.start("node1", True)
        wait_until(lambda: self.ready("node1", "/consensus/leader"), 30, "node1 leads the meta group",
                   describe=lambda: self.log_tail("node1"))
        for name in NODES[1:]:
            self.start(name, False)
        for name in NODES:
            wait_until(lambda name=name: self.ready(name), 60, f"{name} ready",
                       describe=lambda name=name: self.log_tail(name))
        for run_index in range(RUNS):
            seed = BASE_SEED + run_index
            with self.subTest(run=run_index, seed=seed):
                self.one_run(run_index, seed)

    def one_run(self, run_index, seed):
        rng = random.Random(seed)
        kind = ["isolate", "flap", "slow"][run_index % 3]
        if kind == "slow" and self.no_throttle:
            kind = "isolate"
        # From the seed's generator: kinds cycle with the run index, victims must not follow.
        victim = rng.choice(NODES)
        peer = rng.choice([n for n in NODES if n != victim])
        # Fresh keys per run: the checker assumes every key starts absent.
        keys = [f"nem-{seed}-{i}" for i in range(5)]
        history, stop = record(), threading.Event()
        stats, lock, threads = {}, threading.Lock(), []
        for name in NODES:
            for c in range(2):
                cname = f"{name}/c{c}"
                threads.append(threading.Thread(target=client_loop, args=(
                    cname, 9080, random.Random(f"{seed}-{cname}"), history, stop, stats, lock),
                    kwargs={"host": self.net.ips[name], "keys": keys}))
        start = time.monotonic()
        for t in threads:
            t.start()
        try:
            time.sleep(1.5)
            if kind == "isolate":
                for other in NODES:
                    if other != victim:
                        self.cut.cut(victim, other)
                time.sleep(3.0)
                self.cut.heal()
            elif kind == "slow":
                self.throttle.on(victim)
                time.sleep(4.0)
                shaped = self.throttle.off()
                log(f"slow {victim}: {shaped['sent']} packets through the buckets, "
                    f"{shaped['overlimits']} held back (delayed), {shaped['dropped']} dropped")
            else:
                end = time.monotonic() + 4.0
                while time.monotonic() < end:
                    self.cut.cut(victim, peer)
                    time.sleep(rng.uniform(0.3, 2.0))
                    self.cut.heal()
                    time.sleep(rng.uniform(0.2, 1.0))
            time.sleep(2.5)
        finally:
            self.cut.heal()
            self.throttle.off()
            stop.set()
            for t in threads:
                t.join(timeout=30)
        self.assertFalse(any(t.is_alive() for t in threads), f"a client hung (seed {seed})")
        for name in NODES:
            wait_until(lambda name=name: self.ready(name), 60, f"{name} ready after healing",
                       describe=lambda name=name: self.log_tail(name))
        ops = history.ops()
        endpoints = [(name, self.net.ips[name], 9080) for name in NODES]
        finals = {k: final_read(endpoints, k) for k in keys}
        result = check(ops, timeout_s=120)
        unknown = sum(1 for o in ops if o.ret is None)
        log(f"run {run_index} seed {seed}: {kind} {victim}{'-' + peer if kind == 'flap' else ''}; "
            f"{len(ops)} ops ({unknown} unknown), outcomes {stats}: "
            f"{'linearizable' if result.ok else 'NOT linearizable'}")
        if not result.ok:
            t0 = min(o.call for o in ops)
            key_ops = [format_op(o, t0) for o in ops if o.key == result.key]
            self.fail(f"seed {seed} ({kind} {victim}): history not linearizable on {result.key!r}:\n"
                      f"{result.explanation}\n" + "\n".join(key_ops[-40:]))
        lost = lost_acknowledged_writes(ops, finals)
        self.assertEqual(lost, [], f"seed {seed}: lost acknowledged writes, finals {finals}:\n" +
                         "\n".join(l.explanation for l in lost))
        self.assertGreater(stats.get("ok", 0), 50, f"seed {seed}: too little got through: {stats}")


if __name__ == "__main__":
    unittest.main()
