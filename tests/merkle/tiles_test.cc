#include "merkle/tiles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/node.h"
#include "tests/testing/testdata.h"

namespace vigil::merkle {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();

// Fixed seeds, so a failure reproduces; each test logs its seed.
constexpr uint64_t kSeed = 0x7669676c;  // "vigl"

Hash RandomHash(std::mt19937_64& rng) {
  Hash h;
  for (auto& b : h) b = static_cast<uint8_t>(rng());
  return h;
}

std::vector<Hash> LeafHashes(uint64_t n) {
  std::vector<Hash> leaves;
  leaves.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string data = "leaf " + std::to_string(i);
    leaves.push_back(HashLeaf(AsBytes(data)));
  }
  return leaves;
}

// RFC 9162 §2.1 MTH over already-hashed leaves, written straight from the
// definition (recursive split at the largest power of two below n).
Hash ReferenceRoot(std::span<const Hash> hashes) {
  if (hashes.size() == 1) return hashes[0];
  size_t k = 1;
  while (k * 2 < hashes.size()) k *= 2;
  return HashChildren(ReferenceRoot(hashes.first(k)),
                      ReferenceRoot(hashes.subspan(k)));
}

using TileMap = std::map<TileID, std::vector<Hash>>;

// A sink that records every tile and fails the test on a duplicate.
TileSink Collect(TileMap* tiles) {
  return [tiles](const TileID& id, std::span<const Hash> hashes) {
    EXPECT_EQ(hashes.size(), id.width) << TilePath(id);
    const bool inserted =
        tiles->emplace(id, std::vector<Hash>(hashes.begin(), hashes.end()))
            .second;
    EXPECT_TRUE(inserted) << "tile emitted twice: " << TilePath(id);
    return absl::OkStatus();
  };
}

std::vector<TileID> Keys(const TileMap& tiles) {
  std::vector<TileID> ids;
  for (const auto& [id, hashes] : tiles) ids.push_back(id);
  return ids;
}

// The spec's definition: hash i of tile (l, n) is
// MTH(D[(n * 256 + i) * 256^l : (n * 256 + i + 1) * 256^l]).
void ExpectTileMatchesDefinition(const TileID& id, std::span<const Hash> hashes,
                                 std::span<const Hash> leaves) {
  const uint64_t span = uint64_t{1} << (8 * id.level);
  for (size_t i = 0; i < hashes.size(); ++i) {
    const uint64_t begin = (id.index * 256 + i) * span;
    ASSERT_LE(begin + span, leaves.size()) << TilePath(id);
    EXPECT_EQ(hashes[i], ReferenceRoot(leaves.subspan(begin, span)))
        << TilePath(id) << " hash " << i;
  }
}

// ---------------------------------------------------------------------------
// Paths

TEST(TilePathTest, IndexIsWrittenInThreeDigitGroups) {
  EXPECT_EQ(FormatTileIndex(0), "000");
  EXPECT_EQ(FormatTileIndex(5), "005");
  EXPECT_EQ(FormatTileIndex(255), "255");
  EXPECT_EQ(FormatTileIndex(256), "256");
  EXPECT_EQ(FormatTileIndex(999), "999");
  EXPECT_EQ(FormatTileIndex(1000), "x001/000");
  EXPECT_EQ(FormatTileIndex(1001), "x001/001");
  EXPECT_EQ(FormatTileIndex(1000000), "x001/x000/000");
  EXPECT_EQ(FormatTileIndex(kMaxU64), "x018/x446/x744/x073/x709/x551/615");
}

TEST(TilePathTest, SpecExampleIndex1234067IsX001X234067) {
  EXPECT_EQ(FormatTileIndex(1234067), "x001/x234/067");
  EXPECT_EQ(TilePath({.level = 0, .index = 1234067, .width = 256}),
            "tile/0/x001/x234/067");
  EXPECT_EQ(EntryBundlePath({.index = 1234067, .width = 256}),
            "tile/entries/x001/x234/067");
  absl::StatusOr<TileID> tile = ParseTilePath("tile/3/x001/x234/067");
  ASSERT_TRUE(tile.ok()) << tile.status();
  EXPECT_EQ(*tile, (TileID{.level = 3, .index = 1234067, .width = 256}));
}

TEST(TilePathTest, FormatsFullAndPartialTilesAndBundles) {
  EXPECT_EQ(TilePath({.level = 0, .index = 0, .width = 256}), "tile/0/000");
  EXPECT_EQ(TilePath({.level = 0, .index = 3, .width = 232}),
            "tile/0/003.p/232");
  EXPECT_EQ(TilePath({.level = 1, .index = 0, .width = 3}), "tile/1/000.p/3");
  EXPECT_EQ(TilePath({.level = 63, .index = 1000, .width = 1}),
            "tile/63/x001/000.p/1");
  EXPECT_EQ(EntryBundlePath({.index = 2, .width = 256}), "tile/entries/002");
  EXPECT_EQ(EntryBundlePath({.index = 3, .width = 232}),
            "tile/entries/003.p/232");
}

