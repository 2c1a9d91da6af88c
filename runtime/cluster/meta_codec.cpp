// The meta group's byte formats (described in meta_state.hpp). The decoder treats its input
// as hostile: every length is checked against the bytes left and every count against a named
// limit before anything is allocated, and a decode either consumes all bytes or fails.

#include "runtime/cluster/meta_state.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/base/big_endian.hpp"

namespace ck::cluster {

namespace {

constexpr uint8_t command_format_version = 1;
constexpr uint8_t snapshot_format_version = 1;

// Command tags: persisted in the meta log, do not renumber.
constexpr uint8_t tag_bootstrap = 1;
constexpr uint8_t tag_join = 2;
constexpr uint8_t tag_set_status = 3;
constexpr uint8_t tag_remove_node = 4;
constexpr uint8_t tag_set_placement = 5;

class writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { runtime::append_u32_be(out_, v); }
  void u64(uint64_t v) { runtime::append_u64_be(out_, v); }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void str(std::string_view s) {
    CK_ASSERT_LE(s.size(), uint64_t{UINT32_MAX});
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Sticky failure: after the first error every read returns zeros and the error stays.
class reader {
 public:
  explicit reader(std::string_view bytes) : bytes_(bytes) {}

  uint8_t u8() {
    if (!need(1, "byte")) {
      return 0;
    }
    return static_cast<uint8_t>(bytes_[pos_++]);
  }
  uint32_t u32() {
    if (!need(4, "u32")) {
      return 0;
    }
    pos_ += 4;
    return runtime::get_u32_be(bytes_.data() + pos_ - 4);
  }
  uint64_t u64() {
    if (!need(8, "u64")) {
      return 0;
    }
    pos_ += 8;
    return runtime::get_u64_be(bytes_.data() + pos_ - 8);
  }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  std::string str(size_t bytes_max) {
    const uint32_t size = u32();
    if (size > bytes_max) {
      fail("string longer than its limit");
    }
    if (!need(size, "string")) {
      return {};
    }
    std::string s(bytes_.substr(pos_, size));
    pos_ += size;
    return s;
  }
  // A count of items each at least `item_bytes_min` long: bounded by the limit and by what
  // the remaining bytes could hold, so a forged count cannot make us allocate.
  uint32_t count(size_t limit, size_t item_bytes_min) {
    const uint32_t n = u32();
    if (n > limit || uint64_t{n} * item_bytes_min > bytes_.size() - pos_) {
      fail("count beyond its limit or the input");
      return 0;
    }
    return n;
  }
  void fail(const std::string& why) {
    if (error_.empty()) {
      error_ = why + " at byte " + std::to_string(pos_);
    }
    pos_ = bytes_.size();
  }
  bool finish() {
    if (error_.empty() && pos_ != bytes_.size()) {
      error_ = "trailing bytes after byte " + std::to_string(pos_);
    }
    return error_.empty();
  }
  const std::string& error() const { return error_; }

 private:
  bool need(size_t n, const char* what) {
    if (!error_.empty()) {
      return false;
    }
    if (bytes_.size() - pos_ < n) {
      fail(std::string("truncated ") + what);
      return false;
    }
    return true;
  }

  std::string_view bytes_;
  size_t pos_ = 0;
  std::string error_;
};

void write_node_fields(writer& w, const node_record& node) {
  w.str(node.id);
  w.str(node.name);
  w.str(node.raft_addr);
  w.str(node.http_addr);
  w.str(node.kv_addr);
  CK_ASSERT_LE(node.services.size(), uint64_t{UINT32_MAX});
  w.u32(static_cast<uint32_t>(node.services.size()));
  for (const auto& [service, address] : node.services) {  // std::map: key order
    w.str(service);
    w.str(address);
  }
}

node_record read_node_fields(reader& r) {
  node_record node;
  node.id = r.str(node_id_bytes_max);
  node.name = r.str(node_name_bytes_max);
  node.raft_addr = r.str(address_bytes_max);
  node.http_addr = r.str(address_bytes_max);
  node.kv_addr = r.str(address_bytes_max);
  const uint32_t count = r.count(services_max, 8);
  for (uint32_t i = 0; i < count; ++i) {
    std::string service = r.str(service_name_bytes_max);
    std::string address = r.str(service_addr_bytes_max);
    // Strictly increasing, as the encoder writes them: one state, one encoding.
    if (!node.services.empty() && !(node.services.rbegin()->first < service)) {
      r.fail("services out of order or repeated");
    }
    node.services.emplace(std::move(service), std::move(address));
  }
  return node;
}

node_status read_status(reader& r) {
  const uint8_t raw = r.u8();
  if (raw > static_cast<uint8_t>(node_status::leaving)) {
    r.fail("unknown node status");
    return node_status::alive;
  }
  return static_cast<node_status>(raw);
}

void write_replicas(writer& w, const std::vector<std::string>& replicas) {
  CK_ASSERT_LE(replicas.size(), uint64_t{UINT32_MAX});
  w.u32(static_cast<uint32_t>(replicas.size()));
  for (const auto& replica : replicas) {
    w.str(replica);
  }
}

std::vector<std::string> read_replicas(reader& r) {
  std::vector<std::string> replicas(r.count(replicas_max, 4));
  for (auto& replica : replicas) {
    replica = r.str(node_id_bytes_max);
  }
  return replicas;
}

struct command_writer {
  writer& w;
  void operator()(const bootstrap_command& c) const {
    w.u8(tag_bootstrap);
    w.str(c.cluster_id);
    w.str(c.cluster_name);
    w.u32(c.partition_count);
    w.u32(c.replication_factor);
    write_node_fields(w, c.first);
    w.i64(c.at_unix_ms);
  }
  void operator()(const join_command& c) const {
    w.u8(tag_join);
    write_node_fields(w, c.node);
    w.i64(c.at_unix_ms);
  }
  void operator()(const set_status_command& c) const {
    w.u8(tag_set_status);
    w.str(c.id);
    w.u8(static_cast<uint8_t>(c.status));
    w.i64(c.at_unix_ms);
  }
  void operator()(const remove_node_command& c) const {
    w.u8(tag_remove_node);
    w.str(c.id);
  }
  void operator()(const set_placement_command& c) const {
    w.u8(tag_set_placement);
    w.u32(c.index);
    write_replicas(w, c.replicas);
  }
};

command read_command_body(reader& r, uint8_t tag) {
  switch (tag) {
    case tag_bootstrap: {
      bootstrap_command c;
      c.cluster_id = r.str(node_id_bytes_max);
      c.cluster_name = r.str(node_name_bytes_max);
      c.partition_count = r.u32();
      c.replication_factor = r.u32();
      c.first = read_node_fields(r);
      c.at_unix_ms = r.i64();
      return c;
    }
    case tag_join: {
      join_command c;
      c.node = read_node_fields(r);
      c.at_unix_ms = r.i64();
      return c;
    }
    case tag_set_status: {
      set_status_command c;
      c.id = r.str(node_id_bytes_max);
      c.status = read_status(r);
      c.at_unix_ms = r.i64();
      return c;
    }
    case tag_remove_node:
      return remove_node_command{r.str(node_id_bytes_max)};
    case tag_set_placement: {
      set_placement_command c;
      c.index = r.u32();
      c.replicas = read_replicas(r);
      return c;
    }
    default:
      r.fail("unknown command tag " + std::to_string(tag));
      return remove_node_command{};
  }
}

}  // namespace

std::string encode_command(const command& cmd) {
  writer w;
  w.u8(command_format_version);
  std::visit(command_writer{w}, cmd);
  return w.take();
}

bool decode_command(std::string_view bytes, command& out, std::string& error) {
  reader r(bytes);
  const uint8_t version = r.u8();
  if (r.error().empty() && version != command_format_version) {
    r.fail("unknown command format version " + std::to_string(version));
  }
  command decoded = read_command_body(r, r.u8());
  if (!r.finish()) {
    error = "meta command: " + r.error();
    return false;
  }
  out = std::move(decoded);
  return true;
}

std::string encode_snapshot(const meta_state& state) {
  writer w;
  w.u8(snapshot_format_version);
  w.str(state.cluster_id);
  w.str(state.cluster_name);
  w.u32(state.partition_count);
  w.u32(state.replication_factor);
  w.u64(state.next_raft_id);
  w.u64(state.version);
  w.u32(static_cast<uint32_t>(state.nodes.size()));
  for (const auto& [id, node] : state.nodes) {
    write_node_fields(w, node);
    w.u8(static_cast<uint8_t>(node.status));
    w.i64(node.joined_unix_ms);
    w.i64(node.status_changed_unix_ms);
    w.u64(node.raft_id);
  }
  w.u32(static_cast<uint32_t>(state.placement.size()));
  for (const auto& p : state.placement) {
    w.u32(p.index);
    write_replicas(w, p.replicas);
  }
  return w.take();
}

namespace {

void read_snapshot_body(reader& r, meta_state& s) {
  s.cluster_id = r.str(node_id_bytes_max);
  s.cluster_name = r.str(node_name_bytes_max);
  s.partition_count = r.u32();
  s.replication_factor = r.u32();
  s.next_raft_id = r.u64();
  s.version = r.u64();
  const uint32_t node_count = r.count(nodes_max, 49);  // 5 lengths, a count, status, 3 numbers
  for (uint32_t i = 0; i < node_count; ++i) {
    node_record node = read_node_fields(r);
    node.status = read_status(r);
    node.joined_unix_ms = r.i64();
    node.status_changed_unix_ms = r.i64();
    node.raft_id = r.u64();
    if (!s.nodes.empty() && !(s.nodes.rbegin()->first < node.id)) {
      r.fail("nodes out of order or repeated");
    }
    const std::string id = node.id;
    s.nodes.emplace(id, std::move(node));
  }
  const uint32_t placement_count = r.count(partition_count_max, 8);
  s.placement.resize(placement_count);
  for (auto& p : s.placement) {
    p.index = r.u32();
    p.replicas = read_replicas(r);
  }
}

}  // namespace

bool decode_snapshot(std::string_view bytes, meta_state& out, std::string& error) {
  reader r(bytes);
  const uint8_t version = r.u8();
  if (r.error().empty() && version != snapshot_format_version) {
    r.fail("unknown snapshot format version " + std::to_string(version));
  }
  meta_state decoded;
  read_snapshot_body(r, decoded);
  if (!r.finish()) {
    error = "meta snapshot: " + r.error();
    return false;
  }
  if (auto violation = find_invariant_violation(decoded); !violation.empty()) {
    error = "meta snapshot: " + violation;
    return false;
  }
  out = std::move(decoded);
  return true;
}

}  // namespace ck::cluster
