// A LogService for client tests that can be told to misbehave: fail calls,
// push back records, acknowledge the wrong leaf hash, serve corrupted
// proofs, stall, or replace its whole history under the same key (a fork or
// a rollback). Entries are kept in memory in a MemoryTree; checkpoints are
// signed with the fake's own Ed25519 key when Publish() is called.
//
//   FakeLog log("vigil.example/fake");
//   std::unique_ptr<grpc::Server> server = log.Serve();
//   auto channel = server->InProcessChannel(grpc::ChannelArguments());
//
// Thread-safety: all methods are safe to call concurrently.

#ifndef VIGIL_TESTS_TESTING_FAKE_LOG_H_
#define VIGIL_TESTS_TESTING_FAKE_LOG_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "merkle/note.h"
#include "tests/testing/memory_tree.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil::testing {

class FakeLog final : public v1::LogService::Service {
 public:
  explicit FakeLog(std::string origin);

  // A started in-process gRPC server over this service (which must outlive
  // it).
  std::unique_ptr<grpc::Server> Serve();

  // The log's verifier key text.
  std::string vkey() const;

  // Appends `entry`; it is in a signed checkpoint after the next Publish.
  void Append(const std::string& entry);
  // Signs a checkpoint of the whole tree; GetCheckpoint serves it.
  void Publish();
  // Replaces the history by `entries` under the same key and publishes it:
  // what a log that forks or rolls back shows.
  void ReplaceHistory(const std::vector<std::string>& entries);
  // The currently published checkpoint note.
  std::string checkpoint() const;

  // The next `n` calls of any method fail with `code`.
  void FailNextCalls(int n, grpc::StatusCode code);
  // The next SubmitRecords call pushes back every other record
  // (RESOURCE_EXHAUSTED) and appends the rest.
  void PushBackOnce();
  // Acknowledge submissions with a wrong leaf hash.
  void CorruptLeafHashes();
  // Flip a bit of the first hash of every proof served.
  void CorruptProofs();
  // Each call sleeps this long before answering.
  void SetDelay(absl::Duration delay);
  // GetEntries answers at most `n` entries per call.
  void SetMaxEntriesPerCall(size_t n);

  // How many times `method` (e.g. "SubmitRecords") was called.
  int calls(const std::string& method) const;
  // How many entries the tree holds.
  uint64_t size() const;

  grpc::Status SubmitRecords(grpc::ServerContext* context,
                             const v1::SubmitRecordsRequest* request,
                             v1::SubmitRecordsResponse* response) override;
  grpc::Status GetCheckpoint(grpc::ServerContext* context,
                             const v1::GetCheckpointRequest* request,
                             v1::CheckpointResponse* response) override;
  grpc::Status GetInclusionProof(grpc::ServerContext* context,
                                 const v1::GetInclusionProofRequest* request,
                                 v1::InclusionProofResponse* response) override;
  grpc::Status GetConsistencyProof(
      grpc::ServerContext* context,
      const v1::GetConsistencyProofRequest* request,
      v1::ConsistencyProofResponse* response) override;
  grpc::Status GetEntries(grpc::ServerContext* context,
                          const v1::GetEntriesRequest* request,
                          v1::GetEntriesResponse* response) override;

 private:
  // Counts the call and applies the failure and delay settings; a non-OK
  // status is the call's answer.
  grpc::Status Enter(const std::string& method);
  void AppendLocked(const std::string& entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddProof(const std::vector<merkle::Hash>& proof,
                google::protobuf::RepeatedPtrField<std::string>* out) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string origin_;
  std::optional<merkle::Ed25519Signer> signer_;

  mutable absl::Mutex mu_;
  std::vector<std::string> entries_ ABSL_GUARDED_BY(mu_);
  MemoryTree tree_ ABSL_GUARDED_BY(mu_);
  std::map<merkle::Hash, uint64_t> index_of_ ABSL_GUARDED_BY(mu_);
  std::string checkpoint_ ABSL_GUARDED_BY(mu_);
  uint64_t published_size_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_calls_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::StatusCode fail_code_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::OK;
  bool push_back_once_ ABSL_GUARDED_BY(mu_) = false;
  bool corrupt_leaf_hashes_ ABSL_GUARDED_BY(mu_) = false;
  bool corrupt_proofs_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  size_t max_entries_per_call_ ABSL_GUARDED_BY(mu_) = 1000;
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_FAKE_LOG_H_
