#include "server/tile_cache.h"

namespace vigil::server {

std::shared_ptr<const merkle::TileTree> TileCache::Find(uint8_t level,
                                                        uint64_t index,
                                                        size_t width) {
  absl::MutexLock lock(&mu_);
  auto it = slots_.find({level, index});
  if (it == slots_.end() || it->second.tree->width() < width) return nullptr;
  recency_.splice(recency_.begin(), recency_, it->second.recency);
  return it->second.tree;
}

void TileCache::Insert(uint8_t level, uint64_t index,
                       std::shared_ptr<const merkle::TileTree> tree) {
  const size_t size = tree->bytes();
  if (size > capacity_) return;
  absl::MutexLock lock(&mu_);
  const Key key{level, index};
  auto it = slots_.find(key);
  if (it != slots_.end()) {
    if (it->second.tree->width() >= tree->width()) return;
    bytes_ -= it->second.tree->bytes();
    it->second.tree = std::move(tree);
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  } else {
    recency_.push_front(key);
    slots_.emplace(key, Slot{std::move(tree), recency_.begin()});
  }
  bytes_ += size;
  while (bytes_ > capacity_) {
    auto victim = slots_.find(recency_.back());
    bytes_ -= victim->second.tree->bytes();
    slots_.erase(victim);
    recency_.pop_back();
  }
}

size_t TileCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace vigil::server
