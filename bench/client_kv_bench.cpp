// client_kv_bench: throughput and latency of KV requests through the C++ client library
// (http/client/kv_client.hpp), blocking calls from T threads for D seconds, against a running
// cluster. bench/client_kv.sh starts one and compares routing straight to the partition leader
// with sending every request to the endpoints in turn (the nodes relay).
//
//   client_kv_bench --endpoints H:P[,H:P] --op set|get --threads T --seconds D
//                   [--keyspace N] [--value-size B] [--route leader|any]
// prints one line: route=.. op=.. threads=.. requests=.. rps=.. p50_us=.. p99_us=.. errors=..

#include "http/client/kv_client.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"client_kv_bench: KV requests through the client library"};
  std::string endpoints;
  std::string op = "set";
  std::string route = "leader";
  int threads = 16;
  int seconds = 10;
  int keyspace = 10'000;
  int value_size = 100;
  app.add_option("--endpoints", endpoints, "cluster API addresses")->required();
  app.add_option("--op", op)->check(CLI::IsMember({"set", "get"}));
  app.add_option("--route", route)->check(CLI::IsMember({"leader", "any"}));
  app.add_option("--threads", threads)->check(CLI::Range(1, 1024));
  app.add_option("--seconds", seconds)->check(CLI::Range(1, 3600));
  app.add_option("--keyspace", keyspace)->check(CLI::Range(1, 100'000'000));
  app.add_option("--value-size", value_size)->check(CLI::Range(0, 1 << 20));
  CLI11_PARSE(app, argc, argv);

  ck::client::client_options options;
  options.endpoints = ck::client::parse_endpoints(endpoints);
  options.route_to_leader = route == "leader";
  options.async_threads = 1;
  ck::client::kv_client kv(options);
  const std::string value(static_cast<size_t>(value_size), 'v');
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::atomic<uint64_t> errors{0};
  std::vector<std::vector<uint32_t>> latencies(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  const auto started = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t) * 7919u + 1);
      std::uniform_int_distribution<int> pick(0, keyspace - 1);
      auto& mine = latencies[static_cast<size_t>(t)];
      char key[32];
      while (std::chrono::steady_clock::now() < until) {
        std::snprintf(key, sizeof key, "bench/%05d", pick(rng));
        const auto t0 = std::chrono::steady_clock::now();
        bool ok = false;
        if (op == "set") {
          ok = kv.put(key, value).ok();
        } else {
          auto got = kv.get(key);
          ok = got.ok() || got.error().kind == ck::client::error_kind::not_found;
        }
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
        if (ok) {
          mine.push_back(static_cast<uint32_t>(us));
        } else {
          errors.fetch_add(1);
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::vector<uint32_t> all;
  for (auto& l : latencies) {
    all.insert(all.end(), l.begin(), l.end());
  }
  std::sort(all.begin(), all.end());
  auto quantile = [&](double q) {
    return all.empty() ? 0u : all[std::min(all.size() - 1, static_cast<size_t>(q * static_cast<double>(all.size())))];
  };
  std::printf("route=%s op=%s threads=%d requests=%zu rps=%.1f p50_us=%u p99_us=%u errors=%llu\n",
              route.c_str(), op.c_str(), threads, all.size(), static_cast<double>(all.size()) / elapsed, quantile(0.5),
              quantile(0.99), static_cast<unsigned long long>(errors.load()));
  return 0;
}
