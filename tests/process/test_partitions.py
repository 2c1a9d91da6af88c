"""Issue 5 acceptance: partitions as Raft groups, replicated KV from any node, rebalancing.

One 3-node cluster (node-1 BOOTSTRAP=true, node-2/3 JOIN_ADDR=node-1, PARTITIONS default 64,
REPLICATION_FACTOR default 3, short failure-detector thresholds) is shared by the tests, which
run in order (test_1_, test_2_, test_3_) and build on each other's acknowledged keys:

1. 1,000 keys set round-robin through the three KV ports; every key readable from every node;
   every node's /kv/list count is 1,000; leaders per node within +-1 of 64/3 after settling.
2. kill -9 of node-2 while writers run on the two survivors: writes succeed again after a short
   gap of 503s (longest gap without a successful write < 10 s); every acknowledged write is
   readable from both survivors; node-2 restarted on its DATA_DIR gets back to the full count.
3. node-4 joins: the moves complete (every partition healthy, 3 voters, no learners), replicas
   per node within +-1 of 48, node-4 stores keys, no acknowledged key is lost, leaders per node
   within +-1 of 16.
4. node-5 joins and the meta leader (the rebalancer) is killed -9 while the moves run, then
   restarted: the moves still complete (replicas per node within +-1 of 38.4), no acknowledged
   key is lost, leaders per node within +-1 of 12.8.
5. POST /leave?node=node-5: node-5 is drained (its replicas move to the other four) and then
   removed from the cluster; replicas per node within +-1 of 48 again; no acknowledged key lost.

CLUSTERKIT_KEEP_LOGS=1 keeps the node logs and data dirs."""

import http.client
import json
import sys
import threading
import time
import unittest
import urllib.parse

from harness import RawKV, kv_count, start_cluster, wait_until

PARTITIONS = 64
RF = 3
MAX_WRITE_GAP_S = 10.0


def log(msg):
    print(f"[test_partitions] {msg}", file=sys.stderr, flush=True)


def within_one(counts, ideal):
    return all(abs(c - ideal) <= 1 for c in counts)


def partitions_summary(node):
    """A compact text of a node's /partitions and /partitions/stats and /rebalance, for failures."""
    out = []
    try:
        status, body = node.get_json("/partitions/stats")
        out.append(f"{node.node_id} /partitions/stats {status}: {json.dumps(body)}")
        status, body = node.get_json("/partitions")
        if isinstance(body, dict):
            bad = [p for p in body.get("partitions", [])
                   if p.get("status") != "healthy" or len(p.get("replica_nodes") or []) != RF - 1
                   or p.get("learners") or not p.get("primary_node")]
            out.append(f"{node.node_id} /partitions {status}: count {body.get('count')}, "
                       f"{len(bad)} not settled, first: {json.dumps(bad[:6])}")
        status, body = node.get_json("/rebalance")
        out.append(f"{node.node_id} /rebalance {status}: {json.dumps(body)[:800]}")
    except (OSError, http.client.HTTPException) as e:
        out.append(f"{node.node_id}: {type(e).__name__}: {e}")
    return "\n".join(out)


def parallel(fn, items, threads):
    """Runs fn(chunk) on `threads` threads over a round-robin split of items; re-raises the first
    exception."""
    chunks = [items[i::threads] for i in range(threads)]
    errors = []

    def run(chunk):
        try:
            fn(chunk)
        except BaseException as e:  # noqa: BLE001 - reported in the main thread
            errors.append(e)

    ts = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


