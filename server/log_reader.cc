#include "server/log_reader.h"

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "merkle/compact_range.h"
#include "merkle/encoding.h"
#include "merkle/proof.h"

namespace vigil::server {
namespace {

using merkle::Hash;

// Entries [0, limit) of `level` are covered by tiles of that level: the
// number of level-`level` hashes a tree of `tree_size` entries has.
uint64_t HashesAtTileLevel(uint8_t level, uint64_t tree_size) {
  const int shift = merkle::kTileHeight * level;
  return shift >= 64 ? 0 : tree_size >> shift;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const merkle::TileTree>> LogReader::TreeOf(
    const merkle::NodeInTile& where, uint64_t tree_size) {
  const merkle::TileID& tile = where.tile;
  if (std::shared_ptr<const merkle::TileTree> cached =
          cache_.Find(tile.level, tile.index, where.end)) {
    return cached;
  }
  absl::StatusOr<std::string> data = storage_->ReadTile(tile.level, tile.index);
  if (!data.ok()) {
    return absl::DataLossError(
        absl::StrFormat("tile %d/%d needed for tree size %d: %s", tile.level,
                        tile.index, tree_size, data.status().message()));
  }
  // The stored tile may be wider than this tree's: it grew since.
  const size_t width = data->size() / merkle::kHashSize;
  absl::StatusOr<std::vector<Hash>> decoded =
      width == 0 || width > merkle::kTileWidth
          ? absl::DataLossError("empty or oversized")
          : merkle::DecodeTile(*data, width);
  if (!decoded.ok()) {
    return absl::DataLossError(
        absl::StrFormat("stored tile %d/%d is malformed: %s", tile.level,
                        tile.index, decoded.status().message()));
  }
  if (width < where.end) {
    return absl::DataLossError(absl::StrFormat(
        "stored tile %d/%d has %d hashes, too few for tree size %d", tile.level,
        tile.index, width, tree_size));
  }
  auto tree = std::make_shared<const merkle::TileTree>(*decoded);
  cache_.Insert(tile.level, tile.index, tree);
  return tree;
}

absl::StatusOr<std::vector<Hash>> LogReader::NodeHashes(
    const std::vector<merkle::NodeID>& ids, uint64_t tree_size) {
  std::vector<Hash> hashes;
  hashes.reserve(ids.size());
  // Nodes from the same tile are usually consecutive (a proof's come
  // bottom-up, up to eight from each tile on its path): the tree of the
  // previous node's tile serves the next while it is the same tile, instead
  // of a cache lookup per node.
  std::shared_ptr<const merkle::TileTree> tree;
  merkle::TileID tree_tile;
  for (const merkle::NodeID& id : ids) {
    absl::StatusOr<merkle::NodeInTile> where =
        merkle::TileForNode(id, tree_size);
    if (!where.ok()) return where.status();
    if (tree == nullptr || where->tile.level != tree_tile.level ||
        where->tile.index != tree_tile.index || tree->width() < where->end) {
      absl::StatusOr<std::shared_ptr<const merkle::TileTree>> found =
          TreeOf(*where, tree_size);
      if (!found.ok()) return found.status();
      tree = *std::move(found);
      tree_tile = where->tile;
    }
    absl::StatusOr<Hash> hash = tree->Node(*where);
    if (!hash.ok()) return hash.status();
    hashes.push_back(*hash);
  }
  return hashes;
}

absl::StatusOr<std::vector<Hash>> LogReader::InclusionProof(
    uint64_t index, uint64_t tree_size) {
  absl::StatusOr<merkle::ProofNodes> nodes =
      merkle::InclusionNodes(index, tree_size);
  if (!nodes.ok()) return nodes.status();
  absl::StatusOr<std::vector<Hash>> hashes = NodeHashes(nodes->ids, tree_size);
  if (!hashes.ok()) return hashes.status();
  return merkle::AssembleProof(*nodes, *hashes);
}

absl::StatusOr<std::vector<Hash>> LogReader::ConsistencyProof(
    uint64_t old_size, uint64_t new_size) {
  absl::StatusOr<merkle::ProofNodes> nodes =
      merkle::ConsistencyNodes(old_size, new_size);
  if (!nodes.ok()) return nodes.status();
  absl::StatusOr<std::vector<Hash>> hashes = NodeHashes(nodes->ids, new_size);
  if (!hashes.ok()) return hashes.status();
  return merkle::AssembleProof(*nodes, *hashes);
}

absl::StatusOr<Hash> LogReader::RootHash(uint64_t tree_size) {
  absl::StatusOr<std::vector<Hash>> hashes =
      NodeHashes(merkle::DecomposeRange(0, tree_size), tree_size);
  if (!hashes.ok()) return hashes.status();
  absl::StatusOr<merkle::CompactRange> range =
      merkle::CompactRange::FromHashes(0, tree_size, *std::move(hashes));
  if (!range.ok()) return range.status();
  return range->RootHash();
}

absl::StatusOr<uint64_t> LogReader::FindLeaf(const Hash& leaf_hash,
                                             uint64_t tree_size) {
  absl::StatusOr<std::optional<uint64_t>> index = storage_->FindLeaf(leaf_hash);
  if (!index.ok()) return index.status();
  if (!index->has_value() || **index >= tree_size) {
    return absl::NotFoundError(
        absl::StrFormat("no entry with leaf hash %s in the tree of size %d",
                        merkle::HexEncode(leaf_hash), tree_size));
  }
  return **index;
}

absl::StatusOr<std::vector<std::string>> LogReader::Entries(
    uint64_t begin, uint64_t end, uint64_t tree_size) {
  if (begin > end || end > tree_size) {
    return absl::OutOfRangeError(
        absl::StrFormat("entries [%d, %d) are not in the tree of size %d",
                        begin, end, tree_size));
  }
  return storage_->ReadEntries(begin, end);
}

absl::StatusOr<std::string> LogReader::Tile(const merkle::TileID& tile,
                                            uint64_t tree_size) {
  // Tile (L, N, W) exists in some tree no larger than tree_size iff its
  // last hash does: N * 256 + W <= tree_size / 256^L. Older partial widths
  // are prefixes of the stored tile.
  const uint64_t available = HashesAtTileLevel(tile.level, tree_size);
  if (tile.index >= available / merkle::kTileWidth + 1 ||
      tile.index * merkle::kTileWidth + tile.width > available) {
    return absl::NotFoundError(absl::StrFormat(
        "%s is not in the tree of size %d", merkle::TilePath(tile), tree_size));
  }
  absl::StatusOr<std::string> data = storage_->ReadTile(tile.level, tile.index);
  if (!data.ok()) return data.status();
  const size_t want = size_t{tile.width} * merkle::kHashSize;
  if (data->size() < want) {
    return absl::DataLossError(absl::StrFormat(
        "stored tile %d/%d has %d bytes, %s needs %d", tile.level, tile.index,
        data->size(), merkle::TilePath(tile), want));
  }
  data->resize(want);
  return data;
}

absl::StatusOr<std::string> LogReader::EntryBundle(
    const merkle::EntryBundleID& bundle, uint64_t tree_size) {
  if (bundle.index >= tree_size / merkle::kTileWidth + 1 ||
      bundle.index * merkle::kTileWidth + bundle.width > tree_size) {
    return absl::NotFoundError(
        absl::StrFormat("%s is not in the tree of size %d",
                        merkle::EntryBundlePath(bundle), tree_size));
  }
  const uint64_t begin = bundle.index * merkle::kTileWidth;
  absl::StatusOr<std::vector<std::string>> entries =
      storage_->ReadEntries(begin, begin + bundle.width);
  if (!entries.ok()) return entries.status();
  return merkle::EncodeEntryBundle(*entries);
}

}  // namespace vigil::server
