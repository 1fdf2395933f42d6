// TileCache: finds trees at least as wide as asked, keeps the widest, and
// evicts the least recently used beyond its capacity.

#include "server/tile_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "merkle/hash.h"

namespace vigil::server {
namespace {

using merkle::Hash;
using merkle::TileTree;

std::shared_ptr<const TileTree> Tree(size_t width) {
  std::vector<Hash> hashes(width);
  for (size_t i = 0; i < width; ++i) hashes[i][0] = static_cast<uint8_t>(i);
  return std::make_shared<const TileTree>(hashes);
}

TEST(TileCacheTest, FindsOnlyATreeAtLeastAsWideAsAsked) {
  TileCache cache(1 << 20);
  EXPECT_EQ(cache.Find(0, 7, 1), nullptr);
  cache.Insert(0, 7, Tree(44));
  EXPECT_NE(cache.Find(0, 7, 44), nullptr);
  EXPECT_NE(cache.Find(0, 7, 1), nullptr);
  EXPECT_EQ(cache.Find(0, 7, 45), nullptr);
  EXPECT_EQ(cache.Find(1, 7, 1), nullptr);
  EXPECT_EQ(cache.Find(0, 8, 1), nullptr);

  // A wider tree replaces it; a narrower one does not.
  cache.Insert(0, 7, Tree(100));
  EXPECT_EQ(cache.Find(0, 7, 100)->width(), 100u);
  cache.Insert(0, 7, Tree(50));
  EXPECT_EQ(cache.Find(0, 7, 1)->width(), 100u);
  EXPECT_EQ(cache.bytes(), Tree(100)->bytes());
}

TEST(TileCacheTest, EvictsTheLeastRecentlyUsedBeyondItsCapacity) {
  const size_t one = Tree(256)->bytes();
  TileCache cache(3 * one);
  for (uint64_t i = 0; i < 3; ++i) cache.Insert(0, i, Tree(256));
  EXPECT_EQ(cache.bytes(), 3 * one);
  ASSERT_NE(cache.Find(0, 0, 256), nullptr);  // 1 is now the oldest.
  cache.Insert(0, 3, Tree(256));
  EXPECT_EQ(cache.bytes(), 3 * one);
  EXPECT_EQ(cache.Find(0, 1, 1), nullptr);
  EXPECT_NE(cache.Find(0, 0, 1), nullptr);
  EXPECT_NE(cache.Find(0, 2, 1), nullptr);
  EXPECT_NE(cache.Find(0, 3, 1), nullptr);
}

TEST(TileCacheTest, ACapacityOfZeroKeepsNothing) {
  TileCache cache(0);
  cache.Insert(0, 0, Tree(1));
  EXPECT_EQ(cache.Find(0, 0, 1), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace
}  // namespace vigil::server
