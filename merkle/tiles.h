// c2sp.org/tlog-tiles: the static-resource form of an RFC 9162 Merkle tree.
//
// A tile is a run of up to 256 consecutive Merkle tree hashes at one tile
// level. The hashes of a level-l tile are nodes at tree level 8l; each level-1
// hash is the root of a full level-0 tile, and so on:
//
//   tile 1/000:   [ r0            r1              r2 ... ]
//                   ^             ^
//                   | root of     | root of
//   level 0:      [ h0 .. h255 ][ h256 .. h511 ] ...   (leaf hashes)
//                   tile 0/000    tile 0/001
//
// Between two tile levels lie the 7 tree levels that are recomputed by
// hashing the lower tile's hashes pairwise (RFC 9162 §2.1).
//
// The rightmost tile of each level is usually partial (1..255 hashes). A
// partial tile is never hashed into the level above.
//
// Entry bundles hold the entries whose leaf hashes form the level-0 tile of
// the same index and width: each entry a big-endian uint16 length, then its
// bytes.
//
// Resource paths, relative to the log's prefix:
//
//   tile/<L>/<N>[.p/<W>]        hash tile at level L, index N, width W
//   tile/entries/<N>[.p/<W>]    entry bundle N, width W
//
// <N> is written in 3-digit groups, all but the last prefixed with `x`:
// 1234067 is `x001/x234/067`. Vigil writes and accepts only the canonical
// form, the one with the fewest groups: 5 is `005`, never `x000/005`. The
// spec's one example and every known implementation use that form, and a
// single spelling per resource keeps caches and directory mirrors from
// holding two copies of one tile.
//
// Errors: malformed paths, tiles and bundles are INVALID_ARGUMENT (the
// library cannot tell network input from disk corruption; a caller reading
// its own storage may map them to DATA_LOSS). Nodes or entries past the end
// of the tree are OUT_OF_RANGE.
//
// Thread-safety: the free functions are pure and safe from any thread.
// TileBuilder is not thread-safe; use one per thread or guard it externally.

#ifndef VIGIL_MERKLE_TILES_H_
#define VIGIL_MERKLE_TILES_H_

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "merkle/hash.h"
#include "merkle/node.h"

namespace vigil::merkle {

// Tree levels spanned by one tile: a full tile is a perfect subtree of
// height 8 over its 256 hashes.
inline constexpr int kTileHeight = 8;
// Hashes in a full tile, and entries in a full entry bundle.
inline constexpr uint32_t kTileWidth = 256;
// Bytes of one hash in a tile; a full tile is 8,192 bytes.
inline constexpr size_t kTileHashSize = kHashSize;
// Highest tile level a path may name. Trees of at most 2^64 - 1 entries only
// have tiles at levels 0..7; higher levels are valid names of empty levels.
inline constexpr int kMaxTileLevel = 63;
// Largest entry an entry bundle can hold (the uint16 length prefix).
inline constexpr size_t kMaxEntrySize = 65535;

// Names one hash tile.
struct TileID {
  uint8_t level = 0;            // 0..kMaxTileLevel.
  uint64_t index = 0;           // Position among the tiles of this level.
  uint16_t width = kTileWidth;  // Hashes held: 1..255 partial, 256 full.

  [[nodiscard]] bool IsPartial() const { return width < kTileWidth; }

  // clang-tidy 14 sees a literal 0 in the defaulted comparison.
  auto operator<=>(const TileID&) const =
      default;  // NOLINT(modernize-use-nullptr)
};

// Names one entry bundle. Bundle N holds the entries whose leaf hashes form
// level-0 tile N of the same width.
struct EntryBundleID {
  uint64_t index = 0;           // Entries [index * 256, index * 256 + width).
  uint16_t width = kTileWidth;  // Entries held: 1..255 partial, 256 full.

  [[nodiscard]] bool IsPartial() const { return width < kTileWidth; }

