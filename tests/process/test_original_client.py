"""Issue 14, item 1: the original ClusterKit smart client works unchanged against a 3-node
cluster on loopback (the same replay runs in the netns walkthrough, step 4, where the nodes
are reached by name).

The replay (original_client.py) routes as that client does: MD5 partition from /cluster's
hash_config, /kv/* to each owner's `cluster.nodes[].ip` (the node's cluster API address, which
answers the KV routes too), a parallel write to primary + replicas needing 2 answers of 200,
reads primary first. Before the cluster API served /kv/*, every one of its writes and reads
failed (404 from the cluster API).
"""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import original_client  # noqa: E402
from harness import start_replicated_cluster, wait_until  # noqa: E402

CLUSTER_ENV = {"PARTITIONS": "16", "FAILURE_SUSPECT_AFTER_MS": "1500",
               "FAILURE_DEAD_AFTER_MS": "5000"}


class OriginalClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A young cluster's partitions grow from one voter to three; the client reads the map
        # once (it refreshes every 30 s), so it starts once every partition has its 3 voters.
        cls.cluster = start_replicated_cluster(3, env=CLUSTER_ENV,
                                               cleanup_with=cls.addClassCleanup)

    def seeds(self, nodes):
        return [f"127.0.0.1:{n.http_port}" for n in nodes]

    def replay(self, nodes, ops, prefix):
        summary = original_client.run(self.seeds(nodes), ops=ops, prefix=prefix)
        print(f"\n{prefix}: {summary}", flush=True)
        self.assertEqual(summary["writes_failed"], 0, summary)
        self.assertEqual(summary["reads_failed"], 0, summary)
        self.assertEqual(summary["read_mismatches"], 0, summary)
        self.assertEqual(summary["writes_ok"], ops, summary)
        self.assertEqual(summary["reads_ok"], ops, summary)

    def test_1_the_compat_shape_leads_to_a_kv_endpoint_on_every_node(self):
        topology = original_client.fetch_topology(self.seeds(self.cluster.nodes))
        self.assertEqual(len(topology.address), 3)
        self.assertEqual(len(topology.partitions), 16)
        for node in self.cluster.nodes:
            address = topology.address[node.node_id]
            self.assertEqual(address, f"127.0.0.1:{node.http_port}",
                             "ip is the node's cluster API address (API.md)")
        # The original client's rule for ":PORT" addresses (single-host deployments).
        self.assertEqual(original_client.kv_address(":8080"), "localhost:9080")

    def test_2_two_thousand_writes_and_reads_without_a_failure(self):
        self.replay(self.cluster.nodes, 2000, "orig")

    def test_3_with_a_node_down_the_quorum_of_two_still_holds(self):
        victim = self.cluster.nodes[2]
        victim.signal(signal.SIGKILL)
        victim.wait_stopped()
        survivors = self.cluster.nodes[:2]
        # Every partition led again (the survivors' /ready needs a leader for each one).
        for node in survivors:
            wait_until(lambda n=node: n.get_json("/ready")[0] == 200, 30,
                       f"{node.node_id} /ready 200 after the kill of {victim.node_id}",
                       interval_s=0.2, describe=lambda n=node: str(n.get_json("/ready")))
        self.replay(survivors, 500, "orig-down")


if __name__ == "__main__":
    unittest.main(verbosity=2)
