"""examples/carts as its users run it: a 3-node cluster of carts-node (sharded cart entities
with durable state, an event-log service on every node, a singleton), carts filled through
every node, the node hosting the busiest cart killed -9 mid-load, then every acknowledged add
checked and the cart answering again from another node.

Goal: the sharded entity API keeps one activation per cart on its partition leader's node,
reactivates it elsewhere after a failure with its saved state (no acknowledged add lost), and
the node service / event API shows what happened (node_suspect or node_dead, leader changes)."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "process"))
from harness import RawKV, start_cluster, wait_until  # noqa: E402

CARTS = [f"cart:{i}" for i in range(12)]
BUSIEST = CARTS[0]


class CartsExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = start_cluster(3, cleanup_with=cls.addClassCleanup)

    def fill(self, clients, rounds, acked, unknown, skip=()):
        """rounds x (the busiest cart 3 times, then each cart once), round-robin over nodes."""
        n = 0
        hosts = {}
        for r in range(rounds):
            for cart in [BUSIEST, BUSIEST, BUSIEST] + CARTS:
                node_id, client = clients[n % len(clients)]
                n += 1
                if node_id in skip:
                    continue
                item = f"item-{r % 4}"
                try:
                    status, body = client.request("POST", "/carts/add",
                                                  {"cart": cart, "item": item, "qty": 1})
                except OSError:
                    continue  # the node died under us: outcome unknown
                key = (cart, item)
                if status == 200:
                    acked[key] = acked.get(key, 0) + 1
                    self.assertGreaterEqual(body["items"][item], acked[key], f"{cart} {body}")
                    hosts[cart] = body["node"]
                elif status == 504:
                    unknown[key] = unknown.get(key, 0) + 1
                else:
                    self.assertEqual(status, 503, f"add to {cart} via {node_id}: {status} {body}")
        return hosts

    def get(self, node, cart):
        return RawKV(node.kv_port).request("GET", f"/carts/get?cart={cart}")

    def check_carts(self, nodes, acked, unknown):
        for node in nodes:
            for cart in CARTS:
                status, body = self.get(node, cart)
                self.assertEqual(status, 200, f"{cart} via {node.node_id}: {body}")
                for (c, item), count in acked.items():
                    if c != cart:
                        continue
                    have = body["items"].get(item, 0)
                    self.assertGreaterEqual(have, count, f"{cart} lost an acknowledged add")
                    self.assertLessEqual(have, count + unknown.get((c, item), 0), f"{cart} over-counted")

    def test_carts_survive_a_kill_of_the_busiest_host(self):
        cluster = self.cluster
        acked, unknown = {}, {}
        clients = [(n.node_id, RawKV(n.kv_port)) for n in cluster.nodes]

        # Services are discoverable in /cluster.
        _, view = cluster.nodes[0].get_json("/cluster")
        for node in view["nodes"]:
            self.assertIn("event-log", node["services"], node)
            self.assertIn("whereami", node["services"], node)
            self.assertIn("kv", node["services"], node)

        started = time.monotonic()
        hosts = self.fill(clients, 15, acked, unknown)
        self.assertFalse(unknown, "no add may time out on a healthy cluster")
        print(f"{sum(acked.values())} acked adds in {time.monotonic() - started:.1f}s; "
              f"activations on {sorted(set(hosts.values()))}")
        self.check_carts(cluster.nodes, acked, unknown)

        # One activation per cart: every node's get answers from the same node. The leader
        # balancing of a young cluster may still move a partition's leadership (and with it the
        # activation) between two gets, so the answer must settle, within a bound.
        for cart in CARTS:
            answers = []
            def one_host(cart=cart):
                where = {self.get(n, cart)[1]["node"] for n in cluster.nodes}
                answers.append(where)
                return len(where) == 1
            wait_until(one_host, 10, f"{cart} answered from one node", interval_s=0.2,
                       describe=lambda: f"answers: {answers[-3:]}")

        # The singleton runs on the meta leader, whichever node is asked.
        _, view = cluster.nodes[0].get_json("/cluster")
        for node in cluster.nodes:
            status, body = node.get_json("/carts/singleton")
            self.assertEqual((status, body.get("runs_on")), (200, view["leader_id"]),
                             f"{node.node_id}: {body}")
        # Partitions start as one voter plus learners; kill only once all have 3 voters.
        cluster.wait_replicated()

        victim = cluster.node(hosts[BUSIEST])
        victim.kill()
        print(f"killed {victim.node_id}, host of {BUSIEST}")
        survivors = [n for n in cluster.nodes if n is not victim]
        self.fill(clients, 8, acked, unknown, skip=(victim.node_id,))

        def busiest_elsewhere():
            status, body = self.get(survivors[0], BUSIEST)
            return status == 200 and body["node"] != victim.node_id

        wait_until(busiest_elsewhere, 15, f"{BUSIEST} to be active on a survivor")
        self.check_carts(survivors, acked, unknown)
        _, body = self.get(survivors[1], BUSIEST)
        print(f"{BUSIEST} answers from {body['node']} at version {body['version']}; "
              f"{sum(acked.values())} acked, {sum(unknown.values())} unknown, none lost")

        # The event-log service saw the failure and the leader changes.
        def saw_failure():
            status, events = survivors[0].get_json("/events/recent")
            kinds = {(e["kind"], e.get("node")) for e in events}
            return status == 200 and ({("node_suspect", victim.node_id),
                                       ("node_dead", victim.node_id)} & kinds)

        wait_until(saw_failure, 20, f"the event log to show {victim.node_id} suspect or dead")
        _, events = survivors[0].get_json("/events/recent")
        kinds = [e["kind"] for e in events]
        self.assertIn("partition_leader_changed", kinds)
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs), "events in order")
        print(f"event log on {survivors[0].node_id}: {len(events)} events, "
              f"{kinds.count('partition_leader_changed')} leader changes")

        # The singleton answers again (on the meta leader, maybe a new one).
        def singleton_answers():
            status, body = survivors[0].get_json("/carts/singleton")
            return status == 200 and body["runs_on"] != victim.node_id

        wait_until(singleton_answers, 20, "the singleton to answer from a survivor")


if __name__ == "__main__":
    unittest.main(verbosity=2)
