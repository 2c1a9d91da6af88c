#include "storage/environment.hpp"

#include <lmdb.h>

#include <filesystem>
#include <system_error>
#include <type_traits>

#include <fmt/format.h>

#include "storage/detail/lmdb_ops.hpp"
#include "storage/detail/txn_gate.hpp"

namespace ck::storage {

static_assert(std::is_same_v<MDB_dbi, unsigned int>, "environment::dbis_ stores MDB_dbi");

namespace {

// write() reruns a fill at most this often. Each rerun follows a doubling of the map, and a map
// of at least map_size_bytes_min (2^16) reaches any 64-bit maximum within 48 doublings.
constexpr uint32_t write_attempts_max = 64;
static_assert(map_size_bytes_min == uint64_t{1} << 16);
static_assert(write_attempts_max > 64 - 16);

constexpr unsigned int file_mode = 0644;

}  // namespace

status validate(const environment_options& options) {
  if (options.dir.empty()) {
    return status::invalid_argument("environment_options.dir must not be empty");
  }
  if (options.map_size_bytes < map_size_bytes_min) {
    return status::invalid_argument(
        fmt::format("environment_options.map_size_bytes is {}, must be at least {}",
                    options.map_size_bytes, map_size_bytes_min));
  }
  if (options.map_size_max_bytes < options.map_size_bytes) {
    return status::invalid_argument(
        fmt::format("environment_options.map_size_max_bytes ({}) must be >= map_size_bytes ({})",
                    options.map_size_max_bytes, options.map_size_bytes));
  }
  if (options.max_readers == 0) {
    return status::invalid_argument("environment_options.max_readers must be at least 1");
  }
  if (options.lock_wait_ms_max == 0 || options.lock_wait_ms_max > lock_wait_ms_limit) {
    return status::invalid_argument(
        fmt::format("environment_options.lock_wait_ms_max is {}, must be in 1..{}",
                    options.lock_wait_ms_max, lock_wait_ms_limit));
  }
  return status::success();
}

// ---- read_txn ---------------------------------------------------------------------------------

read_txn::read_txn(environment& env, MDB_txn* handle) noexcept : env_(&env), handle_(handle) {
  CK_ASSERT(handle_ != nullptr);
}

read_txn::read_txn(read_txn&& other) noexcept : env_(other.env_), handle_(other.handle_) {
  other.handle_ = nullptr;
}

read_txn& read_txn::operator=(read_txn&& other) noexcept {
  if (this != &other) {
    if (active()) {
      end();
    }
    env_ = other.env_;
    handle_ = other.handle_;
    other.handle_ = nullptr;
  }
  return *this;
}

read_txn::~read_txn() {
  if (active()) {
    end();
  }
}

void read_txn::end() noexcept {
  CK_ASSERT(active());
  mdb_txn_abort(handle_);
  handle_ = nullptr;
  env_->gate_->leave_read();
}

// ---- write_txn --------------------------------------------------------------------------------

write_txn::write_txn(environment& env, MDB_txn* handle) noexcept : env_(&env), handle_(handle) {
  CK_ASSERT(handle_ != nullptr);
}

write_txn::write_txn(write_txn&& other) noexcept
    : env_(other.env_),
      handle_(other.handle_),
      failure_(std::move(other.failure_)),
      written_bytes_(other.written_bytes_) {
  other.handle_ = nullptr;
}

write_txn& write_txn::operator=(write_txn&& other) noexcept {
  if (this != &other) {
    if (active()) {
      abort();
    }
    env_ = other.env_;
    handle_ = other.handle_;
    failure_ = std::move(other.failure_);
    written_bytes_ = other.written_bytes_;
    other.handle_ = nullptr;
  }
  return *this;
}

write_txn::~write_txn() {
  if (active()) {
    abort();
  }
}

status write_txn::commit() {
  CK_ASSERT(active());
  if (!failure_.ok()) {
    abort();
    return failure_;
  }
  // mdb_txn_commit frees the transaction whether or not it succeeds.
  const int rc = mdb_txn_commit(handle_);
  handle_ = nullptr;
  if (rc == MDB_SUCCESS) {
    env_->on_commit(written_bytes_);
  }
  env_->gate_->leave_write();
  return from_lmdb(rc, fmt::format("cannot commit write transaction in {}", env_->options_.dir));
}

void write_txn::abort() noexcept {
  CK_ASSERT(active());
  mdb_txn_abort(handle_);
  end();
}

void write_txn::end() noexcept {
  handle_ = nullptr;
  env_->gate_->leave_write();
}

// ---- environment ------------------------------------------------------------------------------

environment::environment(private_tag, const environment_options& options)
    : options_(options),
      gate_(
          std::make_unique<detail::txn_gate>(std::chrono::milliseconds(options.lock_wait_ms_max))) {
}

environment::~environment() {
  CK_ASSERT_EQ(gate_->open_count(), 0u);
  if (env_ != nullptr) {
    mdb_env_close(env_);
  }
}

result<std::unique_ptr<environment>> environment::open(const environment_options& options) {
  if (status valid = validate(options); !valid.ok()) {
    return valid;
  }
  std::error_code error;
  std::filesystem::create_directories(options.dir, error);
  if (error) {
    return status::io_error(
        fmt::format("cannot create directory {}: {}", options.dir, error.message()));
  }
  auto env = std::make_unique<environment>(private_tag{}, options);
  if (status opened = env->open_lmdb(); !opened.ok()) {
    return opened;
  }
  if (status opened = env->open_databases(); !opened.ok()) {
    return opened;
  }
  env->refresh_sizes();
  return env;
}

status environment::open_lmdb() {
  const std::string what = fmt::format("cannot open LMDB environment in {}", options_.dir);
  int rc = mdb_env_create(&env_);
  if (rc != MDB_SUCCESS) {
    env_ = nullptr;
    return from_lmdb(rc, what);
  }
  rc = mdb_env_set_maxreaders(env_, options_.max_readers);
  if (rc == MDB_SUCCESS) {
    rc = mdb_env_set_maxdbs(env_, databases_max);
  }
  if (rc == MDB_SUCCESS) {
    rc = mdb_env_set_mapsize(env_, static_cast<size_t>(options_.map_size_bytes));
  }
  // MDB_NOTLS: read transactions are used from actor threads that migrate. Never MDB_NOSUBDIR:
  // the environment owns its directory.
  unsigned int flags = MDB_NOTLS;
  if (!options_.sync) {
    flags |= static_cast<unsigned>(MDB_NOSYNC);
  } else if (options_.defer_meta_sync) {
    flags |= static_cast<unsigned>(MDB_NOMETASYNC);
  }
  if (rc == MDB_SUCCESS) {
    rc = mdb_env_open(env_, options_.dir.c_str(), flags, file_mode);
  }
  if (rc != MDB_SUCCESS) {
    return from_lmdb(rc, what);
  }
  const int key_bytes_max = mdb_env_get_maxkeysize(env_);
  if (key_bytes_max < 0 || static_cast<std::size_t>(key_bytes_max) < lmdb_key_bytes_max) {
    return status::internal(fmt::format("LMDB in {} allows keys of {} bytes, format needs {}",
                                        options_.dir, key_bytes_max, lmdb_key_bytes_max));
  }
  // Reader slots of processes that died (kill -9) would otherwise stay taken.
  int dead_readers = 0;
  return from_lmdb(mdb_reader_check(env_, &dead_readers), what);
}

namespace {

// Writes the format version into a fresh environment, or checks the one found.
// Requires: dbis holds every database of storage/format.hpp, opened in `txn`.
status check_format_version(MDB_txn* txn, const MDB_dbi (&dbis)[database_count],
                            const std::string& dir) {
  const MDB_dbi meta = dbis[static_cast<std::size_t>(database::meta)];
  MDB_val key = detail::to_val(meta_key_format_version);
  MDB_val value{};
  const int rc = mdb_get(txn, meta, &key, &value);
  if (rc == MDB_SUCCESS) {
    if (value.mv_size != sizeof(uint32_t)) {
      return status::corruption(
          fmt::format("format version record in {} has {} bytes, expected 4", dir, value.mv_size));
    }
    const uint32_t found = get_u32_be(static_cast<const char*>(value.mv_data));
    if (found != format_version) {
      return status::version_mismatch(
          fmt::format("LMDB environment in {} has storage format version {}; this build reads "
                      "version {} only",
                      dir, found, format_version));
    }
    return status::success();
  }
  if (rc != MDB_NOTFOUND) {
    return from_lmdb(rc, fmt::format("cannot read format version in {}", dir));
  }
  for (const MDB_dbi dbi : dbis) {
    MDB_stat stat{};
    if (const int stat_rc = mdb_stat(txn, dbi, &stat); stat_rc != MDB_SUCCESS) {
      return from_lmdb(stat_rc, fmt::format("cannot count records in {}", dir));
    }
    if (stat.ms_entries != 0) {
      return status::corruption(
          fmt::format("LMDB environment in {} holds data but no format version record", dir));
    }
  }
  char bytes[sizeof(uint32_t)];
  put_u32_be(bytes, format_version);
  MDB_val version{sizeof bytes, bytes};
  return from_lmdb(mdb_put(txn, meta, &key, &version, 0),
                   fmt::format("cannot write format version in {}", dir));
}

}  // namespace

status environment::open_databases() {
  result<write_txn> txn = begin_write();
  if (!txn.ok()) {
    return txn.status();
  }
  MDB_txn* handle = detail::txn_access::handle(txn.value());
  for (std::size_t i = 0; i < database_count; ++i) {
    const std::string_view name = database_name(static_cast<database>(i));
    CK_ASSERT(!name.empty());
    const std::string name_z(name);
    const int rc = mdb_dbi_open(handle, name_z.c_str(), MDB_CREATE, &dbis_[i]);
    if (rc != MDB_SUCCESS) {
      return from_lmdb(rc, fmt::format("cannot open database \"{}\" in {}", name, options_.dir));
    }
  }
  status checked = check_format_version(handle, dbis_, options_.dir);
  if (!checked.ok()) {
    return checked;  // txn aborts; the handles die with the environment
  }
  return txn.value().commit();
}

result<read_txn> environment::begin_read() {
  if (!gate_->enter_read()) {
    return status::busy(fmt::format("read transaction in {} waited {} ms for map growth",
                                    options_.dir, options_.lock_wait_ms_max));
  }
  MDB_txn* handle = nullptr;
  const int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &handle);
  if (rc != MDB_SUCCESS) {
    gate_->leave_read();
    return from_lmdb(rc, fmt::format("cannot begin read transaction in {}", options_.dir));
  }
  return read_txn(*this, handle);
}

