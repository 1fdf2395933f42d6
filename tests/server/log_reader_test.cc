#include "server/log_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "merkle/compact_range.h"
#include "merkle/proof.h"
#include "merkle/tiles.h"
#include "server/memory_storage.h"
#include "tests/testing/memory_tree.h"

namespace vigil::server {
namespace {

using merkle::Hash;

constexpr uint32_t kSeed = 42;

// Fills a MemoryStorage the way the sequencer does: entries appended in
// commits of varying size, each with the tiles it completes or widens.
class LogReaderTest : public ::testing::Test {
 protected:
  void Grow(uint64_t to) {
    WriteSet writes;
    writes.first_index = range_.end();
    const merkle::TileSink collect = [&](const merkle::TileID& t,
                                         std::span<const Hash> hashes) {
      writes.tiles.push_back({t.level, t.index, merkle::EncodeTile(hashes)});
      return absl::OkStatus();
    };
    while (range_.end() < to) {
      const std::string entry = "entry " + std::to_string(range_.end());
      const Hash leaf = merkle::HashLeaf(merkle::AsBytes(entry));
      ASSERT_TRUE(tiles_.Append(leaf, collect).ok());
      range_.Append(leaf);
      tree_.Append(leaf);
      writes.entries.push_back(entry);
      writes.leaf_hashes.push_back(leaf);
    }
    ASSERT_TRUE(tiles_.EmitPartialTiles(collect).ok());
    writes.state = LogState{
        range_.end(), {range_.hashes().begin(), range_.hashes().end()}, ""};
    ASSERT_TRUE(storage_.Commit(writes).ok());
  }

