"""examples/client as its users run it: the `inventory` program, built against the installed
package with ClusterKit::client only, loads items into a 3-node cluster of the stock binary
through asynchronous puts while the node leading the most partitions is killed -9, then reads
every acknowledged item back.

Goal: the client library keeps the server's guarantees from outside: it routes around a dead
node (topology refresh, retries of what did not happen), never repeats a write whose outcome is
unknown, and every put it acknowledged is readable afterwards (EXAMPLE_BIN = inventory,
CLUSTERKIT_BIN = the stock node binary)."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "process"))
from harness import start_replicated_cluster  # noqa: E402

EXAMPLE = os.environ.get("EXAMPLE_BIN", "")
ENV = {"PARTITIONS": "16", "FAILURE_SUSPECT_AFTER_MS": "1500", "FAILURE_DEAD_AFTER_MS": "5000"}


class ClientExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = start_replicated_cluster(
            3, env=ENV, cleanup_with=cls.addClassCleanup,
            needs=[("EXAMPLE_BIN", "the built inventory program")])

    def run_inventory(self, nodes, count, prefix, timeout_s=180):
        endpoints = ",".join(n.http_addr for n in nodes)
        return subprocess.Popen([EXAMPLE, endpoints, str(count), prefix], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def finish(self, proc, what):
        out, err = proc.communicate(timeout=180)
        print(f"\n{what}: exit {proc.returncode} {out.strip()} {err.strip()[-600:]}", flush=True)
        return proc.returncode, json.loads(out.strip().splitlines()[-1]), err

    def test_1_loads_and_reads_back(self):
        rc, summary, err = self.finish(self.run_inventory(self.cluster.nodes, 2000, "calm"), "calm")
        self.assertEqual(rc, 0, err)
        self.assertEqual((summary["acked"], summary["read_back"], summary["unknown"],
                          summary["failed"], summary["mismatches"]), (2000, 2000, 0, 0, 0), summary)

    def test_2_a_leader_killed_mid_load_loses_no_acknowledged_put(self):
        nodes = self.cluster.nodes
        led = {n.node_id: n.get_json("/health/detailed")[1].get("partitions_led", 0) for n in nodes}
        victim = max(nodes, key=lambda n: led[n.node_id])
        proc = self.run_inventory(nodes, 6000, "storm")
        time.sleep(1.0)  # load under way (the run takes several seconds)
        self.assertIsNone(proc.poll(), "the load finished before the kill; raise its count")
        victim.signal(signal.SIGKILL)
        print(f"\nkilled {victim.node_id} (leading {led[victim.node_id]} of 16 partitions)")
        rc, summary, err = self.finish(proc, "storm")
        self.assertEqual(summary["failed"], 0, err[-2000:])
        self.assertEqual(summary["mismatches"], 0, err[-2000:])
        self.assertEqual(summary["acked"] + summary["unknown"], 6000, summary)
        self.assertEqual(summary["read_back"], summary["acked"], summary)
        self.assertEqual(rc, 0, err[-2000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
