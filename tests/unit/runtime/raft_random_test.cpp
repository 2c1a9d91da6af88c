// A small randomized run (the full chaos simulator lives in tests/sim): partitions, message
// loss and reordering, restarts, snapshots, transfers, ReadIndex, and membership churn
// (fresh learners, promotions, demotions, removals, removed nodes wiped and added back)
// starting from five founders. Checked after every round: each node's invariants and State
// Machine Safety (no two replicas apply different entries at one index); at the end, that the
// group heals and every member commits again. Deterministic per seed; a failure names its
// seed.

#include "raft_test_network.hpp"

#include <algorithm>
#include <random>

using namespace ck::raft;
using namespace ck::raft::test;

namespace {

struct chaos {
  // PreVote and CheckQuorum vary independently with the seed, as do election timeouts.
  explicit chaos(uint64_t seed)
      : random(seed), net(5, [seed](config& c) {
          c.seed = seed;
          c.pre_vote = seed % 2 == 0;
          c.check_quorum = (seed / 2) % 2 == 0;
          c.inflight_msgs_max = 4;
          c.append_bytes_max = 256;
        }) {
    net.record_delivered = false;
    net.filter = [this](const message&) { return random() % 100 >= drop_percent; };
  }

  node_id any_node() { return 1 + random() % (next_fresh - 1); }

  void act(int round) {
    const uint64_t dice = random() % 100;
    const node_id leader = net.leader();
    if (dice < 45) {
      net.tick_all();
    } else if (dice < 65 && leader != no_node) {
      net.at(leader).propose("r" + std::to_string(round));
    } else if (dice < 70) {
      net.isolate(any_node());
    } else if (dice < 78) {
      net.heal();
    } else if (dice < 81) {
      net.restart(any_node());
    } else if (dice < 85) {
      snapshot_at(any_node());
    } else if (dice < 87 && leader != no_node) {
      net.at(leader).transfer_leadership(any_node());
    } else if (dice < 90 && leader != no_node) {
      net.at(leader).read_index("read-" + std::to_string(round));
    } else if (dice < 93 && leader != no_node) {
      change_membership(leader);
    } else if (dice < 95 && leader != no_node) {
      wipe_removed(leader);
    }
  }

  // A node the group removed loses its log and starts again empty under its id, as a
  // ClusterKit node drops the replica of a group that removed it (and may be added back:
  // change_membership re-adds removed nodes as learners). A leader that still counts its old
  // log must catch it up again (node_leader.cpp, handle_heartbeat_response).
  void wipe_removed(node_id leader) {
    const conf_state conf = net.at(leader).status().conf;
    std::vector<node_id> removed;
    for (node_id id = 1; id < next_fresh; ++id) {
      auto listed = [id](const std::vector<node_id>& ids) {
        return std::count(ids.begin(), ids.end(), id) > 0;
      };
      if (!listed(conf.voters) && !listed(conf.learners)) {
        removed.push_back(id);
      }
    }
    if (removed.empty()) {
      return;
    }
    const node_id id = removed[random() % removed.size()];
    replica& r = net.get(id);
    r.applied.clear();
    r.reads.clear();
    r.snapshot_index = 0;
    r.snapshot_data.clear();
    net.add(id, {});
  }

  void snapshot_at(node_id id) {
    replica& r = net.get(id);
    if (r.applied.empty() || r.applied.back().index <= r.storage->current_snapshot().meta.index) {
      return;
    }
    const index_t applied = r.applied.back().index;
    r.storage->create_snapshot(applied, r.storage->initial_conf_state(), "image");
    r.storage->compact(applied);
  }

  // Promote, demote, remove, or add a fresh learner; at least three voters stay.
  void change_membership(node_id leader) {
    const conf_state conf = net.at(leader).status().conf;
    conf_change change;
    const uint64_t dice = random() % 4;
    if (dice == 0 && next_fresh <= 9) {
      change.type = conf_change_type::add_learner;
      change.node = next_fresh;
      if (net.at(leader).propose_conf_change(change) == propose_result::ok) {
        net.add(next_fresh++, {});
      }
      return;
    }
    change.node = any_node();
    const bool voter = std::count(conf.voters.begin(), conf.voters.end(), change.node) > 0;
    if (voter && conf.voters.size() <= 3) {
      return;
    }
    if (dice == 1) {
      change.type = conf_change_type::remove_node;
    } else {
      change.type = voter ? conf_change_type::add_learner : conf_change_type::add_voter;
    }
    net.at(leader).propose_conf_change(change);
  }

  node_id next_fresh = 6;
  void deliver() {
    net.collect();
    auto& queued = net.queued();
    std::shuffle(queued.begin(), queued.end(), random);
    net.deliver_queued();
  }

  std::mt19937_64 random;
  uint32_t drop_percent = 10;
  network net;
};

}  // namespace

TEST_CASE("randomized faults keep State Machine Safety and the group heals") {
  for (uint64_t seed = 1; seed <= 32; ++seed) {
    CAPTURE(seed);
    chaos run(seed);
    for (int round = 0; round < 500; ++round) {
      run.act(round);
      run.deliver();
      run.net.check();
    }

    // Heal: no loss, no partition; ticks until a leader commits a final entry everywhere.
    run.net.heal();
    run.drop_percent = 0;
    bool done = false;
    for (int round = 0; round < 400 && !done; ++round) {
      run.net.tick_all();
      run.net.stabilize();
      const node_id leader = run.net.leader();
      if (leader == no_node || run.net.at(leader).propose("final") != propose_result::ok) {
        continue;
      }
      run.net.stabilize();
      // Every member catches up; removed nodes are left behind, as they should be.
      const status_info led = run.net.at(leader).status();
      done = true;
      for (const progress_status& member : led.progress) {
        done = done && run.net.at(member.id).status().commit == led.commit;
      }
    }
    if (!done) {
      for (auto& [id, r] : run.net.replicas()) {
        const status_info st = r.raft->status();
        MESSAGE("node " << id << " " << to_string(st.state) << " term " << st.term << " leader "
                        << st.leader << " commit " << st.commit << " applied " << st.applied
                        << " last " << st.last_index << " voters " << st.conf.voters.size()
                        << " learners " << st.conf.learners.size()
                        << " v:" << (st.conf.voters.size() > 0 ? st.conf.voters[0] : 0)
                        << (st.conf.voters.size() > 1 ? st.conf.voters[1] : 0)
                        << (st.conf.voters.size() > 2 ? st.conf.voters[2] : 0)
                        << (st.conf.voters.size() > 3 ? st.conf.voters[3] : 0));
      }
    }
    CHECK(done);
  }
}
