"""Issue 4 acceptance: real clusterkit processes on loopback form a cluster over CAF's network
layer. node-1 bootstraps, the others join through JOIN_ADDR (any member, followers forward to the
meta leader); /cluster agrees on every node; up to 5 meta voters, the rest learners; kill -9 of
the meta leader elects a new one within 5 s and the killed node goes suspect then dead, and is
alive again after a restart on its DATA_DIR; a full stop/start keeps the cluster; bad /join
bodies get a clear 4xx and leave the cluster unchanged; /ready stays 200 on every node while
node-1 hands the partition leaderships it first held to the joiners.

Nodes run with short failure-detector thresholds (FAILURE_SUSPECT_AFTER_MS=1500,
FAILURE_DEAD_AFTER_MS=5000) and few partitions to keep the file quick on 2 CI cores.
CLUSTERKIT_KEEP_LOGS=1 keeps the node logs and data dirs."""

import http.client
import signal
import time
import unittest

from harness import Cluster, free_port, stop_all, wait_until

# The same on every node of a cluster. Few partitions: these tests are about membership, and
# /ready needs a leader for every partition a node hosts.
CLUSTER_ENV = {"PARTITIONS": "8"}
SUSPECT_AFTER_MS = 1500
STATUSES = ("alive", "suspect", "dead", "leaving")


def assert_error(test, response, status, what):
    test.assertEqual(response.status, status, f"{what}: expected {status}, got {response}")
    try:
        body = response.json()
    except ValueError:
        test.fail(f"{what}: error body is not JSON: {response}")
    test.assertIsInstance(body, dict, f"{what}: error body {body!r}")
    test.assertIsInstance(body.get("error"), str, f"{what}: no \"error\" message in {body}")
    test.assertTrue(body["error"], f"{what}: empty \"error\" in {body}")
    test.assertIsInstance(body.get("code"), str, f"{what}: no \"code\" slug in {body}")
    test.assertTrue(body["code"], f"{what}: empty \"code\" in {body}")
    test.assertEqual(response.headers.get("content-type"), "application/json", what)


def join_body(node_id, http_port=None, kv_port=None, raft_port=None):
    """A well-formed /join body for a node that does not run (ports nobody listens on)."""
    http_addr = f"127.0.0.1:{http_port or free_port()}"
    kv_addr = f"127.0.0.1:{kv_port or free_port()}"
    return {"node": {"id": node_id, "name": node_id, "http_addr": http_addr, "kv_addr": kv_addr,
                     "services": {"kv": kv_addr}},
            "raft_addr": f"127.0.0.1:{raft_port or free_port()}"}


def ids_of(view):
    return sorted(m["id"] for m in view["nodes"])


def roles_of(view):
    return {m["id"]: m.get("meta_role") for m in view["nodes"]}


def new_cluster(test_class, size, join_through_follower=False):
    """Starts node-1 (BOOTSTRAP) and waits for it to lead, then nodes 2..size joining node-1 (or,
    with join_through_follower, node-2 through node-1 and the rest through node-2). Registers the
    cleanup first, so processes are stopped by PID even when setUpClass fails. Returns the
    Cluster and the time the joiners were launched."""
    cluster = Cluster(env=CLUSTER_ENV)
    test_class.addClassCleanup(cluster.cleanup)
    first = cluster.add("node-1", bootstrap=True)
    wait_until(lambda: first.get_json("/consensus/leader")[0] == 200, 15,
               "node-1 (BOOTSTRAP=true) to lead the meta group (/consensus/leader 200)",
               interval_s=0.1, describe=lambda: first.log_tail())
    launched = time.monotonic()
    for i in range(2, size + 1):
        via = cluster.node("node-2") if join_through_follower and i > 2 else first
        cluster.add(f"node-{i}", join=[via], wait=False)
    for n in cluster.nodes[1:]:
        n.wait_healthy()
    return cluster, launched


