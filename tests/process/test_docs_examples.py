"""The examples of docs/*.md, run against a real 3-node cluster on loopback.

Convention (also described at the top of docs/api.md):

* A runnable example is a fenced ```sh block whose next non-blank line is an HTML comment
  `<!-- expect: ... -->`. The block holds ONE command (lines may continue with a trailing `\\`):
  either a `curl ...` request (its body may come from a pipe, its output is not piped), or a `clusterkit` start-up (optionally preceded by VAR=value
  assignments) that is expected to stop at once.
  - `<!-- expect: 200 json=key,status,partition -->`: the HTTP status, and the response body is a
    JSON object that has at least these top-level fields. More words:
    `header=Retry-After` (the response has this header), `text` (the body is not JSON, e.g.
    Prometheus text), `last` (run after every other example: it changes the cluster, e.g.
    /leave).
  - `<!-- expect: exit=2 stderr="invalid setting PARTITIONS" -->`: the clusterkit process exits
    with that code and its stderr contains the text.
  If a ```json block follows the marker (the documented response, real output trimmed) and it
  parses, its top-level fields must all be in the real response too.
* An example that is deliberately not run carries `<!-- not-run: reason -->` instead. In
  docs/api.md every ```sh block must carry one of the two markers; in the other documents only
  marked blocks are run (their other blocks are procedures: starting nodes, backups, ...).
* Addresses: the docs use the ports of scripts/run-cluster.sh. localhost:8080/8081/8082 are the
  cluster APIs of node-1/2/3 and localhost:9080/9081/9082 their KV APIs; the test maps them to
  the harness's ports. `clusterkit` is replaced by $CLUSTERKIT_BIN and run in a fresh temporary
  directory.

Examples marked not-run, and where their behaviour is exercised instead:
  - 503 + Retry-After for a partition without a leader, node kill -9, restart and catch-up:
    test_partitions.py (test_2: writes under kill -9 see a short gap of 503s);
  - 504 "may or may not have been applied": not exercised by an automated test (reproduced by
    hand for the docs: SIGSTOP of both followers of a partition while writing to it);
  - scale-out (a 4th node, /rebalance moves to completion) and /leave followed by moves:
    test_partitions.py (test_3, test_4), test_snapshots.py (test_2) and test_walkthrough.py
    (compose/README.md replayed in network namespaces: scale out and the graceful /leave);
  - node failure, suspect/dead statuses: test_cluster.py and test_walkthrough.py (step 5);
  - backup/restore with mdb_copy and rolling upgrades (operations.md): procedures, not run.

Also checked: docs/configuration.md names every flag and environment variable that
`clusterkit --help` lists, its YAML example equals config/node.example.yaml, and docs/api.md
has a section for every route registered in http/api/*.cpp.

Run: CLUSTERKIT_BIN=/path/to/clusterkit python3 -m unittest -v test_docs_examples
(CLUSTERKIT_DOCS_CAPTURE=1 prints each example's real answer, for updating the docs.)"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import unittest

from harness import BINARY, start_cluster, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DOCS = os.path.join(ROOT, "docs")
# The documents whose marked examples run, in this order (stateful: a key set in api.md is read
# later in api.md).
DOC_ORDER = ["api.md", "operations.md", "troubleshooting.md", "configuration.md", "architecture.md"]
CAPTURE = bool(os.environ.get("CLUSTERKIT_DOCS_CAPTURE"))

FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*(expect|not-run):(.*?)-->\s*$")


def log(msg):
    print(f"[test_docs_examples] {msg}", file=sys.stderr, flush=True)


class Example:
    def __init__(self, doc, line, lang, code, kind, spec, documented):
        self.doc, self.line, self.lang, self.code = doc, line, lang, code
        self.kind, self.spec, self.documented = kind, spec, documented

    def where(self):
        return f"docs/{self.doc}:{self.line}"

    def options(self):
        """The expect spec as {word: value or True}; the status under 'status'."""
        out = {}
        for word in shlex.split(self.spec):
            if "=" in word:
                k, v = word.split("=", 1)
                out[k] = v
            elif word.isdigit():
                out["status"] = int(word)
            else:
                out[word] = True
        return out


def parse_blocks(doc):
    """Every fenced block of docs/<doc>: Example objects (kind None when unmarked)."""
    with open(os.path.join(DOCS, doc), encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks = []  # (start line, lang, code, end index)
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1) is not None and lines[i].startswith("```"):
            lang = m.group(1)
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            blocks.append((i + 1, lang, "\n".join(lines[i + 1:j]), j))
            i = j + 1
        else:
            i += 1
    examples = []
    for n, (start, lang, code, end) in enumerate(blocks):
        k = end + 1
        while k < len(lines) and not lines[k].strip():
            k += 1
        kind, spec, documented = None, "", None
        if k < len(lines):
            m = MARKER.match(lines[k].strip())
            if m:
                kind, spec = m.group(1), m.group(2).strip()
                # The documented response: the next block, when it starts right after the marker.
                k2 = k + 1
                while k2 < len(lines) and not lines[k2].strip():
                    k2 += 1
                if n + 1 < len(blocks) and blocks[n + 1][0] == k2 + 1 and blocks[n + 1][1] == "json":
                    documented = blocks[n + 1][2]
        examples.append(Example(doc, start, lang, code, kind, spec, documented))
    return examples


def one_command(code):
    """The block's command as one line (continuations joined, comments dropped)."""
    text = re.sub(r"\\\n\s*", " ", code)
    commands = [l.strip() for l in text.split("\n") if l.strip() and not l.strip().startswith("#")]
    if len(commands) != 1:
        raise AssertionError(f"a runnable example must hold exactly one command, got {commands}")
    return commands[0]