TEST(TilePathTest, ParseInvertsFormatForManyValues) {
  std::vector<uint64_t> indices = {0,
                                   1,
                                   5,
                                   255,
                                   256,
                                   999,
                                   1000,
                                   1001,
                                   65535,
                                   999999,
                                   1000000,
                                   1234067,
                                   uint64_t{1} << 32,
                                   uint64_t{1} << 56,
                                   uint64_t{1} << 63,
                                   999999999999999999ULL,
                                   1000000000000000000ULL,
                                   10000000000000000000ULL,
                                   kMaxU64 - 1,
                                   kMaxU64};
  SCOPED_TRACE(::testing::Message() << "seed " << kSeed);
  std::mt19937_64 rng(kSeed);
  for (int i = 0; i < 200; ++i) {
    indices.push_back(rng() >> (rng() % 64));
  }
  const uint8_t levels[] = {0, 1, 2, 7, 8, 10, 63};
  const uint16_t widths[] = {1, 2, 17, 112, 232, 255, 256};
  for (uint64_t index : indices) {
    for (uint16_t width : widths) {
      for (uint8_t level : levels) {
        const TileID tile{.level = level, .index = index, .width = width};
        const std::string path = TilePath(tile);
        absl::StatusOr<TileID> parsed = ParseTilePath(path);
        ASSERT_TRUE(parsed.ok()) << path << ": " << parsed.status();
        EXPECT_EQ(*parsed, tile) << path;
      }
      const EntryBundleID bundle{.index = index, .width = width};
      const std::string path = EntryBundlePath(bundle);
      absl::StatusOr<EntryBundleID> parsed = ParseEntryBundlePath(path);
      ASSERT_TRUE(parsed.ok()) << path << ": " << parsed.status();
      EXPECT_EQ(*parsed, bundle) << path;
    }
  }
}

struct Malformed {
  std::string path;
  std::string why;  // A substring the error must contain.
};

TEST(TilePathTest, MalformedTilePathsAreRejectedWithTheReason) {
  const std::vector<Malformed> cases = {
      {"", "does not start with"},
      {"tile", "does not start with"},
      {"/tile/0/000", "does not start with"},
      {"tiles/0/000", "does not start with"},
      {"Tile/0/000", "does not start with"},
      {" tile/0/000", "does not start with"},
      {"tile/", "has no index"},
      {"tile/0", "has no index"},
      {"tile/0/", "empty segment"},
      {"tile//000", "level \"\""},
      {"tile/00/000", "leading zeros"},
      {"tile/01/000", "leading zeros"},
      {"tile/-1/000", "level \"-1\""},
      {"tile/+1/000", "level \"+1\""},
      {"tile/a/000", "level \"a\""},
      {"tile/64/000", "level 64 out of range 0..63"},
      {"tile/18446744073709551616/000", "level"},
      {"tile/entries/000", "entry bundle"},
      {"tile/0/00", "not 3 digits"},
      {"tile/0/0000", "not 3 digits"},
      {"tile/0/1", "not 3 digits"},
      {"tile/0/00a", "not 3 digits"},
      {"tile/0/000 ", "not 3 digits"},
      {"tile/0/000\n", "not 3 digits"},
      {std::string("tile/0/000\0", 11), "not 3 digits"},
      {"tile/0/\xd9\xa0\xd9\xa0\xd9\xa0", "not 3 digits"},  // Arabic zeros.
      {"tile/0/x000/005", "x000"},
      {"tile/0/x000/x001/005", "x000"},
      {"tile/0/x001", "no final group"},
      {"tile/0/x001/x002", "no final group"},
      {"tile/0/x1/000", "not \"x\" and 3 digits"},
      {"tile/0/x0001/000", "not \"x\" and 3 digits"},
      {"tile/0/xx01/000", "not \"x\" and 3 digits"},
      {"tile/0/X001/000", "not 3 digits"},
      {"tile/0/001/002", "trailing segments"},
      {"tile/0/000/", "empty segment"},
      {"tile/0//000", "empty segment"},
      {"tile/0/x001//000", "empty segment"},
      {"tile/0/../000", "\"..\" segment"},
      {"tile/0/./000", "\".\" segment"},
      {"tile/0/000/..", "\"..\" segment"},
      {"tile/0/000.p/..", "\"..\" segment"},
      {"tile/0/000.p", "without a width"},
      {"tile/0/000.p/", "empty segment"},
      {"tile/0/000.p/0", "partial width 0 out of range 1..255"},
      {"tile/0/000.p/01", "leading zeros"},
      {"tile/0/000.p/256", "width 256 is a full tile"},
      {"tile/0/x001/x234/067.p/256", "width 256 is a full tile"},
      {"tile/0/000.p/300", "partial width 300 out of range 1..255"},
      {"tile/0/000.p/-1", "leading zeros"},
      {"tile/0/000.p/1/", "empty segment"},
      {"tile/0/000.p/1/2", "trailing segments"},
      {"tile/0/000.q/1", "not 3 digits"},
      {"tile/0/000.P/1", "not 3 digits"},
      {"tile/0/000p/1", "not 3 digits"},
      {"tile/0/000.p.p/1", "not 3 digits"},
      {"tile/0/x018/x446/x744/x073/x709/x551/616", "overflows"},
      {"tile/0/x018/x446/x744/x073/x709/x552/000", "overflows"},
      {"tile/0/x001/x000/x000/x000/x000/x000/x000/000", "overflows"},
      {"tile/0/" + std::string(1000, '0'), "longer than any tile path"},
  };
  for (const Malformed& c : cases) {
    absl::StatusOr<TileID> parsed = ParseTilePath(c.path);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << "accepted \"" << c.path << "\"";
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.why)) << c.path;
  }
}

