#pragma once

// The Raft core's vocabulary: log entries, persistent state, membership, snapshots and
// messages. Plain values, no I/O. Every numeric enum here may reach disk or the network:
// do not renumber.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ck::raft {

using node_id = uint64_t;  // a replica's id inside a group; 0 means "none"
using term_t = uint64_t;
using index_t = uint64_t;
using group_id = uint32_t;  // 0 is the meta group; partition p is group p + 1

inline constexpr node_id no_node = 0;

// Persisted and sent: do not renumber.
enum class entry_type : uint8_t {
  normal = 0,       // a command for the state machine (empty data: the leader's no-op)
  conf_change = 1,  // data is an encoded conf_change
};

struct entry {
  term_t term = 0;
  index_t index = 0;
  entry_type type = entry_type::normal;
  std::string data;

  friend bool operator==(const entry& a, const entry& b) {
    return a.term == b.term && a.index == b.index && a.type == b.type && a.data == b.data;
  }
  friend bool operator!=(const entry& a, const entry& b) { return !(a == b); }
};

/// Bytes an entry counts for flow control (payload plus a fixed header estimate).
inline uint64_t entry_bytes(const entry& e) { return e.data.size() + 24; }

/// What must be on disk before a node answers anything (Raft paper, Figure 2).
struct hard_state {
  term_t term = 0;
  node_id vote = no_node;
  index_t commit = 0;

  bool empty() const { return term == 0 && vote == no_node && commit == 0; }
  friend bool operator==(const hard_state& a, const hard_state& b) {
    return a.term == b.term && a.vote == b.vote && a.commit == b.commit;
  }
  friend bool operator!=(const hard_state& a, const hard_state& b) { return !(a == b); }
};

/// The members of a group. Voters count for elections and commits; learners only receive
/// the log. A node is in at most one of the two lists.
struct conf_state {
  std::vector<node_id> voters;
  std::vector<node_id> learners;

  friend bool operator==(const conf_state& a, const conf_state& b) {
    return a.voters == b.voters && a.learners == b.learners;
  }
};

// Persisted inside conf_change entries: do not renumber.
enum class conf_change_type : uint8_t {
  add_learner = 0,  // a new node (or a voter demoted to learner)
  add_voter = 1,    // a new voter, or a learner promoted
  remove_node = 2,
};

/// One membership change. Changes are applied one at a time (a leader accepts the next only
/// once the previous one is applied), each adding or removing at most one voter, so any two
/// consecutive configurations' majorities overlap.
struct conf_change {
  conf_change_type type = conf_change_type::add_learner;
  node_id node = no_node;
  std::string context;  // opaque to the core (e.g. the node's address)
};

/// Encoding (persisted inside entries: do not change without a new version byte):
///   u8 version (1) | u8 type | u64 big-endian node | context bytes (the rest)
std::string encode_conf_change(const conf_change& change);
/// Returns false for bytes that are not an encoded conf_change (short, unknown version or
/// type); `out` is then unchanged.
bool decode_conf_change(const std::string& bytes, conf_change& out);

struct snapshot_meta {
  index_t index = 0;  // the last entry the snapshot covers
  term_t term = 0;    // that entry's term
  conf_state conf;    // the membership as of `index`
};

struct snapshot {
  snapshot_meta meta;
  std::string data;  // the state machine's image, opaque to the core

  bool empty() const { return meta.index == 0; }
};

// Sent between nodes: do not renumber.
enum class message_type : uint8_t {
  append = 0,              // entries after (index, log_term); commit
  append_response = 1,     // index = last matching index, or reject with hints
  heartbeat = 2,           // commit; context = read-index context being confirmed
  heartbeat_response = 3,  // context echoed
  vote = 4,                // index/log_term = candidate's last entry
  vote_response = 5,       // reject = vote not granted
  pre_vote = 6,            // like vote, for term + 1, changes no state on the receiver
  pre_vote_response = 7,
  install_snapshot = 8,  // snap
  timeout_now = 9,       // leadership transfer: campaign now, ignoring the lease
};

struct message {
  group_id group = 0;
  message_type type = message_type::append;
  node_id from = no_node;
  node_id to = no_node;
  term_t term = 0;
  term_t log_term = 0;  // append: term at `index`; vote/pre_vote: candidate's last term
  index_t index = 0;    // append: index before `entries`; vote: candidate's last index;
                        // append_response: the index accepted, or the one rejected
  index_t commit = 0;
  std::vector<entry> entries;
  bool reject = false;
  index_t reject_hint = 0;      // append_response reject: follower's guess of a match index
  term_t reject_hint_term = 0;  // ... and the term of its entry there (fast back-off)
  snapshot snap;
  std::string context;  // heartbeat(read index) / vote (leadership transfer marker)
};

/// message::context of a vote request sent by a leadership-transfer campaign: receivers
/// grant it even while they still hear from the old leader (the lease does not apply).
inline constexpr std::string_view transfer_campaign_context = "ck:transfer";
/// The context of a leader's last heartbeat before it goes quiet (config::quiesce).
inline constexpr std::string_view quiesce_context = "ck:quiesce";

/// "append", "vote_response", ...: for log lines and simulator transcripts.
std::string_view to_string(message_type type);

}  // namespace ck::raft
