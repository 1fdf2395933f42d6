// A whole log server in the test process: MemoryStorage (or any Storage),
// registry, sequencer, LogService behind a real grpc::Server reached through
// its in-process channel, and the stubs to call it. Shuts everything down in
// the order LogService requires.
//
//   InProcessLog log;
//   ASSERT_TRUE(log.Start().ok());
//   TestAgency police("CA0340000", v1::LOCAL_POLICE);
//   ASSERT_TRUE(log.Register(police).ok());
//   grpc::ClientContext context;  // log.Context() sets a deadline
//
// Thread-safety: Start, Stop and Restart belong to the test thread; the
// stubs are thread-safe.

#ifndef VIGIL_TESTS_TESTING_IN_PROCESS_LOG_H_
#define VIGIL_TESTS_TESTING_IN_PROCESS_LOG_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "merkle/note.h"
#include "server/log_reader.h"
#include "server/log_service.h"
#include "server/memory_storage.h"
#include "server/registry.h"
#include "server/sequencer.h"
#include "tests/testing/test_records.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil::testing {

inline constexpr char kTestOrigin[] = "vigil.example/in-process";

class InProcessLog {
 public:
  struct Options {
    absl::Duration checkpoint_interval = absl::Milliseconds(20);
    size_t max_pending = 1 << 16;
    // Witnesses to cosign checkpoints before publication (borrowed).
    server::CheckpointCosigner* cosigner = nullptr;
    server::LogServiceOptions service;  // registry_public_key is filled in.
  };

  // A log over its own MemoryStorage, or over `storage` (borrowed; must
  // outlive this object) if not null.
  explicit InProcessLog(server::Storage* storage = nullptr);
  ~InProcessLog();  // Stop().

  InProcessLog(const InProcessLog&) = delete;
  InProcessLog& operator=(const InProcessLog&) = delete;

  // Starts (or restarts after Stop) the log over the same storage.
  absl::Status Start(Options options);
  absl::Status Start() { return Start(Options{}); }
  // Shuts down gRPC, then the sequencer, then the service. Idempotent.
  void Stop();

  // A client context with a 10 s deadline.
  static std::unique_ptr<grpc::ClientContext> Context(
      absl::Duration timeout = absl::Seconds(10));

  v1::LogService::Stub& log() { return *log_stub_; }
  v1::RegistryService::Stub& registry() { return *registry_stub_; }
  server::Sequencer& sequencer() { return *sequencer_; }
  server::LogService& service() { return *service_; }
  server::LogReader& reader() { return *reader_; }
  server::Storage& storage() { return *storage_; }
  const merkle::Ed25519Verifier& verifier() const {
    return log_signer_->verifier();
  }
  const merkle::Ed25519PrivateKey& registry_key() const {
    return *registry_key_;
  }

  // Registers `agency` through RegistryService, as a change made at `when`;
  // its index on success.
  absl::StatusOr<uint64_t> Register(const TestAgency& agency,
                                    absl::Time when = absl::Now());
  // Revokes `agency`'s key through RegistryService.
  absl::StatusOr<uint64_t> Revoke(const TestAgency& agency);
  // Waits up to 10 s for a checkpoint of at least `size` entries.
  absl::StatusOr<std::shared_ptr<const server::SignedCheckpoint>> WaitForSize(
      uint64_t size);

 private:
  absl::StatusOr<uint64_t> Change(const v1::RegistryChange& change);

  std::unique_ptr<server::MemoryStorage> own_storage_;
  server::Storage* storage_;
  std::optional<merkle::Ed25519Signer> log_signer_;
  std::optional<merkle::Ed25519PrivateKey> registry_key_;
  std::unique_ptr<server::Registry> registry_;
  std::unique_ptr<server::Sequencer> sequencer_;
  std::unique_ptr<server::LogReader> reader_;
  std::unique_ptr<server::LogService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::LogService::Stub> log_stub_;
  std::unique_ptr<v1::RegistryService::Stub> registry_stub_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_IN_PROCESS_LOG_H_