TEST(TilePathTest, MalformedEntryBundlePathsAreRejectedWithTheReason) {
  const std::vector<Malformed> cases = {
      {"", "does not start with"},
      {"tile/entries", "does not start with"},
      {"tile/0/000", "does not start with"},
      {"/tile/entries/000", "does not start with"},
      {"tile/entries/", "empty segment"},
      {"tile/entries//000", "empty segment"},
      {"tile/entries/000/", "empty segment"},
      {"tile/entries/../000", "\"..\" segment"},
      {"tile/entries/x000/001", "x000"},
      {"tile/entries/01", "not 3 digits"},
      {"tile/entries/x001", "no final group"},
      {"tile/entries/000.p/256", "width 256 is a full tile"},
      {"tile/entries/000.p/0", "out of range 1..255"},
      {"tile/entries/000.p/007", "leading zeros"},
      {"tile/entries/000.p", "without a width"},
      {"tile/entries/000.p/3/x", "trailing segments"},
      {"tile/entries/x018/x446/x744/x073/x709/x551/616", "overflows"},
  };
  for (const Malformed& c : cases) {
    absl::StatusOr<EntryBundleID> parsed = ParseEntryBundlePath(c.path);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << "accepted \"" << c.path << "\"";
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.why)) << c.path;
  }
}

TEST(TilePathTest, EveryNonCanonicalSpellingOfAnIndexIsRejected) {
  // Parsing must accept one spelling per index: padding with x000 groups
  // or dropping padding digits never parses.
  for (uint64_t index : {0ULL, 5ULL, 999ULL, 1000ULL, 1234067ULL}) {
    const std::string canonical = FormatTileIndex(index);
    EXPECT_TRUE(ParseTilePath("tile/0/" + canonical).ok());
    EXPECT_FALSE(ParseTilePath("tile/0/x000/" + canonical).ok()) << index;
    EXPECT_FALSE(ParseEntryBundlePath("tile/entries/x000/" + canonical).ok())
        << index;
  }
}

// ---------------------------------------------------------------------------
// Which tiles a tree has

TEST(TileLayoutTest, TreeOf70000EntriesMatchesTheSpecExample) {
  // 273 full level-0 tiles, a partial level-0 tile of width 112, one full
  // level-1 tile, a partial level-1 tile of width 17, and a partial level-2
  // tile of width 1.
  std::vector<TileID> want;
  for (uint64_t i = 0; i < 273; ++i) {
    want.push_back({.level = 0, .index = i, .width = 256});
  }
  want.push_back({.level = 0, .index = 273, .width = 112});
  want.push_back({.level = 1, .index = 0, .width = 256});
  want.push_back({.level = 1, .index = 1, .width = 17});
  want.push_back({.level = 2, .index = 0, .width = 1});
  EXPECT_EQ(TilesForTreeSize(70000), want);

  EXPECT_EQ(FullTileCount(0, 70000), 273u);
  EXPECT_EQ(PartialTileWidth(0, 70000), 112);
  EXPECT_EQ(FullTileCount(1, 70000), 1u);
  EXPECT_EQ(PartialTileWidth(1, 70000), 17);
  EXPECT_EQ(FullTileCount(2, 70000), 0u);
  EXPECT_EQ(PartialTileWidth(2, 70000), 1);
  EXPECT_EQ(PartialTileWidth(3, 70000), 0);

  const std::vector<EntryBundleID> bundles = EntryBundlesForTreeSize(70000);
  ASSERT_EQ(bundles.size(), 274u);
  for (uint64_t i = 0; i < 273; ++i) {
    EXPECT_EQ(bundles[i], (EntryBundleID{.index = i, .width = 256}));
  }
  EXPECT_EQ(bundles.back(), (EntryBundleID{.index = 273, .width = 112}));
}

TEST(TileLayoutTest, TreeOf256EntriesIsOneFullTileAndALevelOnePartial) {
  EXPECT_THAT(TilesForTreeSize(256),
              ElementsAre(TileID{.level = 0, .index = 0, .width = 256},
                          TileID{.level = 1, .index = 0, .width = 1}));
  EXPECT_THAT(EntryBundlesForTreeSize(256),
              ElementsAre(EntryBundleID{.index = 0, .width = 256}));
}

TEST(TileLayoutTest, SmallAndExtremeSizes) {
  EXPECT_TRUE(TilesForTreeSize(0).empty());
  EXPECT_TRUE(EntryBundlesForTreeSize(0).empty());
  EXPECT_THAT(TilesForTreeSize(1),
              ElementsAre(TileID{.level = 0, .index = 0, .width = 1}));
  EXPECT_THAT(TilesForTreeSize(255),
              ElementsAre(TileID{.level = 0, .index = 0, .width = 255}));
  EXPECT_THAT(TilesForTreeSize(257),
              ElementsAre(TileID{.level = 0, .index = 0, .width = 256},
                          TileID{.level = 0, .index = 1, .width = 1},
                          TileID{.level = 1, .index = 0, .width = 1}));
  // 65,536 = 256^2: 256 full level-0 tiles, one full level-1 tile and a
  // level-2 tile of width 1.
  const std::vector<TileID> tiles_65536 = TilesForTreeSize(65536);
  ASSERT_EQ(tiles_65536.size(), 256u + 1u + 1u);
  EXPECT_EQ(tiles_65536[255], (TileID{.level = 0, .index = 255, .width = 256}));
  EXPECT_EQ(tiles_65536[256], (TileID{.level = 1, .index = 0, .width = 256}));
  EXPECT_EQ(tiles_65536[257], (TileID{.level = 2, .index = 0, .width = 1}));
  // 2^64 - 1: every level 0..7 has a partial tile of width 255; levels 8
  // and up are empty, and level 7 has no full tile.
  for (uint8_t level = 0; level < 8; ++level) {
    EXPECT_EQ(PartialTileWidth(level, kMaxU64), 255) << int{level};
  }
  EXPECT_EQ(FullTileCount(6, kMaxU64), 255u);
  EXPECT_EQ(FullTileCount(7, kMaxU64), 0u);
  EXPECT_EQ(PartialTileWidth(8, kMaxU64), 0);
  EXPECT_EQ(FullTileCount(8, kMaxU64), 0u);
  EXPECT_EQ(PartialTileWidth(63, kMaxU64), 0);
  EXPECT_EQ(FullTileCount(255, kMaxU64), 0u);
  EXPECT_EQ(FullTileCount(0, kMaxU64), kMaxU64 >> 8);
}

