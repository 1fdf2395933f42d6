#include "tests/testing/log_calls.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "merkle/proof.h"
#include "server/entry.h"

namespace vigil::testing {

std::unique_ptr<grpc::ClientContext> CallContext(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

std::vector<merkle::Hash> ToHashes(
    const google::protobuf::RepeatedPtrField<std::string>& proof) {
  std::vector<merkle::Hash> hashes;
  for (const std::string& bytes : proof) {
    merkle::Hash h{};
    EXPECT_EQ(bytes.size(), h.size());
    std::copy_n(bytes.begin(), std::min(bytes.size(), h.size()), h.begin());
    hashes.push_back(h);
  }
  return hashes;
}

std::string EntryOf(const v1::SignedPayload& payload) {
  server::Entry e;
  e.kind = server::EntryKind::kAccessRecord;
  std::copy_n(payload.public_key().begin(),
              std::min<size_t>(payload.public_key().size(), 32),
              e.public_key.begin());
  std::copy_n(payload.signature().begin(),
              std::min<size_t>(payload.signature().size(), 64),
              e.signature.begin());
  e.payload = payload.payload();
  return server::EncodeEntry(e);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

merkle::Checkpoint LogReads::Checkpoint(std::string* note) const {
  v1::CheckpointResponse response;
  const grpc::Status status =
      log_->GetCheckpoint(CallContext().get(), {}, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(response.checkpoint(), *verifier_, origin_);
  EXPECT_TRUE(opened.ok()) << opened.status();
  if (!opened.ok()) return {};
  EXPECT_EQ(opened->checkpoint.size, response.size());
  if (note != nullptr) *note = response.checkpoint();
  return opened->checkpoint;
}

merkle::Checkpoint LogReads::WaitForSize(uint64_t size) const {
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (true) {
    merkle::Checkpoint c = Checkpoint();
    if (c.size >= size || absl::Now() > deadline ||
        ::testing::Test::HasFailure()) {
      EXPECT_GE(c.size, size);
      return c;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> LogReads::AllEntries(uint64_t size) const {
  std::vector<std::string> entries;
  while (entries.size() < size) {
    v1::GetEntriesRequest request;
    request.set_start(entries.size());
    request.set_count(size - entries.size());
    v1::GetEntriesResponse response;
    const grpc::Status status =
        log_->GetEntries(CallContext().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok() || response.entries_size() == 0) break;
    for (const std::string& e : response.entries()) entries.push_back(e);
  }
  return entries;
}

void LogReads::ExpectConsistent(const merkle::Checkpoint& old,
                                const merkle::Checkpoint& now) const {
  v1::GetConsistencyProofRequest request;
  request.set_old_size(old.size);
  request.set_new_size(now.size);
  v1::ConsistencyProofResponse response;
  const grpc::Status status =
      log_->GetConsistencyProof(CallContext().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(merkle::VerifyConsistency(old.size, now.size, old.root, now.root,
                                        ToHashes(response.proof()))
                  .ok())
      << "checkpoint of size " << old.size << " is not a prefix of size "
      << now.size;
}

}  // namespace vigil::testing
