#include "merkle/proof.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/testing/memory_tree.h"
#include "tests/testing/reference_tree.h"

namespace vigil::merkle {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint32_t kSeed = 9162;
constexpr uint64_t kMaxLeaves = 1000;

class ProofPropertyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    leaves_ = new std::vector<Hash>();
    tree_ = new testing::MemoryTree();
    for (uint64_t i = 0; i < kMaxLeaves; ++i) {
      const std::string data = "leaf " + std::to_string(i);
      leaves_->push_back(HashLeaf(AsBytes(data)));
      tree_->Append(leaves_->back());
    }
  }
  static void TearDownTestSuite() {
    delete leaves_;
    delete tree_;
  }
  static std::span<const Hash> Leaves(uint64_t n) {
    return std::span(*leaves_).first(n);
  }
  static const testing::MemoryTree& Tree() { return *tree_; }

 private:
  static std::vector<Hash>* leaves_;
  static testing::MemoryTree* tree_;
};

std::vector<Hash>* ProofPropertyTest::leaves_ = nullptr;
testing::MemoryTree* ProofPropertyTest::tree_ = nullptr;

TEST_F(ProofPropertyTest, InclusionProofsMatchReferenceForRandomPairs) {
  std::mt19937_64 rng(kSeed);
  for (int trial = 0; trial < 3000; ++trial) {
    const uint64_t size = 1 + rng() % kMaxLeaves;
    const uint64_t index = rng() % size;
    SCOPED_TRACE(::testing::Message()
                 << "seed " << kSeed << " index " << index << " size " << size);
    absl::StatusOr<std::vector<Hash>> proof =
        Tree().InclusionProof(index, size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    ASSERT_EQ(*proof, testing::ReferenceInclusionProof(index, Leaves(size)));
    const Hash root = testing::ReferenceRoot(Leaves(size));
    ASSERT_TRUE(
        VerifyInclusion(index, size, Leaves(size)[index], *proof, root).ok());
  }
}

TEST_F(ProofPropertyTest, EveryInclusionProofOfSmallTreesVerifies) {
  for (uint64_t size = 1; size <= 64; ++size) {
    const Hash root = Tree().RootAt(size);
    for (uint64_t index = 0; index < size; ++index) {
      absl::StatusOr<std::vector<Hash>> proof =
          Tree().InclusionProof(index, size);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(
          VerifyInclusion(index, size, Leaves(size)[index], *proof, root).ok())
          << index << "/" << size;
      // The proof binds the leaf to its position: no other leaf verifies.
      for (uint64_t other = 0; other < size; ++other) {
        if (other == index) continue;
        ASSERT_FALSE(
            VerifyInclusion(index, size, Leaves(size)[other], *proof, root)
                .ok());
      }
    }
  }
}

TEST_F(ProofPropertyTest, ConsistencyProofsMatchReferenceForRandomPairs) {
  std::mt19937_64 rng(kSeed + 1);
  for (int trial = 0; trial < 3000; ++trial) {
    const uint64_t new_size = 1 + rng() % kMaxLeaves;
    const uint64_t old_size = 1 + rng() % new_size;
    SCOPED_TRACE(::testing::Message() << "seed " << kSeed + 1 << " " << old_size
                                      << " -> " << new_size);
    absl::StatusOr<std::vector<Hash>> proof =
        Tree().ConsistencyProof(old_size, new_size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    ASSERT_EQ(*proof,
              testing::ReferenceConsistencyProof(old_size, Leaves(new_size)));
    ASSERT_TRUE(VerifyConsistency(old_size, new_size, Tree().RootAt(old_size),
                                  Tree().RootAt(new_size), *proof)
                    .ok());
  }
}

TEST_F(ProofPropertyTest, InconsistentTreesAreRejected) {
  // A log that rewrote leaf 5 after signing size 8 cannot prove the old
  // tree is a prefix of the new one.
  testing::MemoryTree forked;
  for (uint64_t i = 0; i < 20; ++i) {
    forked.Append(i == 5 ? HashLeaf(AsBytes("rewritten")) : Leaves(20)[i]);
  }
  for (uint64_t old_size = 6; old_size <= 20; ++old_size) {
    absl::StatusOr<std::vector<Hash>> proof =
        forked.ConsistencyProof(old_size, 20);
    ASSERT_TRUE(proof.ok());
    EXPECT_FALSE(VerifyConsistency(old_size, 20, Tree().RootAt(old_size),
                                   forked.RootAt(20), *proof)
                     .ok())
        << old_size;
  }
}

TEST(ProofNodesTest, EphemeralNodeOnTheRightBorder) {
  absl::StatusOr<ProofNodes> nodes = InclusionNodes(1, 7);
  ASSERT_TRUE(nodes.ok());
  EXPECT_THAT(nodes->ids, ElementsAre(NodeID{0, 0}, NodeID{1, 1}, NodeID{1, 2},
                                      NodeID{0, 6}));
  EXPECT_EQ(nodes->ephemeral_begin, 2u);
  EXPECT_EQ(nodes->ephemeral_end, 4u);
  EXPECT_EQ(nodes->ProofSize(), 3u);
}

TEST(ProofNodesTest, ConsistencyFromAPowerOfTwoOmitsTheOldRoot) {
  absl::StatusOr<ProofNodes> nodes = ConsistencyNodes(4, 8);
  ASSERT_TRUE(nodes.ok());
  EXPECT_THAT(nodes->ids, ElementsAre(NodeID{2, 1}));
  nodes = ConsistencyNodes(3, 8);
  ASSERT_TRUE(nodes.ok());
  EXPECT_THAT(nodes->ids, ElementsAre(NodeID{0, 2}, NodeID{0, 3}, NodeID{1, 0},
                                      NodeID{2, 1}));
}

TEST(ProofNodesTest, TrivialConsistencyProofsAreEmpty) {
  EXPECT_TRUE(ConsistencyNodes(0, 10)->ids.empty());
  EXPECT_TRUE(ConsistencyNodes(10, 10)->ids.empty());
}

TEST(ProofNodesTest, OutOfRangeRequestsAreErrorsNamingTheValues) {
  absl::StatusOr<ProofNodes> nodes = InclusionNodes(9, 8);
  EXPECT_EQ(nodes.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(nodes.status().message()),
              HasSubstr("index 9 out of range for tree size 8"));
  EXPECT_EQ(InclusionNodes(0, 0).status().code(),
            absl::StatusCode::kOutOfRange);
  nodes = ConsistencyNodes(9, 8);
  EXPECT_EQ(nodes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nodes.status().message()),
              HasSubstr("old tree size 9 is larger than new tree size 8"));
}

TEST(ProofNodesTest, HugeTreesNeedAtMostTwoNodesPerLevel) {
  absl::StatusOr<ProofNodes> nodes = InclusionNodes(UINT64_MAX - 1, UINT64_MAX);
  ASSERT_TRUE(nodes.ok());
  EXPECT_LE(nodes->ids.size(), 128u);
  nodes = InclusionNodes(0, UINT64_MAX);
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->ProofSize(), 64u);
  nodes = ConsistencyNodes(1, UINT64_MAX);
  ASSERT_TRUE(nodes.ok());
  EXPECT_LE(nodes->ids.size(), 128u);
}