TEST(TileLayoutTest, EachLevelCoversExactlyItsCompleteHashes) {
  // Level l of a tree of size s holds floor(s / 256^l) hashes in all, one
  // run of consecutive tiles with only the last possibly partial.
  SCOPED_TRACE(::testing::Message() << "seed " << kSeed);
  std::mt19937_64 rng(kSeed);
  std::vector<uint64_t> sizes;
  for (uint64_t s = 0; s <= 1100; ++s) sizes.push_back(s);
  for (uint64_t s : {65535ULL, 65536ULL, 65537ULL, 16777215ULL, 16777216ULL}) {
    sizes.push_back(s);
  }
  for (int i = 0; i < 50; ++i) sizes.push_back(rng() % 50000000);
  for (uint64_t s : sizes) {
    std::map<uint8_t, uint64_t> hashes_per_level;
    std::map<uint8_t, uint64_t> next_index;
    for (const TileID& t : TilesForTreeSize(s)) {
      EXPECT_EQ(t.index, next_index[t.level]) << "size " << s;
      ++next_index[t.level];
      hashes_per_level[t.level] += t.width;
    }
    for (uint8_t level = 0; level < 8; ++level) {
      EXPECT_EQ(hashes_per_level[level], s >> (8 * level))
          << "size " << s << " level " << int{level};
    }
    const std::vector<EntryBundleID> bundles = EntryBundlesForTreeSize(s);
    ASSERT_EQ(bundles.size(), next_index[0]) << "size " << s;
    uint64_t entries = 0;
    for (const EntryBundleID& b : bundles) entries += b.width;
    EXPECT_EQ(entries, s);
  }
}

// ---------------------------------------------------------------------------
// Nodes in tiles

TEST(TileForNodeTest, MatchesBruteForceForEveryNodeOfManyTrees) {
  for (uint64_t size :
       {1ULL, 2ULL, 3ULL, 255ULL, 256ULL, 257ULL, 511ULL, 512ULL, 1000ULL,
        65535ULL, 65536ULL, 65537ULL, 70000ULL, 131073ULL}) {
    // Brute force: every aligned run of 2^r hashes of every tile of the tree
    // is the node at tree level 8 * tile_level + r above it.
    std::map<NodeID, NodeInTile> want;
    for (const TileID& tile : TilesForTreeSize(size)) {
      for (int r = 0; r < 8; ++r) {
        const uint32_t run = 1u << r;
        for (uint32_t begin = 0; begin + run <= tile.width; begin += run) {
          const NodeID node{.level = static_cast<uint8_t>(8 * tile.level + r),
                            .index = (tile.index * 256 + begin) >> r};
          const bool inserted =
              want.emplace(
                      node,
                      NodeInTile{.tile = tile,
                                 .begin = static_cast<uint16_t>(begin),
                                 .end = static_cast<uint16_t>(begin + run)})
                  .second;
          ASSERT_TRUE(inserted);
        }
      }
    }
    // Every complete node of the tree is found, exactly where brute force
    // puts it; the first incomplete node of each level is out of range.
    uint64_t nodes = 0;
    for (uint8_t level = 0; level < 64; ++level) {
      const uint64_t complete = size >> level;
      for (uint64_t index = 0; index < complete; ++index) {
        const NodeID node{.level = level, .index = index};
        absl::StatusOr<NodeInTile> got = TileForNode(node, size);
        ASSERT_TRUE(got.ok()) << got.status();
        auto it = want.find(node);
        ASSERT_NE(it, want.end())
            << "size " << size << " node " << int{level} << "/" << index;
        EXPECT_EQ(*got, it->second)
            << "size " << size << " node " << int{level} << "/" << index;
        ++nodes;
      }
      EXPECT_EQ(TileForNode({.level = level, .index = complete}, size)
                    .status()
                    .code(),
                absl::StatusCode::kOutOfRange)
          << "size " << size << " level " << int{level};
    }
    EXPECT_EQ(nodes, want.size()) << "size " << size;
  }
}