class ThreeNodes(unittest.TestCase):
    """node-1 bootstraps, node-2 and node-3 join node-1; shared by the convergence checks and the
    bad-input checks (which must leave it unchanged)."""

    @classmethod
    def setUpClass(cls):
        cls.cluster, launched = new_cluster(cls, 3)
        cls.ids = ["node-1", "node-2", "node-3"]
        # Generous here; test_three_nodes_agree_within_10s asserts the 10 s.
        cls.cluster.wait_converged(cls.ids, 30)
        cls.converged_after_s = time.monotonic() - launched

    def views(self):
        return self.cluster.wait_converged(self.ids, 10)

    def test_three_nodes_agree_within_10s(self):
        self.assertLessEqual(self.converged_after_s, 10.0,
                             f"3 nodes alive with one agreed leader took {self.converged_after_s:.1f}s "
                             f"after node-2 and node-3 were launched (limit 10 s)")
        views = self.views()
        leader = views["node-1"]["leader_id"]
        cluster_id = views["node-1"]["cluster_id"]
        self.assertIn(leader, self.ids, f"leader_id {leader!r} is not a member")
        for node_id, view in views.items():
            self.assertEqual(view["leader_id"], leader, f"{node_id} disagrees on leader_id")
            self.assertEqual(view["cluster_id"], cluster_id, f"{node_id} disagrees on cluster_id")
            self.assertGreater(view["term"], 0, f"{node_id} /cluster term")
            self.assertEqual(len(view["nodes"]), 3, f"{node_id} /cluster .nodes | length")
            for m in view["nodes"]:
                n = self.cluster.node(m["id"])
                where = f"{node_id}'s /cluster entry for {m['id']}"
                self.assertEqual(m["status"], "alive", where)
                self.assertEqual(m["raft_addr"], n.raft_addr, where)
                self.assertEqual(m["http_addr"], n.http_addr, where)
                self.assertEqual(m["kv_addr"], n.kv_addr, where)
                self.assertTrue(m["name"], where)
                self.assertEqual(m["is_leader"], m["id"] == leader, f"{where}: is_leader")
                self.assertEqual(m["meta_role"], "voter", f"{where}: meta_role (3 nodes are all voters)")
                self.assertIn("raft_id", m, where)
            raft_ids = [m["raft_id"] for m in view["nodes"]]
            self.assertEqual(len(set(map(str, raft_ids))), 3, f"{node_id}: raft_ids not distinct: {raft_ids}")

    def test_consensus_endpoints_report_real_raft_figures(self):
        views = self.views()
        leader = views["node-1"]["leader_id"]
        leaders_by_state = []
        for n in self.cluster.nodes:
            status, body = n.get_json("/consensus/leader")
            self.assertEqual(status, 200, f"{n.node_id} /consensus/leader: {body}")
            self.assertEqual(body["leader_id"], leader, f"{n.node_id} /consensus/leader leader_id")
            self.assertGreater(body["term"], 0, f"{n.node_id} /consensus/leader term")
            status, stats = n.get_json("/consensus/stats")
            self.assertEqual(status, 200, f"{n.node_id} /consensus/stats: {stats}")
            for field in ("state", "term", "leader", "commit_index", "applied_index"):
                self.assertIn(field, stats, f"{n.node_id} /consensus/stats")
            self.assertGreater(stats["term"], 0, f"{n.node_id} /consensus/stats term")
            self.assertGreater(stats["commit_index"], 0, f"{n.node_id} /consensus/stats commit_index")
            if str(stats["state"]).lower() == "leader":
                leaders_by_state.append(n.node_id)
        self.assertEqual(leaders_by_state, [leader],
                         "exactly the agreed leader reports /consensus/stats state \"leader\"")

    def test_every_node_becomes_ready_and_reports_its_peers(self):
        for n in self.cluster.nodes:
            wait_until(lambda: n.get_json("/ready")[0] == 200, 20, f"{n.node_id} /ready 200",
                       interval_s=0.1, describe=lambda: f"{n.get_json('/ready')}\n{n.log_tail()}")
        views = self.views()
        leader = views["node-1"]["leader_id"]
        for n in self.cluster.nodes:
            status, d = n.get_json("/health/detailed")
            self.assertEqual(status, 200, f"{n.node_id} /health/detailed: {d}")
            self.assertEqual(d["node_id"], n.node_id)
            self.assertEqual(d["node_count"], 3, f"{n.node_id} /health/detailed node_count")
            self.assertEqual(d["alive_nodes"], 3, f"{n.node_id} /health/detailed alive_nodes")
            self.assertEqual(d["leader_id"], leader, f"{n.node_id} /health/detailed leader_id")
            self.assertEqual(d["is_leader"], n.node_id == leader, f"{n.node_id} /health/detailed is_leader")
            self.assertGreater(d["term"], 0, f"{n.node_id} /health/detailed term")
            self.assertIsInstance(d.get("not_ready_reasons"), list,
                                  f"{n.node_id} /health/detailed not_ready_reasons")
            peers = {p["id"]: p for p in d["peers"]}
            for other in self.ids:
                if other == n.node_id:
                    continue
                self.assertIn(other, peers, f"{n.node_id} /health/detailed peers lacks {other}: {d['peers']}")
                self.assertEqual(peers[other]["status"], "alive", f"{n.node_id} sees peer {other}")
                self.assertIsInstance(peers[other]["last_seen_ms_ago"], (int, float),
                                      f"{n.node_id} peer {other} last_seen_ms_ago")
            status, page = n.get_json("/nodes?limit=2&offset=0")
            self.assertEqual(status, 200, f"{n.node_id} /nodes: {page}")
            self.assertEqual((page["total"], page["has_more"], len(page["nodes"])), (3, True, 2),
                             f"{n.node_id} /nodes?limit=2")

    def test_logs_are_greppable(self):
        self.views()
        for joiner in ("node-2", "node-3"):
            self.assertTrue(self.cluster.node(joiner).log_lines("join"),
                            f"no log line with \"join\" on {joiner}:\n{self.cluster.node(joiner).log_tail()}")
        for word in ("raft", "node"):
            self.assertTrue(any(n.log_lines(word) for n in self.cluster.nodes),
                            f"no log line with {word!r} on any node")

    def test_bad_join_bodies_are_4xx_and_leave_the_cluster_unchanged(self):
        before = self.views()
        leader = before["node-1"]["leader_id"]
        follower = next(n for n in self.cluster.nodes if n.node_id != leader)
        node2 = self.cluster.node("node-2")
        json_headers = {"Content-Type": "application/json"}

        def post(node, body):
            c = node.api()
            try:
                if isinstance(body, str):
                    return c.request("POST", "/join", body=body, headers=json_headers)
                return c.post("/join", body)
            finally:
                c.close()

        for target in (self.cluster.node(leader), follower):
            on = f"/join on {target.node_id} ({'leader' if target.node_id == leader else 'follower'})"
            for text in ('{"node": {"id": "node-x", ', "not json", "[1, 2]", '"node"', ""):
                assert_error(self, post(target, text), 400, f"{on}: malformed body {text!r}")
            body = join_body("node-unknown-top")
            body["colour"] = "red"
            assert_error(self, post(target, body), 400, f"{on}: unknown top-level field")
            body = join_body("node-unknown-inner")
            body["node"]["colour"] = "red"
            assert_error(self, post(target, body), 400, f"{on}: unknown field in \"node\"")
            for bad_id in ("bad id!", "", "x" * 65, "node/1"):
                assert_error(self, post(target, join_body(bad_id)), 400, f"{on}: illegal id {bad_id!r}")
            body = join_body("node-no-raft")
            del body["raft_addr"]
            assert_error(self, post(target, body), 400, f"{on}: raft_addr missing")
            body = join_body("node-no-id")
            del body["node"]["id"]
            assert_error(self, post(target, body), 400, f"{on}: node.id missing")
            # node-2 is alive at its own raft_addr: the same id from another address is refused.
            impostor = join_body("node-2")
            self.assertNotEqual(impostor["raft_addr"], node2.raft_addr)
            assert_error(self, post(target, impostor), 409, f"{on}: node-2's id from another raft_addr")

        after = self.views()
        for node_id, view in after.items():
            self.assertEqual(ids_of(view), self.ids, f"{node_id}: members changed by bad joins")
            self.assertEqual(view["cluster_id"], before["node-1"]["cluster_id"], f"{node_id}: cluster_id")
            entry = next(m for m in view["nodes"] if m["id"] == "node-2")
            self.assertEqual(entry["raft_addr"], node2.raft_addr, f"{node_id}: node-2's raft_addr changed")
            self.assertEqual(entry["http_addr"], node2.http_addr, f"{node_id}: node-2's http_addr changed")
            self.assertEqual(entry["status"], "alive", f"{node_id}: node-2's status")
        self.assertEqual(node2.get_json("/health")[0], 200, "node-2 still serves after the impostor")

    def test_rejoin_with_the_same_id_and_address_is_idempotent(self):
        self.views()
        n3 = self.cluster.node("node-3")
        body = {"node": {"id": "node-3", "name": "node-3", "http_addr": n3.http_addr, "kv_addr": n3.kv_addr,
                         "services": {"kv": n3.kv_addr}},
                "raft_addr": n3.raft_addr}
        c = self.cluster.node("node-1").api()
        try:
            r = c.post("/join", body)
        finally:
            c.close()
        self.assertEqual(r.status, 200, f"rejoin of node-3 with its own addresses: {r}")
        answer = r.json()
        self.assertTrue(answer.get("success"), answer)
        self.assertEqual(answer.get("outcome"), "rejoined", answer)
        self.assertIn("raft_id", answer)
        views = self.views()
        self.assertEqual(answer.get("cluster_id"), views["node-1"]["cluster_id"], answer)
        for node_id, view in views.items():
            self.assertEqual(ids_of(view), self.ids, f"{node_id}: a rejoin must not duplicate node-3")


