"""Issue 13, finding 7: HTTP work must not starve the node's Raft traffic. Before the fix, two
clients sending 2 MiB deeply nested JSON bodies to one node's KV API caused 69 partition
elections in 15 s (1 in a quiet 15 s): nlohmann::json parsed each body for 355 ms on the I/O
thread that also carries the node-to-node messages.

One 3-node cluster; for HOSTILE_SECONDS (default 15) each, two clients send node-1 (a) 2 MiB of
nested brackets (refused unparsed: 400), then (b) 1 MB values (parsed off the I/O thread, then
written: 200). Partition elections on the three nodes are counted per phase: 0 while quiet, at
most 1 under either load. Label `long`: it measures behaviour under load on a loaded CI
machine would only add noise."""

import http.client
import os
import sys
import threading
import time
import unittest

from harness import start_cluster, wait_until

SECONDS = float(os.environ.get("HOSTILE_SECONDS", "15"))


def log(msg):
    print(f"[test_hostile_bodies] {msg}", file=sys.stderr, flush=True)


def elections(cluster):
    total = 0
    for n in cluster.nodes:
        status, m = n.get_json("/metrics")
        if status != 200:
            raise AssertionError(f"{n.node_id} /metrics -> {status}")
        total += m["raft"]["elections"]
    return total


def hammer(port, body, stop, counts, lock):
    deadline = time.monotonic() + SECONDS + 60  # bounded even if `stop` were never set
    while not stop.is_set() and time.monotonic() < deadline:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request("POST", "/kv/set", body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            key = r.status
        except (OSError, http.client.HTTPException) as e:
            key = type(e).__name__
        finally:
            c.close()
        with lock:
            counts[key] = counts.get(key, 0) + 1


class HostileBodies(unittest.TestCase):
    def test_large_and_nested_bodies_cause_no_elections(self):
        cluster = start_cluster(3, cleanup_with=self.addCleanup)
        for n in cluster.nodes:
            wait_until(lambda n=n: n.get_json("/ready")[0] == 200, 60, f"{n.node_id} /ready 200",
                       interval_s=0.2)
        # Leadership balancing after the start counts as elections too: wait until none
        # happened for 3 s (bounded), so the quiet phase measures a settled cluster.
        last = {"count": elections(cluster), "since": time.monotonic()}

        def settled():
            now = elections(cluster)
            if now != last["count"]:
                last.update(count=now, since=time.monotonic())
            return time.monotonic() - last["since"] >= 3
        wait_until(settled, 60, "no partition election for 3 s after the start", interval_s=0.5)
        phases = (("quiet", None, None),
                  ("nested 2 MiB", "[" * (1 << 20) + "]" * (1 << 20), 400),
                  ("1 MB values", '{"key":"big","value":"' + "x" * 1_000_000 + '"}', 200))
        for name, body, expected in phases:
            before = elections(cluster)
            stop, counts, lock = threading.Event(), {}, threading.Lock()
            threads = [threading.Thread(target=hammer, args=(cluster.nodes[0].kv_port, body, stop,
                                                             counts, lock))
                       for _ in range(2 if body else 0)]
            for t in threads:
                t.start()
            time.sleep(SECONDS)  # the load's duration, not a wait for an event
            stop.set()
            for t in threads:
                t.join(timeout=90)
                self.assertFalse(t.is_alive(), "a client thread did not stop")
            held = elections(cluster) - before
            log(f"{name}: {held} elections in {SECONDS:.0f} s; answers {counts}")
            if body is None:
                self.assertEqual(held, 0, "elections in a quiet cluster")
                continue
            self.assertGreater(counts.get(expected, 0), 0, f"{name}: no {expected} answer")
            self.assertEqual(set(counts), {expected}, f"{name}: answers {counts}")
            self.assertLessEqual(held, 1, f"{name}: {held} elections under the load")


if __name__ == "__main__":
    unittest.main()
