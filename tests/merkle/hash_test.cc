#include "merkle/hash.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "merkle/encoding.h"

namespace vigil::merkle {
namespace {

TEST(HashTest, EmptyRootIsSha256OfNothing) {
  EXPECT_EQ(HexEncode(EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HashTest, LeafHashOfEmptyEntryIsKnownAnswer) {
  EXPECT_EQ(HexEncode(HashLeaf({})),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST(HashTest, Sha256MatchesFips180Example) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashTest, ChildrenHashIsDomainSeparatedFromLeafHash) {
  const Hash left = HashLeaf(AsBytes("a"));
  const Hash right = HashLeaf(AsBytes("b"));
  std::vector<uint8_t> node_input = {0x01};
  node_input.insert(node_input.end(), left.begin(), left.end());
  node_input.insert(node_input.end(), right.begin(), right.end());
  EXPECT_EQ(HashChildren(left, right), Sha256(node_input));
  EXPECT_NE(HashChildren(left, right),
            HashLeaf(std::span(node_input).subspan(1)));
}

TEST(HashTest, ConcatEqualsHashOfJoinedParts) {
  const std::span<const uint8_t> parts[] = {AsBytes("ab"), AsBytes(""),
                                            AsBytes("c")};
  EXPECT_EQ(Sha256Concat(parts), Sha256(AsBytes("abc")));
}

TEST(HashTest, ThreadsHashIndependently) {
  // Each thread keeps its own digest context; interleaved use must not mix.
  const Hash want = HashLeaf(AsBytes("vigil"));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (HashLeaf(AsBytes("vigil")) != want) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace vigil::merkle
