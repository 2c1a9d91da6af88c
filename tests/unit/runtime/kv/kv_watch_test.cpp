// The KV watch hub (runtime/kv/kv_watch.hpp) driven directly: what a watcher receives for
// applies, resets, filters, resumes and a bounded history, read back with the client's SSE
// reader (http/client/sse_reader.hpp), which is tested here too.

#include "http/client/sse_reader.hpp"
#include "runtime/kv/kv_machine.hpp"
#include "runtime/kv/kv_watch.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

using ck::client::sse_message;
using ck::client::sse_reader;
using ck::kv::watch_filter;
using ck::kv::watch_hub;

namespace {

// A sink that collects what is pushed, and the messages it parses to.
struct collected {
  std::string bytes;
  std::shared_ptr<std::atomic<bool>> gone = std::make_shared<std::atomic<bool>>(false);

  ck::http::stream_sink sink() {
    ck::http::stream_sink::channel c;
    c.push = [this](std::string&& chunk) { bytes += chunk; };
    c.close = [this] { gone->store(true); };
    c.gone = gone;
    return ck::http::stream_sink{std::move(c)};
  }

  std::vector<sse_message> messages() const {
    sse_reader reader;
    return reader.feed(bytes);
  }

  // "set k=v@P:I" / "delete k@P:I" / "gap P>from" / "start" per message.
  std::vector<std::string> summary() const {
    std::vector<std::string> out;
    for (const auto& m : messages()) {
      auto d = nlohmann::json::parse(m.data);
      if (m.event == "set") {
        out.push_back("set " + d["key"].get<std::string>() + "=" + d["value"].get<std::string>() +
                      "@" + d["partition"].get<std::string>() + ":" +
                      std::to_string(d["index"].get<uint64_t>()));
      } else if (m.event == "delete") {
        out.push_back("delete " + d["key"].get<std::string>() + "@" +
                      d["partition"].get<std::string>() + ":" +
                      std::to_string(d["index"].get<uint64_t>()));
      } else if (m.event == "gap") {
        out.push_back("gap " + d["partition"].get<std::string>() + ">" +
                      std::to_string(d["from"].get<uint64_t>()));
      } else {
        out.push_back(m.event);
      }
    }
    return out;
  }
};

void apply_set(watch_hub& hub, uint32_t partition, uint64_t index, const std::string& key,
               const std::string& value) {
  const std::string command = ck::kv::encode_set(key, value);
  hub.on_applied({partition, index, command, std::string(1, '\0'), false});
}

void apply_delete(watch_hub& hub, uint32_t partition, uint64_t index, const std::string& key) {
  const std::string command = ck::kv::encode_delete(key);
  hub.on_applied({partition, index, command, std::string(1, '\1'), false});
}

void reset(watch_hub& hub, uint32_t partition, uint64_t index) {
  hub.on_applied({partition, index, {}, {}, true});
}

}  // namespace

TEST_CASE("sse_reader: messages split anywhere, comments and CRLF, multi-line data") {
  sse_reader reader;
  const std::string stream =
      ": hello\n\nid: 1\r\nevent: set\r\ndata: {\"a\":1}\r\n\r\nevent: x\ndata: one\ndata: two\n\n"
      "event: nodata\n\n";
  std::vector<sse_message> all;
  for (char ch : stream) {  // one byte at a time
    for (auto& m : reader.feed(std::string(1, ch))) {
      all.push_back(std::move(m));
    }
  }
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == "1");
  CHECK(all[0].event == "set");
  CHECK(all[0].data == "{\"a\":1}");
  CHECK(all[1].event == "x");
  CHECK(all[1].data == "one\ntwo");
}

TEST_CASE("watch hub: a watcher gets the start positions, then matching changes live") {
  watch_hub hub(16, std::chrono::hours(1));
  reset(hub, 0, 5);
  reset(hub, 1, 9);
  collected a;
  hub.watch(watch_filter{"user/", true}, {}, {{2, 4}}, a.sink());
  apply_set(hub, 0, 6, "user/1", "ada");
  apply_set(hub, 1, 10, "other", "x");
  apply_delete(hub, 1, 11, "user/1");
  CHECK(a.summary() ==
        std::vector<std::string>{"start", "set user/1=ada@partition-0:6",
                                 "delete user/1@partition-1:11"});
  auto start = nlohmann::json::parse(a.messages()[0].data);
  // Seen partitions report their last index; partition 2 (no reset, no event) its floor.
  CHECK(start["positions"] == nlohmann::json{{"0", 5}, {"1", 9}, {"2", 4}});
  collected exact;
  hub.watch(watch_filter{"user/1", false}, {}, {}, exact.sink());
  apply_set(hub, 0, 7, "user/10", "no");  // a longer key: not "user/1"
  apply_set(hub, 0, 8, "user/1", "yes");
  CHECK(exact.summary() == std::vector<std::string>{"start", "set user/1=yes@partition-0:8"});
}

TEST_CASE("watch hub: a resume replays exactly what followed, a gap where history ends") {
  watch_hub hub(3, std::chrono::hours(1));
  reset(hub, 0, 0);
  for (uint64_t i = 1; i <= 5; ++i) {
    apply_set(hub, 0, i, "k" + std::to_string(i), "v");
  }
  collected resumed;
  hub.watch(watch_filter{"", true}, {{0, 3}}, {}, resumed.sink());
  CHECK(resumed.summary() ==
        std::vector<std::string>{"start", "set k4=v@partition-0:4", "set k5=v@partition-0:5"});
  collected too_old;  // 3 retained (3..5): resuming after 1 misses 2
  hub.watch(watch_filter{"", true}, {{0, 1}}, {}, too_old.sink());
  CHECK(too_old.summary() ==
        std::vector<std::string>{"start", "gap partition-0>1", "set k3=v@partition-0:3",
                                 "set k4=v@partition-0:4", "set k5=v@partition-0:5"});
  collected unseen;  // a partition this node never saw: any position above 0 is a gap
  hub.watch(watch_filter{"", true}, {{4, 7}}, {}, unseen.sink());
  CHECK(unseen.summary() == std::vector<std::string>{"start", "gap partition-4>7"});
}

TEST_CASE("watch hub: a snapshot install (reset) restarts a partition's history") {
  watch_hub hub(16, std::chrono::hours(1));
  reset(hub, 0, 0);
  apply_set(hub, 0, 1, "a", "1");
  reset(hub, 0, 40);  // commands 2..40 came as a snapshot: never told
  apply_set(hub, 0, 41, "b", "2");
  collected after_one;
  hub.watch(watch_filter{"", true}, {{0, 1}}, {}, after_one.sink());
  CHECK(after_one.summary() ==
        std::vector<std::string>{"start", "gap partition-0>1", "set b=2@partition-0:41"});
  collected after_forty;
  hub.watch(watch_filter{"", true}, {{0, 40}}, {}, after_forty.sink());
  CHECK(after_forty.summary() == std::vector<std::string>{"start", "set b=2@partition-0:41"});
  apply_set(hub, 0, 41, "b", "again");  // the same index twice is told once
  CHECK(after_forty.summary().size() == 2);
}

TEST_CASE("watch hub: watchers whose client left are dropped") {
  watch_hub hub(16, std::chrono::hours(1));
  collected a;
  collected b;
  hub.watch(watch_filter{"", true}, {}, {}, a.sink());
  hub.watch(watch_filter{"", true}, {}, {}, b.sink());
  CHECK(hub.watchers() == 2);
  a.gone->store(true);
  hub.keep_alive();
  CHECK(hub.watchers() == 1);
  CHECK(b.bytes.find(": keep-alive") != std::string::npos);
}
