#include "tests/sim/checker.hpp"

#include "tests/sim/hash.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace ck::sim {

namespace {

std::string n(uint64_t value) { return std::to_string(value); }

}  // namespace

raft::term_t log_mirror::term_at(raft::index_t i) const {
  return i == base_index ? base_term : links[i - base_index - 1].term;
}

uint64_t log_mirror::chain_at(raft::index_t i) const {
  return i == base_index ? base_chain : links[i - base_index - 1].chain;
}

void checker::on_found(raft::node_id id, const raft::log_storage& storage) {
  // The bootstrap is a persisted ready like any other: the same checks apply to it.
  raft::ready founded;
  std::vector<raft::entry>& entries = founded.entries;
  const raft::log_error error =
      storage.entries(storage.first_index(), storage.last_index() + 1, UINT64_MAX, entries);
  if (error != raft::log_error::none || storage.first_index() != 1) {
    throw violation("bootstrap", "node " + n(id) + " founding log is not readable from 1");
  }
  founded.hard = storage.initial_hard_state();
  on_persist(id, founded, 0, storage);
}

void checker::on_persist(raft::node_id id, const raft::ready& rd, uint64_t snapshot_chain,
                         const raft::log_storage& storage) {
  log_mirror& m = mirrors_[id];
  if (rd.snap && !rd.snap->empty()) {
    persist_snapshot(id, m, *rd.snap, snapshot_chain);
  }
  if (!rd.entries.empty()) {
    persist_entries(id, m, rd.entries);
  }
  if (rd.hard) {
    persist_hard_state(id, m, *rd.hard);
  }
  check_against_storage(id, m, storage);
}

void checker::persist_snapshot(raft::node_id id, log_mirror& m, const raft::snapshot& snap,
                               uint64_t chain) {
  const raft::index_t s = snap.meta.index;
  // The core installs a snapshot only past its commit (older ones carry nothing new).
  if (s <= m.hard.commit) {
    throw violation("snapshot order", "node " + n(id) + " was handed snapshot " + n(s) +
                                          " at or below its persisted commit " + n(m.hard.commit));
  }
  // A snapshot is an image of applied, hence committed, entries: it must match that prefix.
  if (s > committed_.size()) {
    throw violation("snapshot safety", "node " + n(id) + " installed a snapshot at " + n(s) +
                                           " beyond the committed log (" + n(committed_.size()) +
                                           " entries)");
  }
  const committed_link& c = committed_[s - 1];
  if (c.link.chain != chain || c.link.term != snap.meta.term) {
    throw violation("snapshot safety", "node " + n(id) + " installed snapshot " + n(s) + "/" +
                                           n(snap.meta.term) +
                                           " whose image differs from the "
                                           "committed prefix (committed term " +
                                           n(c.link.term) + ")");
  }
  m.base_index = s;
  m.base_term = snap.meta.term;
  m.base_chain = chain;
  m.links.clear();
}