result<write_txn> environment::begin_write() {
  if (!gate_->enter_write()) {
    return status::busy(
        fmt::format("write transaction in {} waited {} ms for the writer slot (one writer at a "
                    "time) or for map growth",
                    options_.dir, options_.lock_wait_ms_max));
  }
  MDB_txn* handle = nullptr;
  const int rc = mdb_txn_begin(env_, nullptr, 0, &handle);
  if (rc != MDB_SUCCESS) {
    gate_->leave_write();
    return from_lmdb(rc, fmt::format("cannot begin write transaction in {}", options_.dir));
  }
  return write_txn(*this, handle);
}

void environment::set_write_wanted(std::function<void()> hook) {
  gate_->set_write_wanted(std::move(hook));
}

status environment::write(const std::function<status(write_txn&)>& fill) {
  for (uint32_t attempt = 0; attempt < write_attempts_max; ++attempt) {
    const uint64_t observed_map_size_bytes = map_size_bytes_.load(std::memory_order_relaxed);
    result<write_txn> txn = begin_write();
    if (!txn.ok()) {
      return txn.status();
    }
    status filled = fill(txn.value());
    CK_ASSERT(txn.value().active());  // fill must neither commit nor abort
    status outcome = filled.ok() ? txn.value().commit() : std::move(filled);
    if (outcome.code() != code::map_full) {
      return outcome;
    }
    if (txn.value().active()) {
      txn.value().abort();  // growth needs every transaction closed, this one included
    }
    if (status grown = grow_map(observed_map_size_bytes); !grown.ok()) {
      return grown;
    }
  }
  return status::map_full(fmt::format("write in {} still met a full map after {} growths",
                                      options_.dir, write_attempts_max));
}

