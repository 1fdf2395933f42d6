// The log's durable storage, behind one narrow interface sized to what the
// sequencer and the readers need. Drivers: MemoryStorage (tests) and
// RocksDBStorage (production); tests also wrap either in a fault injector.
//
// Everything the log persists:
//   - entries, by index: the exact bytes that were hashed;
//   - the leaf-hash index: leaf hash -> entry index (de-duplication and
//     proofs by hash);
//   - hash tiles (c2sp.org/tlog-tiles), by (level, index): the full tile, or
//     the widest partial tile written so far;
//   - registry records, by agency public key (opaque bytes, owned by the
//     registry);
//   - the log state: tree size, its compact range, the latest checkpoint.
//
// Thread-safety: implementations are safe for concurrent use. There is one
// writer (the sequencer); readers may run at any time and see each Commit
// whole or not at all.

#ifndef VIGIL_SERVER_STORAGE_H_
#define VIGIL_SERVER_STORAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "merkle/hash.h"

namespace vigil::server {

// What the sequencer needs to resume after a restart, in O(log n) space.
struct LogState {
  uint64_t size = 0;                   // Entries in the log.
  std::vector<merkle::Hash> frontier;  // CompactRange [0, size) hashes.
  std::string checkpoint;              // Latest signed checkpoint note;
                                       // empty if none was signed yet.
  bool operator==(const LogState&) const = default;
};

// One atomic, durable change: an integration of new entries, or a
// checkpoint publication (state only).
struct WriteSet {
  uint64_t first_index = 0;               // Index of entries[0].
  std::vector<std::string> entries;       // Appended at first_index...
  std::vector<merkle::Hash> leaf_hashes;  // ...with their leaf hashes.
  // Hash tiles to store, each replacing the stored tile of the same level
  // and index: (level, index, tile bytes).
  struct Tile {
    uint8_t level = 0;
    uint64_t index = 0;
    std::string data;  // 32 * width bytes.
  };
  std::vector<Tile> tiles;
  // Registry records to store: (32-byte public key, record bytes).
  std::vector<std::pair<std::string, std::string>> registry;
  std::optional<LogState> state;  // The new state, if it changes.
};

class Storage {
 public:
  virtual ~Storage() = default;

  // The stored state; a default LogState (size 0) for a new log.
  // DATA_LOSS if the stored state does not decode.
  virtual absl::StatusOr<LogState> ReadState() = 0;

  // Entries [begin, end). NOT_FOUND naming the first missing index if any
  // is not stored. Requires begin <= end.
  virtual absl::StatusOr<std::vector<std::string>> ReadEntries(
      uint64_t begin, uint64_t end) = 0;

  // The stored bytes of hash tile (level, index): a full tile, or the widest
  // partial one written. NOT_FOUND if none.
  virtual absl::StatusOr<std::string> ReadTile(uint8_t level,
                                               uint64_t index) = 0;

  // The index of the entry with this leaf hash, nullopt if none.
  virtual absl::StatusOr<std::optional<uint64_t>> FindLeaf(
      const merkle::Hash& leaf_hash) = 0;

  // Every registry record, (public key, record bytes), in key order.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ReadRegistry() = 0;

  // Applies `writes` atomically and durably: when this returns OK the data
  // survives a crash or power loss (fsync); on error nothing of it is
  // visible. Entries must continue the log: `writes.first_index` equals the
  // number of entries stored (INVALID_ARGUMENT otherwise, nothing written);
  // entries and leaf_hashes have the same length. UNAVAILABLE (or
  // DATA_LOSS) when the write fails; the caller must then stop writing.
  virtual absl::Status Commit(const WriteSet& writes) = 0;
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_STORAGE_H_
