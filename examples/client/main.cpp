// inventory: stock levels kept in a ClusterKit cluster, written and read through the C++ client
// library (docs/client.md). It loads N items with asynchronous puts (many in flight), reads them
// back with blocking gets, and prints one JSON line with what it saw:
//
//   inventory ENDPOINTS COUNT [PREFIX]
//   {"acked":N,"unknown":U,"failed":F,"read_back":R,"mismatches":M,"seconds":S}
//
// acked: puts the cluster confirmed; unknown: puts that may or may not have been applied (the
// client never repeats those, see error_kind::outcome_unknown); failed: puts refused or never
// delivered (nothing happened); read_back/mismatches: acknowledged items read back equal /
// different. Exit 0 when nothing failed and nothing mismatched.

#include <http/client/kv_client.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: inventory host:port[,host:port...] COUNT [PREFIX]\n";
    return 2;
  }
  // [client setup]
  ck::client::client_options options;
  options.endpoints = ck::client::parse_endpoints(argv[1]);  // cluster API addresses
  options.attempts = 12;                           // rides out a leader election
  options.async_threads = 16;                      // puts in flight at once
  ck::client::kv_client inventory(options);
  // [client setup]
  const int count = std::stoi(argv[2]);
  const std::string prefix = argc > 3 ? argv[3] : "item";
  const auto started = std::chrono::steady_clock::now();

  // [async puts]
  std::deque<std::pair<std::string, std::future<ck::client::result<ck::client::put_result>>>>
      in_flight;
  std::vector<std::string> acked;
  int unknown = 0;
  int failed = 0;
  auto settle_one = [&] {
    auto [key, future] = std::move(in_flight.front());
    in_flight.pop_front();
    auto put = future.get();
    if (put.ok()) {
      acked.push_back(key);
    } else if (put.error().kind == ck::client::error_kind::outcome_unknown) {
      ++unknown;  // may or may not be stored: never retried blindly
    } else {
      ++failed;
      std::cerr << "put " << key << ": " << put.error().message << "\n";
    }
  };
  for (int i = 0; i < count; ++i) {
    std::string key = prefix + "/" + std::to_string(i);
    in_flight.emplace_back(key, inventory.put_async(key, "stock=" + std::to_string(i)));
    if (in_flight.size() >= 32) settle_one();
  }
  while (!in_flight.empty()) settle_one();
  // [async puts]

  // [blocking gets]
  int read_back = 0;
  int mismatches = 0;
  for (const std::string& key : acked) {
    auto got = inventory.get(key);  // linearizable: sees every acknowledged put
    const std::string wanted = "stock=" + key.substr(prefix.size() + 1);
    if (got.ok() && got.value() == wanted) {
      ++read_back;
    } else {
      ++mismatches;
      std::cerr << "get " << key << ": "
                << (got.ok() ? "'" + got.value() + "'" : got.error().message) << "\n";
    }
  }
  // [blocking gets]
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("{\"acked\":%zu,\"unknown\":%d,\"failed\":%d,\"read_back\":%d,\"mismatches\":%d,"
              "\"seconds\":%.2f}\n",
              acked.size(), unknown, failed, read_back, mismatches, seconds);
  return failed == 0 && mismatches == 0 ? 0 : 1;
}
