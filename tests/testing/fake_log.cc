#include "tests/testing/fake_log.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "client/signing.h"
#include "merkle/checkpoint.h"
#include "merkle/hash.h"
#include "merkle/tlog_proof.h"
#include "server/entry.h"

namespace vigil::testing {

FakeLog::FakeLog(std::string origin) : origin_(std::move(origin)) {
  signer_.emplace(*merkle::Ed25519Signer::Generate(origin_));
  absl::MutexLock lock(&mu_);
  PublishLocked();
}

std::unique_ptr<grpc::Server> FakeLog::Serve() {
  grpc::ServerBuilder builder;
  builder.RegisterService(this);
  return builder.BuildAndStart();
}

std::string FakeLog::vkey() const { return signer_->verifier().vkey(); }

void FakeLog::Append(const std::string& entry) {
  absl::MutexLock lock(&mu_);
  AppendLocked(entry);
}

void FakeLog::AppendLocked(const std::string& entry) {
  const merkle::Hash leaf = merkle::HashLeaf(merkle::AsBytes(entry));
  index_of_.emplace(leaf, entries_.size());
  entries_.push_back(entry);
  tree_.Append(leaf);
}

void FakeLog::Publish() {
  absl::MutexLock lock(&mu_);
  PublishLocked();
}

void FakeLog::PublishLocked() {
  merkle::Checkpoint c;
  c.origin = origin_;
  c.size = tree_.size();
  c.root = tree_.RootAt(c.size);
  const merkle::NoteSigner* const signers[] = {&*signer_};
  checkpoint_ = *merkle::SignNote(*merkle::MarshalCheckpoint(c), signers);
  published_size_ = c.size;
}

void FakeLog::ReplaceHistory(const std::vector<std::string>& entries) {
  absl::MutexLock lock(&mu_);
  entries_.clear();
  index_of_.clear();
  tree_ = MemoryTree();
  for (const std::string& e : entries) AppendLocked(e);
  PublishLocked();
}

std::string FakeLog::checkpoint() const {
  absl::MutexLock lock(&mu_);
  return checkpoint_;
}

void FakeLog::FailNextCalls(int n, grpc::StatusCode code) {
  absl::MutexLock lock(&mu_);
  fail_calls_ = n;
  fail_code_ = code;
}

void FakeLog::PushBackOnce() {
  absl::MutexLock lock(&mu_);
  push_back_once_ = true;
}

void FakeLog::CorruptLeafHashes() {
  absl::MutexLock lock(&mu_);
  corrupt_leaf_hashes_ = true;
}

void FakeLog::CorruptProofs() {
  absl::MutexLock lock(&mu_);
  corrupt_proofs_ = true;
}

void FakeLog::SetDelay(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  delay_ = delay;
}

void FakeLog::SetMaxEntriesPerCall(size_t n) {
  absl::MutexLock lock(&mu_);
  max_entries_per_call_ = n;
}

int FakeLog::calls(const std::string& method) const {
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(method);
  return it == calls_.end() ? 0 : it->second;
}

uint64_t FakeLog::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

grpc::Status FakeLog::Enter(const std::string& method) {
  absl::Duration delay;
  {
    absl::MutexLock lock(&mu_);
    ++calls_[method];
    delay = delay_;
    if (fail_calls_ > 0) {
      --fail_calls_;
      return grpc::Status(fail_code_, "injected failure");
    }
  }
  absl::SleepFor(delay);
  return grpc::Status::OK;
}

void FakeLog::AddProof(
    const std::vector<merkle::Hash>& proof,
    google::protobuf::RepeatedPtrField<std::string>* out) const {
  for (const merkle::Hash& h : proof) out->Add(std::string(h.begin(), h.end()));
  if (corrupt_proofs_ && !out->empty()) (*out)[0][0] ^= 0x01;
}

grpc::Status FakeLog::SubmitRecords(grpc::ServerContext*,
                                    const v1::SubmitRecordsRequest* request,
                                    v1::SubmitRecordsResponse* response) {
  if (grpc::Status s = Enter("SubmitRecords"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const bool push_back = push_back_once_;
  push_back_once_ = false;
  std::vector<std::pair<v1::RecordResult*, merkle::Hash>> accepted;
  for (int i = 0; i < request->records_size(); ++i) {
    v1::RecordResult* result = response->add_results();
    if (push_back && i % 2 == 1) {
      result->set_code(static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
      result->set_message("queue full");
      continue;
    }
    absl::StatusOr<std::string> entry = client::EntryOfSignedPayload(
        request->records(i), server::EntryKind::kAccessRecord);
    if (!entry.ok()) {
      result->set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      result->set_message(std::string(entry.status().message()));
      continue;
    }
    merkle::Hash leaf = merkle::HashLeaf(merkle::AsBytes(*entry));
    auto known = index_of_.find(leaf);
    result->set_duplicate(known != index_of_.end());
    if (known == index_of_.end()) AppendLocked(*entry);
    result->set_index(index_of_.at(leaf));
    accepted.emplace_back(result, leaf);
    if (corrupt_leaf_hashes_) leaf[0] ^= 0x01;
    result->set_leaf_hash(leaf.data(), leaf.size());
  }
  if (!request->wait_for_inclusion()) return grpc::Status::OK;
  PublishLocked();
  for (const auto& [result, leaf] : accepted) {
    merkle::TlogProof bundle;
    bundle.index = result->index();
    bundle.checkpoint = checkpoint_;
    bundle.inclusion = *tree_.InclusionProof(result->index(), published_size_);
    if (corrupt_proofs_ && !bundle.inclusion.empty()) {
      bundle.inclusion[0][0] ^= 0x01;
    }
    result->set_tlog_proof(*merkle::MarshalTlogProof(bundle));
  }
  return grpc::Status::OK;
}

grpc::Status FakeLog::GetCheckpoint(grpc::ServerContext*,
                                    const v1::GetCheckpointRequest*,
                                    v1::CheckpointResponse* response) {
  if (grpc::Status s = Enter("GetCheckpoint"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  response->set_checkpoint(checkpoint_);
  response->set_size(published_size_);
  return grpc::Status::OK;
}

grpc::Status FakeLog::GetInclusionProof(
    grpc::ServerContext*, const v1::GetInclusionProofRequest* request,
    v1::InclusionProofResponse* response) {
  if (grpc::Status s = Enter("GetInclusionProof"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  uint64_t index = request->index();
  if (request->has_leaf_hash()) {
    merkle::Hash leaf{};
    std::copy_n(request->leaf_hash().begin(),
                std::min(request->leaf_hash().size(), leaf.size()),
                leaf.begin());
    auto it = index_of_.find(leaf);
    if (it == index_of_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such leaf");
    }
    index = it->second;
  }
  const uint64_t size =
      request->tree_size() == 0 ? published_size_ : request->tree_size();
  absl::StatusOr<std::vector<merkle::Hash>> proof =
      size <= tree_.size() ? tree_.InclusionProof(index, size)
                           : absl::OutOfRangeError("past the tree");
  if (!proof.ok()) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        std::string(proof.status().message()));
  }
  response->set_index(index);
  response->set_tree_size(size);
  AddProof(*proof, response->mutable_proof());
  return grpc::Status::OK;
}

grpc::Status FakeLog::GetConsistencyProof(
    grpc::ServerContext*, const v1::GetConsistencyProofRequest* request,
    v1::ConsistencyProofResponse* response) {
  if (grpc::Status s = Enter("GetConsistencyProof"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const uint64_t size =
      request->new_size() == 0 ? published_size_ : request->new_size();
  absl::StatusOr<std::vector<merkle::Hash>> proof =
      size <= tree_.size() ? tree_.ConsistencyProof(request->old_size(), size)
                           : absl::OutOfRangeError("past the tree");
  if (!proof.ok()) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                        std::string(proof.status().message()));
  }
  response->set_old_size(request->old_size());
  response->set_new_size(size);
  AddProof(*proof, response->mutable_proof());
  return grpc::Status::OK;
}

grpc::Status FakeLog::GetEntries(grpc::ServerContext*,
                                 const v1::GetEntriesRequest* request,
                                 v1::GetEntriesResponse* response) {
  if (grpc::Status s = Enter("GetEntries"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (request->start() >= entries_.size()) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "past the log");
  }
  const uint64_t end =
      std::min<uint64_t>({entries_.size(), request->start() + request->count(),
                          request->start() + max_entries_per_call_});
  for (uint64_t i = request->start(); i < end; ++i) {
    response->add_entries(entries_[i]);
  }
  return grpc::Status::OK;
}

}  // namespace vigil::testing
