#pragma once

// What a client does after one attempt of a request to a ClusterKit node: the server's own
// outcome-unknown rules (docs/api.md, "Errors"), seen from outside. Pure; no I/O.
//
//  - An answer the caller should see (2xx, 4xx, 507 storage full) ends the request.
//  - 503 (no leader, not ready, shutting down) says nothing happened: retry, after a topology
//    refresh and a backoff.
//  - A request that never left (no connection) is retried elsewhere, read or write.
//  - A read whose attempt may have reached the node but got no answer, or got 500/502/504, is
//    retried: reading twice changes nothing.
//  - A write in that situation is NOT retried: it may have been applied, and a retry could apply
//    it again after a newer write (the lost update the server's own 504 rule prevents). The
//    caller gets "outcome unknown" and decides.

namespace ck::client {

enum class request_kind { read, write };

/// One attempt as the transport saw it.
struct attempt_outcome {
  int status = 0;           // the HTTP status; 0 when no answer arrived
  bool maybe_sent = false;  // with status 0: the request may have reached the node
};

enum class next_step {
  done,     // the answer is final: give it to the caller
  retry,    // nothing happened (or a read): try again (refreshed topology, backoff)
  unknown,  // a write that may or may not have been applied: stop, report outcome unknown
};

next_step decide(request_kind kind, const attempt_outcome& outcome);

}  // namespace ck::client
