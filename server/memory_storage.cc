#include "server/memory_storage.h"

#include <algorithm>
#include <cstddef>

#include "absl/strings/str_format.h"
#include "server/storage_keys.h"

namespace vigil::server {

absl::StatusOr<LogState> MemoryStorage::ReadState() {
  absl::MutexLock lock(&mu_);
  return state_;
}

absl::StatusOr<std::vector<std::string>> MemoryStorage::ReadEntries(
    uint64_t begin, uint64_t end) {
  if (begin > end) {
    return absl::InvalidArgumentError(
        absl::StrFormat("entry range [%d, %d) has begin past end", begin, end));
  }
  if (begin == end) return std::vector<std::string>();
  absl::MutexLock lock(&mu_);
  if (end > entries_.size()) {
    return absl::NotFoundError(absl::StrFormat(
        "entry %d not stored (log has %d entries)",
        std::max<uint64_t>(begin, entries_.size()), entries_.size()));
  }
  return std::vector<std::string>(
      entries_.begin() + static_cast<std::ptrdiff_t>(begin),
      entries_.begin() + static_cast<std::ptrdiff_t>(end));
}

absl::StatusOr<std::string> MemoryStorage::ReadTile(uint8_t level,
                                                    uint64_t index) {
  absl::MutexLock lock(&mu_);
  auto it = tiles_.find({level, index});
  if (it == tiles_.end()) {
    return absl::NotFoundError(
        absl::StrFormat("tile %d/%d not stored", level, index));
  }
  return it->second;
}

absl::StatusOr<std::optional<uint64_t>> MemoryStorage::FindLeaf(
    const merkle::Hash& leaf_hash) {
  absl::MutexLock lock(&mu_);
  auto it = leaves_.find(leaf_hash);
  if (it == leaves_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
MemoryStorage::ReadRegistry() {
  absl::MutexLock lock(&mu_);
  return std::vector<std::pair<std::string, std::string>>(registry_.begin(),
                                                          registry_.end());
}

absl::Status MemoryStorage::Commit(const WriteSet& writes) {
  absl::MutexLock lock(&mu_);
  // Validate everything first: once applying starts nothing can fail, so a
  // Commit is all or nothing.
  if (absl::Status s = storage_keys::ValidateWriteSet(writes, entries_.size());
      !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < writes.entries.size(); ++i) {
    entries_.push_back(writes.entries[i]);
    leaves_[writes.leaf_hashes[i]] = writes.first_index + i;
  }
  for (const WriteSet::Tile& tile : writes.tiles) {
    tiles_[{tile.level, tile.index}] = tile.data;
  }
  for (const auto& [public_key, record] : writes.registry) {
    registry_[public_key] = record;
  }
  if (writes.state.has_value()) state_ = *writes.state;
  return absl::OkStatus();
}

}  // namespace vigil::server
