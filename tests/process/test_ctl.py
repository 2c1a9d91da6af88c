"""Issue 14, item 2: clusterkit-ctl (and through it the C++ client library) against a real
3-node cluster: every command's output in both formats, the exit codes scripts rely on
(docs/cli.md), endpoint failover, and a leave with its progress after a 4th node joined.

CLUSTERKIT_CTL_BIN names the built clusterkit-ctl (ctest sets it)."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import free_port, start_replicated_cluster, wait_until  # noqa: E402

CTL = os.environ.get("CLUSTERKIT_CTL_BIN", "")
CLUSTER_ENV = {"PARTITIONS": "8", "FAILURE_SUSPECT_AFTER_MS": "1500",
               "FAILURE_DEAD_AFTER_MS": "5000"}
EXIT_OK, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNAVAILABLE, EXIT_REFUSED = 0, 2, 3, 4, 6


class CtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = start_replicated_cluster(
            3, env=CLUSTER_ENV, cleanup_with=cls.addClassCleanup,
            needs=[("CLUSTERKIT_CTL_BIN", "the built clusterkit-ctl")])
        cls.endpoints = ",".join(n.http_addr for n in cls.cluster.nodes)

    def ctl(self, *args, endpoints=None, expect=EXIT_OK, timeout_s=120):
        cmd = [CTL, "--endpoints", endpoints or self.endpoints] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        print(f"$ clusterkit-ctl {' '.join(args)}  -> {p.returncode}\n{p.stdout}{p.stderr}",
              end="", flush=True)
        self.assertEqual(p.returncode, expect,
                         f"clusterkit-ctl {' '.join(args)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
        return p

    def test_1_keys(self):
        self.assertEqual(self.ctl("put", "user:1", "Ada Lovelace").stdout, "OK\n")
        self.assertEqual(self.ctl("get", "user:1").stdout, "Ada Lovelace\n")
        self.assertEqual(self.ctl("get", "--stale", "user:1").stdout, "Ada Lovelace\n")
        answer = json.loads(self.ctl("-o", "json", "get", "user:1").stdout)
        self.assertEqual(answer, {"key": "user:1", "value": "Ada Lovelace"})
        put = json.loads(self.ctl("-o", "json", "put", "sp ace/é", "v&=?").stdout)
        self.assertEqual(put["key"], "sp ace/é")
        self.assertRegex(put["partition"], r"^partition-\d+$")
        self.assertEqual(self.ctl("get", "sp ace/é").stdout, "v&=?\n")
        for i in range(5):
            self.ctl("put", f"list/{i}", str(i))
        self.assertEqual(sorted(self.ctl("list", "--prefix", "list/").stdout.split()),
                         [f"list/{i}" for i in range(5)])
        self.assertEqual(len(self.ctl("list", "--prefix", "list/", "--limit", "2").stdout.split()), 2)
        listed = json.loads(self.ctl("-o", "json", "list").stdout)
        self.assertEqual(listed["count"], len(listed["keys"]))
        self.assertTrue({"user:1", "sp ace/é", "list/0"} <= set(listed["keys"]), listed)
        self.assertEqual(self.ctl("del", "list/0").stdout, "1\n")
        self.assertEqual(self.ctl("del", "list/0").stdout, "0\n")
        deleted = json.loads(self.ctl("-o", "json", "del", "list/1").stdout)
        self.assertEqual(deleted["existed"], True)

    def test_2_exit_codes_and_one_line_errors(self):
        p = self.ctl("get", "no-such-key", expect=EXIT_NOT_FOUND)
        self.assertEqual(p.stderr, "clusterkit-ctl: get no-such-key: key not found (key_not_found)\n")
        p = self.ctl("get", "x", endpoints=f"127.0.0.1:{free_port()}", expect=EXIT_UNAVAILABLE)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("unreachable", p.stderr)
        self.ctl("frobnicate", expect=EXIT_USAGE)
        self.ctl("get", expect=EXIT_USAGE)
        self.ctl("-o", "yaml", "members", expect=EXIT_USAGE)
        p = self.ctl("leave", "node-9", expect=EXIT_NOT_FOUND)
        self.assertIn("no node node-9", p.stderr)
        p = self.ctl("leave", "node-3", expect=EXIT_REFUSED)  # 2 would be left for RF 3
        self.assertIn("cannot leave", p.stderr)
        p = self.ctl("put", "k" * 5000, "v", expect=EXIT_REFUSED)  # over the key limit
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr[:300])

    def test_3_endpoints_fail_over(self):
        dead = f"127.0.0.1:{free_port()}"
        self.ctl("put", "fail-over", "yes", endpoints=f"{dead},{self.endpoints}")
        self.assertEqual(self.ctl("get", "fail-over", endpoints=f"{dead},{self.endpoints}").stdout,
                         "yes\n")
        self.assertIn("node-1", self.ctl("members", endpoints=f"{dead},{self.endpoints}").stdout)

    def test_4_cluster_views(self):
        status = self.ctl("cluster", "status").stdout
        for node in self.cluster.nodes:
            self.assertIn(node.node_id, status)
        self.assertIn("partitions 8 (replication factor 3): 0 without leader, 0 under-replicated",
                      status)
        self.assertIn("moves: 0 in progress", status)
        as_json = json.loads(self.ctl("-o", "json", "cluster", "status").stdout)
        self.assertEqual(len(as_json["nodes"]), 3)
        self.assertEqual(sum(n["partitions_led"] for n in as_json["nodes"]), 8)
        self.assertEqual(sum(n["partitions_hosted"] for n in as_json["nodes"]), 24)
        self.assertEqual(as_json["partitions"]["total_partitions"], 8)
        self.assertIn("moves", as_json["rebalance"])
        members = self.ctl("members").stdout.splitlines()
        self.assertEqual(members[0].split(), ["ID", "NAME", "STATUS", "META", "CLUSTER", "API",
                                              "KV", "API"])
        self.assertEqual(len(members), 4)
        self.assertEqual(len(json.loads(self.ctl("-o", "json", "members").stdout)["members"]), 3)
        mine = json.loads(self.ctl("-o", "json", "partition", "user:123").stdout)
        self.assertEqual(mine["id"], "partition-" + str(mine["index"]))
        server = self.cluster.nodes[0].get_json("/partitions/key?key=user:123")[1]
        self.assertEqual(mine["index"], server["index"])
        table = self.ctl("partition", "user:123").stdout.splitlines()
        self.assertEqual(table[0].split(), ["KEY", "PARTITION", "LEADER", "REPLICAS", "STATUS"])
        self.assertIn(mine["id"], table[1])
        self.assertIn("rebalance done", self.ctl("rebalance", "--wait").stdout)

    def test_5_a_fourth_node_joins_then_leaves_with_its_progress(self):
        keys = {f"stay/{i}": f"v{i}" for i in range(20)}
        for k, v in keys.items():
            self.ctl("put", k, v)
        fourth = self.cluster.add("node-4", join=[self.cluster.nodes[0]])
        self.cluster.wait_converged(["node-1", "node-2", "node-3", "node-4"], 60)
        self.ctl("rebalance", "--wait", "--wait-timeout", "120")
        wait_until(lambda: json.loads(self.ctl("-o", "json", "cluster", "status").stdout)
                   ["nodes"][3]["partitions_hosted"] > 0, 60, "node-4 hosting replicas")
        p = self.ctl("leave", "node-4", "--wait", "--wait-timeout", "180", timeout_s=240)
        self.assertRegex(p.stdout, r"node-4 removed; \d+ replicas moved to other nodes")
        # The progress lines (stderr is not a terminal) end at every replica moved.
        hosted = int(p.stdout.split("removed; ")[1].split()[0])
        self.assertIn(f"leave node-4: {hosted}/{hosted} done", p.stderr)
        fourth.wait_stopped(timeout_s=30)  # a removed node stops by itself
        self.assertNotIn("node-4", self.ctl("members").stdout)
        for k, v in keys.items():
            self.assertEqual(self.ctl("get", k).stdout, v + "\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
