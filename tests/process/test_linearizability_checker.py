"""Unit tests for linearizability.py (no cluster needed)."""

import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from linearizability import (CheckResult, Op, check, check_key,  # noqa: E402
                             lost_acknowledged_writes, record)


def S(c, v, call, ret, key="k"):
    return Op(client=c, key=key, kind="set", value=v, call=call, ret=ret)


def D(c, call, ret, key="k"):
    return Op(client=c, key=key, kind="delete", call=call, ret=ret)


def G(c, result, call, ret, key="k"):
    return Op(client=c, key=key, kind="get", result=result, call=call, ret=ret)


def generate(seed, clients=8, per_client=300, keys=5, unknown_rate=0.0, values=None):
    """A history from a real sequential execution: each op gets a linearization point inside a
    jittered [call, ret] interval; ops are applied to a true register in that order."""
    rng = random.Random(seed)
    ops = []          # (lin point or None if never applied, Op)
    for c in range(clients):
        t = rng.random() * 0.01
        for _ in range(per_client):
            call = t + rng.expovariate(1 / 0.002)
            lp = call + rng.random() * 0.004
            ret = lp + rng.random() * 0.004
            key = "key-%d" % rng.randrange(keys)
            r = rng.random()
            if r < 0.45:
                op = Op(c, key, "set", value=("v%d" % rng.randrange(values)) if values
                        else "c%d-%d" % (c, len(ops)), call=call, ret=ret)
            elif r < 0.55:
                op = Op(c, key, "delete", call=call, ret=ret)
            else:
                op = Op(c, key, "get", call=call, ret=ret)
            applied_lp = lp
            if op.kind != "get" and rng.random() < unknown_rate:
                op.ret = None
                if rng.random() < 0.5:
                    applied_lp = None      # timed out and never took effect
            ops.append((applied_lp, op))
            t = ret
    state = {}
    for lp, op in sorted((x for x in ops if x[0] is not None), key=lambda x: x[0]):
        if op.kind == "set":
            state[op.key] = op.value
        elif op.kind == "delete":
            state.pop(op.key, None)
        else:
            op.result = state.get(op.key)
    return [op for _, op in ops], state


class Linearizable(unittest.TestCase):
    def assertLin(self, h):
        r = check(h, timeout_s=10)
        self.assertTrue(r.ok, r.explanation)
        self.assertFalse(r.unknown)
        return r

    def test_empty(self):
        self.assertLin([])

    def test_sequential(self):
        r = self.assertLin([G(1, None, 0, 1), S(1, "a", 2, 3), G(2, "a", 4, 5), S(2, "b", 6, 7),
                            G(1, "b", 8, 9), D(1, 10, 11), G(2, None, 12, 13)])
        self.assertEqual(r.ops_checked, 7)

    def test_concurrent_set_get_sees_either_value(self):
        base = [S(1, "a", 0, 1)]
        for seen in ("a", "b"):
            self.assertLin(base + [S(1, "b", 2, 6), G(2, seen, 3, 4)])

    def test_concurrent_sets_any_order(self):
        for final in ("a", "b"):
            self.assertLin([S(1, "a", 0, 5), S(2, "b", 1, 4), G(3, final, 6, 7)])

    def test_concurrent_reads_can_flip_while_write_pending(self):
        # get1 sees new value, get2 (overlapping get1) still sees old: fine, they overlap.
        self.assertLin([S(1, "a", 0, 1), S(1, "b", 2, 10), G(2, "b", 3, 6), G(3, "a", 4, 7)])

    def test_delete_then_get_none(self):
        self.assertLin([S(1, "a", 0, 1), D(2, 2, 3), G(1, None, 4, 5)])

    def test_equal_timestamps_are_concurrent(self):
        self.assertLin([S(1, "a", 0, 1), S(2, "b", 1, 2), G(3, "a", 2, 3)])

    def test_unknown_set_observed_later(self):
        self.assertLin([S(1, "a", 0, 1), S(2, "b", 2, None), G(1, "a", 3, 4), G(3, "b", 10, 11),
                        G(1, "b", 12, 13)])

    def test_unknown_set_never_observed(self):
        self.assertLin([S(1, "a", 0, 1), S(2, "b", 2, None), G(1, "a", 3, 4), G(3, "a", 10, 11)])

    def test_unknown_delete_observed(self):
        self.assertLin([S(1, "a", 0, 1), D(2, 2, None), G(1, None, 5, 6)])

    def test_unknown_get_dropped(self):
        self.assertLin([S(1, "a", 0, 1), G(2, None, 2, None), G(1, "a", 3, 4)])

    def test_keys_are_independent(self):
        self.assertLin([S(1, "a", 0, 1, key="x"), S(2, "b", 0, 1, key="y"),
                        G(3, "a", 2, 3, key="x"), G(3, "b", 2, 3, key="y"),
                        G(3, None, 2, 3, key="z")])

    def test_repeated_values(self):
        self.assertLin([S(1, "a", 0, 1), S(1, "b", 2, 3), S(2, "a", 4, 8), G(3, "a", 5, 6),
                        G(3, "b", 4.5, 4.9)])

    def test_json_values(self):
        self.assertLin([S(1, {"x": [1, 2]}, 0, 1), G(2, {"x": [1, 2]}, 2, 3)])


