#include "merkle/compact_range.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "tests/testing/reference_tree.h"

namespace vigil::merkle {
namespace {

using ::testing::ElementsAre;

constexpr uint32_t kSeed = 20261127;

std::vector<Hash> MakeLeafHashes(size_t n) {
  std::vector<Hash> leaves;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t be = __builtin_bswap64(i);
    leaves.push_back(
        HashLeaf({reinterpret_cast<const uint8_t*>(&be), sizeof(be)}));
  }
  return leaves;
}

TEST(DecomposeRangeTest, CoversRangeWithFewestPerfectSubtrees) {
  EXPECT_THAT(DecomposeRange(0, 7),
              ElementsAre(NodeID{2, 0}, NodeID{1, 2}, NodeID{0, 6}));
  EXPECT_THAT(DecomposeRange(3, 12),
              ElementsAre(NodeID{0, 3}, NodeID{2, 1}, NodeID{2, 2}));
  EXPECT_THAT(DecomposeRange(5, 5), ElementsAre());
  EXPECT_THAT(DecomposeRange(0, 8), ElementsAre(NodeID{3, 0}));
}

TEST(DecomposeRangeTest, NodesAreContiguousForRandomRanges) {
  std::mt19937_64 rng(kSeed);
  for (int trial = 0; trial < 2000; ++trial) {
    uint64_t a = rng();
    uint64_t b = rng();
    if (trial % 2 == 0) a %= 5000, b %= 5000;
    if (a > b) std::swap(a, b);
    uint64_t at = a;
    for (const NodeID& id : DecomposeRange(a, b)) {
      ASSERT_EQ(id.Begin(), at) << "seed " << kSeed << " trial " << trial;
      at = id.End();
    }
    ASSERT_EQ(at, b);
    ASSERT_LE(DecomposeRange(a, b).size(), 128u);
  }
}

TEST(DecomposeRangeTest, HandlesTheLargestSizes) {
  EXPECT_EQ(DecomposeRange(0, UINT64_MAX).size(), 64u);
  EXPECT_THAT(DecomposeRange(UINT64_MAX - 1, UINT64_MAX),
              ElementsAre(NodeID{0, UINT64_MAX - 1}));
}

TEST(CompactRangeTest, EmptyRangeHasEmptyRoot) {
  CompactRange range;
  EXPECT_EQ(*range.RootHash(), EmptyRoot());
  EXPECT_TRUE(range.hashes().empty());
}

TEST(CompactRangeTest, AppendMatchesReferenceRootAtEverySizeUpTo1000) {
  const std::vector<Hash> leaves = MakeLeafHashes(1000);
  CompactRange range;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    range.Append(leaves[n - 1]);
    ASSERT_EQ(*range.RootHash(),
              testing::ReferenceRoot(std::span(leaves).first(n)))
        << "size " << n;
    ASSERT_EQ(range.hashes().size(), DecomposeRange(0, n).size());
  }
}

TEST(CompactRangeTest, VisitorReportsEveryPerfectSubtreeOnceWithItsHash) {
  const std::vector<Hash> leaves = MakeLeafHashes(300);
  std::map<NodeID, Hash> seen;
  CompactRange range;
  for (const Hash& leaf : leaves) {
    range.Append(leaf, [&](NodeID id, const Hash& h) {
      EXPECT_TRUE(seen.emplace(id, h).second) << "node visited twice";
    });
  }
  size_t perfect = 0;
  for (uint8_t level = 0; (uint64_t{1} << level) <= leaves.size(); ++level) {
    for (uint64_t i = 0; ((i + 1) << level) <= leaves.size(); ++i) {
      const NodeID id{level, i};
      ASSERT_TRUE(seen.contains(id));
      EXPECT_EQ(seen[id], testing::ReferenceRoot(std::span(leaves).subspan(
                              id.Begin(), id.End() - id.Begin())));
      ++perfect;
    }
  }
  EXPECT_EQ(seen.size(), perfect);
}

TEST(CompactRangeTest, MergingRandomSplitsGivesTheSameRange) {
  const std::vector<Hash> leaves = MakeLeafHashes(1000);
  std::mt19937 rng(kSeed);
  for (int trial = 0; trial < 200; ++trial) {
    const uint64_t n = 1 + rng() % leaves.size();
    uint64_t a = rng() % (n + 1);
    uint64_t b = rng() % (n + 1);
    if (a > b) std::swap(a, b);
    CompactRange left(0), middle(a), right(b), whole(0);
    for (uint64_t i = 0; i < n; ++i) {
      (i < a ? left : i < b ? middle : right).Append(leaves[i]);
      whole.Append(leaves[i]);
    }
    ASSERT_TRUE(middle.Merge(right).ok());
    ASSERT_TRUE(left.Merge(middle).ok());
    ASSERT_EQ(left, whole) << "seed " << kSeed << " trial " << trial << " n "
                           << n << " splits " << a << "," << b;
  }
}

TEST(CompactRangeTest, MergeRefusesRangesThatAreNotAdjacent) {
  CompactRange a(0), b(5);
  a.Append(EmptyRoot());
  const absl::Status status = a.Merge(b);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("[5, 5) after range [0, 1)"));
  EXPECT_EQ(a.end(), 1u);
}

TEST(CompactRangeTest, RootOfARangeNotStartingAtZeroIsAnError) {
  CompactRange range(4);
  range.Append(EmptyRoot());
  EXPECT_EQ(range.RootHash().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(CompactRangeTest, FromHashesRestoresAPersistedFrontier) {
  const std::vector<Hash> leaves = MakeLeafHashes(777);
  CompactRange range;
  for (const Hash& leaf : leaves) range.Append(leaf);
  absl::StatusOr<CompactRange> restored = CompactRange::FromHashes(
      0, 777, std::vector<Hash>(range.hashes().begin(), range.hashes().end()));
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*restored, range);
  restored->Append(leaves[0]);
  range.Append(leaves[0]);
  EXPECT_EQ(*restored->RootHash(), *range.RootHash());
}

TEST(CompactRangeTest, FromHashesRejectsWrongCountsAndBounds) {
  EXPECT_EQ(CompactRange::FromHashes(0, 7, {EmptyRoot()}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CompactRange::FromHashes(9, 7, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CompactRange::FromHashes(0, 0, {EmptyRoot()}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CompactRange::FromHashes(3, 3, {}).ok());
}

}  // namespace
}  // namespace vigil::merkle