class DocsExamples(unittest.TestCase):
    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.examples = []
        for doc in DOC_ORDER:
            if os.path.exists(os.path.join(DOCS, doc)):
                cls.examples.extend(parse_blocks(doc))
        cls.cluster = start_cluster(3, cleanup_with=cls.addClassCleanup, timeout_s=40)
        nodes = cls.cluster.nodes
        cls.port_map = {}
        for i, n in enumerate(nodes):
            cls.port_map[str(8080 + i)] = str(n.http_port)
            cls.port_map[str(9080 + i)] = str(n.kv_port)

        def settled():
            for n in nodes:
                if n.get_json("/ready")[0] != 200:
                    return False
            status, stats = nodes[0].get_json("/partitions/stats")
            return status == 200 and stats["without_leader"] == 0 and \
                stats["moves_in_progress"] == 0 and stats["under_replicated"] == 0 and \
                all(v == 64 for v in stats["replicas_per_node"].values()) and \
                len(stats["replicas_per_node"]) == 3
        wait_until(settled, 40, "every node /ready and all 64 partitions on 3 replicas with a leader",
                   interval_s=0.2, describe=lambda: cls.cluster.describe())
        log(f"cluster settled in {time.monotonic() - cls.started:.1f}s")

    # --- helpers ---------------------------------------------------------------------------

    def map_ports(self, command):
        def sub(m):
            return "127.0.0.1:" + self.port_map[m.group(1)]
        return re.sub(r"localhost:(808[0-2]|908[0-2])\b", sub, command)

    def run_curl(self, ex, command, opts):
        with tempfile.TemporaryDirectory() as tmp:
            body_path, head_path = os.path.join(tmp, "body"), os.path.join(tmp, "headers")
            at = re.search(r"(^|\|\s*)curl\s", command).end() - 1  # just after the word curl
            rest = command[at:]
            include = bool(re.search(r"(^|\s)-(i|si|is|sSi|siS)\b", rest))
            wrapped = (f"{command[:at]} -sS --max-time 30 -o {shlex.quote(body_path)} "
                       f"-D {shlex.quote(head_path)} -w '%{{http_code}}'{rest}")
            p = subprocess.run(["bash", "-c", wrapped], cwd=tmp, capture_output=True, timeout=40)
            status_text = p.stdout.decode().strip()
            with open(head_path, "rb") as f:
                headers = f.read().decode(errors="replace")
            with open(body_path, "rb") as f:
                body = f.read().decode(errors="replace")
        if include:  # curl -i writes the header block into the body file too
            body = re.split(r"\r\n\r\n", body)[-1]
        self.assertTrue(status_text.isdigit(), f"{ex.where()}: curl failed: {p.stderr.decode()}")
        return int(status_text), headers, body

    def check_curl(self, ex):
        opts = ex.options()
        command = self.map_ports(one_command(ex.code))
        self.assertTrue(re.search(r"(^|\|\s*)curl\s", command),
                        f"{ex.where()}: not a curl command: {command}")
        self.assertFalse(re.search(r"curl\s.*\|", command),
                         f"{ex.where()}: the output of a runnable example is not piped")
        status, headers, body = self.run_curl(ex, command, opts)
        if CAPTURE:
            print(f"\n### {ex.where()}: {one_command(ex.code)}\n{status}\n{headers.strip()}\n{body[:3000]}")
        self.assertEqual(status, opts.get("status"), f"{ex.where()}: {command} -> {status} {body[:400]}")
        if "header" in opts:
            names = [l.split(":", 1)[0].strip().lower() for l in headers.splitlines() if ":" in l]
            self.assertIn(opts["header"].lower(), names, f"{ex.where()}: headers {headers!r}")
        if opts.get("text"):
            self.assertTrue(body.strip(), f"{ex.where()}: empty body")
            return
        try:
            doc = json.loads(body)
        except ValueError:
            self.fail(f"{ex.where()}: body is not JSON: {body[:400]!r}")
        self.assertIsInstance(doc, dict, f"{ex.where()}: {body[:400]}")
        wanted = [f for f in opts.get("json", "").split(",") if f]
        missing = [f for f in wanted if f not in doc]
        self.assertFalse(missing, f"{ex.where()}: fields {missing} missing in {body[:400]}")
        if status >= 400:
            self.assertEqual(set(doc), {"error", "code"}, f"{ex.where()}: error body {body[:400]}")
        if ex.documented is not None:
            try:
                shown = json.loads(ex.documented)
            except ValueError:
                shown = None
            if isinstance(shown, dict):
                extra = sorted(set(shown) - set(doc))
                self.assertFalse(extra, f"{ex.where()}: the documented response has fields {extra} "
                                        f"that the real one lacks: {body[:400]}")

    def check_start(self, ex):
        opts = ex.options()
        command = self.map_ports(one_command(ex.code))
        words = shlex.split(command)
        env = {k: v for k, v in os.environ.items() if k not in (
            "NODE_ID", "BOOTSTRAP", "JOIN_ADDR", "DATA_DIR", "HTTP_ADDR", "KV_ADDR", "RAFT_ADDR")}
        while words and re.match(r"^[A-Z_]+=", words[0]):
            k, v = words.pop(0).split("=", 1)
            env[k] = v
        self.assertTrue(words and words[0] == "clusterkit", f"{ex.where()}: {command}")
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([BINARY] + words[1:], env=env, cwd=tmp, capture_output=True,
                               timeout=20)
        stderr = p.stderr.decode(errors="replace")
        if CAPTURE:
            print(f"\n### {ex.where()}: {command}\nexit {p.returncode}\n{stderr}")
        self.assertEqual(p.returncode, int(opts["exit"]), f"{ex.where()}: {command}: {stderr}")
        if "stderr" in opts:
            self.assertIn(opts["stderr"], stderr, f"{ex.where()}: {command}")

    # --- tests -----------------------------------------------------------------------------

    def test_1_every_api_example_is_marked(self):
        unmarked = [ex.where() for ex in self.examples
                    if ex.doc == "api.md" and ex.lang == "sh" and ex.kind is None]
        self.assertFalse(unmarked, f"```sh blocks in docs/api.md without expect/not-run: {unmarked}")

    def test_2_examples_run_as_documented(self):
        runnable = [ex for ex in self.examples if ex.kind == "expect"]
        self.assertGreater(len(runnable), 30, "fewer runnable examples than expected")
        ordered = [ex for ex in runnable if not ex.options().get("last")] + \
                  [ex for ex in runnable if ex.options().get("last")]
        for ex in ordered:
            began = time.monotonic()
            with self.subTest(example=ex.where()):
                if "exit" in ex.options():
                    self.check_start(ex)
                else:
                    self.check_curl(ex)
            took = time.monotonic() - began
            if took > 1.0:
                log(f"{ex.where()} took {took:.1f}s")
        log(f"{len(ordered)} examples ran; "
            f"{sum(1 for ex in self.examples if ex.kind == 'not-run')} marked not-run; "
            f"{time.monotonic() - self.started:.1f}s since start")

    def test_3_configuration_names_every_setting(self):
        p = subprocess.run([BINARY, "--help"], capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 0)
        text = p.stdout.decode() + p.stderr.decode()
        rows = re.findall(r"^\s+(--[a-z_.]+)\s+\S+\s+([A-Z_]+)\s", text, re.M)
        self.assertGreater(len(rows), 30, f"could not read the settings table of --help: {text}")
        with open(os.path.join(DOCS, "configuration.md"), encoding="utf-8") as f:
            doc = f.read()
        missing = [f"{flag} / {env}" for flag, env in rows
                   if flag not in doc or not re.search(r"\b" + env + r"\b", doc)]
        self.assertFalse(missing, f"docs/configuration.md lacks: {missing}")
        yaml_blocks = [ex.code for ex in parse_blocks("configuration.md") if ex.lang == "yaml"]
        with open(os.path.join(ROOT, "config", "node.example.yaml"), encoding="utf-8") as f:
            example = f.read().rstrip("\n")
        self.assertIn(example, yaml_blocks,
                      "docs/configuration.md must quote config/node.example.yaml verbatim")

    def test_4_api_documents_every_route(self):
        routes = []
        for name in sorted(os.listdir(os.path.join(ROOT, "http", "api"))):
            if name.endswith(".cpp"):
                with open(os.path.join(ROOT, "http", "api", name), encoding="utf-8") as f:
                    routes += re.findall(r'routes\.add\("([A-Z]+)", "([^"]+)"', f.read())
        self.assertGreater(len(routes), 15)
        with open(os.path.join(DOCS, "api.md"), encoding="utf-8") as f:
            headings = re.findall(r"^###\s+(.*)$", f.read(), re.M)
        missing = [f"{m} {p}" for m, p in routes
                   if not any(re.search(r"\b" + m + r"\b", h) and re.search("`" + re.escape(p) + "[`?]", h)
                          for h in headings)]
        self.assertFalse(missing, f"docs/api.md has no '### ... METHOD `path`' heading for {missing}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
