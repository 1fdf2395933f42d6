// RecyclingMessageAllocator: a released pair comes back cleared, with its
// repeated strings' buffers kept, and no more than max_idle pairs are kept.

#include "server/recycling_allocator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vigil/v1/log.pb.h"

namespace vigil::server {
namespace {

using Allocator = RecyclingMessageAllocator<v1::GetConsistencyProofRequest,
                                            v1::ConsistencyProofResponse>;
using Holder = grpc::MessageHolder<v1::GetConsistencyProofRequest,
                                   v1::ConsistencyProofResponse>;

TEST(RecyclingMessageAllocatorTest, AReleasedPairComesBackClearedWithBuffers) {
  Allocator allocator(4);
  Holder* first = allocator.AllocateMessages();
  first->request()->set_old_size(7);
  first->response()->set_new_size(9);
  for (int i = 0; i < 20; ++i) {
    first->response()->add_proof()->assign(32, static_cast<char>('a' + i));
  }
  const std::string* const kept_string = &first->response()->proof(0);
  first->Release();
  EXPECT_EQ(allocator.idle(), 1u);

  Holder* second = allocator.AllocateMessages();
  EXPECT_EQ(second, first);
  EXPECT_EQ(allocator.idle(), 0u);
  EXPECT_EQ(second->request()->old_size(), 0u);
  EXPECT_EQ(second->response()->new_size(), 0u);
  EXPECT_EQ(second->response()->proof_size(), 0);
  // The next hash is written into a string the last response held, whose
  // buffer already fits a hash.
  std::string* reused = second->response()->add_proof();
  EXPECT_EQ(reused, kept_string);
  EXPECT_TRUE(reused->empty());
  EXPECT_GE(reused->capacity(), 32u);
  second->Release();
}

TEST(RecyclingMessageAllocatorTest, KeepsAtMostMaxIdlePairs) {
  Allocator allocator(2);
  std::vector<Holder*> holders;
  for (int i = 0; i < 5; ++i) holders.push_back(allocator.AllocateMessages());
  for (int i = 0; i < 5; ++i) {
    EXPECT_NE(holders[i]->request(), nullptr);
    EXPECT_NE(holders[i]->response(), nullptr);
    for (int j = 0; j < i; ++j) EXPECT_NE(holders[i], holders[j]);
  }
  for (Holder* holder : holders) holder->Release();
  EXPECT_EQ(allocator.idle(), 2u);

  // The two kept pairs are handed out again, then new ones are made.
  Holder* a = allocator.AllocateMessages();
  Holder* b = allocator.AllocateMessages();
  Holder* c = allocator.AllocateMessages();
  EXPECT_EQ(allocator.idle(), 0u);
  EXPECT_NE(a, b);
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  a->Release();
  b->Release();
  c->Release();
  EXPECT_EQ(allocator.idle(), 2u);
}

TEST(RecyclingMessageAllocatorTest, KeepsNothingWithMaxIdleZero) {
  Allocator allocator(0);
  Holder* holder = allocator.AllocateMessages();
  holder->request()->set_new_size(3);
  holder->Release();
  EXPECT_EQ(allocator.idle(), 0u);
}

}  // namespace
}  // namespace vigil::server