  MemoryStorage storage_;
  merkle::CompactRange range_;
  merkle::TileBuilder tiles_;
  testing::MemoryTree tree_;
};

TEST_F(LogReaderTest, ProofsForEveryEarlierSizeMatchTheWholeTree) {
  std::mt19937_64 rng(kSeed);
  std::vector<uint64_t> sizes;
  while (range_.end() < 70000) {
    Grow(range_.end() + 1 + rng() % 3000);
    sizes.push_back(range_.end());
  }
  const uint64_t size = range_.end();
  LogReader reader(&storage_);
  for (int trial = 0; trial < 400; ++trial) {
    const uint64_t tree_size =
        trial % 2 == 0 ? sizes[rng() % sizes.size()] : 1 + rng() % size;
    const uint64_t index = rng() % tree_size;
    SCOPED_TRACE(::testing::Message() << "seed " << kSeed << " index " << index
                                      << " size " << tree_size);
    absl::StatusOr<std::vector<Hash>> proof =
        reader.InclusionProof(index, tree_size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    ASSERT_EQ(*proof, *tree_.InclusionProof(index, tree_size));
    const uint64_t old_size = 1 + rng() % tree_size;
    absl::StatusOr<std::vector<Hash>> consistency =
        reader.ConsistencyProof(old_size, tree_size);
    ASSERT_TRUE(consistency.ok()) << consistency.status();
    ASSERT_EQ(*consistency, *tree_.ConsistencyProof(old_size, tree_size));
    ASSERT_EQ(*reader.RootHash(tree_size), tree_.RootAt(tree_size));
  }
  EXPECT_EQ(*reader.RootHash(0), merkle::EmptyRoot());
}

// The tile cache holds partial tiles that later grow: proofs must stay
// right for every size, with a large cache and with one that evicts all
// the time.
TEST_F(LogReaderTest, ProofsStayRightAsCachedTilesGrow) {
  std::mt19937_64 rng(kSeed);
  LogReader roomy(&storage_);
  LogReader cramped(&storage_,
                    3 * merkle::TileTree(std::vector<Hash>(256)).bytes());
  while (range_.end() < 20000) {
    Grow(range_.end() + 1 + rng() % 700);
    const uint64_t size = range_.end();
    for (int trial = 0; trial < 20; ++trial) {
      const uint64_t tree_size = trial == 0 ? size : 1 + rng() % size;
      const uint64_t index = rng() % tree_size;
      SCOPED_TRACE(::testing::Message() << "seed " << kSeed << " index "
                                        << index << " size " << tree_size);
      for (LogReader* reader : {&roomy, &cramped}) {
        absl::StatusOr<std::vector<Hash>> proof =
            reader->InclusionProof(index, tree_size);
        ASSERT_TRUE(proof.ok()) << proof.status();
        ASSERT_EQ(*proof, *tree_.InclusionProof(index, tree_size));
        const uint64_t old_size = 1 + rng() % tree_size;
        ASSERT_EQ(*reader->ConsistencyProof(old_size, tree_size),
                  *tree_.ConsistencyProof(old_size, tree_size));
      }
    }
  }
}

TEST_F(LogReaderTest, TilesAndBundlesAreServedForEveryCoveredWidth) {
  Grow(300);
  Grow(70000);
  LogReader reader(&storage_);
  // Every tile of the current tree, and the partial tiles of size 300
  // (prefixes of what is stored now).
  for (uint64_t size : {uint64_t{300}, uint64_t{70000}}) {
    for (const merkle::TileID& id : merkle::TilesForTreeSize(size)) {
      absl::StatusOr<std::string> tile = reader.Tile(id, 70000);
      ASSERT_TRUE(tile.ok()) << merkle::TilePath(id) << tile.status();
      ASSERT_EQ(tile->size(), size_t{id.width} * 32);
      if (id.level == 0) {
        const uint64_t first = id.index * 256;
        for (uint64_t i = 0; i < id.width; i += 51) {
          Hash h;
          std::copy_n(tile->begin() + i * 32, 32, h.begin());
          EXPECT_EQ(h, merkle::HashLeaf(merkle::AsBytes(
                           "entry " + std::to_string(first + i))));
        }
      }
    }
    for (const merkle::EntryBundleID& id :
         merkle::EntryBundlesForTreeSize(size)) {
      absl::StatusOr<std::string> bundle = reader.EntryBundle(id, 70000);
      ASSERT_TRUE(bundle.ok()) << merkle::EntryBundlePath(id);
      absl::StatusOr<std::vector<std::string>> entries =
          merkle::DecodeEntryBundle(*bundle, id.width);
      ASSERT_TRUE(entries.ok());
      EXPECT_EQ((*entries)[0], "entry " + std::to_string(id.index * 256));
    }
  }
}

TEST_F(LogReaderTest, ResourcesBeyondTheTreeAreNotFound) {
  Grow(600);
  LogReader reader(&storage_);
  const merkle::TileID absent[] = {
      {0, 2, 256},  // Only 88 of its hashes exist.
      {0, 2, 89},   // One wider than the tree.
      {0, 3, 1},    // Past the end.
      {1, 0, 3},    // Level 1 has 2 hashes.
      {2, 0, 1},    // Level 2 has none.
  };
  for (const merkle::TileID& id : absent) {
    EXPECT_EQ(reader.Tile(id, 600).status().code(), absl::StatusCode::kNotFound)
        << merkle::TilePath(id);
  }
  EXPECT_TRUE(reader.Tile({0, 2, 88}, 600).ok());
  EXPECT_TRUE(reader.Tile({1, 0, 2}, 600).ok());
  EXPECT_EQ(reader.EntryBundle({2, 89}, 600).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(reader.EntryBundle({uint64_t{1} << 62, 1}, 600).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(reader.Entries(599, 601, 600).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(reader.InclusionProof(600, 600).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(LogReaderTest, FindLeafIsBoundedByTheTreeSize) {
  Grow(10);
  LogReader reader(&storage_);
  const Hash leaf = merkle::HashLeaf(merkle::AsBytes("entry 7"));
  EXPECT_EQ(*reader.FindLeaf(leaf, 10), 7u);
  EXPECT_EQ(reader.FindLeaf(leaf, 7).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(reader.FindLeaf(merkle::EmptyRoot(), 10).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(LogReaderTest, AMissingTileIsDataLoss) {
  MemoryStorage empty;
  WriteSet writes;
  writes.entries = {"a"};
  writes.leaf_hashes = {merkle::HashLeaf(merkle::AsBytes("a"))};
  writes.state = LogState{1, writes.leaf_hashes, ""};
  ASSERT_TRUE(empty.Commit(writes).ok());  // Without its tile.
  LogReader reader(&empty);
  EXPECT_EQ(reader.InclusionProof(0, 1).status().code(),
            absl::StatusCode::kOk);  // A one-leaf tree needs no node.
  EXPECT_EQ(reader.RootHash(1).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace vigil::server