void checker::persist_entries(raft::node_id id, log_mirror& m,
                              const std::vector<raft::entry>& entries) {
  const raft::index_t first = entries.front().index;
  if (first > m.last_index() + 1) {
    throw violation("log shape", "node " + n(id) + " persisted entries from " + n(first) +
                                     " onto a log covering (" + n(m.base_index) + ", " +
                                     n(m.last_index()) + "]");
  }
  // Re-persisting an identical entry is harmless; replacing one at or below the node's own
  // persisted commit loses a committed entry.
  const raft::index_t protected_last = std::min(m.hard.commit, m.last_index());
  for (const raft::entry& e : entries) {
    if (e.index > protected_last) {
      break;
    }
    if (e.index <= m.base_index) {
      continue;
    }
    const log_link& old = m.links[e.index - m.base_index - 1];
    if (old.term != e.term || old.content != entry_content_hash(e)) {
      throw violation("durability", "node " + n(id) + " overwrote entry " + n(e.index) + " (term " +
                                        n(old.term) +
                                        ") at or below its persisted "
                                        "commit " +
                                        n(m.hard.commit) + " with term " + n(e.term));
    }
  }
  // Entries the snapshot covers are skipped, as the storage skips them.
  const raft::index_t keep = first > m.base_index ? first - m.base_index - 1 : 0;
  m.links.resize(keep);
  for (const raft::entry& e : entries) {
    if (e.index <= m.base_index) {
      continue;
    }
    if (e.index != m.last_index() + 1 || e.term < m.term_at(m.last_index())) {
      throw violation("log shape", "node " + n(id) + " persisted entry " + n(e.index) + "/" +
                                       n(e.term) + " after " + n(m.last_index()) + "/" +
                                       n(m.term_at(m.last_index())));
    }
    log_link link{e.term, entry_content_hash(e), chain_extend(m.chain_at(m.last_index()), e)};
    auto [it, inserted] = entries_seen_.try_emplace({e.index, e.term}, link);
    if (!inserted && (it->second.content != link.content || it->second.chain != link.chain)) {
      throw violation("log matching",
                      "node " + n(id) + " persisted entry " + n(e.index) + "/" + n(e.term) +
                          (it->second.content != link.content ? " with different content"
                                                              : " with a different prefix") +
                          " than another log holding " + n(e.index) + "/" + n(e.term));
    }
    m.links.push_back(link);
  }
}

void checker::persist_hard_state(raft::node_id id, log_mirror& m, const raft::hard_state& hard) {
  if (hard.term < m.hard.term || hard.commit < m.hard.commit) {
    throw violation("durability", "node " + n(id) + " persisted term/commit " + n(hard.term) + "/" +
                                      n(hard.commit) + " below its persisted " + n(m.hard.term) +
                                      "/" + n(m.hard.commit));
  }
  if (hard.vote != raft::no_node) {
    auto [it, inserted] = votes_.try_emplace({id, hard.term}, hard.vote);
    if (!inserted && it->second != hard.vote) {
      throw violation("vote durability", "node " + n(id) + " persisted a vote for " + n(hard.vote) +
                                             " in term " + n(hard.term) +
                                             " after persisting a vote for " + n(it->second));
    }
  }
  if (hard.commit > m.last_index()) {
    throw violation("durability", "node " + n(id) + " persisted commit " + n(hard.commit) +
                                      " beyond its persisted log (last " + n(m.last_index()) + ")");
  }
  m.hard = hard;
  record_commit(id, m, hard.commit, hard.term);
}

void checker::check_against_storage(raft::node_id id, const log_mirror& m,
                                    const raft::log_storage& storage) const {
  // Pair check: what the checker believes was persisted is what the storage reads back.
  raft::term_t stored_term = 0;
  const raft::log_error error = storage.term(storage.last_index(), stored_term);
  if (storage.last_index() != m.last_index() || error != raft::log_error::none ||
      stored_term != m.term_at(m.last_index())) {
    throw violation("storage read-back",
                    "node " + n(id) + " storage ends at " + n(storage.last_index()) + "/" +
                        n(stored_term) + ", the persisted ready stream at " + n(m.last_index()) +
                        "/" + n(m.term_at(m.last_index())));
  }
}

}  // namespace ck::sim

