"""Issue 12: a partition's leadership follows its workload (runtime/cluster/load_follow.hpp).

A 3-node cluster with 8 partitions (so that a Python client reaches the 32 requests per
partition and second a leader needs to judge its load):

1. writers send every request through node-2's KV port: node-2 comes to lead all 8 partitions
   (the leaders count where their requests come from and hand leadership there);
   meanwhile, each set through node-2 is seen at once by a stale read and /kv/list on node-2
   (read your writes on the node written through: it leads, and answers after the apply);
2. writers then spread their requests over the three KV ports: the leaders go back to the
   placement's balance, 2 or 3 per node;
every acknowledged write is readable through each node afterwards.

CLUSTERKIT_KEEP_LOGS=1 keeps the node logs and data dirs."""

import http.client
import sys
import threading
import time
import unittest

from harness import RawKV, start_replicated_cluster, wait_until

PARTITIONS = 8
WRITERS = 6


def log(msg):
    print(f"[test_load_follow] {msg}", file=sys.stderr, flush=True)


class Writers:
    """WRITERS threads setting keys through `ports` (round-robin per request) until stop()."""

    def __init__(self, ports, acked, prefix):
        self.ports, self.acked, self.prefix = ports, acked, prefix
        self.halt = threading.Event()
        self.errors = []
        self.count = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True)
                        for t in range(WRITERS)]
        for t in self.threads:
            t.start()

    def run(self, t):
        clients = [RawKV(p, timeout_s=10) for p in self.ports]
        i = 0
        try:
            while not self.halt.is_set() and i < 1_000_000:
                key, value = f"{self.prefix}-{t}-{i % 500}", f"v{i}"
                try:
                    status, body = clients[i % len(clients)].set(key, value)
                except (OSError, http.client.HTTPException) as e:
                    status, body = None, repr(e)
                if status == 200:
                    with self.lock:
                        self.acked[key] = value
                        self.count += 1
                elif status not in (503, None):  # 503: a leader moving, retried by the caller
                    with self.lock:
                        self.errors.append((key, status, body))
                    return
                i += 1
        finally:
            for c in clients:
                c.close()

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join(30)
        return self.count


class LeaderFollowsLoad(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = start_replicated_cluster(3, env={"PARTITIONS": str(PARTITIONS)},
                                               cleanup_with=cls.addClassCleanup)

    def leaders(self):
        status, body = self.cluster.nodes[0].get_json("/partitions/stats")
        return (body.get("partitions_per_node") or {}) if status == 200 else {}

    def check_reads_see_own_writes(self, node, acked):
        """While `node` leads every partition and writers keep it busy, a set acknowledged
        through it is seen at once by a stale read and by /kv/list on it (the leader answers
        a set that entered through its own node after the apply: partition_host_route.cpp)."""
        writers = Writers([node.kv_port], acked, "busy")
        kv = RawKV(node.kv_port, timeout_s=10)
        misses, waited = [], 0
        try:
            for i in range(300):
                key, value = f"ryw-{i}", f"w{i}"
                status, body = kv.set(key, value)
                self.assertEqual(status, 200, f"set {key}: {body}")
                acked[key] = value
                status, got = kv.get(key, consistency="stale")
                if status != 200 or got.get("value") != value:
                    misses.append((key, status, got))
                if i % 10 == 0:
                    status, page = kv.request(
                        "GET", f"/kv/list?partition={body['partition']}&limit=10000")
                    self.assertEqual(status, 200, page)
                    if key not in page["keys"]:
                        misses.append((key, "list", page["count"]))
                    waited += 1
        finally:
            kv.close()
            n = writers.stop()
        self.assertEqual(writers.errors, [], "background writes through the leader failed")
        self.assertEqual(self.leaders().get(node.node_id), PARTITIONS,
                         "leadership moved during the check: it proves nothing then")
        self.assertEqual(misses, [], "reads on the node a set went through missed it")
        log(f"300 sets read back at once by stale gets, {waited} by /kv/list ({n} busy writes)")

    def test_leaders_follow_the_load_and_come_back(self):
        nodes = self.cluster.nodes
        acked = {}
        log(f"leaders before: {self.leaders()}")

        t0 = time.monotonic()
        writers = Writers([nodes[1].kv_port], acked, "one")
        try:
            wait_until(lambda: self.leaders().get("node-2") == PARTITIONS, 30,
                       f"node-2 leads all {PARTITIONS} partitions while every request enters "
                       "through it", interval_s=0.5, describe=lambda: f"leaders {self.leaders()}")
        finally:
            n = writers.stop()
        log(f"node-2 leads all partitions after {time.monotonic() - t0:.1f}s ({n} writes)")
        self.assertEqual(writers.errors, [], "writes through node-2 failed")

        self.check_reads_see_own_writes(nodes[1], acked)

        t0 = time.monotonic()
        writers = Writers([n.kv_port for n in nodes], acked, "all")

        def balanced():
            per = self.leaders()
            counts = [per.get(n.node_id, 0) for n in nodes]
            return sum(counts) == PARTITIONS and all(2 <= c <= 3 for c in counts) and per
        try:
            per = wait_until(balanced, 40, "leaders back to 2 or 3 per node under spread load",
                             interval_s=0.5, describe=lambda: f"leaders {self.leaders()}")
        finally:
            n = writers.stop()
        log(f"leaders balanced {per} after {time.monotonic() - t0:.1f}s ({n} writes)")
        self.assertEqual(writers.errors, [], "spread writes failed")

        for node in nodes:
            kv = RawKV(node.kv_port, timeout_s=10)
            try:
                for key, value in acked.items():
                    status, body = kv.get(key)
                    self.assertEqual(status, 200, f"{key} through {node.node_id}: {body}")
                    self.assertEqual(body.get("value"), value, f"{key} through {node.node_id}")
            finally:
                kv.close()
        log(f"{len(acked)} acknowledged keys readable through every node")


if __name__ == "__main__":
    unittest.main(verbosity=2)
