#include "runtime/raft/types.hpp"

namespace ck::raft {

namespace {

// The encoding's layout (see types.hpp): version, type, node, then the context.
constexpr uint8_t conf_change_version = 1;
constexpr size_t conf_change_header_bytes = 1 + 1 + 8;
static_assert(conf_change_header_bytes == 10, "version + type + u64 node");

}  // namespace

std::string encode_conf_change(const conf_change& change) {
  std::string bytes;
  bytes.reserve(conf_change_header_bytes + change.context.size());
  bytes.push_back(static_cast<char>(conf_change_version));
  bytes.push_back(static_cast<char>(change.type));
  for (int shift = 56; shift >= 0; shift -= 8) {
    bytes.push_back(static_cast<char>((change.node >> shift) & 0xffu));
  }
  bytes.append(change.context);
  return bytes;
}

bool decode_conf_change(const std::string& bytes, conf_change& out) {
  if (bytes.size() < conf_change_header_bytes) {
    return false;
  }
  if (static_cast<uint8_t>(bytes[0]) != conf_change_version) {
    return false;
  }
  const auto type = static_cast<uint8_t>(bytes[1]);
  if (type > static_cast<uint8_t>(conf_change_type::remove_node)) {
    return false;
  }
  node_id node = 0;
  for (size_t i = 2; i < conf_change_header_bytes; ++i) {
    node = (node << 8) | static_cast<uint8_t>(bytes[i]);
  }
  out.type = static_cast<conf_change_type>(type);
  out.node = node;
  out.context.assign(bytes, conf_change_header_bytes, std::string::npos);
  return true;
}

std::string_view to_string(message_type type) {
  switch (type) {
    case message_type::append:
      return "append";
    case message_type::append_response:
      return "append_response";
    case message_type::heartbeat:
      return "heartbeat";
    case message_type::heartbeat_response:
      return "heartbeat_response";
    case message_type::vote:
      return "vote";
    case message_type::vote_response:
      return "vote_response";
    case message_type::pre_vote:
      return "pre_vote";
    case message_type::pre_vote_response:
      return "pre_vote_response";
    case message_type::install_snapshot:
      return "install_snapshot";
    case message_type::timeout_now:
      return "timeout_now";
  }
  return "unknown";
}

}  // namespace ck::raft