TEST(TileForNodeTest, RejectsNodesOutsideTheTreeWithoutOverflow) {
  EXPECT_EQ(TileForNode({.level = 0, .index = 0}, 0).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(
      TileForNode({.level = 0, .index = kMaxU64}, kMaxU64).status().code(),
      absl::StatusCode::kOutOfRange);
  EXPECT_EQ(TileForNode({.level = 63, .index = 1}, kMaxU64).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(TileForNode({.level = 62, .index = 3}, kMaxU64).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(TileForNode({.level = 64, .index = 0}, kMaxU64).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(TileForNode({.level = 3, .index = 9}, 70).status().message(),
              HasSubstr("(level 3, index 9)"));

  // The last leaf and the highest node of the largest tree.
  absl::StatusOr<NodeInTile> last =
      TileForNode({.level = 0, .index = kMaxU64 - 1}, kMaxU64);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(
      *last,
      (NodeInTile{.tile = {.level = 0, .index = kMaxU64 >> 8, .width = 255},
                  .begin = 254,
                  .end = 255}));
  absl::StatusOr<NodeInTile> top =
      TileForNode({.level = 62, .index = 1}, kMaxU64);
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(*top, (NodeInTile{.tile = {.level = 7, .index = 0, .width = 255},
                              .begin = 64,
                              .end = 128}));
  absl::StatusOr<NodeInTile> left_half =
      TileForNode({.level = 63, .index = 0}, kMaxU64);
  ASSERT_TRUE(left_half.ok()) << left_half.status();
  EXPECT_EQ(*left_half,
            (NodeInTile{.tile = {.level = 7, .index = 0, .width = 255},
                        .begin = 0,
                        .end = 128}));
}

TEST(TileForNodeTest, NodeHashFromTileEqualsTheSubtreeRoot) {
  constexpr uint64_t kSize = 3000;
  const std::vector<Hash> leaves = LeafHashes(kSize);
  TileMap tiles;
  ASSERT_TRUE(BuildTiles(leaves, Collect(&tiles)).ok());
  for (uint8_t level = 0; level < 12; ++level) {
    for (uint64_t index = 0; index < (kSize >> level); ++index) {
      const NodeID node{.level = level, .index = index};
      absl::StatusOr<NodeInTile> where = TileForNode(node, kSize);
      ASSERT_TRUE(where.ok()) << where.status();
      auto tile = tiles.find(where->tile);
      ASSERT_NE(tile, tiles.end()) << TilePath(where->tile);
      absl::StatusOr<Hash> got = NodeHashFromTile(*where, tile->second);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, ReferenceRoot(std::span(leaves).subspan(
                          node.Begin(), node.End() - node.Begin())))
          << int{level} << "/" << index;
    }
  }
}

TEST(TileTreeTest, EveryAlignedNodeEqualsNodeHashFromTile) {
  const std::vector<Hash> hashes = LeafHashes(kTileWidth);
  for (size_t width : {size_t{1}, size_t{2}, size_t{3}, size_t{44}, size_t{255},
                       size_t{256}}) {
    const std::span<const Hash> tile = std::span(hashes).first(width);
    const TileTree tree(tile);
    EXPECT_EQ(tree.width(), width);
    size_t nodes = 0;
    for (uint16_t length = 1; length <= width; length *= 2) {
      for (uint16_t begin = 0; begin + length <= width; begin += length) {
        const NodeInTile where{.tile = {},
                               .begin = begin,
                               .end = static_cast<uint16_t>(begin + length)};
        absl::StatusOr<Hash> got = tree.Node(where);
        ASSERT_TRUE(got.ok()) << got.status();
        EXPECT_EQ(*got, *NodeHashFromTile(where, tile))
            << width << ": [" << begin << ", " << begin + length << ")";
        ++nodes;
      }
    }
    EXPECT_EQ(tree.bytes(), nodes * kHashSize);
  }
}

TEST(TileTreeTest, RefusesRangesThatAreNotAlignedSubtreesInside) {
  const std::vector<Hash> hashes = LeafHashes(44);
  const TileTree tree(hashes);
  for (auto [begin, end] : std::vector<std::pair<uint16_t, uint16_t>>{{0, 0},
                                                                      {5, 5},
                                                                      {1, 3},
                                                                      {0, 3},
                                                                      {2, 6},
                                                                      {40, 48},
                                                                      {44, 45},
                                                                      {0, 64},
                                                                      {8, 4}}) {
    EXPECT_EQ(
        tree.Node({.tile = {}, .begin = begin, .end = end}).status().code(),
        absl::StatusCode::kInvalidArgument)
        << begin << ", " << end;
  }
}

TEST(TileForNodeTest, FullTileStandsInForThePartialOne) {
  const std::vector<Hash> leaves = LeafHashes(512);
  TileMap small;
  TileMap big;
  ASSERT_TRUE(BuildTiles(std::span(leaves).first(300), Collect(&small)).ok());
  ASSERT_TRUE(BuildTiles(leaves, Collect(&big)).ok());
  const NodeID node{.level = 2, .index = 70};  // Leaves [280, 284).
  absl::StatusOr<NodeInTile> where = TileForNode(node, 300);
  ASSERT_TRUE(where.ok());
  EXPECT_EQ(where->tile, (TileID{.level = 0, .index = 1, .width = 44}));
  const auto& full = big.at({.level = 0, .index = 1, .width = 256});
  const auto& partial = small.at(where->tile);
  EXPECT_EQ(*NodeHashFromTile(*where, full),
            *NodeHashFromTile(*where, partial));

  // A tile too narrow for the range is refused, not over-read.
  absl::StatusOr<Hash> short_tile =
      NodeHashFromTile(*where, std::span(partial).first(27));
  EXPECT_EQ(short_tile.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_tile.status().message(), HasSubstr("27 hashes, need 28"));
  std::vector<Hash> too_wide(257);
  EXPECT_EQ(NodeHashFromTile(*where, too_wide).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NodeHashFromTile({.tile = {}, .begin = 5, .end = 5}, full)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TileEntryLocationTest, LocatesEntriesInFullAndPartialBundles) {
  EXPECT_EQ(
      *EntryBundleForEntry(0, 1000),
      (EntryInBundle{.bundle = {.index = 0, .width = 256}, .position = 0}));
  EXPECT_EQ(
      *EntryBundleForEntry(255, 1000),
      (EntryInBundle{.bundle = {.index = 0, .width = 256}, .position = 255}));
  EXPECT_EQ(
      *EntryBundleForEntry(256, 1000),
      (EntryInBundle{.bundle = {.index = 1, .width = 256}, .position = 0}));
  EXPECT_EQ(
      *EntryBundleForEntry(999, 1000),
      (EntryInBundle{.bundle = {.index = 3, .width = 232}, .position = 231}));
  EXPECT_EQ(
      *EntryBundleForEntry(767, 768),
      (EntryInBundle{.bundle = {.index = 2, .width = 256}, .position = 255}));
  absl::StatusOr<EntryInBundle> past = EntryBundleForEntry(1000, 1000);
  EXPECT_EQ(past.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(past.status().message(),
              HasSubstr("entry index 1000 out of range for tree size 1000"));
}

// ---------------------------------------------------------------------------
// Encodings

TEST(TileEncodingTest, TileIsItsHashesConcatenatedAndRoundTrips) {
  SCOPED_TRACE(::testing::Message() << "seed " << kSeed);
  std::mt19937_64 rng(kSeed);
  for (size_t width : {1, 2, 112, 255, 256}) {
    std::vector<Hash> hashes;
    for (size_t i = 0; i < width; ++i) hashes.push_back(RandomHash(rng));
    const std::string data = EncodeTile(hashes);
    ASSERT_EQ(data.size(), 32 * width);
    for (size_t i = 0; i < width; ++i) {
      EXPECT_EQ(data.substr(32 * i, 32),
                std::string(hashes[i].begin(), hashes[i].end()));
    }
    absl::StatusOr<std::vector<Hash>> decoded = DecodeTile(data, width);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, hashes);
  }
}

TEST(TileEncodingTest, DecodeRejectsWrongLengthsAndWidths) {
  const std::string full(8192, 'h');
  EXPECT_TRUE(DecodeTile(full, 256).ok());
  struct Case {
    std::string data;
    size_t width;
    std::string why;
  };
  const std::vector<Case> cases = {
      {full.substr(1), 256, "tile is 8191 bytes, want 8192"},
      {full + "h", 256, "tile is 8193 bytes, want 8192"},
      {"", 256, "tile is 0 bytes, want 8192"},
      {"", 1, "tile is 0 bytes, want 32"},
      {full, 255, "tile is 8192 bytes, want 8160"},
      {full.substr(0, 31), 1, "want 32"},
      {full.substr(0, 33), 1, "want 32"},
      {"", 0, "tile width 0 out of range 1..256"},
      {full + std::string(32, 'h'), 257, "tile width 257 out of range 1..256"},
      {"", 300, "tile width 300 out of range 1..256"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<Hash>> decoded = DecodeTile(c.data, c.width);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << c.why;
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.why));
  }
}

TEST(TileEntryBundleTest, EncodesBigEndianLengthPrefixes) {
  const std::vector<std::string> entries = {"a", "", std::string(258, 'z')};
  absl::StatusOr<std::string> bundle = EncodeEntryBundle(entries);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(*bundle, std::string("\x00\x01"
                                 "a"
                                 "\x00\x00"
                                 "\x01\x02",
                                 7) +
                         std::string(258, 'z'));
}

TEST(TileEntryBundleTest, RoundTripsEmptyMaximalAndManyEntries) {
  SCOPED_TRACE(::testing::Message() << "seed " << kSeed);
  std::mt19937_64 rng(kSeed);
  std::vector<std::vector<std::string>> bundles = {
      {""},
      {std::string(kMaxEntrySize, '\xff')},
      {std::string(kMaxEntrySize, 'a'), "", std::string(kMaxEntrySize, 'b')},
  };
  for (size_t width : {1, 2, 255, 256}) {
    std::vector<std::string> entries;
    for (size_t i = 0; i < width; ++i) {
      std::string entry(rng() % 700, '\0');
      for (char& c : entry) c = static_cast<char>(rng());
      entries.push_back(std::move(entry));
    }
    bundles.push_back(std::move(entries));
  }
  for (const std::vector<std::string>& entries : bundles) {
    absl::StatusOr<std::string> bundle = EncodeEntryBundle(entries);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    absl::StatusOr<std::vector<std::string>> decoded =
        DecodeEntryBundle(*bundle, entries.size());
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, entries);

    std::string appended;
    for (const std::string& e : entries) {
      ASSERT_TRUE(AppendBundleEntry(e, &appended).ok());
    }
    EXPECT_EQ(appended, *bundle);
  }
}

TEST(TileEntryBundleTest, EncodeRejectsOversizedEntriesAndBadCounts) {
  std::vector<std::string> entries = {"a", "b", std::string(65536, 'x'), "d"};
  absl::StatusOr<std::string> bundle = EncodeEntryBundle(entries);
  EXPECT_EQ(bundle.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bundle.status().message(),
              HasSubstr("entry 2 is 65536 bytes, over the maximum 65535"));

  EXPECT_THAT(EncodeEntryBundle({}).status().message(),
              HasSubstr("entry bundle of 0 entries; want 1..256"));
  const std::vector<std::string> too_many(257, "e");
  EXPECT_THAT(EncodeEntryBundle(too_many).status().message(),
              HasSubstr("entry bundle of 257 entries; want 1..256"));

  std::string appended = "prefix";
  const absl::Status s = AppendBundleEntry(std::string(70000, 'x'), &appended);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("70000 bytes"));
  EXPECT_EQ(appended, "prefix");
}

TEST(TileEntryBundleTest, DecodeRejectsHostileBundles) {
  using std::string_literals::operator""s;
  struct Case {
    std::string bundle;
    size_t width;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"", 1, "ends after 0 entries, want 1"},
      {"\x00"s, 1, "entry 0: length prefix truncated at offset 0 (1 byte"},
      {"\x00\x01"s, 1, "entry 0: length 1 at offset 0 runs past the end"},
      {"\x00\x05"
       "abcd"s,
       1, "length 5 at offset 0 runs past the end of the bundle (4 bytes"},
      {"\xff\xff"
       "abc"s,
       1, "length 65535"},
      {"\x00\x01"
       "a\x00"s,
       2, "entry 1: length prefix truncated at offset 3"},
      {"\x00\x01"
       "a"s,
       2, "ends after 1 entries, want 2"},
      {"\x00\x01"
       "a\x00\x00"s,
       1, "2 trailing bytes after 1 entries"},
      {"\x00\x01"
       "a\x00"s,
       1, "1 trailing bytes after 1 entries"},
      {"\x00\x00"s, 0, "entry bundle width 0 out of range 1..256"},
      {"\x00\x00"s, 257, "entry bundle width 257 out of range 1..256"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<std::string>> decoded =
        DecodeEntryBundle(c.bundle, c.width);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << c.why;
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.why));
  }
}

