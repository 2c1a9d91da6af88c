#include "http/client/ctl/commands.hpp"

#include "runtime/cluster/partition_hash.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <thread>

namespace ck::ctl {

using json = nlohmann::json;

namespace {

constexpr auto poll_interval = std::chrono::milliseconds(500);

// A cluster API call whose answer must be 2xx JSON: the body, or the exit code after
// reporting why not.
std::variant<json, int> call_json(client::kv_client& kv, const std::string& what,
                                  const std::string& method, const std::string& target) {
  auto r = kv.call(method, target);
  if (!r.ok()) {
    return report(what, r.error());
  }
  if (r.value().status < 200 || r.value().status > 299) {
    return report(what, client::api_error(r.value()));
  }
  json body = json::parse(r.value().body, nullptr, false);
  if (body.is_discarded()) {
    return fail(what + ": the answer is not JSON", exit_failed);
  }
  return body;
}

std::string role_of(const client::node_info& n) {
  if (n.meta_leader) {
    return "leader";
  }
  return n.meta_role.empty() ? "-" : n.meta_role;
}

json node_json(const client::node_info& n) {
  return {{"id", n.id},
          {"name", n.name},
          {"status", n.status},
          {"http_addr", n.http_addr},
          {"kv_addr", n.kv_addr},
          {"meta_role", role_of(n)},
          {"partitions_hosted", n.partitions_hosted},
          {"partitions_led", n.partitions_led}};
}

struct rebalance_figures {
  bool running = false;
  size_t done = 0;   // moves finished since the answering node's view started
  size_t total = 0;  // moves counted since then (planned ones come and go as plans change)
};

std::variant<rebalance_figures, int> rebalance_state(client::kv_client& kv) {
  auto body = call_json(kv, "GET /rebalance", "GET", "/rebalance");
  if (auto* code = std::get_if<int>(&body)) {
    return *code;
  }
  const json& b = std::get<json>(body);
  return rebalance_figures{b.value("running", false), b.value("moves_done", size_t{0}),
                           b.value("moves_total", size_t{0})};
}

}  // namespace

int get(client::kv_client& kv, format f, const std::string& key, bool stale) {
  auto r = kv.get(key, stale ? client::consistency::stale : client::consistency::linearizable);
  if (!r.ok()) {
    return report("get " + key, r.error());
  }
  if (f == format::json) {
    std::cout << json{{"key", key}, {"value", r.value()}}.dump() << "\n";
  } else {
    std::cout << r.value() << "\n";
  }
  return exit_ok;
}

int put(client::kv_client& kv, format f, const std::string& key, const std::string& value) {
  auto r = kv.put(key, value);
  if (!r.ok()) {
    return report("put " + key, r.error());
  }
  if (f == format::json) {
    std::cout << json{{"key", key}, {"partition", cluster::partition_name(r.value().partition)}}
                     .dump()
              << "\n";
  } else {
    std::cout << "OK\n";
  }
  return exit_ok;
}

int del(client::kv_client& kv, format f, const std::string& key) {
  auto r = kv.del(key);
  if (!r.ok()) {
    return report("del " + key, r.error());
  }
  if (f == format::json) {
    std::cout << json{{"key", key},
                      {"existed", r.value().existed},
                      {"partition", cluster::partition_name(r.value().partition)}}
                     .dump()
              << "\n";
  } else {
    std::cout << (r.value().existed ? 1 : 0) << "\n";  // keys deleted, as etcdctl prints
  }
  return exit_ok;
}

int list(client::kv_client& kv, format f, const client::list_options& options) {
  auto r = kv.list(options);
  if (!r.ok()) {
    return report("list", r.error());
  }
  if (f == format::json) {
    std::cout << json{{"count", r.value().size()}, {"keys", r.value()}}.dump() << "\n";
  } else {
    for (const auto& key : r.value()) {
      std::cout << key << "\n";
    }
  }
  return exit_ok;
}

int members(client::kv_client& kv, format f) {
  auto t = kv.cluster(true);
  if (!t.ok()) {
    return report("members", t.error());
  }
  if (f == format::json) {
    json nodes = json::array();
    for (const auto& n : t.value().nodes()) {
      nodes.push_back(node_json(n));
    }
    std::cout << json{{"members", nodes}}.dump() << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : t.value().nodes()) {
    rows.push_back({n.id, n.name, n.status, role_of(n), n.http_addr, n.kv_addr});
  }
  std::cout << render_table({"ID", "NAME", "STATUS", "META", "CLUSTER API", "KV API"}, rows);
  return exit_ok;
}

int cluster_status(client::kv_client& kv, format f) {
  auto t = kv.cluster(true);
  if (!t.ok()) {
    return report("cluster status", t.error());
  }
  auto stats = call_json(kv, "GET /partitions/stats", "GET", "/partitions/stats");
  if (auto* code = std::get_if<int>(&stats)) {
    return *code;
  }
  auto moves = call_json(kv, "GET /rebalance", "GET", "/rebalance");
  if (auto* code = std::get_if<int>(&moves)) {
    return *code;
  }
  const json& s = std::get<json>(stats);
  const json& m = std::get<json>(moves);
  const auto& topo = t.value();
  if (f == format::json) {
    json nodes = json::array();
    for (const auto& n : topo.nodes()) {
      nodes.push_back(node_json(n));
    }
    std::cout << json{{"cluster_id", topo.cluster_id()},
                      {"meta_leader", topo.meta_leader()},
                      {"nodes", nodes},
                      {"partitions", s},
                      {"rebalance", m}}
                     .dump()
              << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : topo.nodes()) {
    rows.push_back({n.id, n.status, role_of(n), std::to_string(n.partitions_hosted),
                    std::to_string(n.partitions_led), n.kv_addr});
  }
  std::cout << "cluster " << topo.cluster_id() << ", meta leader "
            << (topo.meta_leader().empty() ? "none" : topo.meta_leader()) << "\n\n";
  std::cout << render_table({"NODE", "STATUS", "META", "REPLICAS", "LEADS", "KV API"}, rows);
  std::cout << "\npartitions " << s.value("total_partitions", 0) << " (replication factor "
            << s.value("replication_factor", 0) << "): " << s.value("without_leader", 0)
            << " without leader, " << s.value("under_replicated", 0) << " under-replicated\n";
  const json& in_progress = m.value("moves", json::array());
  std::cout << "moves: " << in_progress.size() << " in progress ("
            << m.value("moves_done", 0) << "/" << m.value("moves_total", 0) << " done since "
            << "this node's view started)\n";
  for (const json& mv : in_progress) {
    std::cout << "  partition-" << mv.value("partition", 0) << ": "
              << (mv.value("from", "").empty() ? "-" : mv.value("from", "")) << " -> "
              << (mv.value("to", "").empty() ? "-" : mv.value("to", "")) << " ("
              << mv.value("state", "") << ")\n";
  }
  return exit_ok;
}

int partition(client::kv_client& kv, format f, const std::string& key) {
  auto body = call_json(kv, "partition " + key, "GET", "/partitions/key?key=" + client::url_encode(key));
  if (auto* code = std::get_if<int>(&body)) {
    return *code;
  }
  const json& p = std::get<json>(body);
  if (f == format::json) {
    std::cout << p.dump() << "\n";
    return exit_ok;
  }
  std::string replicas;
  for (const json& r : p.value("replica_nodes", json::array())) {
    replicas += (replicas.empty() ? "" : ",") + r.get<std::string>();
  }
  std::cout << render_table({"KEY", "PARTITION", "LEADER", "REPLICAS", "STATUS"},
                            {{key, p.value("id", ""), p.value("primary_node", ""),
                              replicas.empty() ? "-" : replicas, p.value("status", "")}});
  return exit_ok;
}

int watch(client::kv_client& kv, format f, const client::watch_options& options, size_t count) {
  size_t printed = 0;
  auto r = kv.watch(options, [&](const client::watch_event& e) {
    const std::string where =
        cluster::partition_name(e.partition) + ":" + std::to_string(e.index);
    const char* type = e.type == client::watch_event::kind::set     ? "set"
                       : e.type == client::watch_event::kind::erase ? "delete"
                                                                     : "gap";
    if (f == format::json) {
      json line = {{"type", type}, {"partition", cluster::partition_name(e.partition)},
                   {"index", e.index}};
      if (e.type != client::watch_event::kind::gap) {
        line["key"] = e.key;
      }
      if (e.type == client::watch_event::kind::set) {
        line["value"] = e.value;
      }
      std::cout << line.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    } else if (e.type == client::watch_event::kind::gap) {
      std::cout << "gap " << where << " (changes after it may be missing)" << std::endl;
    } else {
      std::cout << type << " " << e.key
                << (e.type == client::watch_event::kind::set ? " " + e.value : std::string{})
                << "  [" << where << "]" << std::endl;
    }
    return count == 0 || ++printed < count;
  });
  if (!r.ok()) {
    return report("watch " + options.key, r.error());
  }
  return exit_ok;
}

int rebalance(client::kv_client& kv, format f, const wait_options& w) {
  auto body = call_json(kv, "rebalance", "POST", "/rebalance");
  if (auto* code = std::get_if<int>(&body)) {
    return *code;
  }
  if (!w.wait) {
    std::cout << (f == format::json ? std::get<json>(body).dump() : "rebalance running") << "\n";
    return exit_ok;
  }
  progress bar("rebalance");
  const auto deadline = std::chrono::steady_clock::now() + w.timeout;
  for (;;) {
    auto state = rebalance_state(kv);
    if (auto* code = std::get_if<int>(&state)) {
      bar.finish();
      return *code;
    }
    const auto& s = std::get<rebalance_figures>(state);
    bar.update(s.done, s.total);
    if (!s.running) {
      bar.finish();
      std::cout << (f == format::json
                        ? json{{"running", false}, {"moves_done", s.done}, {"moves_total", s.total}}
                              .dump()
                        : "rebalance done: " + std::to_string(s.done) + "/" +
                              std::to_string(s.total) + " moves")
                << "\n";
      return exit_ok;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      bar.finish();
      return fail("rebalance: still running after " + std::to_string(w.timeout.count()) + " s",
                  exit_unavailable);
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

int leave(client::kv_client& kv, format f, const std::string& node, const wait_options& w) {
  // Progress: the replicas the node still hosts, out of those it hosted when asked to leave
  // (the rebalancer's move counts also hold unrelated re-plans).
  size_t hosted_before = 0;
  if (auto t = kv.cluster(true); t.ok()) {
    if (const auto* n = t.value().node(node)) {
      hosted_before = n->partitions_hosted;
    }
  }
  auto body = call_json(kv, "leave " + node, "POST", "/leave?node=" + client::url_encode(node));
  if (auto* code = std::get_if<int>(&body)) {
    return *code;
  }
  if (!w.wait) {
    std::cout << (f == format::json ? std::get<json>(body).dump()
                                    : node + " leaving: its replicas move away, then it is removed")
              << "\n";
    return exit_ok;
  }
  progress bar("leave " + node);
  const auto deadline = std::chrono::steady_clock::now() + w.timeout;
  for (;;) {
    auto t = kv.cluster(true);
    if (!t.ok()) {
      bar.finish();
      return report("leave " + node, t.error());
    }
    const auto* n = t.value().node(node);
    const size_t hosted = n != nullptr ? std::min<size_t>(n->partitions_hosted, hosted_before) : 0;
    bar.update(hosted_before - hosted, hosted_before);
    if (n == nullptr) {
      bar.finish();
      std::cout << (f == format::json ? json{{"node", node}, {"status", "removed"},
                                             {"replicas_moved", hosted_before}}
                                            .dump()
                                      : node + " removed; " + std::to_string(hosted_before) +
                                            " replicas moved to other nodes")
                << "\n";
      return exit_ok;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      bar.finish();
      return fail("leave " + node + ": still a member after " + std::to_string(w.timeout.count()) +
                      " s",
                  exit_unavailable);
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

}  // namespace ck::ctl
