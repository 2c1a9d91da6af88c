"""A replay of the original ClusterKit smart client (the Go `example/sync` test client), as a
module and as a command, for the compatibility tests (issue 14, item 1).

What it does is what that client does, and nothing this project would add:
  - topology: GET /cluster from the first seed that answers; it needs `hash_config` with
    algorithm exactly "md5", an integer `modulo` and `format` "partition-%d", the nodes of
    `cluster.nodes` ({id, ip, ...}) and `cluster.partition_map.partitions`, a JSON object whose
    values have id, primary_node and replica_nodes (node ids);
  - a node's KV address is its `ip`: "host:port" is used unchanged, ":PORT" means
    localhost:(PORT+1000);
  - the partition of a key is format % (big-endian uint32 of MD5(key)[0:4] mod modulo);
  - set: POST /kv/set {"key","value"} to the primary and the replicas in parallel; success with
    2 answers of 200 (the quorum is hard-coded to 2);
  - get: GET /kv/get?key=K from the primary, then each replica in turn; the first 200 whose
    body is a JSON object with "key" and "value" is the answer.

Command: python3 original_client.py --seeds host:port[,host:port...] [--ops N] [--prefix P]
         [--workers W]
prints one JSON line {"writes_ok", "writes_failed", "reads_ok", "reads_failed",
"read_mismatches", "seconds", "failures": [first few reasons]} and exits 0 when nothing failed.
"""

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import struct
import sys
import threading
import time
import urllib.parse

QUORUM = 2
TIMEOUT_S = 10


class Topology:
    """What the client learns from one GET /cluster."""

    def __init__(self, view):
        hash_config = view["hash_config"]
        if hash_config.get("algorithm") != "md5":
            raise ValueError(f"hash_config.algorithm is {hash_config.get('algorithm')!r}, not 'md5'")
        if not isinstance(hash_config.get("modulo"), int) or hash_config["modulo"] <= 0:
            raise ValueError(f"hash_config.modulo is not a positive integer: {hash_config}")
        if hash_config.get("format") != "partition-%d":
            raise ValueError(f"hash_config.format is {hash_config.get('format')!r}")
        self.modulo = hash_config["modulo"]
        self.format = hash_config["format"]
        cluster = view["cluster"]
        self.address = {node["id"]: kv_address(node["ip"]) for node in cluster["nodes"]}
        partitions = cluster["partition_map"]["partitions"]
        if not isinstance(partitions, dict):
            raise ValueError("cluster.partition_map.partitions is not a JSON object")
        self.partitions = partitions

    def partition_of(self, key):
        h = struct.unpack(">I", hashlib.md5(key.encode()).digest()[:4])[0]
        return self.format.replace("%d", str(h % self.modulo))

    def owners(self, key):
        """KV addresses of the key's primary, then its replicas (unknown ids are skipped)."""
        entry = self.partitions.get(self.partition_of(key))
        if entry is None:
            return []
        ids = [entry["primary_node"]] + list(entry["replica_nodes"])
        return [self.address[i] for i in ids if i in self.address]


def kv_address(ip):
    """The original client's rule: ":PORT" -> localhost:(PORT+1000), else ip unchanged."""
    if ip.startswith(":"):
        return f"localhost:{int(ip[1:]) + 1000}"
    return ip


def fetch_topology(seeds):
    errors = []
    for seed in seeds:
        conn = http.client.HTTPConnection(seed, timeout=TIMEOUT_S)
        try:
            conn.request("GET", "/cluster")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                return Topology(json.loads(body))
            errors.append(f"{seed}: HTTP {response.status}")
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"{seed}: {e}")
        finally:
            conn.close()
    raise RuntimeError("no seed answered /cluster: " + "; ".join(errors))


class Connections:
    """Keep-alive connections per (thread, address), as Go's http.Client pools them."""

    def __init__(self):
        self.local = threading.local()

    def request(self, address, method, path, body=None):
        pool = self.local.__dict__.setdefault("pool", {})
        for attempt in range(2):  # a kept-alive connection the server closed: reconnect once
            conn = pool.get(address)
            if conn is None:
                conn = pool[address] = http.client.HTTPConnection(address, timeout=TIMEOUT_S)
            try:
                headers = {"Content-Type": "application/json"} if body is not None else {}
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                pool.pop(address, None)
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


class OriginalClient:
    def __init__(self, seeds):
        self.topology = fetch_topology(seeds)
        self.connections = Connections()
        self.fanout = concurrent.futures.ThreadPoolExecutor(max_workers=32)

    def set(self, key, value):
        """None on success (2 answers of 200), else why not."""
        owners = self.topology.owners(key)
        body = json.dumps({"key": key, "value": value})

        def one(address):
            try:
                status, _ = self.connections.request(address, "POST", "/kv/set", body)
                return status
            except (OSError, http.client.HTTPException) as e:
                return f"{address}: {e}"

        answers = list(self.fanout.map(one, owners))
        ok = sum(1 for a in answers if a == 200)
        if ok >= QUORUM:
            return None
        return f"set {key}: quorum not reached: {ok}/{QUORUM} (answers {answers})"

    def get(self, key):
        """(value, None) from the first owner that answers 200 with {key, value}; else
        (None, why)."""
        tried = []
        for address in self.topology.owners(key):
            try:
                status, raw = self.connections.request(
                    address, "GET", "/kv/get?key=" + urllib.parse.quote(key, safe=""))
            except (OSError, http.client.HTTPException) as e:
                tried.append(f"{address}: {e}")
                continue
            if status != 200:
                tried.append(f"{address}: HTTP {status}")
                continue
            try:
                body = json.loads(raw)
            except ValueError:
                tried.append(f"{address}: body is not JSON")
                continue
            if isinstance(body, dict) and "key" in body and "value" in body:
                return body["value"], None
            tried.append(f"{address}: body without key/value: {body!r}")
        return None, f"get {key}: no owner answered ({'; '.join(tried) or 'no owners'})"

    def close(self):
        self.fanout.shutdown()


def run(seeds, ops=2000, prefix="orig", workers=8):
    """`ops` sets of distinct keys, then `ops` gets of them, each through the replayed client;
    returns the summary the command prints."""
    started = time.monotonic()
    client = OriginalClient(seeds)
    keys = [f"{prefix}-{i}" for i in range(ops)]
    failures = []
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            set_errors = list(pool.map(lambda k: client.set(k, "value-of-" + k), keys))
            got = list(pool.map(client.get, keys))
    finally:
        client.close()
    failures += [e for e in set_errors if e]
    mismatches = 0
    reads_failed = 0
    for key, (value, error) in zip(keys, got):
        if error:
            reads_failed += 1
            failures.append(error)
        elif value != "value-of-" + key:
            mismatches += 1
            failures.append(f"get {key}: {value!r}, wrote 'value-of-{key}'")
    writes_failed = sum(1 for e in set_errors if e)
    return {"writes_ok": ops - writes_failed, "writes_failed": writes_failed,
            "reads_ok": ops - reads_failed - mismatches, "reads_failed": reads_failed,
            "read_mismatches": mismatches, "seconds": round(time.monotonic() - started, 2),
            "failures": failures[:5]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", required=True, help="host:port[,host:port...] (cluster API)")
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--prefix", default="orig")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    summary = run(args.seeds.split(","), args.ops, args.prefix, args.workers)
    print(json.dumps(summary))
    failed = summary["writes_failed"] + summary["reads_failed"] + summary["read_mismatches"]
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
