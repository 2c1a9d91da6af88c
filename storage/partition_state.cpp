#include "storage/partition_state.hpp"

#include "storage/detail/assert.hpp"
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

result<uint64_t> load_partition_applied(environment& env, uint32_t group) {
  result<read_txn> txn = env.begin_read();
  if (!txn.ok()) {
    return txn.status();
  }
  const auto what = fmt::format("cannot read the applied index of group {} in {}", group,
                                detail::txn_access::dir(txn.value()));
  auto value = detail::get_copy(detail::txn_access::handle(txn.value()),
                                detail::txn_access::dbi(txn.value(), database::meta),
                                applied_key(group), what);
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

status save_partition_applied(write_txn& txn, uint32_t group, uint64_t index) {
  std::string bytes;
  append_u64_be(bytes, index);
  return detail::put(txn, database::meta, applied_key(group), bytes);
}

status erase_partition_applied(write_txn& txn, uint32_t group) {
  auto erased = detail::erase(txn, database::meta, applied_key(group));
  return erased.ok() ? status{} : erased.status();
}

}  // namespace ck::storage