status environment::grow_map(uint64_t observed_map_size_bytes) {
  if (!gate_->begin_exclusive()) {
    return status::busy(fmt::format(
        "map growth in {} waited {} ms for open transactions to end (does the writer hold a "
        "read_txn?)",
        options_.dir, options_.lock_wait_ms_max));
  }
  struct exclusive_guard {
    detail::txn_gate& gate;
    ~exclusive_guard() { gate.end_exclusive(); }
  } guard{*gate_};

  const uint64_t current = map_size_bytes_.load(std::memory_order_relaxed);
  if (current != observed_map_size_bytes) {
    return status::success();  // another writer grew the map while this one waited
  }
  if (current >= options_.map_size_max_bytes) {
    return status::map_full(
        fmt::format("LMDB map in {} is full at {} bytes (environment_options.map_size_max_bytes)",
                    options_.dir, current));
  }
  const uint64_t target =
      current > options_.map_size_max_bytes / 2 ? options_.map_size_max_bytes : current * 2;
  const int rc = mdb_env_set_mapsize(env_, static_cast<size_t>(target));
  if (rc != MDB_SUCCESS) {
    return from_lmdb(rc,
                     fmt::format("cannot grow LMDB map in {} to {} bytes", options_.dir, target));
  }
  refresh_sizes();
  CK_ASSERT_GE(map_size_bytes_.load(std::memory_order_relaxed), target);
  map_growth_count_.fetch_add(1, std::memory_order_relaxed);
  return status::success();
}