namespace ck::sim {

void checker::record_commit(raft::node_id id, const log_mirror& m, raft::index_t commit,
                            raft::term_t observed_term) {
  if (commit == 0) {
    return;
  }
  const raft::index_t known = committed_.size();
  // The prefix chain at the overlap covers every committed entry below it at once.
  const raft::index_t overlap = std::min(known, commit);
  if (overlap > 0 && overlap >= m.base_index && overlap <= m.last_index() &&
      m.chain_at(overlap) != committed_[overlap - 1].link.chain) {
    throw violation("committed entry lost", "node " + n(id) + " persisted commit " + n(commit) +
                                                " but its entry " + n(overlap) + " (term " +
                                                n(m.term_at(overlap)) +
                                                ") differs from the committed one (term " +
                                                n(committed_[overlap - 1].link.term) + ")");
  }
  lower_commit_terms(overlap, observed_term);
  for (raft::index_t i = known + 1; i <= commit; ++i) {
    if (i <= m.base_index) {
      throw violation("snapshot safety", "node " + n(id) + " has a snapshot at " + n(m.base_index) +
                                             " beyond the committed log (" + n(known) +
                                             " entries)");
    }
    committed_.push_back({m.links[i - m.base_index - 1], observed_term});
  }
}

void checker::lower_commit_terms(raft::index_t up_to, raft::term_t observed_term) {
  // Whoever saw index i committed in term t saw every index below i committed by then too:
  // keep commit_term non-decreasing along the log, so a binary search finds a term's prefix.
  for (raft::index_t i = up_to; i > 0; --i) {
    committed_link& c = committed_[i - 1];
    if (c.commit_term <= observed_term) {
      break;
    }
    c.commit_term = observed_term;
  }
}

void checker::on_apply(raft::node_id id, const raft::entry& e, uint64_t chain_after,
                       raft::term_t node_term) {
  const log_mirror& m = mirrors_[id];
  if (e.index <= m.base_index || e.index > m.last_index() || m.chain_at(e.index) != chain_after) {
    throw violation("apply only durable entries",
                    "node " + n(id) + " applied entry " + n(e.index) + "/" + n(e.term) +
                        " that is not the entry it persisted there (persisted log (" +
                        n(m.base_index) + ", " + n(m.last_index()) + "])");
  }
  const raft::index_t known = committed_.size();
  if (e.index <= known) {
    const committed_link& c = committed_[e.index - 1];
    if (c.link.chain != chain_after) {
      throw violation("state machine safety",
                      "node " + n(id) + " applied " + n(e.index) + "/" + n(e.term) +
                          " but the entry committed there has term " + n(c.link.term));
    }
    lower_commit_terms(e.index, node_term);
    return;
  }
  if (e.index != known + 1) {
    throw violation("state machine safety", "node " + n(id) + " applied " + n(e.index) +
                                                " past the committed log's end " + n(known));
  }
  lower_commit_terms(known, node_term);
  committed_.push_back({{e.term, entry_content_hash(e), chain_after}, node_term});
}

void checker::on_restore(raft::node_id id, raft::index_t index, uint64_t chain) {
  if (index == 0) {
    return;
  }
  if (index > committed_.size() || committed_[index - 1].link.chain != chain) {
    throw violation("state machine safety", "node " + n(id) + " restored a state machine at " +
                                                n(index) +
                                                " that differs from the committed "
                                                "prefix (" +
                                                n(committed_.size()) + " known)");
  }
}

void checker::on_retire(raft::node_id id) {
  baselines_.erase(id);
  mirrors_.erase(id);  // a re-added id starts with an empty log
}

void checker::on_tombstone(raft::node_id id, const raft::hard_state& hard) {
  mirrors_[id].hard = hard;
}

void checker::on_read_request(const std::string& context, raft::index_t commit_known) {
  reads_[context] = read_request{commit_known, false};
}

void checker::on_read_state(raft::node_id id, const raft::read_state& read) {
  auto it = reads_.find(read.context);
  if (it == reads_.end()) {
    throw violation("read index", "node " + n(id) + " released unknown read '" + read.context +
                                      "' at " + n(read.index));
  }
  if (read.index < it->second.commit_known) {
    throw violation("read index", "node " + n(id) + " released read '" + read.context +
                                      "' at index " + n(read.index) + " but " +
                                      n(it->second.commit_known) +
                                      " was committed when it was requested");
  }
  it->second.released = true;
}

}  // namespace ck::sim

