#include "storage/partition_state.hpp"

#include "runtime/base/assert.hpp"
#include "storage/detail/lmdb_ops.hpp"
#include "storage/environment.hpp"
#include "storage/format.hpp"

#include <fmt/format.h>

#include <string>

namespace ck::storage {

namespace {

std::string applied_key(uint32_t group) {
  std::string key{meta_key_applied_prefix};
  append_u32_be(key, group);
  return key;
}

}  // namespace

result<uint64_t> load_partition_applied(read_txn& txn, uint32_t group) {
  const auto what = fmt::format("cannot read the applied index of group {} in {}", group,
                                detail::txn_access::dir(txn));
  auto value = detail::get_copy(detail::txn_access::handle(txn),
                                detail::txn_access::dbi(txn, database::meta), applied_key(group),
                                what);
  if (!value.ok()) {
    return value.status();
  }
  if (!value.value().has_value()) {
    return uint64_t{0};
  }
  const std::string& bytes = *value.value();
  if (bytes.size() != 8) {
    return status::corruption(fmt::format("applied index of group {} has {} bytes, not 8",
                                          group, bytes.size()));
  }
  return get_u64_be(bytes.data());
}

result<uint64_t> load_partition_applied(environment& env, uint32_t group) {
  result<read_txn> txn = env.begin_read();
  if (!txn.ok()) {
    return txn.status();
  }
  return load_partition_applied(txn.value(), group);
}

status save_partition_applied(write_txn& txn, uint32_t group, uint64_t index) {
  std::string bytes;
  append_u64_be(bytes, index);
  return detail::put(txn, database::meta, applied_key(group), bytes);
}

status erase_partition_applied(write_txn& txn, uint32_t group) {
  auto erased = detail::erase(txn, database::meta, applied_key(group));
  return erased.ok() ? status{} : erased.status();
}

result<std::optional<std::vector<std::string>>> load_machine_names(environment& env) {
  auto value = detail::read_meta(env, meta_key_machines, "the state machine names");
  if (!value.ok()) {
    return value.status();
  }
  if (!value.value().has_value()) {
    return std::optional<std::vector<std::string>>{};
  }
  const std::string& bytes = *value.value();
  auto corrupt = [] { return status::corruption("the state machine names record is malformed"); };
  if (bytes.size() < 4) {
    return corrupt();
  }
  const uint32_t count = get_u32_be(bytes.data());
  std::vector<std::string> names;
  size_t at = 4;
  for (uint32_t i = 0; i < count && i < table_slots_max; ++i) {
    if (at >= bytes.size()) {
      return corrupt();
    }
    const size_t n = static_cast<uint8_t>(bytes[at++]);
    if (n == 0 || bytes.size() - at < n) {
      return corrupt();
    }
    names.emplace_back(bytes.substr(at, n));
    at += n;
  }
  if (names.size() != count || at != bytes.size()) {
    return corrupt();
  }
  return std::optional<std::vector<std::string>>{std::move(names)};
}

status save_machine_names(environment& env, const std::vector<std::string>& names) {
  std::string bytes;
  append_u32_be(bytes, static_cast<uint32_t>(names.size()));
  for (const auto& name : names) {
    CK_ASSERT(!name.empty() && name.size() <= 255);
    bytes.push_back(static_cast<char>(name.size()));
    bytes.append(name);
  }
  return env.write([&](write_txn& txn) {
    return detail::put(txn, database::meta, std::string{meta_key_machines}, bytes);
  });
}

}  // namespace ck::storage
