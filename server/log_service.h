// The gRPC front end of the log: vigil.v1.LogService and
// vigil.v1.RegistryService on the gRPC callback API.
//
// The layer only validates, converts and enqueues. Submissions are checked
// on the RPC threads (submission.h: sizes, registry, fields, role, and the
// Ed25519 signature, so verification runs in parallel across RPC threads),
// then handed to the Sequencer, which calls back on its own thread when the
// entry is durable; that callback only records the result and, when every
// record of the call is done, finishes the call. Nothing here blocks on the
// sequencer.
//
// With wait_for_inclusion, the call then waits (without a thread) for the
// first checkpoint covering its records; building and verifying each
// record's c2sp.org/tlog-proof bundle (tile reads and an Ed25519
// verification per record) runs on a small executor owned by the service,
// never on the sequencer thread.
//
// Reads (checkpoint, proofs, entries) are served from LogReader inline on
// the RPC thread, bounded by the latest published checkpoint: the service
// never reveals a tree size the log has not signed.
//
// Callers: with client authentication (ClientAuthOptions), a submission
// without a verified client certificate fails UNAUTHENTICATED as a whole,
// and a record signed by another agency's key than the certificate names
// is refused PERMISSION_DENIED (per record), after its signature is
// checked: a leaked record key is not enough to log as its agency.
// Registry changes need the operator's certificate.
//
// Limits: records per SubmitRecords call (max_batch, INVALID_ARGUMENT
// beyond), entries per GetEntries response (max_entries_per_read and a byte
// budget: the response holds fewer entries than asked, never none), and a
// full sequencer queue (RESOURCE_EXHAUSTED, per record). The request size
// limit is the gRPC server's (ServerBuilder::SetMaxReceiveMessageSize).
//
// Errors are absl::Status inside and become grpc::Status in exactly one
// place, ToGrpcStatus; per-record results carry the same code number
// (google.rpc.Code). Messages never contain key material, commitment
// openings or record payloads.
//
// Thread-safety: LogService is safe for concurrent use by gRPC's threads;
// Shutdown may be called from any thread.

#ifndef VIGIL_SERVER_LOG_SERVICE_H_
#define VIGIL_SERVER_LOG_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "merkle/note.h"
#include "server/agency_limits.h"
#include "server/log_reader.h"
#include "server/registry.h"
#include "server/sequencer.h"
#include "server/submission.h"

namespace vigil::server {

// The one mapping from absl::Status to grpc::Status: the same code (both
// follow google.rpc.Code) and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Who may write, when the gRPC listener takes client certificates (mutual
// TLS, server/tls.h).
struct ClientAuthOptions {
  // Whether writes need a verified client certificate: access records one
  // whose common name is the ORI the registry gives the record's signing
  // key, registry changes one named operator_name. Reads need none.
  bool required = false;
  // The registry operator's certificate name; required with `required`.
  std::string operator_name;
};

struct LogServiceOptions {
  // Records one SubmitRecords call may carry (1..max_batch).
  size_t max_batch = 1000;
  // Entries one GetEntries response holds at most.
  size_t max_entries_per_read = 256;
  // Bytes of entries one GetEntries response holds at most (at least one
  // entry is always returned), under gRPC's default 4 MiB client limit.
  size_t max_entries_bytes = size_t{3} << 20;
  // Checks applied to submissions (event-time window, registry key).
  SubmissionOptions submission;
  // Per-agency rate limit and daily quota on access records
  // (server/agency_limits.h); none by default.
  AgencyLimitOptions agency_limits;
  // Client certificates for writes; none needed by default.
  ClientAuthOptions client_auth;
  // Threads building and verifying tlog-proof bundles for
  // wait_for_inclusion calls.
  size_t proof_threads = 2;
  // The clock submissions are checked against; absl::Now if empty.
  std::function<absl::Time()> clock;
};

class LogService {
 public:
  // `sequencer`, `registry`, `reader` and `log_verifier` are borrowed and
  // must outlive the service; `origin` is the checkpoint origin that
  // `log_verifier` signs for. Starts the proof executor's threads.
  LogService(Sequencer* sequencer, const Registry* registry, LogReader* reader,
             const merkle::NoteVerifier* log_verifier, std::string origin,
             LogServiceOptions options);

  // Requires, in this order: the grpc::Server shut down (it waits for, or
  // cancels, every call) and then the Sequencer destroyed (its pending
  // callbacks refer to the service). Runs what the executor still holds and
  // joins its threads.
  ~LogService();

  LogService(const LogService&) = delete;
  LogService& operator=(const LogService&) = delete;

  // The services to register with a grpc::ServerBuilder. Owned by this
  // object.
  grpc::Service* log_service();
  grpc::Service* registry_service();

  // Prepares for grpc::Server::Shutdown: ends every WatchCheckpoints stream
  // (status UNAVAILABLE) and refuses new submissions and watches with
  // UNAVAILABLE. Calls already accepted complete normally; the sequencer
  // must keep running until the grpc::Server has shut down, so that
  // wait_for_inclusion calls see their checkpoint. Idempotent.
  void Shutdown();

  // Waits until no call is in progress (every unary call finished, every
  // stream ended) or `deadline` passes; true in the first case. After
  // Shutdown, a server waits for this and then shuts the grpc::Server down
  // at once: grpc::Server::Shutdown(deadline) would also wait for idle
  // client connections, always until the deadline.
  bool WaitForCalls(absl::Time deadline);

  // Shared by the handlers; defined in log_service.cc.
  struct Core;

 private:
  class LogServiceImpl;
  class RegistryServiceImpl;

  std::unique_ptr<Core> core_;
  std::unique_ptr<LogServiceImpl> log_impl_;
  std::unique_ptr<RegistryServiceImpl> registry_impl_;
};

}  // namespace vigil::server

#endif  // VIGIL_SERVER_LOG_SERVICE_H_
