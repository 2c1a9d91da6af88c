"""Issue 14, item 4 (watch): GET /kv/watch streams sets and deletes, and a watch survives the
death of the node it streams from: clusterkit-ctl's watch (the client library's watch())
reconnects to the next endpoint and resumes after the last change it saw per partition, so
every acknowledged write arrives exactly once, in log order per partition.

Also: the raw stream's shape (start, set, delete events), a resume with ?from= on another node
replays exactly what followed, and bad parameters are refused."""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import RawKV, start_replicated_cluster, wait_until  # noqa: E402

CTL = os.environ.get("CLUSTERKIT_CTL_BIN", "")
ENV = {"PARTITIONS": "8", "FAILURE_SUSPECT_AFTER_MS": "1500", "FAILURE_DEAD_AFTER_MS": "5000"}


def read_sse(port, target, until, timeout_s=10):
    """The (event, data) messages of a /kv/watch stream, read until `until(messages)` holds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    conn.request("GET", target)
    response = conn.getresponse()
    messages, fields = [], {}
    deadline = time.monotonic() + timeout_s
    try:
        while not until(messages) and time.monotonic() < deadline:
            line = response.fp.readline().decode().rstrip("\n")
            if line == "":
                if "data" in fields:
                    messages.append((fields.get("event"), json.loads(fields["data"])))
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    finally:
        conn.close()
    return response.status, messages


class WatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = start_replicated_cluster(
            3, env=ENV, cleanup_with=cls.addClassCleanup,
            needs=[("CLUSTERKIT_CTL_BIN", "the built clusterkit-ctl")])

    def test_1_stream_shape_and_resume_on_another_node(self):
        a, b = self.cluster.nodes[0], self.cluster.nodes[1]
        got = {}

        def watch():
            got["first"] = read_sse(a.kv_port, "/kv/watch?prefix=shape/",
                                    lambda m: sum(1 for e, _ in m if e in ("set", "delete")) >= 3)
        t = threading.Thread(target=watch)
        t.start()
        time.sleep(0.5)
        kv = RawKV(b.kv_port)
        self.assertEqual(kv.set("shape/1", "one")[0], 200)
        self.assertEqual(kv.set("shape/2", "two")[0], 200)
        self.assertEqual(kv.request("POST", "/kv/delete?key=shape/1")[0], 200)
        t.join(15)
        status, messages = got["first"]
        self.assertEqual(status, 200)
        self.assertEqual(messages[0][0], "start")
        self.assertIn("positions", messages[0][1])
        changes = [(e, d["key"], d.get("value")) for e, d in messages if e in ("set", "delete")]
        # In log order per partition; shape/1 and shape/2 live in different partitions, whose
        # changes a node applies independently (a follower learns a commit with the leader's
        # next message), so only shape/1's two changes have an order to check.
        self.assertCountEqual(changes, [("set", "shape/1", "one"), ("set", "shape/2", "two"),
                                        ("delete", "shape/1", None)])
        self.assertEqual([c for c in changes if c[1] == "shape/1"],
                         [("set", "shape/1", "one"), ("delete", "shape/1", None)])
        first = [d for e, d in messages if e == "set" and d["key"] == "shape/1"][0]
        # Resume after the first change on ANOTHER node: exactly the two that followed.
        partition = first["partition"].split("-")[1]
        positions = dict(messages[0][1]["positions"])
        positions[partition] = first["index"]
        since = ",".join(f"{p}:{i}" for p, i in positions.items())
        status, again = read_sse(b.kv_port, f"/kv/watch?prefix=shape/&from={since}",
                                 lambda m: sum(1 for e, _ in m if e in ("set", "delete")) >= 2)
        self.assertEqual(status, 200)
        self.assertCountEqual([(e, d["key"]) for e, d in again if e in ("set", "delete")],
                              [("set", "shape/2"), ("delete", "shape/1")])
        self.assertFalse([d for e, d in again if e == "gap"], again)

    def test_2_bad_parameters_are_refused(self):
        node = self.cluster.nodes[0]
        for target in ("/kv/watch", "/kv/watch?key=a&prefix=b", "/kv/watch?key=a&from=x",
                       "/kv/watch?key=a&from=99:1"):
            status, body = RawKV(node.kv_port).request("GET", target)
            self.assertEqual(status, 400, f"{target}: {body}")
            self.assertEqual(body["code"], "invalid_parameter")

    def test_3_a_watch_survives_the_death_of_its_node(self):
        nodes = self.cluster.nodes
        victim = nodes[0]
        endpoints = ",".join(n.http_addr for n in nodes)  # the victim first: it streams first
        watcher = subprocess.Popen([CTL, "--endpoints", endpoints, "-o", "json", "watch",
                                    "--prefix", "storm/"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: watcher.poll() is None and watcher.kill())
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(watcher.stdout), daemon=True)
        reader.start()
        time.sleep(1.0)
        writers = [RawKV(n.kv_port) for n in nodes[1:]]
        acked, unknown = {}, 0
        for i in range(400):
            if i == 150:
                victim.signal(signal.SIGKILL)
                print(f"\nkilled {victim.node_id} (the watch's node) after 150 writes", flush=True)
            key, value = f"storm/{i}", f"v{i}"
            try:
                status, _ = writers[i % 2].set(key, value)
            except OSError:
                status = 0
            if status == 200:
                acked[key] = value
            elif status in (0, 504):
                unknown += 1
        # Every acknowledged write must reach the watch (a reconnect takes a moment).
        def all_seen():
            seen = {json.loads(l)["key"] for l in list(lines) if '"key"' in l}
            return set(acked) <= seen
        wait_until(all_seen, 30, "every acknowledged write on the resumed watch",
                   describe=lambda: f"{len(lines)} lines, {len(acked)} acked")
        time.sleep(1.0)  # anything repeated after a reconnect would show up now
        watcher.terminate()
        watcher.wait(10)
        events = [json.loads(l) for l in lines]
        print(f"{len(acked)} acked, {unknown} unknown; the watch printed {len(events)} changes",
              flush=True)
        self.assertFalse([e for e in events if e["type"] == "gap"], "no gap: node-2 saw it all")
        pairs = [(e["partition"], e["index"]) for e in events]
        self.assertEqual(len(pairs), len(set(pairs)), "a change delivered twice")
        last = {}
        for p, i in pairs:
            self.assertGreater(i, last.get(p, 0), f"{p} out of log order")
            last[p] = i
        values = {e["key"]: e.get("value") for e in events}
        for key, value in acked.items():
            self.assertEqual(values.get(key), value, key)
        self.assertLessEqual(len(events), len(acked) + unknown)


if __name__ == "__main__":
    unittest.main(verbosity=2)