TEST(AssembleProofTest, WrongNumberOfHashesIsAnError) {
  absl::StatusOr<ProofNodes> nodes = InclusionNodes(1, 7);
  ASSERT_TRUE(nodes.ok());
  const std::vector<Hash> three(3, EmptyRoot());
  const absl::StatusOr<std::vector<Hash>> proof = AssembleProof(*nodes, three);
  EXPECT_EQ(proof.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(proof.status().message()),
              HasSubstr("needs 4 node hashes, got 3"));
}

TEST(VerifyTest, ErrorsNameTheValues) {
  const Hash h = EmptyRoot();
  absl::Status s = VerifyInclusion(8, 8, h, {}, h);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(s.message()), HasSubstr("index 8"));
  const std::vector<Hash> two(2, h);
  s = VerifyInclusion(0, 8, h, two, h);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("has 2 hashes, want 3"));
  s = VerifyConsistency(5, 4, h, h, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = VerifyConsistency(0, 4, HashLeaf({}), h, {});
  EXPECT_THAT(std::string(s.message()), HasSubstr("not the empty root"));
  s = VerifyConsistency(4, 4, h, HashLeaf({}), {});
  EXPECT_THAT(std::string(s.message()), HasSubstr("different roots"));
  EXPECT_TRUE(VerifyConsistency(0, 4, EmptyRoot(), h, {}).ok());
  s = VerifyConsistency(3, 8, h, h, two);
  EXPECT_THAT(std::string(s.message()), HasSubstr("has 2 hashes, want 4"));
}

TEST(VerifyTest, HugeSizesDoNotCrash) {
  const std::vector<Hash> proof(64, EmptyRoot());
  EXPECT_FALSE(
      VerifyInclusion(0, UINT64_MAX, EmptyRoot(), proof, EmptyRoot()).ok());
  EXPECT_FALSE(VerifyConsistency(UINT64_MAX - 1, UINT64_MAX, EmptyRoot(),
                                 EmptyRoot(), proof)
                   .ok());
}

}  // namespace
}  // namespace vigil::merkle
