"""Issue 13, finding 3: a full disk is an error, not a crash.

One node (RF 1, 4 partitions) on a small tmpfs is filled through the KV API with 60 KB
values until writes are refused. Then: every refused write got 507 `storage_full` (one write
caught in flight may get 504, "outcome unknown"); the node stays up and serves /health, the
cluster API and stale reads; /ready (503) and /health/detailed name the full disk. The tmpfs
is grown: writes resume by themselves within seconds and every acknowledged write reads back.
Finally the node is filled again, killed with SIGKILL and restarted on the still-full disk: it
starts, serves reads and answers writes with 507 (it used to crash-loop).

Mounting a tmpfs needs root: skipped with the reason otherwise.
"""

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import Node, wait_until

VALUE = "v" * 60_000
TMPFS_MB = 24


def mount_tmpfs(path, size):
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                          capture_output=True, timeout=20)


def remount(path, size):
    subprocess.run(["mount", "-o", f"remount,size={size}", path], check=True,
                   capture_output=True, timeout=20)


def used_kib(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024


class StorageFull(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root to mount a tmpfs (run as root, or skip)")
        cls.mnt = tempfile.mkdtemp(prefix="ck-full-")
        r = mount_tmpfs(cls.mnt, f"{TMPFS_MB}m")
        if r.returncode != 0:
            shutil.rmtree(cls.mnt, ignore_errors=True)
            raise unittest.SkipTest(f"cannot mount a tmpfs: {r.stderr.decode().strip()}")
        cls.addClassCleanup(cls.unmount)
        cls.node = Node("node-1", data_dir=os.path.join(cls.mnt, "n1"),
                        env={"PARTITIONS": "4", "REPLICATION_FACTOR": "1",
                             "STORAGE_MAP_SIZE": "4MiB", "THREADS": "1"})
        cls.addClassCleanup(cls.node.cleanup)
        cls.node.start()
        wait_until(lambda: cls.node.get_json("/ready")[0] == 200, 20, "node-1 ready",
                   describe=cls.node.log_tail)

    @classmethod
    def unmount(cls):
        subprocess.run(["umount", "-l", cls.mnt], capture_output=True, timeout=20)
        shutil.rmtree(cls.mnt, ignore_errors=True)

    def fill(self, prefix, limit=2000):
        """Writes until three writes in a row are refused; (acked keys, statuses seen)."""
        kv = http.client.HTTPConnection("127.0.0.1", self.node.kv_port, timeout=15)
        acked, statuses, refused = [], [], 0
        try:
            for i in range(limit):
                key = f"{prefix}-{i}"
                kv.request("POST", "/kv/set", json.dumps({"key": key, "value": VALUE}),
                           {"Content-Type": "application/json"})
                r = kv.getresponse()
                body = r.read()
                statuses.append((r.status, body[:300]))
                if r.status == 200:
                    acked.append(key)
                    refused = 0
                else:
                    refused += 1
                    if refused == 3:
                        break
        finally:
            kv.close()
        return acked, statuses

    def assert_refusals(self, statuses):
        refusals = [(s, b) for s, b in statuses if s != 200]
        self.assertEqual(len(refusals), 3, f"the disk never filled: {statuses[-3:]}")
        for status, body in refusals:
            self.assertIn(status, (504, 507), body)  # 504: the write in flight when it filled
        self.assertEqual(refusals[-1][0], 507, refusals)
        err = json.loads(refusals[-1][1])
        self.assertEqual(err["code"], "storage_full")
        self.assertIn("storage full", err["error"])

    def assert_serving_reads(self, keys):
        self.node.assert_running()
        self.assertEqual(self.node.get_json("/health")[0], 200)
        self.assertEqual(self.node.get_json("/cluster")[0], 200)
        status, ready = self.node.get_json("/ready")
        self.assertEqual(status, 503, ready)
        self.assertTrue(any("storage full" in r for r in ready["reasons"]), ready)
        status, detailed = self.node.get_json("/health/detailed")
        self.assertEqual(status, 200)
        self.assertTrue(detailed["storage"]["full"], detailed["storage"])
        kv = self.node.kv()
        try:
            for key in keys:
                r = kv.get(f"/kv/get?key={key}&consistency=stale")
                self.assertEqual(r.status, 200, (key, r.body[:200]))
                self.assertEqual(r.json()["value"], VALUE)
        finally:
            kv.close()

    def test_1_fill_refuse_recover(self):
        acked, statuses = self.fill("a")
        self.assertGreater(len(acked), 50)
        self.assert_refusals(statuses)
        self.assert_serving_reads(acked[:5] + acked[-5:])
        self.assertIn("storage full", self.node.full_log())

        remount(self.mnt, f"{TMPFS_MB * 3}m")
        wait_until(lambda: self.node.get_json("/ready")[0] == 200, 15,
                   "writes to resume after the tmpfs grew (/ready 200)",
                   describe=self.node.log_tail)
        kv = self.node.kv()
        try:
            r = kv.post("/kv/set", {"key": "after", "value": "1"})
            self.assertEqual(r.status, 200, r.body)
            for key in acked:  # linearizable reads: nothing acknowledged was lost
                r = kv.get(f"/kv/get?key={key}")
                self.assertEqual(r.status, 200, (key, r.body[:200]))
                self.assertEqual(r.json()["value"], VALUE, key)
        finally:
            kv.close()
        self.assertIn("storage writable again", self.node.full_log())

    def test_2_restart_on_a_full_disk(self):
        remount(self.mnt, f"{used_kib(self.mnt) + 2048}k")  # about 2 MiB left
        acked, statuses = self.fill("b")
        self.assert_refusals(statuses)
        self.node.kill()
        self.node.restart_as_member(wait=True)
        # Nothing was written since it filled: the first write attempt finds the disk full.
        kv = self.node.kv()
        try:
            def refused():
                r = kv.post("/kv/set", {"key": "c", "value": VALUE})
                return r.status == 507 and r.json()["code"] == "storage_full"
            wait_until(refused, 20, "a write on the restarted, full node to get 507",
                       interval_s=0.5, describe=self.node.log_tail)
        finally:
            kv.close()
        self.assert_serving_reads(acked[-3:])


if __name__ == "__main__":
    unittest.main()