TEST(TileEntryBundleTest, EveryTruncationAndExtensionIsRejected) {
  const std::vector<std::string> entries = {"first", "", "third entry",
                                            std::string(300, 'q')};
  const std::string bundle = *EncodeEntryBundle(entries);
  // Copy each prefix into its own buffer so a sanitizer build catches any
  // read past its end.
  for (size_t len = 0; len < bundle.size(); ++len) {
    const std::vector<char> prefix(bundle.data(), bundle.data() + len);
    EXPECT_FALSE(
        DecodeEntryBundle(std::string_view(prefix.data(), len), 4).ok())
        << "prefix of " << len << " bytes accepted";
  }
  EXPECT_FALSE(DecodeEntryBundle(bundle + "x", 4).ok());
  EXPECT_FALSE(DecodeEntryBundle(bundle, 3).ok());
  EXPECT_FALSE(DecodeEntryBundle(bundle, 5).ok());
  EXPECT_TRUE(DecodeEntryBundle(bundle, 4).ok());
}

// ---------------------------------------------------------------------------
// Computing tiles

TEST(TileRootTest, MerkleRootOfHashesMatchesRfc6962KnownAnswers) {
  absl::StatusOr<std::string> text =
      vigil::testing::ReadTestdata("rfc6962_vectors.json");
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json vectors = nlohmann::json::parse(*text);
  std::vector<Hash> leaves;
  for (const auto& hex : vectors.at("leaf_hashes")) {
    absl::StatusOr<std::vector<uint8_t>> bytes =
        HexDecode(hex.get<std::string>(), "leaf hash");
    ASSERT_TRUE(bytes.ok() && bytes->size() == kHashSize);
    Hash h;
    std::copy(bytes->begin(), bytes->end(), h.begin());
    leaves.push_back(h);
  }
  ASSERT_EQ(leaves.size(), 300u);
  const auto& roots = vectors.at("roots");
  TileBuilder builder;
  const TileSink ignore = [](const TileID&, std::span<const Hash>) {
    return absl::OkStatus();
  };
  EXPECT_EQ(HexEncode(builder.Root()), roots.at(0).get<std::string>());
  for (size_t n = 1; n <= leaves.size(); ++n) {
    EXPECT_EQ(HexEncode(MerkleRootOfHashes(std::span(leaves).first(n))),
              roots.at(n).get<std::string>())
        << "size " << n;
    ASSERT_TRUE(builder.Append(leaves[n - 1], ignore).ok());
    EXPECT_EQ(HexEncode(builder.Root()), roots.at(n).get<std::string>())
        << "size " << n;
  }
}

