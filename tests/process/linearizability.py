"""Linearizability checker for ClusterKit's key-value API (Python 3 standard library only).

Model: every key is an independent register (state = value, or None when absent). Keys are
checked separately, which is sound and complete for a KV store (linearizability is local /
compositional per object, Herlihy & Wing).

Per-key operations:
  * set(v)   -> ok          state := v
  * delete   -> ok          state := None
  * get      -> v or None   must equal state (None = 404)

Algorithm: Wing & Gong's search with Lowe's and Porcupine's improvements: the history is turned
into a doubly-linked list of call/return events ordered by time; a depth-first search repeatedly
linearizes a *minimal* op (one whose call precedes the first pending return), lifting its
call/return out of the list; on reaching a return event that cannot be satisfied it backtracks.
A cache of (bitmask of linearized ops, register state) prunes configurations already explored.

Unknown outcomes (timeout, connection error, 5xx: the op may or may not have taken effect) are
recorded with ret=None. Such a write may linearize at any point after its call, or not at all
(equivalently, "at the very end, after every op", where nobody observes it). The search therefore
succeeds as soon as every op with a known return is linearized. Gets with an unknown outcome
have no effect and are dropped. Definitely-failed ops (4xx) must be dropped by the caller
(History.fail does that).

Equal timestamps: an op whose call equals another's ret is treated as concurrent with it (the
permissive reading; a coarse clock never produces a false alarm).

Entry points: check(history, timeout_s) -> CheckResult; record() -> History (thread-safe
recorder); lost_acknowledged_writes(history, final_reads) -> list of LostWrite.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = ["Op", "CheckResult", "LostWrite", "History", "record", "check", "check_key",
           "lost_acknowledged_writes", "format_op"]

KINDS = ("set", "get", "delete")


@dataclass
class Op:
    client: Any
    key: str
    kind: str                      # "set" | "get" | "delete"
    value: Any = None              # set: the value written
    result: Any = None             # get: the value read, None for 404
    call: float = 0.0              # time.monotonic() before the request was sent
    ret: Optional[float] = None    # time.monotonic() after the reply; None = outcome unknown


@dataclass
class CheckResult:
    ok: bool
    key: Any = None
    explanation: str = ""
    ops_checked: int = 0
    unknown: bool = False          # True if the search timed out (then ok is False: not proven)

    def __bool__(self):
        return self.ok


@dataclass
class LostWrite:
    key: Any
    final_read: Any
    explanation: str


# ----------------------------------------------------------------------------------------------
# Recorder

class History:
    """Thread-safe recorder. Typical client loop:

        tok = h.invoke(client, key, "set", value)
        try:    send request
        except (timeout, connection error): h.unknown(tok)
        else:   2xx -> h.ok(tok) / h.ok(tok, value_or_None) for get (404 -> h.ok(tok, None))
                5xx -> h.unknown(tok);  4xx (definitely not applied) -> h.fail(tok)
    """

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._ops: Dict[int, Op] = {}
        self._dropped = set()
        self._next = 0
        self._clock = clock

    def invoke(self, client, key, kind, value=None) -> int:
        if kind not in KINDS:
            raise ValueError("unknown op kind %r" % (kind,))
        t = self._clock()
        with self._lock:
            tok = self._next
            self._next += 1
            self._ops[tok] = Op(client=client, key=key, kind=kind,
                                value=value if kind == "set" else None, call=t, ret=None)
        return tok

    def ok(self, token, result=None):
        t = self._clock()
        with self._lock:
            op = self._ops[token]
            op.ret = t
            if op.kind == "get":
                op.result = result

    def unknown(self, token):
        """Outcome unknown: leave ret=None (a get with unknown outcome is dropped by check)."""
        with self._lock:
            self._ops[token].ret = None

    def fail(self, token):
        """Definitely not applied (4xx): drop the op."""
        with self._lock:
            self._ops.pop(token, None)

    def ops(self) -> List[Op]:
        with self._lock:
            return sorted((Op(**vars(o)) for o in self._ops.values()), key=lambda o: o.call)

    def __len__(self):
        with self._lock:
            return len(self._ops)


def record(clock=time.monotonic) -> History:
    """A new thread-safe History recorder."""
    return History(clock)


# ----------------------------------------------------------------------------------------------
# Formatting

def _fmt_val(v):
    if v is None:
        return "<absent>"
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def format_op(op: Op, t0: float = 0.0) -> str:
    if op.kind == "set":
        what = "set(%s)" % _fmt_val(op.value)
    elif op.kind == "delete":
        what = "delete"
    else:
        what = "get -> %s" % _fmt_val(op.result)
    ret = "?(unknown outcome)" if op.ret is None else "%+.6fs" % (op.ret - t0)
    return "client %s %s [call %+.6fs, ret %s]" % (op.client, what, op.call - t0, ret)


# ----------------------------------------------------------------------------------------------
# Checker

def _canon(v):
    if v is None:
        return None
    try:
        return json.dumps(v, sort_keys=True)
    except (TypeError, ValueError):
        return repr(v)


class _Timeout(Exception):
    pass


def _validate(op: Op):
    if op.kind not in KINDS:
        raise ValueError("op has unknown kind %r: %r" % (op.kind, op))
    if op.ret is not None and op.ret < op.call:
        raise ValueError("op returns before it is called: %r" % (op,))


def check_key(key, ops: List[Op], deadline: Optional[float] = None, t0: Optional[float] = None
              ) -> CheckResult:
    """Check the ops of one key (all ops must have this key). deadline: time.monotonic() value."""
    for o in ops:
        _validate(o)
    if t0 is None:
        t0 = min((o.call for o in ops), default=0.0)

    # Value interning: state 0 = absent, other ids = distinct values.
    ids = {None: 0}
    shown = {0: None}       # value id -> an original value, for explanations

    def vid(v):
        c = _canon(v)
        if c not in ids:
            ids[c] = len(ids)
            shown[ids[c]] = v
        return ids[c]

    read_ids = set()
    for o in ops:
        if o.kind == "get" and o.ret is not None:
            read_ids.add(vid(o.result))

    kept: List[Op] = []
    for o in ops:
        if o.ret is None:
            # Unknown outcome. A get has no effect. A write whose resulting state nobody ever
            # reads can always be linearized last (or never): dropping it is sound and complete.
            if o.kind == "get":
                continue
            if o.kind == "set" and vid(o.value) not in read_ids:
                continue
            if o.kind == "delete" and 0 not in read_ids:
                continue
        kept.append(o)
    kept.sort(key=lambda o: o.call)
    n = len(kept)
    if n == 0:
        return CheckResult(ok=True, key=key, ops_checked=0)

    # Quick, precise diagnosis for a read of a value no set on this key ever wrote.
    written = {vid(o.value) for o in kept if o.kind == "set"}
    for o in kept:
        if o.kind == "get" and o.result is not None and vid(o.result) not in written:
            return CheckResult(ok=False, key=key, ops_checked=n, explanation=(
                "key %r: not linearizable: a get read a value that no set on this key wrote:\n  %s"
                % (key, format_op(o, t0))))

    kind = [0] * n          # 0 set, 1 delete, 2 get
    arg = [0] * n           # set: value id; get: result id
    for i, o in enumerate(kept):
        if o.kind == "set":
            kind[i], arg[i] = 0, vid(o.value)
        elif o.kind == "delete":
            kind[i], arg[i] = 1, 0
        else:
            kind[i], arg[i] = 2, vid(o.result)

    # Event list: node 0 = head sentinel; nodes 1.. = events sorted by (time, call-before-return).
    events = []
    for i, o in enumerate(kept):
        events.append((o.call, 0, i))
        if o.ret is not None:
            events.append((o.ret, 1, i))
    events.sort()
    m = len(events) + 1
    NIL = -1
    nxt = list(range(1, m)) + [NIL]
    prv = [NIL] + list(range(0, m - 1))
    is_call = [False] * m
    op_of = [NIL] * m
    match = [NIL] * m       # call node -> its return node (NIL for unknown outcome)
    call_node = [NIL] * n
    for idx, (_, typ, i) in enumerate(events, start=1):
        op_of[idx] = i
        if typ == 0:
            is_call[idx] = True
            call_node[i] = idx
        else:
            match[call_node[i]] = idx

    required = sum(1 for o in kept if o.ret is not None)

    state = 0
    bits = 0
    cache = set()
    stack = []              # (call node, state before)
    entry = nxt[0]
    steps = 0
    best_depth = -1
    best = None             # (blocked op, state, pending candidate ops, linearized tail)

    while True:
        if required == 0:
            return CheckResult(ok=True, key=key, ops_checked=n)
        steps += 1
        if deadline is not None and (steps & 1023) == 0 and time.monotonic() > deadline:
            raise _Timeout()
        if entry == NIL:
            # Only unknown-outcome calls were left past the last return: cannot happen while
            # required > 0 (a pending required op's return is still in the list). Defensive.
            entry = NIL
        elif is_call[entry]:
            i = op_of[entry]
            k = kind[i]
            if k == 2:
                okstep = arg[i] == state
                new_state = state
            else:
                okstep = True
                new_state = arg[i]
            if okstep:
                new_bits = bits | (1 << i)
                ck = (new_bits, new_state)
                if ck not in cache:
                    cache.add(ck)
                    stack.append((entry, state))
                    state = new_state
                    bits = new_bits
                    if match[entry] != NIL:
                        required -= 1
                    # lift: remove the call node, then its return node
                    p, q = prv[entry], nxt[entry]
                    nxt[p] = q
                    if q != NIL:
                        prv[q] = p
                    r = match[entry]
                    if r != NIL:
                        p, q = prv[r], nxt[r]
                        nxt[p] = q
                        if q != NIL:
                            prv[q] = p
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
            continue
        # A return event (or the end): the op returning here cannot be linearized next -> record
        # the deepest such dead end for the explanation, then backtrack.
        if entry != NIL and len(stack) > best_depth:
            best_depth = len(stack)
            pend = []
            e = nxt[0]
            while e != NIL and e != entry:
                if is_call[e] and op_of[e] != op_of[entry]:
                    pend.append(kept[op_of[e]])
                e = nxt[e]
            best = (kept[op_of[entry]], state, pend, [kept[op_of[c]] for c, _ in stack[-4:]])
        if not stack:
            break
        top, state = stack.pop()
        i = op_of[top]
        bits &= ~(1 << i)
        r = match[top]
        if r != NIL:
            required += 1
            p, q = prv[r], nxt[r]
            nxt[p] = r
            if q != NIL:
                prv[q] = r
        p, q = prv[top], nxt[top]
        nxt[p] = top
        if q != NIL:
            prv[q] = top
        entry = nxt[top]

    return CheckResult(ok=False, key=key, ops_checked=n,
                       explanation=_explain(key, n, best_depth, best, shown, t0))


def _explain(key, n, depth, best, shown, t0):
    lines = ["key %r: not linearizable (%d ops on this key)." % (key, n)]
    if best is None:
        return lines[0]
    blocked, state, pend, tail = best
    lines.append("Deepest partial linearization: %d op(s) placed; register value there: %s."
                 % (depth, _fmt_val(shown.get(state))))
    if tail:
        lines.append("Last placed ops (in linearization order):")
        lines.extend("  " + format_op(o, t0) for o in tail)
    lines.append("Op that cannot be placed (every op still pending must precede its return):")
    lines.append("  " + format_op(blocked, t0))
    if pend:
        lines.append("Ops concurrent with it, still unplaced (no order of these explains it):")
        lines.extend("  " + format_op(o, t0) for o in pend[:12])
        if len(pend) > 12:
            lines.append("  ... and %d more" % (len(pend) - 12))
    else:
        lines.append("No unplaced op is concurrent with it.")
    return "\n".join(lines)


def check(history: List[Op], timeout_s: float = 30.0) -> CheckResult:
    """Check a whole KV history, key by key. Returns the first non-linearizable key's result
    (keys in order of first call). If a key's search exceeds the shared deadline, the result is
    ok=False, unknown=True (not proven either way) unless another key definitely fails."""
    deadline = time.monotonic() + timeout_s
    t0 = min((o.call for o in history), default=0.0)
    by_key: Dict[Any, List[Op]] = {}
    for o in sorted(history, key=lambda o: o.call):
        by_key.setdefault(o.key, []).append(o)
    total = 0
    timed_out = []
    for key, ops in by_key.items():
        try:
            r = check_key(key, ops, deadline, t0)
        except _Timeout:
            timed_out.append(key)
            continue
        total += r.ops_checked
        if not r.ok:
            r.ops_checked = total
            return r
    if timed_out:
        return CheckResult(ok=False, key=timed_out[0], unknown=True, ops_checked=total,
                           explanation="search timed out after %.1fs on key(s) %s: "
                           "linearizability not decided" % (timeout_s, timed_out))
    return CheckResult(ok=True, ops_checked=total)


# ----------------------------------------------------------------------------------------------
# Lost acknowledged writes

def lost_acknowledged_writes(history: List[Op], final_reads: Dict[Any, Any],
                             timeout_s: float = 30.0, client="final") -> List[LostWrite]:
    """Detect acknowledged writes lost by the store (e.g. across failover).

    final_reads maps key -> value read (None = 404) AFTER every client stopped. Method (simple
    and sound): each final read is appended as a get whose call is after every recorded call and
    return, and the key's history is checked for linearizability. An acknowledged set that is
    not superseded by a later write but missing from the final read then has no linearization.
    Unknown-outcome writes stay concurrent with the final read (they may have applied late).

    Returns one LostWrite per key in final_reads whose extended history is not linearizable
    (a key whose history was already non-linearizable before the final read is reported too;
    its explanation says so). A key whose search times out is reported with "undecided" in the
    explanation. Keys absent from final_reads are not checked here (use check()).
    """
    deadline = time.monotonic() + timeout_s
    times = [o.call for o in history] + [o.ret for o in history if o.ret is not None]
    t_end = (max(times) if times else 0.0) + 1e-6
    t0 = min((o.call for o in history), default=t_end)
    by_key: Dict[Any, List[Op]] = {}
    for o in history:
        by_key.setdefault(o.key, []).append(o)
    out = []
    for key, final in final_reads.items():
        ops = by_key.get(key, [])
        fin = Op(client=client, key=key, kind="get", result=final, call=t_end, ret=t_end + 1e-6)
        try:
            r = check_key(key, ops + [fin], deadline, t0)
        except _Timeout:
            out.append(LostWrite(key, final, "key %r: search timed out: undecided" % (key,)))
            continue
        if r.ok:
            continue
        try:
            before = check_key(key, ops, deadline, t0)
            pre = "" if before.ok else "(history already not linearizable before the final read) "
        except _Timeout:
            pre = ""
        out.append(LostWrite(key, final, "key %r: final read %s is not explained by the "
                             "acknowledged writes %s-- lost or resurrected write.\n%s"
                             % (key, _fmt_val(final), pre, r.explanation)))
    return out