class NotLinearizable(unittest.TestCase):
    def assertNotLin(self, h, key="k", *must_mention):
        r = check(h, timeout_s=10)
        self.assertFalse(r.ok, "expected a violation")
        self.assertFalse(r.unknown)
        self.assertEqual(r.key, key)
        self.assertIn(repr(key), r.explanation)
        for s in must_mention:
            self.assertIn(s, r.explanation)
        return r

    def test_stale_read_after_completed_write(self):
        r = self.assertNotLin([S(1, "a", 0, 1), S(2, "b", 2, 3), G(3, "a", 4, 5)], "k",
                              "get -> 'a'")
        self.assertIn("cannot be placed", r.explanation)

    def test_read_of_never_written_value(self):
        self.assertNotLin([S(1, "a", 0, 1), G(2, "zzz", 2, 3)], "k", "'zzz'", "no set")

    def test_read_before_the_write_was_called(self):
        self.assertNotLin([G(2, "a", 0, 1), S(1, "a", 2, 3)], "k", "get -> 'a'")

    def test_initial_read_must_be_absent(self):
        self.assertNotLin([S(1, "a", 5, 6), G(2, "a", 7, 8), G(3, "a", 0, 1)])

    def test_reads_contradict_real_time_order(self):
        # A write of b is pending; one read sees b, a later (non-overlapping) read sees a again.
        self.assertNotLin([S(1, "a", 0, 1), S(2, "b", 2, 20), G(3, "b", 3, 4), G(4, "a", 5, 6)],
                          "k", "get -> 'a'")

    def test_read_reverts_to_older_value(self):
        self.assertNotLin([S(1, "a", 0, 1), S(1, "b", 2, 3), G(2, "b", 4, 5), G(2, "a", 6, 7)])

    def test_delete_not_visible(self):
        self.assertNotLin([S(1, "a", 0, 1), D(1, 2, 3), G(2, "a", 4, 5)])

    def test_unknown_write_cannot_explain_read_before_its_call(self):
        self.assertNotLin([S(1, "a", 0, 1), G(2, "b", 2, 3), S(3, "b", 4, None)])

    def test_violation_on_one_key_among_many(self):
        h, _ = generate(7, clients=4, per_client=50, keys=3)
        h.append(G(99, "never", 1e6, 1e6 + 1, key="key-1"))
        r = check(h)
        self.assertFalse(r.ok)
        self.assertEqual(r.key, "key-1")

    def test_explanation_lists_concurrent_ops(self):
        h = [S(1, "a", 0, 1), S(2, "b", 2, 10), S(3, "c", 2.5, 9), G(4, "c", 3, 4),
             G(5, "a", 5, 6)]
        self.assertNotLin(h, "k", "set('b')", "get -> 'a'", "value there: 'c'")


