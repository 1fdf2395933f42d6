// MemoryStorage: a Storage that keeps everything in process memory, for
// tests and tools. It refuses exactly the WriteSets RocksDBStorage refuses
// (storage_keys::ValidateWriteSet) and nothing it holds survives the process.

#ifndef VIGIL_SERVER_MEMORY_STORAGE_H_
#define VIGIL_SERVER_MEMORY_STORAGE_H_

#include <cstdint>
#include <map>
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

namespace vigil::server {

// Thread-safety: safe for concurrent use. One mutex guards all data, and a
// Commit applies under it, so readers see each Commit whole or not at all.
class MemoryStorage final : public Storage {
 public:
  // An empty log: size 0, no entries, tiles or registry records.
  MemoryStorage() = default;

  MemoryStorage(const MemoryStorage&) = delete;
  MemoryStorage& operator=(const MemoryStorage&) = delete;

  // See Storage. Never DATA_LOSS: the state is held decoded.
  absl::StatusOr<LogState> ReadState() override;

  // See Storage. INVALID_ARGUMENT if begin > end.
  absl::StatusOr<std::vector<std::string>> ReadEntries(uint64_t begin,
                                                       uint64_t end) override;

  // See Storage.
  absl::StatusOr<std::string> ReadTile(uint8_t level, uint64_t index) override;

  // See Storage. A leaf hash written twice maps to its latest index (the
  // sequencer de-duplicates before it writes).
  absl::StatusOr<std::optional<uint64_t>> FindLeaf(
      const merkle::Hash& leaf_hash) override;

  // See Storage.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ReadRegistry() override;

  // See Storage; INVALID_ARGUMENT for any WriteSet that
  // storage_keys::ValidateWriteSet refuses, with nothing written. Otherwise
  // always OK ("durable" only for the life of the object).
  absl::Status Commit(const WriteSet& writes) override;

 private:
  absl::Mutex mu_;
  std::vector<std::string> entries_ ABSL_GUARDED_BY(mu_);
  std::map<merkle::Hash, uint64_t> leaves_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<uint8_t, uint64_t>, std::string> tiles_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> registry_ ABSL_GUARDED_BY(mu_);
  LogState state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_MEMORY_STORAGE_H_
