"""Issue 14, item 4 (cluster events): GET /events streams a node's cluster events as server-sent
events, in seq order without gaps, live (a node killed -9 turns suspect, then dead, and its
partitions get new leaders, all seen on the open stream) and resumable after a given event
(Last-Event-ID, as EventSource sends it; or ?after=) with nothing lost or repeated."""

import http.client
import json
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import start_replicated_cluster, wait_until  # noqa: E402

ENV = {"PARTITIONS": "8", "FAILURE_SUSPECT_AFTER_MS": "1500", "FAILURE_DEAD_AFTER_MS": "5000"}


class EventStream:
    """Reads one /events stream on a thread; `events` collects (seq, kind, data) in order."""

    def __init__(self, port, headers=None, query=""):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/events" + query, headers=headers or {})
        self.response = self.conn.getresponse()
        self.events = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        fields = {}
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line == "":
                    if "data" in fields:
                        data = json.loads(fields["data"])
                        with self.lock:
                            self.events.append((int(fields.get("id", 0)), fields.get("event"), data))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
        except (OSError, ValueError):
            pass  # closed by the test

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def close(self):
        self.conn.sock.shutdown(2) if self.conn.sock else None
        self.conn.close()


class EventsStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = start_replicated_cluster(3, env=ENV, cleanup_with=cls.addClassCleanup)

    def test_live_events_then_a_resume_without_loss_or_repeat(self):
        watcher = self.cluster.nodes[1]
        stream = EventStream(watcher.http_port)
        self.addCleanup(stream.close)
        self.assertEqual(stream.response.status, 200)
        self.assertEqual(stream.response.getheader("Content-Type"), "text/event-stream")
        wait_until(lambda: len(stream.snapshot()) >= 3, 10, "the retained history on the stream")
        history = len(stream.snapshot())

        victim = self.cluster.nodes[2]
        victim.signal(signal.SIGKILL)

        def seen(kind, node=None):
            return any(k == kind and (node is None or d["node"] == node)
                       for _, k, d in stream.snapshot())
        wait_until(lambda: seen("node_suspect", victim.node_id), 15,
                   f"node_suspect of {victim.node_id} on the stream",
                   describe=lambda: str(stream.snapshot()[-5:]))
        wait_until(lambda: seen("node_dead", victim.node_id), 20,
                   f"node_dead of {victim.node_id} on the stream",
                   describe=lambda: str(stream.snapshot()[-5:]))
        events = stream.snapshot()
        seqs = [s for s, _, _ in events]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "in seq order, no gap")
        for seq, kind, data in events:
            self.assertEqual(data["seq"], seq)
            self.assertEqual(data["kind"], kind)
        kinds_after = [k for _, k, _ in events[history:]]
        print(f"\n{history} retained events, then live: {kinds_after}", flush=True)
        self.assertIn("node_suspect", kinds_after)
        self.assertIn("node_dead", kinds_after)

        # Resume after an event in the middle: exactly the rest, in order.
        middle = events[len(events) // 2][0]
        resumed = EventStream(watcher.http_port, headers={"Last-Event-ID": str(middle)})
        self.addCleanup(resumed.close)
        wait_until(lambda: len(resumed.snapshot()) >= len([e for e in events if e[0] > middle]),
                   10, f"the events after {middle} on the resumed stream")
        tail = [(s, k) for s, k, _ in resumed.snapshot()]
        self.assertEqual(tail[:len([e for e in events if e[0] > middle])],
                         [(s, k) for s, k, _ in events if s > middle])
        by_param = EventStream(watcher.http_port, query=f"?after={seqs[-1]}")
        self.addCleanup(by_param.close)
        time.sleep(0.5)  # nothing older than the resume point may arrive
        self.assertTrue(all(s > seqs[-1] for s, _, _ in by_param.snapshot()))

    def test_a_bad_resume_point_is_refused(self):
        node = self.cluster.nodes[0]
        status, body = node.get_json("/events?after=soon")
        self.assertEqual(status, 400, body)
        self.assertEqual(body["code"], "invalid_parameter")


if __name__ == "__main__":
    unittest.main(verbosity=2)
