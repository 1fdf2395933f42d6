// The log's read path: proofs, entries and tlog-tiles resources, read from
// Storage in O(log n) tile reads. Used by the gRPC read API, the HTTP tile
// server and export-tiles.
//
// Every read names the tree size it is for; callers pass a size that a
// published checkpoint covers (never more than the stored tree).
//
// Node hashes inside tiles are computed once per tile and kept in a bounded
// cache (TileCache): stored tiles are immutable except for growing, so the
// cache never goes stale.
//
// Thread-safety: safe for concurrent use (the cache has its own lock).

#ifndef VIGIL_SERVER_LOG_READER_H_
#define VIGIL_SERVER_LOG_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/hash.h"
#include "merkle/tiles.h"
#include "server/storage.h"
#include "server/tile_cache.h"

namespace vigil::server {

class LogReader {
 public:
  // Bytes of tile trees kept by default (TileCache): every tile of a log
  // of 10^6 entries, and the upper levels of any log.
  static constexpr size_t kDefaultTileCacheBytes = size_t{64} << 20;

  // `storage` is borrowed and must outlive the reader. `tile_cache_bytes`
  // bounds the cache of node hashes inside tiles (0: none).
  explicit LogReader(Storage* storage,
                     size_t tile_cache_bytes = kDefaultTileCacheBytes)
      : storage_(storage), cache_(tile_cache_bytes) {}

  // The inclusion proof of entry `index` in the tree of `tree_size`
  // entries. OUT_OF_RANGE unless index < tree_size; DATA_LOSS if a stored
  // tile is missing or malformed.
  absl::StatusOr<std::vector<merkle::Hash>> InclusionProof(uint64_t index,
                                                           uint64_t tree_size);

  // The consistency proof from `old_size` to `new_size`. INVALID_ARGUMENT
  // if old_size > new_size; DATA_LOSS as above.
  absl::StatusOr<std::vector<merkle::Hash>> ConsistencyProof(uint64_t old_size,
                                                             uint64_t new_size);

  // The root of the tree of `tree_size` entries, from stored tiles.
  absl::StatusOr<merkle::Hash> RootHash(uint64_t tree_size);

  // The index of the entry with this leaf hash, if it is in the tree of
  // `tree_size` entries; NOT_FOUND otherwise.
  absl::StatusOr<uint64_t> FindLeaf(const merkle::Hash& leaf_hash,
                                    uint64_t tree_size);

  // Entries [begin, end). OUT_OF_RANGE if end > tree_size or begin > end.
  absl::StatusOr<std::vector<std::string>> Entries(uint64_t begin, uint64_t end,
                                                   uint64_t tree_size);

  // The bytes of hash tile `tile` as served for the tree of `tree_size`
  // entries: NOT_FOUND unless that tree has this tile at exactly this width
  // (a full tile, or the partial tile of that size).
  absl::StatusOr<std::string> Tile(const merkle::TileID& tile,
                                   uint64_t tree_size);

  // The bytes of entry bundle `bundle` for the tree of `tree_size` entries;
  // NOT_FOUND as for Tile.
  absl::StatusOr<std::string> EntryBundle(const merkle::EntryBundleID& bundle,
                                          uint64_t tree_size);

 private:
  // The node hashes of `ids` for the tree of `tree_size` entries.
  absl::StatusOr<std::vector<merkle::Hash>> NodeHashes(
      const std::vector<merkle::NodeID>& ids, uint64_t tree_size);

  // The tree of the tile holding `where`, at least where.end hashes wide:
  // cached, or read, checked and cached. DATA_LOSS for a missing, malformed
  // or too narrow stored tile.
  absl::StatusOr<std::shared_ptr<const merkle::TileTree>> TreeOf(
      const merkle::NodeInTile& where, uint64_t tree_size);

  Storage* storage_;
  TileCache cache_;
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_LOG_READER_H_
