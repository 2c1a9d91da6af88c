#include "runtime/node/join_cluster.hpp"

#include "http/api/join_json.hpp"
#include "http/client.hpp"
#include "runtime/base/log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>

namespace ck::runtime {

namespace {

using namespace std::chrono_literals;

constexpr auto attempt_timeout = 3s;
constexpr auto pause_min = 250ms;
constexpr auto pause_max = 2000ms;

// Sleeps for `pause` unless SIGTERM or SIGINT arrives first; true when one did.
bool stop_signal_within(std::chrono::milliseconds pause) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  timespec wait{};
  wait.tv_sec = static_cast<time_t>(pause.count() / 1000);
  wait.tv_nsec = static_cast<long>((pause.count() % 1000) * 1'000'000);
  for (;;) {
    const int got = sigtimedwait(&stop_signals, nullptr, &wait);
    if (got > 0) {
      return true;
    }
    if (errno == EAGAIN) {
      return false;
    }
    // EINTR: another signal; waiting a little less than asked is harmless.
  }
}

// One attempt through one member: "" and `out` filled on success; otherwise why not, with
// `permanent` set when retrying cannot help.
std::string attempt(const config::host_port& member, const std::string& body,
                    const std::string& token, actors::join_reply& out, bool& permanent) {
  const std::string host = member.host.empty() ? "127.0.0.1" : member.host;
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  if (!token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + token);
  }
  auto result = http::call(host, member.port, "POST", "/join", body, attempt_timeout, headers);
  if (!result.ok) {
    return result.error;
  }
  const auto& rsp = result.response;
  if (rsp.status == 200) {
    const std::string bad = http::api::parse_join_reply(rsp.body, out);
    return bad.empty() ? "" : "unusable join reply: " + bad;
  }
  // 400: a bad request; 401 / 409: the token is not the cluster's (see handle_join).
  permanent = rsp.status == 400 || rsp.status == 401 || rsp.status == 409;
  return "HTTP " + std::to_string(rsp.status) + ": " + rsp.body.substr(0, 300);
}

}  // namespace

join_outcome join_cluster(const config::node_config& cfg, const actors::join_request& self) {
  const std::string body = http::api::join_body(self);
  join_outcome out;
  std::chrono::milliseconds pause = pause_min;
  for (uint64_t round = 1;; ++round) {
    std::string errors;
    for (const auto& member : cfg.join_addrs) {
      bool permanent = false;
      const std::string why = attempt(member, body, cfg.token, out.reply, permanent);
      if (why.empty()) {
        CK_LOG_INFO("join: {} joined cluster {} through {} ({}, meta raft id {})", cfg.node_id,
                    out.reply.cluster_id, member.to_string(), out.reply.outcome, out.reply.raft_id);
        out.ok = true;
        return out;
      }
      if (permanent) {
        out.code = exit_code::bad_config;
        out.error_line = "JOIN_ADDR " + member.to_string() + " refused this node: " + why;
        return out;
      }
      errors += (errors.empty() ? "" : "; ") + member.to_string() + ": " + why;
    }
    CK_LOG_INFO("join: waiting to join the cluster (attempt {}): {}; retrying in {} ms", round,
                errors, pause.count());
    if (stop_signal_within(pause)) {
      out.stopped = true;
      return out;
    }
    pause = std::min(pause_max, pause * 2);
  }
}

}  // namespace ck::runtime