  auto operator<=>(const EntryBundleID&) const = default;
};

// ---------------------------------------------------------------------------
// Paths

// The canonical <N> path form of a tile or bundle index: 3-digit groups, all
// but the last prefixed with `x`, no leading `x000` group. 0 is "000",
// 1234067 is "x001/x234/067".
std::string FormatTileIndex(uint64_t index);

// "tile/<L>/<N>" for a full tile, "tile/<L>/<N>.p/<W>" for a partial one.
// Requires tile.level <= kMaxTileLevel and 1 <= tile.width <= 256.
std::string TilePath(const TileID& tile);

// "tile/entries/<N>" or "tile/entries/<N>.p/<W>".
// Requires 1 <= bundle.width <= 256.
std::string EntryBundlePath(const EntryBundleID& bundle);

// Parses a hash tile path, exactly the inverse of TilePath: "tile/", a level
// 0..63 without leading zeros, "/", the canonical <N>, and optionally ".p/"
// with a width 1..255 without leading zeros. INVALID_ARGUMENT, naming the
// problem, for anything else: entry bundle paths, non-canonical or
// overflowing indices, ".p/256", "..", empty segments, trailing bytes.
absl::StatusOr<TileID> ParseTilePath(std::string_view path);

// Parses an entry bundle path, exactly the inverse of EntryBundlePath, with
// the same rules for <N> and <W> as ParseTilePath.
absl::StatusOr<EntryBundleID> ParseEntryBundlePath(std::string_view path);

// ---------------------------------------------------------------------------
// Which tiles a tree has

// Number of full level-`level` tiles in a tree of `tree_size` entries:
// floor(tree_size / 256^(level + 1)).
uint64_t FullTileCount(uint8_t level, uint64_t tree_size);

// Width of the partial level-`level` tile of a tree of `tree_size` entries:
// floor(tree_size / 256^level) mod 256. 0 means the level has no partial
// tile (empty tiles are never served).
uint16_t PartialTileWidth(uint8_t level, uint64_t tree_size);

// Every hash tile of a tree of `tree_size` entries, full and partial, ordered
// by level, then index. Empty for an empty tree. Holds about tree_size / 255
// IDs: for very large trees iterate FullTileCount / PartialTileWidth instead.
std::vector<TileID> TilesForTreeSize(uint64_t tree_size);

// Every entry bundle of a tree of `tree_size` entries, ordered by index;
// these pair one to one with the level-0 tiles.
std::vector<EntryBundleID> EntryBundlesForTreeSize(uint64_t tree_size);

// Where a node's hash can be computed from: the node is the root of the
// hashes [begin, end) of `tile`.
struct NodeInTile {
  TileID tile;
  uint16_t begin = 0;
  uint16_t end = 0;

  auto operator<=>(const NodeInTile&) const = default;
};

// The tile of a tree of `tree_size` entries that holds `node`. A node at tree
// level 8k + r (0 <= r < 8) is the root of 2^r consecutive hashes of a
// level-k tile; the returned tile has the width it has in that tree (partial
// if it is the rightmost of its level). INVALID_ARGUMENT if node.level > 63;
// OUT_OF_RANGE if the node is not a complete subtree of that tree
// (node.End() > tree_size).
absl::StatusOr<NodeInTile> TileForNode(const NodeID& node, uint64_t tree_size);

// The hash of the node located by `where`, computed from the hashes of
// `where.tile`. `tile_hashes` may be that tile or any wider tile of the same
// level and index (a full tile may stand in for a partial one).
// INVALID_ARGUMENT if `tile_hashes` holds fewer than `where.end` or more than
// 256 hashes, or [begin, end) is not a non-empty range inside a tile.
absl::StatusOr<Hash> NodeHashFromTile(const NodeInTile& where,
                                      std::span<const Hash> tile_hashes);

// Where an entry is: `bundle` holds it at 0-based `position`.
struct EntryInBundle {
  EntryBundleID bundle;
  uint16_t position = 0;

  auto operator<=>(const EntryInBundle&) const = default;
};

// Where entry `index` is in a tree of `tree_size` entries: bundle
// index / 256, at position index mod 256, with the bundle's width in that
// tree. OUT_OF_RANGE unless index < tree_size.
absl::StatusOr<EntryInBundle> EntryBundleForEntry(uint64_t index,
                                                  uint64_t tree_size);

// ---------------------------------------------------------------------------
// Encodings

// A tile's bytes: its hashes concatenated (32 bytes each, no framing).
// Requires 1 <= hashes.size() <= 256.
std::string EncodeTile(std::span<const Hash> hashes);

// Splits a tile's bytes into hashes. INVALID_ARGUMENT if `width` is outside
// 1..256 or `data` is not exactly 32 * width bytes.
absl::StatusOr<std::vector<Hash>> DecodeTile(std::string_view data,
                                             size_t width);

// Appends one entry, framed as a big-endian uint16 length and its bytes, to
// `*bundle`. INVALID_ARGUMENT (and `*bundle` unchanged) if the entry is
// longer than kMaxEntrySize. Counting entries is the caller's job.
absl::Status AppendBundleEntry(std::string_view entry, std::string* bundle);

// An entry bundle holding `entries` in order. INVALID_ARGUMENT if there are
// not 1..256 entries, or naming the first entry (index and size) longer than
// kMaxEntrySize.
absl::StatusOr<std::string> EncodeEntryBundle(
    std::span<const std::string> entries);

// Splits an entry bundle that must hold exactly `width` entries (1..256).
// INVALID_ARGUMENT, naming the entry and offset, for a truncated length
// prefix, a length running past the end, fewer entries than `width`, or
// bytes left after the last entry. Never reads past `bundle`.
absl::StatusOr<std::vector<std::string>> DecodeEntryBundle(
    std::string_view bundle, size_t width);

// ---------------------------------------------------------------------------
// Computing tiles

// The RFC 9162 Merkle tree hash of a sequence of already-hashed nodes, taken
// as the leaves of a tree (they are not hashed again): pairs are combined
// with HashChildren, and a size that is not a power of two splits at the
// largest power of two below it. For a full tile this is the hash one level
// up; for 2^r aligned hashes of a tile it is the node above them.
// Requires !hashes.empty(). Uses O(log n) memory.
Hash MerkleRootOfHashes(std::span<const Hash> hashes);

// Every perfect subtree inside a tile's hashes, computed once: height h
// holds the roots of the aligned runs of 2^h hashes (height 0: the hashes
// themselves), so the node above any aligned run is a lookup instead of
// 2^h - 1 hash computations. A tile of width w has fewer than 2w nodes.
// The hashes of a (partial) tile never change as the tile grows, so a
// TileTree stays valid for every node inside its width.
class TileTree {
 public:
  // Requires tile_hashes.size() in [1, kTileWidth].
  explicit TileTree(std::span<const Hash> tile_hashes);