TEST(TileRootTest, MerkleRootOfHashesMatchesRecursiveReference) {
  SCOPED_TRACE(::testing::Message() << "seed " << kSeed);
  std::mt19937_64 rng(kSeed);
  std::vector<Hash> hashes(1100);
  for (Hash& h : hashes) h = RandomHash(rng);
  for (size_t n = 1; n <= hashes.size(); ++n) {
    EXPECT_EQ(MerkleRootOfHashes(std::span(hashes).first(n)),
              ReferenceRoot(std::span(hashes).first(n)))
        << n;
  }
}

TEST(TileBuilderTest, BuildsEveryTileOfManyTreeSizesByDefinition) {
  const std::vector<Hash> leaves = LeafHashes(70000);
  for (uint64_t size : {0ULL, 1ULL, 255ULL, 256ULL, 257ULL, 1000ULL, 65535ULL,
                        65536ULL, 70000ULL}) {
    TileMap tiles;
    ASSERT_TRUE(
        BuildTiles(std::span(leaves).first(size), Collect(&tiles)).ok());
    EXPECT_EQ(Keys(tiles), TilesForTreeSize(size)) << "size " << size;
    for (const auto& [id, hashes] : tiles) {
      ExpectTileMatchesDefinition(id, hashes, std::span(leaves).first(size));
    }
  }
}

TEST(TileBuilderTest, IncrementalAppendsEmitEachFullTileOnceAndInOrder) {
  const std::vector<Hash> leaves = LeafHashes(70000);
  TileBuilder builder;
  TileMap full;
  std::vector<TileID> order;
  const TileSink sink = [&](const TileID& id, std::span<const Hash> hashes) {
    order.push_back(id);
    return Collect(&full)(id, hashes);
  };
  for (uint64_t i = 0; i < leaves.size(); ++i) {
    ASSERT_TRUE(builder.Append(leaves[i], sink).ok());
    const uint64_t size = i + 1;
    // At chosen checkpoints, full tiles so far plus the partial tiles are
    // exactly the tree's tiles, and the root is the tree's root.
    if (size == 1 || size == 256 || size == 300 || size == 65536 ||
        size == 70000) {
      TileMap all = full;
      ASSERT_TRUE(builder.EmitPartialTiles(Collect(&all)).ok());
      EXPECT_EQ(Keys(all), TilesForTreeSize(size)) << "size " << size;
      EXPECT_EQ(builder.Root(), ReferenceRoot(std::span(leaves).first(size)))
          << "size " << size;
      EXPECT_EQ(builder.size(), size);
      for (uint8_t level = 0; level < 8; ++level) {
        EXPECT_EQ(builder.PartialTile(level).size(),
                  PartialTileWidth(level, size));
      }
    }
  }
  // Level-1 tile 0 completes right after level-0 tile 255, its last input.
  auto level1 = std::find(order.begin(), order.end(),
                          TileID{.level = 1, .index = 0, .width = 256});
  ASSERT_NE(level1, order.end());
  ASSERT_NE(level1, order.begin());
  EXPECT_EQ(*(level1 - 1), (TileID{.level = 0, .index = 255, .width = 256}));
  EXPECT_EQ(order.size(), 273u + 1u);
  EXPECT_TRUE(builder.PartialTile(8).empty());
}

