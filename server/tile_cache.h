// A bounded, least-recently-used cache of tile trees (merkle::TileTree),
// so that the node hashes inside a tile are computed once, not on every
// proof: an inclusion proof needs up to eight nodes inside each tile on its
// path, 247 SHA-256 computations per tile when computed from the tile's
// hashes.
//
// Entries are keyed by tile (level, index). A tile's hashes never change
// as it grows (only more are appended), so a cached tree answers for every
// node inside its width; a wider read replaces it.
//
// Thread-safety: safe for concurrent use (one mutex; trees are shared,
// immutable, and built outside it).

#ifndef VIGIL_SERVER_TILE_CACHE_H_
#define VIGIL_SERVER_TILE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "merkle/tiles.h"

namespace vigil::server {

class TileCache {
 public:
  // Holds trees of at most `capacity_bytes` of hashes in all (0: none).
  explicit TileCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  TileCache(const TileCache&) = delete;
  TileCache& operator=(const TileCache&) = delete;

  // The cached tree of tile (level, index) if it is at least `width` hashes
  // wide; null otherwise. Marks it recently used.
  std::shared_ptr<const merkle::TileTree> Find(uint8_t level, uint64_t index,
                                               size_t width);

  // Keeps `tree` for tile (level, index), unless a tree at least as wide is
  // already kept; then evicts the least recently used trees beyond the
  // capacity.
  void Insert(uint8_t level, uint64_t index,
              std::shared_ptr<const merkle::TileTree> tree);

  // Bytes of hashes held now.
  [[nodiscard]] size_t bytes() const;

 private:
  using Key = std::pair<uint8_t, uint64_t>;
  struct Slot {
    std::shared_ptr<const merkle::TileTree> tree;
    std::list<Key>::iterator recency;  // Its place in recency_.
  };

  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, Slot> slots_ ABSL_GUARDED_BY(mu_);
  std::list<Key> recency_ ABSL_GUARDED_BY(mu_);  // Most recent first.
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_TILE_CACHE_H_