  // The number of tile hashes it was built from.
  [[nodiscard]] size_t width() const { return heights_.front().size(); }
  // Bytes of hashes held.
  [[nodiscard]] size_t bytes() const;

  // The root of the tile hashes [where.begin, where.end), as
  // NodeHashFromTile computes it. INVALID_ARGUMENT unless the range is an
  // aligned run of a power-of-two length inside width().
  absl::StatusOr<Hash> Node(const NodeInTile& where) const;

 private:
  std::vector<std::vector<Hash>> heights_;
};

// Receives one tile: its ID and its hashes (valid only during the call).
// Returning an error stops the builder (see TileBuilder).
using TileSink =
    std::function<absl::Status(const TileID& tile, std::span<const Hash>)>;

// Builds every tile of a growing tree from its leaf hashes, for a server
// appending entries or an exporter writing a static log.
//
// It keeps only the rightmost (incomplete) tile of each level: at most
// 8 * 255 hashes, whatever the tree size. Each full tile is handed to a sink
// once, when it completes; the partial tiles of the current size are handed
// out on request.
//
//   TileBuilder builder;
//   for (const Hash& h : leaf_hashes) RETURN_IF_ERROR(builder.Append(h, sink));
//   RETURN_IF_ERROR(builder.EmitPartialTiles(sink));  // at each checkpoint
//
// A sink error is sticky: Append returns it and refuses every later call
// with it, since the tile that failed to be stored is gone from the builder.
//
// Thread-safety: not thread-safe.
class TileBuilder {
 public:
  // A builder for the empty tree.
  TileBuilder();

  // Resumes a tree of `tree_size` entries from its partial tiles:
  // `partial_tiles[l]` holds the level-l partial tile's hashes (empty if the
  // tree has none at that level); missing trailing levels count as empty.
  // INVALID_ARGUMENT if a level's hash count is not
  // PartialTileWidth(l, tree_size).
  static absl::StatusOr<TileBuilder> Resume(
      uint64_t tree_size, std::span<const std::vector<Hash>> partial_tiles);

  TileBuilder(TileBuilder&&) = default;
  TileBuilder& operator=(TileBuilder&&) = default;

  // Appends the leaf hash of entry size(), then calls `sink` with each tile
  // this completes, lowest level first (a level-k tile completes at most
  // once every 256^(k+1) appends). OUT_OF_RANGE if the tree already holds
  // 2^64 - 1 entries; the sink's error, or an earlier one, otherwise.
  absl::Status Append(const Hash& leaf_hash, const TileSink& sink);

  // Append for each hash in order; stops at the first error.
  absl::Status AppendAll(std::span<const Hash> leaf_hashes,
                         const TileSink& sink);

  // Calls `sink` with each partial tile of the current tree, lowest level
  // first; nothing for levels without one. Returns the sink's first error,
  // or the builder's sticky error.
  absl::Status EmitPartialTiles(const TileSink& sink) const;

  // The hashes of the current partial tile of `level` (empty if none).
  [[nodiscard]] std::span<const Hash> PartialTile(uint8_t level) const;

  // The RFC 9162 root of the current tree (EmptyRoot() if empty).
  [[nodiscard]] Hash Root() const;

  // Entries appended so far (the tree size).
  [[nodiscard]] uint64_t size() const { return size_; }

 private:
  // Levels that can hold tiles for a uint64 tree size: 0..7.
  static constexpr int kLevels = 64 / kTileHeight;

  uint64_t size_ = 0;
  // levels_[l]: the hashes of the rightmost, incomplete level-l tile; always
  // fewer than 256 between calls.
  std::array<std::vector<Hash>, kLevels> levels_;
  absl::Status error_;
};

// Calls `sink` with every tile, full and partial, of the tree whose leaf
// hashes are `leaf_hashes`: the full tiles in the order they complete (a
// level-k tile right after the level-(k-1) tile that completes it), then the
// partial tiles, lowest level first. Returns the sink's first error.
absl::Status BuildTiles(std::span<const Hash> leaf_hashes,
                        const TileSink& sink);

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_TILES_H_