class LostWrites(unittest.TestCase):
    def test_lost_acknowledged_write(self):
        h = [S(1, "a", 0, 1), S(2, "b", 2, 3), S(1, "c", 0, 1, key="other")]
        lost = lost_acknowledged_writes(h, {"k": "a", "other": "c"})
        self.assertEqual([lw.key for lw in lost], ["k"])
        self.assertIn("final read 'a'", lost[0].explanation)

    def test_lost_write_to_absent(self):
        lost = lost_acknowledged_writes([S(1, "a", 0, 1)], {"k": None})
        self.assertEqual(len(lost), 1)

    def test_resurrected_delete(self):
        lost = lost_acknowledged_writes([S(1, "a", 0, 1), D(1, 2, 3)], {"k": "a"})
        self.assertEqual(len(lost), 1)

    def test_no_loss(self):
        h = [S(1, "a", 0, 5), S(2, "b", 1, 4), D(3, 6, 7), S(1, "c", 8, 9, key="x")]
        self.assertEqual(lost_acknowledged_writes(h, {"k": None, "x": "c", "fresh": None}), [])

    def test_final_read_either_concurrent_value(self):
        for final in ("a", "b"):
            h = [S(1, "a", 0, 5), S(2, "b", 1, 4)]
            self.assertEqual(lost_acknowledged_writes(h, {"k": final}), [])

    def test_unknown_write_may_land_late(self):
        h = [S(1, "a", 0, 1), S(2, "b", 2, None)]
        for final in ("a", "b"):
            self.assertEqual(lost_acknowledged_writes(h, {"k": final}), [])
        self.assertEqual(len(lost_acknowledged_writes(h, {"k": None})), 1)

    def test_generated_no_loss(self):
        h, final = generate(3, clients=4, per_client=100, keys=3, unknown_rate=0.05)
        reads = {"key-%d" % i: final.get("key-%d" % i) for i in range(3)}
        self.assertEqual(lost_acknowledged_writes(h, reads), [])


def brute_force(ops):
    """Reference: try every order of every subset containing all known-outcome ops."""
    import itertools
    ops = [o for o in ops if not (o.kind == "get" and o.ret is None)]
    known = [o for o in ops if o.ret is not None]
    unk = [o for o in ops if o.ret is None]
    for r in range(len(unk) + 1):
        for extra in itertools.combinations(unk, r):
            for perm in itertools.permutations(known + list(extra)):
                good, state = True, None
                for i, o in enumerate(perm):
                    # real time: no later op in perm may have returned before o was called
                    if any(p.ret is not None and p.ret < o.call for p in perm[i + 1:]):
                        good = False
                        break
                    if o.kind == "set":
                        state = o.value
                    elif o.kind == "delete":
                        state = None
                    elif o.result != state:
                        good = False
                        break
                if good:
                    return True
    return False


class AgainstBruteForce(unittest.TestCase):
    def test_random_small_histories(self):
        rng = random.Random(1234)
        seen = {True: 0, False: 0}
        for _ in range(400):
            h = []
            for c in range(rng.randrange(2, 7)):
                call = rng.randrange(10)
                ret = None if rng.random() < 0.15 else call + rng.randrange(4)
                k = rng.random()
                if k < 0.4:
                    h.append(S(c, rng.choice("ab"), call, ret))
                elif k < 0.55:
                    h.append(D(c, call, ret))
                else:
                    h.append(G(c, rng.choice(["a", "b", None]), call, ret))
            want = brute_force(h)
            got = check(h, timeout_s=10)
            self.assertFalse(got.unknown)
            self.assertEqual(got.ok, want, "history %r: checker %r" % (h, got))
            seen[want] += 1
        self.assertGreater(seen[True], 50)
        self.assertGreater(seen[False], 50)


