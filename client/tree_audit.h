// Reading and checking a tlog-tiles log through a TileSource: the whole
// tree recomputed from its entries (a monitor's tree-level audit), and
// inclusion proofs assembled from tiles.
//
// Thread-safety: functions are safe to call concurrently as long as the
// TileSource is.

#ifndef VIGIL_CLIENT_TREE_AUDIT_H_
#define VIGIL_CLIENT_TREE_AUDIT_H_

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/tile_source.h"
#include "merkle/checkpoint.h"
#include "merkle/hash.h"

namespace vigil::client {

// What an audit covered.
struct TreeAuditReport {
  uint64_t entries = 0;      // Entries decoded and hashed.
  uint64_t entry_bytes = 0;  // Their total size.
  uint64_t bundles = 0;      // Entry bundles read.
  uint64_t tiles = 0;        // Hash tiles compared, every level.
  merkle::Hash root{};       // Recomputed root (equals the checkpoint's).
};

// Called with each entry and its index as the audit reads them, in order,
// so a record-level audit can run in the same pass. An error stops the
// audit and is returned.
using EntryVisitor =
    std::function<absl::Status(uint64_t index, std::string_view entry)>;

// Recomputes the tree of `checkpoint` (whose signature the caller has
// verified) from `source`: reads every entry bundle, hashes every entry,
// rebuilds every hash tile of every level and compares it byte for byte
// with the tile the log serves, and checks the rebuilt root against the
// checkpoint's. Memory stays O(one tile per level). DATA_LOSS naming the
// resource for a tile that differs, a bundle that does not decode, or a
// root mismatch; the source's error for a resource it cannot serve.
absl::StatusOr<TreeAuditReport> AuditTree(TileSource& source,
                                          const merkle::Checkpoint& checkpoint,
                                          const EntryVisitor& visit = nullptr);

// The inclusion proof of entry `index` in the tree of `tree_size` entries,
// assembled from the hash tiles of `source` (each tile fetched once).
// OUT_OF_RANGE unless index < tree_size; DATA_LOSS for a tile of the wrong
// size; the source's error for a tile it cannot serve. The proof is not
// verified here: verify it against a signed checkpoint.
absl::StatusOr<std::vector<merkle::Hash>> InclusionProofFromTiles(
    TileSource& source, uint64_t index, uint64_t tree_size);

// Entry `index` of the tree of `tree_size` entries, read from its bundle.
absl::StatusOr<std::string> EntryFromTiles(TileSource& source, uint64_t index,
                                           uint64_t tree_size);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_TREE_AUDIT_H_