class GrowToSeven(unittest.TestCase):
    """node-3 joins through a follower; the cluster then grows to 5 (all voters) and to 7 (5 voters
    and 2 learners). Each test grows the cluster as far as it needs, so each also runs alone."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(env=CLUSTER_ENV)
        cls.addClassCleanup(cls.cluster.cleanup)
        first = cls.cluster.add("node-1", bootstrap=True)
        wait_until(lambda: first.get_json("/consensus/leader")[0] == 200, 15,
                   "node-1 (BOOTSTRAP=true) to lead the meta group", interval_s=0.1,
                   describe=lambda: first.log_tail())
        cls.follower_joins = []

    def leader_and_followers(self):
        views = self.cluster.wait_converged([n.node_id for n in self.cluster.nodes], 20)
        leader = next(iter(views.values()))["leader_id"]
        return leader, [n for n in self.cluster.nodes if n.node_id != leader], views

    def grow(self, size, timeout_s):
        """Adds nodes until there are `size`, two at a time, each joining through a follower when
        there is one (the JOIN_ADDR list also names the leader as a fallback for the second)."""
        while len(self.cluster.nodes) < size:
            leader, followers, _ = self.leader_and_followers()
            batch = []
            for _ in range(min(2, size - len(self.cluster.nodes))):
                node_id = f"node-{len(self.cluster.nodes) + 1}"
                if followers:
                    via = followers[len(batch) % len(followers)]
                    join = [via] if not batch else [via, self.cluster.node(leader)]
                    self.follower_joins.append((node_id, via.node_id))
                else:
                    join = [self.cluster.node(leader)]
                batch.append(self.cluster.add(node_id, join=join, wait=False))
            for n in batch:
                n.wait_healthy()
        ids = [n.node_id for n in self.cluster.nodes]
        return self.cluster.wait_converged(ids, timeout_s,
                                           what=f"{size} nodes alive with one agreed leader on every node")

    def test_1_join_through_a_follower(self):
        if len(self.cluster.nodes) < 2:
            self.grow(2, 15)
        if len(self.cluster.nodes) < 3:
            leader, followers, _ = self.leader_and_followers()
            self.assertEqual(len(followers), 1, f"2 nodes, leader {leader}: one follower")
            self.cluster.add("node-3", join=[followers[0]])
            self.follower_joins.append(("node-3", followers[0].node_id))
        via = dict(self.follower_joins).get("node-3")
        self.assertIsNotNone(via, "node-3 joined through a follower")
        views = self.cluster.wait_converged(["node-1", "node-2", "node-3"], 15,
                                            what=f"node-3 (joined through follower {via}) in a 3-node cluster")
        for node_id, view in views.items():
            self.assertEqual(len(view["nodes"]), 3, f"{node_id} /cluster .nodes | length")
        self.assertTrue(self.cluster.node("node-3").log_lines("join"), "no \"join\" log line on node-3")

    def test_2_five_nodes_are_all_voters(self):
        views = self.grow(5, 20)
        for node_id, view in views.items():
            self.assertEqual(len(view["nodes"]), 5, f"{node_id} /cluster .nodes | length")

        def all_voters():
            views = self.cluster.views()
            return all(v is not None and sorted(roles_of(v).values()) == ["voter"] * 5 for v in views.values())

        wait_until(all_voters, 20, "all 5 nodes meta_role \"voter\" on every node", interval_s=0.2,
                   describe=self.cluster.describe)

    def test_3_seven_nodes_are_five_voters_and_two_learners(self):
        self.grow(7, 25)

        def settled():
            views = self.cluster.views()
            if any(v is None for v in views.values()):
                return False
            roles = [roles_of(v) for v in views.values()]
            if any(r != roles[0] for r in roles):
                return False
            values = sorted(roles[0].values())
            return views if values == ["learner"] * 2 + ["voter"] * 5 else False

        views = wait_until(settled, 20, "5 voters and 2 learners, the same on all 7 nodes",
                           interval_s=0.2, describe=self.cluster.describe)
        for node_id, view in views.items():
            self.assertEqual(len(view["nodes"]), 7, f"{node_id} /cluster .nodes | length")
            roles = roles_of(view)
            self.assertEqual(roles.get(view["leader_id"]), "voter", f"{node_id}: the meta leader is a voter")
            self.assertEqual(sum(1 for m in view["nodes"] if m["is_leader"]), 1, f"{node_id}: one is_leader")


class ReadyWhileLeadersMove(unittest.TestCase):
    """node-1 bootstraps and first leads every partition, then hands leaderships to the joiners
    for balance. A handover leaves the followers without a leader for milliseconds; /ready must
    not flap to 503 for that (a load balancer polling it would drop a healthy node)."""

    PARTITIONS = 32

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(env={"PARTITIONS": str(cls.PARTITIONS)})
        cls.addClassCleanup(cls.cluster.cleanup)
        first = cls.cluster.add("node-1", bootstrap=True)
        wait_until(lambda: first.get_json("/consensus/leader")[0] == 200, 15,
                   "node-1 (BOOTSTRAP=true) to lead the meta group", interval_s=0.1,
                   describe=lambda: first.log_tail())
        for i in (2, 3):
            cls.cluster.add(f"node-{i}", join=[first], wait=False)

    def led(self, node):
        status, d = node.get_json("/health/detailed")
        return d["partitions_led"] if status == 200 else 0

    def test_ready_stays_200_while_leaderships_are_handed_over(self):
        nodes = self.cluster.nodes
        # All three at once: each node is ready for a moment before the partitions are placed
        # on it (it hosts none yet), then not until they have their first leaders.
        wait_until(lambda: all(n.get_json("/ready")[0] == 200 for n in nodes), 60,
                   "/ready 200 on all three nodes at once", interval_s=0.05,
                   describe=lambda: "\n".join(f"{n.node_id}: {n.get_json('/ready')}" for n in nodes))
        joiners = nodes[1:]
        led_at_start = sum(self.led(n) for n in joiners)
        flaps = []
        deadline = time.monotonic() + 20
        polls = 0
        balanced = False
        while time.monotonic() < deadline:
            for n in nodes:
                status, body = n.get_json("/ready")
                polls += 1
                if status != 200:
                    flaps.append((n.node_id, status, body))
            if polls % 30 == 0 and all(self.led(n) >= self.PARTITIONS // 4 for n in joiners):
                balanced = True
                break
        led_at_end = sum(self.led(n) for n in joiners)
        self.assertTrue(balanced, f"the joiners lead {led_at_end} of {self.PARTITIONS} partitions "
                                  f"after 20 s (expected each >= {self.PARTITIONS // 4})")
        self.assertGreater(led_at_end - led_at_start, self.PARTITIONS // 4,
                           f"too few handovers while /ready was polled ({led_at_start} -> "
                           f"{led_at_end} led by node-2 and node-3): the test proved nothing")
        self.assertEqual(flaps, [], f"/ready went non-200 {len(flaps)} times in {polls} polls "
                                    f"while leaderships were handed over; first: {flaps[:3]}")


class LeaderKilled(unittest.TestCase):
    """kill -9 of the meta leader of 3 nodes, then a restart of it on its DATA_DIR."""

    @classmethod
    def setUpClass(cls):
        cls.cluster, _ = new_cluster(cls, 3)
        cls.ids = ["node-1", "node-2", "node-3"]
        cls.cluster.wait_converged(cls.ids, 30)

    def test_new_leader_within_5s_then_suspect_dead_and_back_alive(self):
        views = self.cluster.wait_converged(self.ids, 10)
        old_leader = views["node-1"]["leader_id"]
        old_term = views["node-1"]["term"]
        cluster_id = views["node-1"]["cluster_id"]
        victim = self.cluster.node(old_leader)
        survivors = [n for n in self.cluster.nodes if n is not victim]

        victim.kill()
        killed_at = time.monotonic()
        not_answering = []  # (node, status or error) of survivor /cluster calls that were not 200
        seen = []  # (seconds after the kill, survivor, victim's status)

        def poll_survivors():
            for n in survivors:
                n.assert_running()
                try:
                    status, body = n.get_json("/cluster")
                except (OSError, http.client.HTTPException) as e:
                    not_answering.append((n.node_id, repr(e)))
                    continue
                if status != 200:
                    not_answering.append((n.node_id, status))
                    continue
                entry = [m for m in body["nodes"] if m["id"] == victim.node_id]
                if entry:
                    seen.append((round(time.monotonic() - killed_at, 2), n.node_id, entry[0]["status"]))

        def new_leader():
            poll_survivors()
            answers = []
            for n in survivors:
                status, body = n.get_json("/consensus/leader")
                if status != 200 or not body:
                    return False
                answers.append(body.get("leader_id"))
            if len(set(answers)) == 1 and answers[0] and answers[0] != victim.node_id:
                return answers[0]
            return False

        leader = wait_until(new_leader, 5, f"the survivors to agree on a new leader after kill -9 of {old_leader}",
                            interval_s=0.1, describe=lambda: self.cluster.describe(survivors))
        elapsed = time.monotonic() - killed_at
        self.assertLessEqual(elapsed, 5.0, f"new leader after {elapsed:.1f}s")
        self.assertIn(leader, [n.node_id for n in survivors])

        def dead():
            poll_survivors()
            last = {}
            for _, node_id, status in seen:
                last[node_id] = status
            return len(last) == len(survivors) and all(s == "dead" for s in last.values())

        wait_until(dead, 20, f"{victim.node_id} \"dead\" on both survivors (FAILURE_DEAD_AFTER_MS=5000)",
                   interval_s=0.1, describe=lambda: f"seen {seen[-10:]}\n" + self.cluster.describe(survivors))
        self.assertEqual(not_answering, [], "survivors' /cluster must keep answering 200 after the kill")
        statuses = [s for _, _, s in seen]
        self.assertTrue(set(statuses) <= set(STATUSES), statuses)
        first_dead = statuses.index("dead")
        self.assertIn("suspect", statuses[:first_dead],
                      f"{victim.node_id} went to dead without being suspect first: {seen}")
        for n in survivors:
            status, body = n.get_json("/cluster")
            self.assertEqual(status, 200, f"{n.node_id} /cluster")
            self.assertEqual(body["leader_id"], leader, f"{n.node_id} /cluster leader_id after failover")
            self.assertGreater(body["term"], old_term, f"{n.node_id}: the term did not advance")
            self.assertEqual(ids_of(body), self.ids, f"{n.node_id}: a dead node stays a member")
            status, d = n.get_json("/health/detailed")
            self.assertEqual(status, 200, f"{n.node_id} /health/detailed")
            self.assertEqual(d["alive_nodes"], 2, f"{n.node_id} /health/detailed alive_nodes")
            peer = next((p for p in d["peers"] if p["id"] == victim.node_id), None)
            self.assertIsNotNone(peer, f"{n.node_id} /health/detailed peers lacks {victim.node_id}")
            self.assertEqual(peer["status"], "dead", f"{n.node_id} peer {victim.node_id}")
            self.assertGreaterEqual(peer["last_seen_ms_ago"], SUSPECT_AFTER_MS,
                                    f"{n.node_id} peer {victim.node_id} last_seen_ms_ago")
        self.assertTrue(any(n.log_lines(victim.node_id) for n in survivors),
                        f"no survivor logged a line naming {victim.node_id}")

        victim.restart_as_member()
        views = self.cluster.wait_converged(self.ids, 20, what=f"{victim.node_id} alive again on all 3 nodes "
                                            "after a restart on its DATA_DIR (no BOOTSTRAP/JOIN_ADDR)")
        for node_id, view in views.items():
            self.assertEqual([m["id"] for m in view["nodes"]].count(victim.node_id), 1,
                             f"{node_id}: {victim.node_id} listed more than once")
            self.assertEqual(len(view["nodes"]), 3, f"{node_id} /cluster .nodes | length")
            self.assertEqual(view["cluster_id"], cluster_id, f"{node_id}: cluster_id changed")
            entry = next(m for m in view["nodes"] if m["id"] == victim.node_id)
            self.assertEqual(entry["raft_addr"], victim.raft_addr, f"{node_id}: {victim.node_id}'s raft_addr")


class FullRestart(unittest.TestCase):
    """Stop all 3 with SIGTERM, start all 3 on their DATA_DIRs with neither BOOTSTRAP nor JOIN_ADDR."""

    @classmethod
    def setUpClass(cls):
        cls.cluster, _ = new_cluster(cls, 3)
        cls.ids = ["node-1", "node-2", "node-3"]
        cls.cluster.wait_converged(cls.ids, 30)

    def test_stop_all_start_all_keeps_cluster_id_members_and_elects_a_leader(self):
        before = self.cluster.wait_converged(self.ids, 10)["node-1"]
        members = {m["id"]: (m["raft_addr"], m["raft_id"]) for m in before["nodes"]}
        codes = stop_all(self.cluster.nodes, signal.SIGTERM)
        self.assertEqual(codes, {i: 0 for i in self.ids}, "SIGTERM exit codes")
        for n in self.cluster.nodes:
            n.restart_as_member(wait=False)
        for n in self.cluster.nodes:
            n.wait_healthy()
        views = self.cluster.wait_converged(self.ids, 20, what="the restarted 3 nodes alive with one agreed leader")
        for node_id, view in views.items():
            self.assertEqual(view["cluster_id"], before["cluster_id"], f"{node_id}: cluster_id after restart")
            self.assertEqual({m["id"]: (m["raft_addr"], m["raft_id"]) for m in view["nodes"]}, members,
                             f"{node_id}: members after restart")
            self.assertIn(view["leader_id"], self.ids, f"{node_id}: leader_id after restart")
        for n in self.cluster.nodes:
            status, body = n.get_json("/consensus/leader")
            self.assertEqual(status, 200, f"{n.node_id} /consensus/leader after restart: {body}")
            self.assertGreaterEqual(body["term"], before["term"], f"{n.node_id}: term went backwards")


if __name__ == "__main__":
    unittest.main()