TEST(TileBuilderTest, ResumedBuilderContinuesLikeTheOriginal) {
  const std::vector<Hash> leaves = LeafHashes(70000);
  for (uint64_t split : {0ULL, 1ULL, 256ULL, 1000ULL, 65535ULL, 65536ULL}) {
    TileBuilder original;
    TileMap ignored;
    ASSERT_TRUE(
        original.AppendAll(std::span(leaves).first(split), Collect(&ignored))
            .ok());
    std::vector<std::vector<Hash>> partial;
    for (uint8_t level = 0; level < 8; ++level) {
      const std::span<const Hash> p = original.PartialTile(level);
      partial.emplace_back(p.begin(), p.end());
    }
    absl::StatusOr<TileBuilder> resumed = TileBuilder::Resume(split, partial);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_EQ(resumed->size(), split);
    EXPECT_EQ(resumed->Root(), original.Root());

    TileMap from_original;
    TileMap from_resumed;
    const auto rest = std::span(leaves).subspan(split);
    ASSERT_TRUE(original.AppendAll(rest, Collect(&from_original)).ok());
    ASSERT_TRUE(resumed->AppendAll(rest, Collect(&from_resumed)).ok());
    ASSERT_TRUE(original.EmitPartialTiles(Collect(&from_original)).ok());
    ASSERT_TRUE(resumed->EmitPartialTiles(Collect(&from_resumed)).ok());
    EXPECT_EQ(from_resumed, from_original) << "split " << split;
    EXPECT_EQ(resumed->Root(), original.Root());
  }
}

TEST(TileBuilderTest, ResumeRejectsPartialTilesOfTheWrongWidth) {
  std::vector<std::vector<Hash>> partial(2);
  partial[0].resize(232);
  partial[1].resize(3);
  EXPECT_TRUE(TileBuilder::Resume(1000, partial).ok());
  // Trailing empty levels may be given or omitted.
  partial.resize(12);
  EXPECT_TRUE(TileBuilder::Resume(1000, partial).ok());

  partial[1].resize(2);
  absl::StatusOr<TileBuilder> resumed = TileBuilder::Resume(1000, partial);
  EXPECT_EQ(resumed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(resumed.status().message(),
              HasSubstr("level 1 partial tile has 2 hashes, want 3 for tree "
                        "size 1000"));
  partial[1].resize(3);
  partial[9].resize(1);
  EXPECT_THAT(TileBuilder::Resume(1000, partial).status().message(),
              HasSubstr("level 9 partial tile has 1 hashes, want 0"));
  EXPECT_FALSE(TileBuilder::Resume(999, {}).ok());
  EXPECT_TRUE(TileBuilder::Resume(0, {}).ok());
}

TEST(TileBuilderTest, SinkErrorIsStickyAndTheStateStaysValid) {
  const std::vector<Hash> leaves = LeafHashes(600);
  TileBuilder builder;
  int calls = 0;
  const TileSink failing = [&](const TileID&, std::span<const Hash>) {
    ++calls;
    return absl::UnavailableError("disk full");
  };
  ASSERT_TRUE(builder.AppendAll(std::span(leaves).first(255), failing).ok());
  const absl::Status s = builder.Append(leaves[255], failing);
  EXPECT_EQ(s, absl::UnavailableError("disk full"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(builder.size(), 256u);
  EXPECT_EQ(builder.Root(), ReferenceRoot(std::span(leaves).first(256)));

  TileMap tiles;
  EXPECT_EQ(builder.Append(leaves[256], Collect(&tiles)), s);
  EXPECT_EQ(builder.EmitPartialTiles(Collect(&tiles)), s);
  EXPECT_EQ(builder.AppendAll(leaves, Collect(&tiles)), s);
  EXPECT_TRUE(tiles.empty());
  EXPECT_EQ(builder.size(), 256u);
}

TEST(TileBuilderTest, RefusesToGrowPastTheLargestTreeSize) {
  // The largest tree has a partial tile of width 255 at every level 0..7.
  std::vector<std::vector<Hash>> partial(8, std::vector<Hash>(255));
  absl::StatusOr<TileBuilder> builder = TileBuilder::Resume(kMaxU64, partial);
  ASSERT_TRUE(builder.ok()) << builder.status();
  TileMap tiles;
  const absl::Status s = builder->Append(Hash{}, Collect(&tiles));
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(builder->size(), kMaxU64);

  // One below the maximum: the append completes nothing (level 7 never
  // fills) and every level keeps 255 hashes.
  partial[0].resize(254);
  builder = TileBuilder::Resume(kMaxU64 - 1, partial);
  ASSERT_TRUE(builder.ok()) << builder.status();
  ASSERT_TRUE(builder->Append(Hash{}, Collect(&tiles)).ok());
  EXPECT_TRUE(tiles.empty());
  ASSERT_TRUE(builder->EmitPartialTiles(Collect(&tiles)).ok());
  EXPECT_EQ(Keys(tiles).size(), 8u);
  EXPECT_EQ(tiles.rbegin()->first,
            (TileID{.level = 7, .index = 0, .width = 255}));
}

}  // namespace
}  // namespace vigil::merkle