class Recorder(unittest.TestCase):
    def test_threads_record_a_linearizable_history(self):
        h = record()
        store = {}
        lock = threading.Lock()

        def worker(c):
            rng = random.Random(c)
            for i in range(200):
                key = "k%d" % rng.randrange(3)
                r = rng.random()
                if r < 0.4:
                    tok = h.invoke(c, key, "set", "%d-%d" % (c, i))
                    with lock:
                        store[key] = "%d-%d" % (c, i)
                    h.ok(tok)
                elif r < 0.5:
                    tok = h.invoke(c, key, "delete")
                    with lock:
                        store.pop(key, None)
                    h.ok(tok)
                elif r < 0.55:
                    tok = h.invoke(c, key, "set", "lost")
                    h.fail(tok)            # 4xx: dropped
                elif r < 0.6:
                    tok = h.invoke(c, key, "set", "maybe-%d-%d" % (c, i))
                    h.unknown(tok)         # never applied
                else:
                    tok = h.invoke(c, key, "get")
                    with lock:
                        v = store.get(key)
                    h.ok(tok, v)

        ts = [threading.Thread(target=worker, args=(c,)) for c in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        ops = h.ops()
        self.assertEqual(len(ops), len(h))
        self.assertTrue(all(o.value != "lost" for o in ops))
        r = check(ops, timeout_s=20)
        self.assertTrue(r.ok, r.explanation)
        self.assertEqual(lost_acknowledged_writes(ops, dict(store)), [])


class Performance(unittest.TestCase):
    # The budget is asserted on CPU time (time.process_time): the checker needs well under a
    # second of CPU here, and wall time on a loaded CI machine measures the machine, not it.
    def _timed(self, h, limit):
        t, c = time.monotonic(), time.process_time()
        r = check(h, timeout_s=30)
        dt, dc = time.monotonic() - t, time.process_time() - c
        self.assertTrue(r.ok, r.explanation)
        self.assertFalse(r.unknown)
        self.assertLess(dc, limit, "check took %.2fs CPU (%.2fs wall)" % (dc, dt))
        return r, "%.3fs CPU, %.3fs wall" % (dc, dt)

    def test_8_clients_300_ops_5_keys(self):
        h, _ = generate(42, clients=8, per_client=300, keys=5)
        r, dt = self._timed(h, 5.0)
        self.assertEqual(r.ops_checked, 2400)
        sys.stderr.write("\n[perf] 2400 ops, unique values: %s\n" % dt)

    def test_8_clients_300_ops_repeated_values_and_unknowns(self):
        h, _ = generate(43, clients=8, per_client=300, keys=5, unknown_rate=0.03, values=4)
        r, dt = self._timed(h, 5.0)
        sys.stderr.write("[perf] 2400 ops, 4 values, 3%% unknown: %s\n" % dt)

    def test_8_clients_300_ops_violation_found_fast(self):
        h, _ = generate(44, clients=8, per_client=300, keys=5)
        # Make one late read stale: after it returns, rewrite the read to an older value.
        gets = [o for o in h if o.kind == "get" and o.result is not None]
        victim = gets[len(gets) // 2]
        sets = [o for o in h if o.kind == "set" and o.key == victim.key
                and o.ret is not None and o.ret < victim.call and o.value != victim.result]
        victim.result = sets[0].value
        c = time.process_time()
        r = check(h, timeout_s=30)
        dc = time.process_time() - c
        self.assertFalse(r.ok)
        self.assertFalse(r.unknown)
        self.assertEqual(r.key, victim.key)
        self.assertLess(dc, 5.0)


class Timeout(unittest.TestCase):
    def hard(self, n=22):
        # n fully concurrent sets of distinct values, then two sequential reads of different
        # values with no write between: not linearizable, but the search must visit ~2^n states.
        h = [S(i, "v%d" % i, 0, 100) for i in range(n)]
        return h + [G(98, "v0", 101, 102), G(99, "v1", 103, 104)]

    def test_search_timeout_reports_unknown(self):
        t = time.monotonic()
        r = check(self.hard(), timeout_s=0.3)
        dt = time.monotonic() - t
        self.assertIsInstance(r, CheckResult)
        self.assertFalse(r.ok)
        self.assertTrue(r.unknown)
        self.assertEqual(r.key, "k")
        self.assertIn("timed out", r.explanation)
        self.assertLess(dt, 3.0)

    def test_definite_failure_wins_over_timeout(self):
        h = self.hard() + [S(1, "a", 0, 1, key="z"), G(2, "b", 2, 3, key="z")]
        r = check(h, timeout_s=0.3)
        self.assertFalse(r.ok)
        self.assertFalse(r.unknown)
        self.assertEqual(r.key, "z")

    def test_small_hard_instance_decided(self):
        r = check(self.hard(8), timeout_s=10)
        self.assertFalse(r.ok)
        self.assertFalse(r.unknown)


class Validation(unittest.TestCase):
    def test_bad_kind(self):
        with self.assertRaises(ValueError):
            check([Op(1, "k", "cas", call=0, ret=1)])

    def test_ret_before_call(self):
        with self.assertRaises(ValueError):
            check_key("k", [S(1, "a", 2, 1)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
