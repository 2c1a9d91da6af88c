"""examples/counter as its users run it: a 3-node cluster of the example's own binary
(CLUSTERKIT_BIN=counter-node), counters added through every node, the leader of the busiest
counter's partition killed -9 mid-load, then every acknowledged add checked.

Goal: the public state machine API keeps the runtime's guarantees for a user's machine: an
acknowledged command survives the loss of a node, a 504 (outcome unknown) is the only answer
whose effect is uncertain, and the counter answers again from the surviving nodes and, after a
restart, from the restarted node's own replica."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "process"))
from harness import RawKV, start_cluster, wait_until  # noqa: E402

COUNTERS = [f"counter-{i}" for i in range(8)]
BUSIEST = COUNTERS[0]


class CounterExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = start_cluster(3, cleanup_with=cls.addClassCleanup)

    def add_round(self, clients, rounds, acked, unknown, skip=()):
        """rounds x (the busiest counter 3 times, then each counter once), round-robin over the
        nodes' KV ports; tallies acknowledged deltas and 504 deltas per counter."""
        n = 0
        for r in range(rounds):
            for name in [BUSIEST, BUSIEST, BUSIEST] + COUNTERS:
                node_id, client = clients[n % len(clients)]
                n += 1
                if node_id in skip:
                    continue
                delta = 1 + (r % 3)
                try:
                    status, body = client.request("POST", "/counter/add", {"name": name, "by": delta})
                except OSError:
                    continue  # the node died under us: the add may or may not have been applied
                if status == 200:
                    acked[name] += delta
                    self.assertEqual(body["name"], name)
                    self.assertGreaterEqual(body["value"], acked[name])
                elif status == 504:
                    unknown[name] += delta
                else:
                    self.assertIn(status, (503,), f"add {name} via {node_id}: {status} {body}")

    def read(self, node, name, consistency="linearizable"):
        status, body = RawKV(node.kv_port).request(
            "GET", f"/counter/get?name={name}&consistency={consistency}")
        return status, body

    def test_acknowledged_adds_survive_a_kill_of_the_busiest_leader(self):
        cluster = self.cluster
        acked = {c: 0 for c in COUNTERS}
        unknown = {c: 0 for c in COUNTERS}
        clients = [(n.node_id, RawKV(n.kv_port)) for n in cluster.nodes]

        started = time.monotonic()
        self.add_round(clients, 20, acked, unknown)
        self.assertEqual(sum(unknown.values()), 0, "no add may time out on a healthy cluster")
        print(f"{sum(acked.values())} acked adds through 3 nodes in {time.monotonic() - started:.1f}s")

        # Every node answers every counter, linearizably, with exactly the acknowledged total.
        for node in cluster.nodes:
            for name in COUNTERS:
                status, body = self.read(node, name)
                self.assertEqual((status, body["value"]), (200, acked[name]), f"{name} via {node.node_id}")

        # Partitions start as one voter plus learners; kill only once all have 3 voters.
        cluster.wait_replicated()
        # Kill the node leading the busiest counter's partition, mid-load.
        status, body = self.read(cluster.nodes[0], BUSIEST)
        partition = body["partition"]
        _, parts = cluster.nodes[0].get_json("/partitions")
        leader_id = next(p for p in parts["partitions"] if p["index"] == partition)["primary_node"]
        victim = cluster.node(leader_id)
        victim.kill()
        print(f"killed {leader_id}, leader of partition-{partition} ({BUSIEST})")
        self.add_round(clients, 10, acked, unknown, skip=(leader_id,))

        survivors = [n for n in cluster.nodes if n.node_id != leader_id]

        def busiest_answers():
            return all(self.read(n, BUSIEST)[0] == 200 for n in survivors)

        wait_until(busiest_answers, 15, f"{BUSIEST} to answer from the survivors")
        for node in survivors:
            for name in COUNTERS:
                status, body = self.read(node, name)
                self.assertEqual(status, 200)
                self.assertGreaterEqual(body["value"], acked[name], f"{name} lost an acked add")
                self.assertLessEqual(body["value"], acked[name] + unknown[name], f"{name} over-counted")
        print(f"after the kill: {sum(acked.values())} acked, {sum(unknown.values())} unknown; "
              f"every counter within [acked, acked + unknown] on both survivors")

        # The restarted node catches up by itself: its own replica (a stale read) reaches the
        # linearizable value.
        victim.start()
        final = {name: self.read(survivors[0], name)[1]["value"] for name in COUNTERS}

        def caught_up():
            for name in COUNTERS:
                status, body = self.read(victim, name, "stale")
                if status != 200 or body["value"] != final[name]:
                    return False
            return True

        wait_until(caught_up, 30, f"{leader_id} to catch up after its restart")
        print(f"{leader_id} restarted and caught up: {final[BUSIEST]} on {BUSIEST}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
