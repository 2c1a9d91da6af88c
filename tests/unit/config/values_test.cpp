// The text <-> value helpers and the settings table's own consistency.
// Method: table-driven accept/reject lists, and a round trip apply(show(x)) for every setting.

#include "config/detail/values.hpp"

#include <doctest/doctest.h>

#include <set>

#include "config/detail/settings.hpp"
#include "config/node_config.hpp"

namespace ck::config {
namespace {

TEST_CASE("parse_host_port: accepts :port, host:port, IPv4 and bracketed IPv6") {
  CHECK(parse_host_port(":8080") == host_port{"", 8080});
  CHECK(parse_host_port("node4:9001") == host_port{"node4", 9001});
  CHECK(parse_host_port("10.0.0.1:1") == host_port{"10.0.0.1", 1});
  CHECK(parse_host_port("[::1]:80") == host_port{"::1", 80});
  CHECK(parse_host_port("[fe80::1:2]:65535") == host_port{"fe80::1:2", 65535});
  CHECK(parse_host_port("my_host.example-1:443") == host_port{"my_host.example-1", 443});
}

TEST_CASE("parse_host_port: rejects empty, missing port, bad ports, bad hosts, bare IPv6") {
  for (const char* text : {"",
                           "host",
                           "host:",
                           "host:0",
                           "127.0.0.1:0",
                           "host:99999",
                           "host:65536",
                           "host:-1",
                           "host:+80",
                           "host:80x",
                           "host: 80",
                           ":",
                           "::1:80",
                           "[::1]",
                           "[::1]80",
                           "[]:80",
                           "[host]:80",
                           "[::1:80",
                           "bad host:80",
                           "a/b:80",
                           "host:0080000"}) {
    INFO(text);
    CHECK_FALSE(parse_host_port(text).has_value());
  }
}

TEST_CASE("host_port: to_string round-trips through parse_host_port") {
  for (const host_port& address : {host_port{"", 8080}, host_port{"node4", 9001},
                                   host_port{"::1", 80}, host_port{"10.1.2.3", 65535}}) {
    INFO(address.to_string());
    CHECK(parse_host_port(address.to_string()) == address);
  }
  CHECK(host_port{"", 8080}.to_string() == ":8080");
  CHECK(host_port{"::1", 80}.to_string() == "[::1]:80");
}

TEST_CASE("parse_bool: accepts true/false, 1/0, yes/no in any case and nothing else") {
  for (const char* text : {"true", "TRUE", "True", "1", "yes", "YES", " yes "}) {
    CHECK(detail::parse_bool(text) == true);
  }
  for (const char* text : {"false", "FALSE", "0", "no", "No"}) {
    CHECK(detail::parse_bool(text) == false);
  }
  for (const char* text : {"", "on", "off", "y", "n", "2", "truee", "t"}) {
    INFO(text);
    CHECK_FALSE(detail::parse_bool(text).has_value());
  }
}

TEST_CASE("parse_uint: digits only, bounded") {
  CHECK(detail::parse_uint("0", 10) == 0u);
  CHECK(detail::parse_uint(" 42 ", 100) == 42u);
  CHECK_FALSE(detail::parse_uint("101", 100).has_value());
  for (const char* text : {"", "-1", "+1", "1.5", "1e3", "0x10", "abc", "99999999999999999999"}) {
    INFO(text);
    CHECK_FALSE(detail::parse_uint(text, UINT64_MAX).has_value());
  }
}

TEST_CASE("parse_size: bytes and 1024-based suffixes, no overflow") {
  CHECK(detail::parse_size("1048576", UINT64_MAX) == 1048576u);
  CHECK(detail::parse_size("1K", UINT64_MAX) == 1024u);
  CHECK(detail::parse_size("1kib", UINT64_MAX) == 1024u);
  CHECK(detail::parse_size("256MiB", UINT64_MAX) == 256ull << 20);
  CHECK(detail::parse_size("256 M", UINT64_MAX) == 256ull << 20);
  CHECK(detail::parse_size("2G", UINT64_MAX) == 2ull << 30);
  CHECK(detail::parse_size("1TiB", UINT64_MAX) == 1ull << 40);
  CHECK(detail::parse_size("10B", UINT64_MAX) == 10u);
  CHECK_FALSE(detail::parse_size("4GiB", UINT32_MAX).has_value());
  CHECK(detail::parse_size("3GiB", UINT32_MAX) == 3ull << 30);
  for (const char* text : {"", "MiB", "1MB", "1 Mi", "1.5G", "-1K", "99999999999T"}) {
    INFO(text);
    CHECK_FALSE(detail::parse_size(text, UINT64_MAX).has_value());
  }
}

TEST_CASE("format_size: the shortest exact form parse_size reads back") {
  CHECK(detail::format_size(0) == "0");
  CHECK(detail::format_size(1000) == "1000");
  CHECK(detail::format_size(1024) == "1KiB");
  CHECK(detail::format_size(256ull << 20) == "256MiB");
  CHECK(detail::format_size(1ull << 40) == "1TiB");
  CHECK(detail::format_size(1536) == "1536");  // 1.5KiB is not a whole number of KiB
}

TEST_CASE("parse_host_port_list: splits on commas, trims, skips empty entries") {
  std::string bad;
  auto list = detail::parse_host_port_list(" n1:8080 ,, n2:8081,", bad);
  REQUIRE(list.has_value());
  CHECK(*list == std::vector<host_port>{{"n1", 8080}, {"n2", 8081}});
  CHECK(detail::parse_host_port_list("", bad)->empty());
  CHECK_FALSE(detail::parse_host_port_list("n1:8080,n2", bad).has_value());
  CHECK(bad == "n2");
}

TEST_CASE("quote: escapes quotes and control bytes and cuts long values") {
  CHECK(detail::quote("plain") == "\"plain\"");
  CHECK(detail::quote("a\"b\\c\n") == "\"a\\\"b\\\\c\\x0a\"");
  const std::string cut = detail::quote(std::string(1000, 'x'));
  CHECK(cut.size() == detail::quote_bytes_max + 5);  // two quotes and "..."
}

TEST_CASE("settings: env vars, keys and both flag forms are all distinct") {
  std::set<std::string> names{"CONFIG", "--config", "--help"};
  std::size_t expected = names.size();
  for (const detail::setting& s : detail::all_settings()) {
    names.insert(std::string(s.env));
    names.insert("--" + std::string(s.key));
    names.insert(detail::dashed_flag(s.key));
    expected += 3;
    CHECK(s.key.find('.') != std::string_view::npos);  // section.name, so YAML can nest it
  }
  CHECK(names.size() == expected);
}

TEST_CASE("settings: each setting reads back what it shows") {
  node_config shown = node_config{};
  shown.node_id = "n1";
  shown.join_addrs = {{"n2", 8080}, {"::1", 1}};
  shown.token = "t0k3n";
  for (const detail::setting& s : detail::all_settings()) {
    INFO(s.key);
    node_config copy;
    CHECK(s.apply(copy, s.show(shown)) == "");
    CHECK(s.show(copy) == s.show(shown));
  }
}

}  // namespace
}  // namespace ck::config