class ReplicatedKV(unittest.TestCase):
    cluster = None
    acked = {}          # key -> value of every acknowledged write so far
    unknown = set()     # keys whose set had an unknown outcome (503/504/timeout)

    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        cls.cluster = start_cluster(3, cleanup_with=cls.addClassCleanup)
        cls.wait_ready(cls.cluster.nodes, 60)
        log(f"3-node cluster with {PARTITIONS} partitions ready in {time.monotonic() - t0:.1f}s")

    # --- helpers --------------------------------------------------------------------------

    @classmethod
    def wait_ready(cls, nodes, timeout_s):
        for n in nodes:
            def ready(n=n):
                n.assert_running()
                return n.get_json("/ready")[0] == 200
            wait_until(ready, timeout_s, f"{n.node_id} /ready 200 (every hosted partition has a leader)",
                       interval_s=0.2, describe=lambda n=n: f"{n.get_json('/ready')}\n{n.log_tail()}")

    def read_all(self, node, keys, threads=3):
        """Every key read (linearizable, the default) through `node`'s KV port returns its acked value."""
        wrong = []

        def reader(chunk):
            c = RawKV(node.kv_port, timeout_s=10)
            try:
                for k in chunk:
                    deadline = time.monotonic() + 15
                    while True:
                        try:
                            status, body = c.get(k)
                        except (OSError, http.client.HTTPException) as e:
                            status, body = None, repr(e)
                        if status in (503, 504, None) and time.monotonic() < deadline:
                            time.sleep(0.1)
                            continue
                        break
                    if status != 200 or not isinstance(body, dict) or body.get("value") != self.acked[k]:
                        wrong.append((k, self.acked[k], status, body))
            finally:
                c.close()

        parallel(reader, list(keys), threads)
        self.assertEqual(wrong, [], f"{len(wrong)} of {len(keys)} acknowledged keys not readable "
                                    f"with their value through {node.node_id} (key, expected, status, "
                                    f"body), first: {wrong[:5]}")

    def assert_leaders_balanced(self, nodes, ideal, timeout_s):
        """Waits until the partitions' leaders are spread over `nodes` within +-1 of `ideal`,
        each leader as the nodes hosting the partition report it (a node that hosts no
        replica of a partition asks the hosts at most once a second: the hosts are the
        measure; assert_views_agree checks the others)."""
        ids = [n.node_id for n in nodes]
        per = wait_until(lambda: self.balanced_leaders(nodes, ideal), timeout_s,
                         f"leaders per node (as the partitions' hosts see them) within +-1 of "
                         f"{ideal:.2f} on {ids}",
                         interval_s=0.5, describe=lambda: "\n".join(
                             partitions_summary(n) for n in nodes if n.running()))
        log(f"leaders balanced {per}")

    def hosts_leaders(self, nodes):
        """{partition: leader} as the nodes hosting each partition report it, or None while a
        partition has no leader or its hosts disagree (a transfer under way)."""
        seen = {}
        for n in nodes:
            if not n.running():
                continue
            status, body = n.get_json("/partitions")
            if status != 200 or not isinstance(body, dict):
                return None
            for p in body.get("partitions", []):
                hosts = [p.get("primary_node")] + list(p.get("replica_nodes") or [])
                if n.node_id in hosts and p.get("primary_node"):
                    seen.setdefault(p["index"], set()).add(p["primary_node"])
        if len(seen) != PARTITIONS or any(len(v) != 1 for v in seen.values()):
            return None
        return {i: next(iter(v)) for i, v in seen.items()}

    def balanced_leaders(self, nodes, ideal):
        ids = [n.node_id for n in nodes]
        led = self.hosts_leaders(nodes)
        if not led:
            return False
        per = {i: 0 for i in ids}
        for leader in led.values():
            per[leader] = per.get(leader, 0) + 1
        counts = [per.get(i, 0) for i in ids]
        return sum(counts) == PARTITIONS and within_one(counts, ideal) and per

    def assert_views_agree(self, nodes, timeout_s):
        """Waits until every node's /partitions names, for every partition, the leader its
        hosts report, also for the partitions the node does not host (it asks their hosts)."""
        def agree():
            truth = self.hosts_leaders(nodes)
            if not truth:
                return False
            for n in nodes:
                status, body = n.get_json("/partitions")
                if status != 200:
                    return False
                named = {p["index"]: p.get("primary_node") for p in body.get("partitions", [])}
                if named != truth:
                    return False
            return True
        t0 = time.monotonic()
        wait_until(agree, timeout_s, "every node's /partitions to name the hosts' leaders",
                   interval_s=0.5, describe=lambda: "\n".join(
                       partitions_summary(n) for n in nodes if n.running()))
        log(f"every node names the hosts' leaders (waited {time.monotonic() - t0:.1f}s)")

    def wait_settled(self, ask, nodes, timeout_s, after):
        """Waits until `ask` reports every partition healthy with RF voters on `nodes` and no
        learners, no move in progress, replicas per node within +-1 of the ideal; returns
        replicas_per_node."""
        ids = [n.node_id for n in nodes]
        ideal = PARTITIONS * RF / len(nodes)

        def settled():
            status, stats = ask.get_json("/partitions/stats")
            if status != 200:
                return False
            per = stats.get("replicas_per_node") or {}
            counts = [per.get(i, 0) for i in ids]
            if sum(counts) != PARTITIONS * RF or not within_one(counts, ideal):
                return False
            if stats.get("moves_in_progress"):
                return False
            status, body = ask.get_json("/partitions")
            if status != 200 or body.get("count") != PARTITIONS:
                return False
            for p in body["partitions"]:
                voters = [p.get("primary_node")] + list(p.get("replica_nodes") or [])
                if (p.get("status") != "healthy" or not p.get("primary_node") or p.get("learners")
                        or len(set(voters)) != RF or not set(voters) <= set(ids)):
                    return False
            return per
        return wait_until(settled, timeout_s,
                          f"moves to finish after {after}: every partition healthy with {RF} "
                          f"voters and no learners, replicas per node within +-1 of {ideal:.1f}",
                          interval_s=0.5, describe=lambda: "\n".join(
                              partitions_summary(n) for n in nodes if n.running()))

    # --- tests ----------------------------------------------------------------------------

    def test_1_thousand_keys_on_three_nodes(self):
        nodes = self.cluster.nodes
        keys = [f"key-{i:04d}" for i in range(1000)]
        values = {k: f"value-{k}-{i}" for i, k in enumerate(keys)}
        failed = []
        t0 = time.monotonic()

        def writer(chunk):
            clients = {n.node_id: RawKV(n.kv_port, timeout_s=10) for n in nodes}
            try:
                for k in chunk:
                    i = int(k.split("-")[1])
                    c = clients[nodes[i % 3].node_id]  # round-robin through the three KV ports
                    deadline = time.monotonic() + 20
                    while True:
                        try:
                            status, body = c.set(k, values[k])
                        except (OSError, http.client.HTTPException) as e:
                            status, body = None, repr(e)
                        if status == 200:
                            self.acked[k] = values[k]
                            break
                        if status in (503, 504, None) and time.monotonic() < deadline:
                            time.sleep(0.1)  # no leader right now: the contract says retry
                            continue
                        failed.append((k, nodes[i % 3].node_id, status, body))
                        break
            finally:
                for c in clients.values():
                    c.close()

        parallel(writer, keys, 6)
        log(f"1000 sets in {time.monotonic() - t0:.1f}s")
        self.assertEqual(failed, [], f"{len(failed)} sets failed (key, node, status, body): {failed[:5]}")

        t0 = time.monotonic()
        for n in nodes:
            self.read_all(n, keys)
        log(f"3 x 1000 gets in {time.monotonic() - t0:.1f}s")

        def counts():
            return {n.node_id: kv_count(n) for n in nodes}
        wait_until(lambda: all(c == 1000 for c in counts().values()), 15,
                   "every node's /kv/list count == 1000 (RF 3 on 3 nodes)", interval_s=0.2,
                   describe=lambda: f"counts {counts()}")
        self.assert_leaders_balanced(nodes, PARTITIONS / 3, 20)

    def test_2_kill_one_node_under_writes(self):
        nodes = self.cluster.nodes[:3]
        victim = self.cluster.node("node-2")
        survivors = [n for n in nodes if n is not victim]
        before = len(self.acked)
        lock = threading.Lock()
        successes = []      # monotonic times of acknowledged writes
        acked, unknown, errors = {}, set(), []
        stop = threading.Event()
        statuses = {}

        def writer(t):
            clients = [RawKV(n.kv_port, timeout_s=5) for n in survivors]
            i = 0
            try:
                while not stop.is_set():
                    k, v = f"w2-{t}-{i}", f"v2-{t}-{i}"
                    c = clients[(i + t) % len(clients)]
                    i += 1
                    try:
                        status, body = c.set(k, v)
                    except (OSError, http.client.HTTPException) as e:
                        status, body = None, repr(e)
                    now = time.monotonic()
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1
                        if status == 200:
                            acked[k] = v
                            successes.append(now)
                        elif status in (503, 504, None):
                            unknown.add(k)
                        else:
                            errors.append((k, status, body))
                    if status != 200:
                        time.sleep(0.05)
            finally:
                for c in clients:
                    c.close()

        start = time.monotonic()
        threads = [threading.Thread(target=writer, args=(t,)) for t in range(3)]
        for t in threads:
            t.start()
        try:
            time.sleep(2)
            killed_at = time.monotonic()
            victim.kill()
            log(f"kill -9 {victim.node_id} after {killed_at - start:.1f}s of writes "
                f"({len(successes)} acked)")
            # Keep writing until writes have succeeded for a while after the kill, bounded.
            while True:
                time.sleep(0.2)
                now = time.monotonic()
                with lock:
                    after = [s for s in successes if s > killed_at]
                if now - killed_at >= 25:
                    break
                if now - killed_at >= 6 and len(after) >= 50 and now - after[-1] < 1:
                    break
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        stopped = time.monotonic()
        times = [start] + sorted(successes) + [stopped]
        gaps = [(b - a, a - start) for a, b in zip(times, times[1:])]
        longest, at = max(gaps)
        log(f"writes: {statuses} over {stopped - start:.1f}s; longest gap without an acked write "
            f"{longest:.2f}s starting {at:.1f}s in (kill at {killed_at - start:.1f}s)")
        self.assertEqual(errors, [], f"sets with an unexpected status (key, status, body): {errors[:5]}")
        self.assertTrue(any(s > killed_at for s in successes), "no write succeeded after the kill")
        self.assertLess(longest, MAX_WRITE_GAP_S,
                        f"writes stopped succeeding for {longest:.2f}s (from {at:.1f}s; kill at "
                        f"{killed_at - start:.1f}s); statuses {statuses}")

        self.acked.update(acked)
        self.unknown.update(unknown)
        t0 = time.monotonic()
        for n in survivors:
            self.read_all(n, list(self.acked))
        log(f"{len(self.acked)} acked keys read from both survivors in {time.monotonic() - t0:.1f}s")

        total = len(self.acked)
        t0 = time.monotonic()
        victim.restart_as_member()
        self.wait_ready([victim], 60)

        def counts():
            return {n.node_id: kv_count(n) for n in nodes}

        def caught_up():
            c = counts()
            ref = c[survivors[0].node_id]
            return ref >= total and all(v == ref for v in c.values()) and c
        c = wait_until(caught_up, 60,
                       f"{victim.node_id} restarted on its DATA_DIR to get back to the total count "
                       f"(>= {total} acked keys, equal on all 3 nodes)", interval_s=0.5,
                       describe=lambda: f"counts {counts()}, acked {total}, unknown-outcome "
                                        f"{len(self.unknown)}\n{victim.log_tail()}")
        log(f"{victim.node_id} back to {c} keys {time.monotonic() - t0:.1f}s after restart "
            f"(acked {total}, {before} before this test, {len(self.unknown)} unknown outcome)")
        # Only writes that were acknowledged, or whose outcome is unknown, may be stored.
        self.assertLessEqual(c[victim.node_id], total + len(self.unknown), f"counts {c}")
        self.read_all(victim, list(self.acked))

    def test_3_fourth_node_takes_its_share(self):
        old = self.cluster.nodes[:3]
        for n in old:
            n.assert_running()
        t0 = time.monotonic()
        fourth = self.cluster.add("node-4", join=[self.cluster.node("node-1")])
        nodes = old + [fourth]
        ask = self.cluster.node("node-1")
        per = self.wait_settled(ask, nodes, 90, "node-4 joined")
        moves_s = time.monotonic() - t0
        log(f"node-4 joined and moves finished in {moves_s:.1f}s: replicas_per_node {per}")

        n4 = wait_until(lambda: kv_count(fourth) > 0 and kv_count(fourth), 30,
                        "node-4's /kv/list count > 0", interval_s=0.5,
                        describe=lambda: fourth.log_tail())
        log(f"node-4 stores {n4} keys; counts {[kv_count(n) for n in nodes]}")
        t1 = time.monotonic()
        self.read_all(fourth, list(self.acked))
        self.read_all(ask, list(self.acked))
        log(f"{len(self.acked)} acked keys readable after the moves ({time.monotonic() - t1:.1f}s)")
        self.assert_leaders_balanced(nodes, PARTITIONS / 4, 60)
        self.assert_views_agree(nodes, 10)

    def test_4_moves_survive_a_meta_leader_restart(self):
        nodes = self.cluster.nodes[:4]
        for n in nodes:
            n.assert_running()
        fifth = self.cluster.add("node-5", join=[nodes[1]])
        nodes = nodes + [fifth]
        # Moves toward node-5 are in flight: kill -9 the meta leader (the rebalancer) now.
        status, body = nodes[1].get_json("/consensus/leader")
        self.assertEqual(status, 200, body)
        leader = self.cluster.node(body["leader_id"])
        status, rebalance = nodes[1].get_json("/rebalance")
        log(f"node-5 joined; /rebalance before the kill: running {rebalance.get('running')}, "
            f"moves_total {rebalance.get('moves_total')}, moves_done {rebalance.get('moves_done')}")
        t0 = time.monotonic()
        leader.kill()
        time.sleep(1.0)  # let the survivors elect a new meta leader while moves are half done
        leader.restart_as_member()
        survivor = nodes[1] if leader is not nodes[1] else nodes[2]
        per = self.wait_settled(survivor, nodes, 120,
                                f"node-5 joined and the meta leader {leader.node_id} was killed "
                                f"and restarted midway")
        log(f"moves finished {time.monotonic() - t0:.1f}s after killing {leader.node_id}: "
            f"replicas_per_node {per}")
        for n in (fifth, leader):
            self.read_all(n, list(self.acked))
        log(f"{len(self.acked)} acked keys readable through node-5 and {leader.node_id}")
        self.assert_leaders_balanced(nodes, PARTITIONS / 5, 60)

    def test_5_leave_drains_a_node_before_removing_it(self):
        nodes = self.cluster.nodes[:5]
        for n in nodes:
            n.assert_running()
        leaving, ask = self.cluster.node("node-5"), self.cluster.node("node-2")
        status, body = ask.request_json("POST", "/leave?node=node-5")
        self.assertEqual((status, body.get("status")), (202, "leaving"), body)
        t0 = time.monotonic()

        def gone():
            status, view = ask.get_json("/cluster")
            return status == 200 and "node-5" not in [n["id"] for n in view["nodes"]] and view
        wait_until(gone, 90, "node-5 drained (no replica placed on it) and removed from /cluster",
                   interval_s=0.5, describe=lambda: partitions_summary(ask))
        log(f"node-5 drained and removed {time.monotonic() - t0:.1f}s after POST /leave")
        rest = [n for n in nodes if n is not leaving]
        per = self.wait_settled(ask, rest, 60, "node-5 left")
        log(f"after the leave: replicas_per_node {per}")
        self.read_all(ask, list(self.acked))


if __name__ == "__main__":
    unittest.main()