status environment::reserve(uint64_t free_bytes) {
  while (true) {
    const uint64_t size = map_size_bytes_.load(std::memory_order_relaxed);
    const uint64_t used = used_bytes_.load(std::memory_order_relaxed);
    if (size >= used && size - used >= free_bytes) {
      return status::success();
    }
    if (size >= options_.map_size_max_bytes) {
      return status::map_full(fmt::format(
          "LMDB map in {} cannot keep {} bytes free: {} of its {} bytes are used "
          "(environment_options.map_size_max_bytes)",
          options_.dir, free_bytes, used, size));
    }
    if (status grown = grow_map(size); !grown.ok()) {
      return grown;
    }
  }
}

status environment::sync_now() {
  if (!gate_->enter_read()) {
    return status::busy(fmt::format("sync of {} waited {} ms for map growth", options_.dir,
                                    options_.lock_wait_ms_max));
  }
  const int rc = mdb_env_sync(env_, 1);
  gate_->leave_read();
  if (rc == MDB_SUCCESS) {
    fsync_count_.fetch_add(1, std::memory_order_relaxed);
  }
  return from_lmdb(rc, fmt::format("cannot sync LMDB environment in {}", options_.dir));
}

// Requires: the caller holds the writer slot or the exclusive section, so the map is stable.
void environment::refresh_sizes() noexcept {
  MDB_envinfo info{};
  MDB_stat stat{};
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &stat);
  map_size_bytes_.store(info.me_mapsize, std::memory_order_relaxed);
  used_bytes_.store((uint64_t{info.me_last_pgno} + 1) * stat.ms_psize, std::memory_order_relaxed);
}

void environment::on_commit(uint64_t written_bytes) noexcept {
  commit_count_.fetch_add(1, std::memory_order_relaxed);
  if (options_.sync) {
    fsync_count_.fetch_add(1, std::memory_order_relaxed);
  }
  written_bytes_.fetch_add(written_bytes, std::memory_order_relaxed);
  refresh_sizes();
}

environment_stats environment::stats() const noexcept {
  environment_stats snapshot;
  snapshot.commit_count = commit_count_.load(std::memory_order_relaxed);
  snapshot.fsync_count = fsync_count_.load(std::memory_order_relaxed);
  snapshot.written_bytes = written_bytes_.load(std::memory_order_relaxed);
  snapshot.map_size_bytes = map_size_bytes_.load(std::memory_order_relaxed);
  snapshot.map_growth_count = map_growth_count_.load(std::memory_order_relaxed);
  snapshot.used_bytes = used_bytes_.load(std::memory_order_relaxed);
  return snapshot;
}

uint64_t environment::used_bytes() const noexcept {
  return used_bytes_.load(std::memory_order_relaxed);
}

}  // namespace ck::storage
