// Calls to a real vigil-server's gRPC API for end-to-end tests: each has a
// deadline, and what it returns is checked with GoogleTest expectations
// (a failed call is a test failure, not a crash).
//
//   testing::LogReads reads(log_stub.get(), &verifier, kOrigin);
//   const merkle::Checkpoint c = reads.WaitForSize(10);
//   std::vector<std::string> entries = reads.AllEntries(c.size);
//
// Thread-safety: LogReads is as safe as its stub (gRPC stubs are).

#ifndef VIGIL_TESTS_TESTING_LOG_CALLS_H_
#define VIGIL_TESTS_TESTING_LOG_CALLS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "merkle/checkpoint.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil::testing {

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> CallContext(
    absl::Duration timeout = absl::Seconds(10));

// The hashes of a proof as the API returns them (each 32 bytes; a wrong
// length is a test failure).
std::vector<merkle::Hash> ToHashes(
    const google::protobuf::RepeatedPtrField<std::string>& proof);

// The log entry of an access record submission: exactly these bytes are
// stored, hashed and served.
std::string EntryOf(const v1::SignedPayload& payload);

// The content of a text file without its final newline ("" if unreadable).
std::string ReadText(const std::string& path);

// Checked reads of one log.
class LogReads {
 public:
  // `log` and `verifier` are borrowed and must outlive this object.
  LogReads(v1::LogService::Stub* log, const merkle::NoteVerifier* verifier,
           std::string origin)
      : log_(log), verifier_(verifier), origin_(std::move(origin)) {}

  // The latest checkpoint, its signature and size verified; its note in
  // `note` if given.
  merkle::Checkpoint Checkpoint(std::string* note = nullptr) const;

  // Polls until a checkpoint covers `size` entries (at most 15 s).
  merkle::Checkpoint WaitForSize(uint64_t size) const;

  // Entries [0, size) through GetEntries, page by page.
  std::vector<std::string> AllEntries(uint64_t size) const;

  // Expects the log's consistency proof from `old` to `now` to verify.
  void ExpectConsistent(const merkle::Checkpoint& old,
                        const merkle::Checkpoint& now) const;

 private:
  v1::LogService::Stub* log_;
  const merkle::NoteVerifier* verifier_;
  std::string origin_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_LOG_CALLS_H_