namespace ck::sim {

void checker::on_restart(const node_view& view, const raft::log_storage& storage) {
  const raft::status_info status = view.core->status();
  const log_mirror& m = mirrors_[view.id];
  const raft::snapshot snap = storage.current_snapshot();
  const raft::index_t commit_floor = std::max(m.hard.commit, snap.meta.index);
  const bool commit_ok = status.commit == m.hard.commit || status.commit == commit_floor;
  if (status.term != m.hard.term || status.vote != m.hard.vote || !commit_ok) {
    throw violation("restart", "node " + n(view.id) + " restarted with term/vote/commit " +
                                   n(status.term) + "/" + n(status.vote) + "/" + n(status.commit) +
                                   " but persisted " + n(m.hard.term) + "/" + n(m.hard.vote) + "/" +
                                   n(m.hard.commit));
  }
  if (status.last_index != m.last_index()) {
    throw violation("restart", "node " + n(view.id) + " restarted with last index " +
                                   n(status.last_index) + " but persisted " + n(m.last_index()));
  }
  baselines_[view.id] = baseline{view.incarnation, status.term, status.commit, status.vote};
}

void checker::after_step(const std::vector<node_view>& live) {
  for (const node_view& view : live) {
    view.core->check_invariants();
    const raft::status_info status = view.core->status();
    check_node_delta(view, status);
    if (status.state != raft::role::leader) {
      continue;
    }
    auto [it, inserted] = leaders_.try_emplace(status.term, view.id);
    if (!inserted && it->second != view.id) {
      throw violation("election safety", "nodes " + n(it->second) + " and " + n(view.id) +
                                             " are both leaders of term " + n(status.term));
    }
    if (inserted) {
      check_leader_completeness(view.id, status.term);
    }
  }
}

void checker::check_node_delta(const node_view& view, const raft::status_info& status) {
  auto it = baselines_.find(view.id);
  if (it == baselines_.end() || it->second.incarnation != view.incarnation) {
    baselines_[view.id] = baseline{view.incarnation, status.term, status.commit, status.vote};
    return;
  }
  baseline& before = it->second;
  if (status.term < before.term || status.commit < before.commit) {
    throw violation("monotonic term and commit",
                    "node " + n(view.id) + " went from term/commit " + n(before.term) + "/" +
                        n(before.commit) + " to " + n(status.term) + "/" + n(status.commit));
  }
  if (status.term == before.term && before.vote != raft::no_node && status.vote != before.vote) {
    throw violation("one vote per term", "node " + n(view.id) + " changed its vote in term " +
                                             n(status.term) + " from " + n(before.vote) + " to " +
                                             n(status.vote));
  }
  before = baseline{view.incarnation, status.term, status.commit, status.vote};
}

void checker::check_leader_completeness(raft::node_id id, raft::term_t term) const {
  // The last committed index whose commit happened in a term before `term` (commit_term is
  // non-decreasing along the log, see lower_commit_terms).
  auto after = std::partition_point(committed_.begin(), committed_.end(),
                                    [&](const committed_link& c) { return c.commit_term < term; });
  const auto c = static_cast<raft::index_t>(after - committed_.begin());
  if (c == 0) {
    return;
  }
  static const log_mirror empty_log;
  auto found = mirrors_.find(id);
  const log_mirror& m = found == mirrors_.end() ? empty_log : found->second;
  if (c > m.last_index()) {
    throw violation("leader completeness", "node " + n(id) + " leads term " + n(term) +
                                               " but its log ends at " + n(m.last_index()) +
                                               ", before entry " + n(c) + " committed in term " +
                                               n(committed_[c - 1].commit_term));
  }
  const raft::index_t at = std::max(c, m.base_index);
  if (m.chain_at(at) != committed_[at - 1].link.chain) {
    throw violation("leader completeness",
                    "node " + n(id) + " leads term " + n(term) + " but its entry " + n(at) +
                        " (term " + n(m.term_at(at)) + ") differs from the committed one (term " +
                        n(committed_[at - 1].link.term) + ", committed by term " +
                        n(committed_[c - 1].commit_term) + ")");
  }
}

}  // namespace ck::sim
