// RocksDBStorage: the production Storage, one RocksDB database in a
// directory. The key layout is in storage_keys.h (docs/storage_format.md).
//
// Every Commit is one rocksdb::WriteBatch written with sync = true: the
// write-ahead log is fsync'ed before Commit returns OK, so an acknowledged
// write survives a crash or power loss, and a batch is applied whole or not
// at all. After the first failed write the storage refuses all later writes
// with that error (sticky, like leveldb's bg_error_); reads keep working.
// Restart (re-Open) to write again.

#ifndef VIGIL_SERVER_ROCKSDB_STORAGE_H_
#define VIGIL_SERVER_ROCKSDB_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "merkle/hash.h"
#include "server/storage.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace vigil::server {

// How RocksDBStorage::Open opens the database. The defaults suit production;
// durability (sync writes, paranoid checks) is not configurable.
struct RocksDBOptions {
  // Create an empty database if `dir` holds none; otherwise Open of a
  // missing database fails (INVALID_ARGUMENT).
  bool create_if_missing = true;
  // Bytes of the LRU block cache shared by data, index and filter blocks.
  size_t block_cache_bytes = size_t{64} << 20;
  // Optional: the Env RocksDB does all its file I/O through, e.g. one that
  // injects faults in tests. Not owned; must outlive the storage. nullptr
  // means the default (POSIX) Env.
  rocksdb::Env* env = nullptr;
};

// Thread-safety: safe for concurrent use. Commits are serialised by an
// internal mutex; reads take no lock and see each Commit whole or not at
// all (a WriteBatch is atomic in RocksDB).
class RocksDBStorage final : public Storage {
 public:
  // Opens (or, with create_if_missing, creates) the database in `dir` and
  // checks that it is consistent: the state decodes and its size equals the
  // number of stored entries, which are numbered from 0. Errors carry
  // RocksDB's text: DATA_LOSS for corruption or an inconsistent store,
  // UNAVAILABLE for I/O errors (including a database already open in
  // another process or object), INVALID_ARGUMENT for a missing database
  // without create_if_missing.
  static absl::StatusOr<std::unique_ptr<RocksDBStorage>> Open(
      const std::string& dir, const RocksDBOptions& options);

  // Closes the database. Acknowledged writes are already durable.
  ~RocksDBStorage() override;

  RocksDBStorage(const RocksDBStorage&) = delete;
  RocksDBStorage& operator=(const RocksDBStorage&) = delete;

  // See Storage. DATA_LOSS if the stored state does not decode.
  absl::StatusOr<LogState> ReadState() override;

  // See Storage: one iterator seek, then a scan. INVALID_ARGUMENT if
  // begin > end. The whole range is returned in memory; callers bound it.
  absl::StatusOr<std::vector<std::string>> ReadEntries(uint64_t begin,
                                                       uint64_t end) override;

  // See Storage.
  absl::StatusOr<std::string> ReadTile(uint8_t level, uint64_t index) override;

  // See Storage. A leaf hash written twice maps to its latest index (the
  // sequencer de-duplicates before it writes). DATA_LOSS if the stored
  // index is malformed.
  absl::StatusOr<std::optional<uint64_t>> FindLeaf(
      const merkle::Hash& leaf_hash) override;

  // See Storage. DATA_LOSS if a stored registry key is malformed.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ReadRegistry() override;

  // See Storage. INVALID_ARGUMENT (not sticky, nothing written) for any
  // WriteSet that storage_keys::ValidateWriteSet refuses. UNAVAILABLE, or
  // DATA_LOSS for corruption, when RocksDB fails the write; from then on
  // every Commit returns that first error without touching the database.
  absl::Status Commit(const WriteSet& writes) override;

 private:
  RocksDBStorage(std::unique_ptr<rocksdb::DB> db, uint64_t entry_count);

  std::unique_ptr<rocksdb::DB> db_;
  // Serialises Commit, so that entry_count_ matches what is stored.
  absl::Mutex mu_;
  // Entries stored: the index the next entry must have.
  uint64_t entry_count_ ABSL_GUARDED_BY(mu_);
  // The first failed write; OK while none failed.
  absl::Status write_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_ROCKSDB_STORAGE_H_
