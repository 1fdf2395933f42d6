// The client side of a Vigil log: submits agency-signed records and reads
// checkpoints, proofs and entries over gRPC, and verifies everything it
// receives before returning it.
//
// What is verified:
//   - every checkpoint: the log's signature, its origin, and the witness
//     quorum of the trust it was given;
//   - every checkpoint against the last one this client trusted: the same
//     tree or a consistent extension of it (an RFC 9162 consistency proof
//     fetched from the log). The trusted checkpoint is kept in a state file,
//     replaced atomically, so the check holds across runs;
//   - every acknowledgement: the leaf hash the log returns is the hash of
//     the entry this client built from the signed record;
//   - every inclusion proof and tlog-proof bundle, against the verified
//     checkpoint and the entry's own bytes.
// A failed check is an error, never a warning: its status carries the
// evidence (EvidenceOf) as a JSON document (docs/formats.md, "Evidence")
// holding what the log signed and served, for anyone to check again.
//
// Calls: each attempt has a deadline; UNAVAILABLE, RESOURCE_EXHAUSTED and
// DEADLINE_EXCEEDED are retried with exponential backoff and jitter, which
// is safe because the log de-duplicates identical submissions.
//
// Thread-safety: all methods are safe to call concurrently.

#ifndef VIGIL_CLIENT_LOG_CLIENT_H_
#define VIGIL_CLIENT_LOG_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/evidence.h"
#include "client/tile_source.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "merkle/tlog_proof.h"
#include "server/entry.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil::client {

// What a log is trusted to be: its checkpoint key and origin, and which
// witnesses, how many of them, must cosign. Move-only: Policy() points into
// it.
class LogTrust {
 public:
  // From key texts. `origin` empty means the log key's name. `quorum` 0
  // means all of the witnesses. INVALID_ARGUMENT for a malformed key, or a
  // quorum larger than the number of witnesses.
  static absl::StatusOr<LogTrust> FromKeys(
      std::string_view log_vkey, std::string_view origin,
      const std::vector<std::string>& witness_vkeys, size_t quorum);
  // As FromKeys, reading each key from its file (ReadKeyFile).
  static absl::StatusOr<LogTrust> FromKeyFiles(
      const std::string& log_vkey_file, std::string_view origin,
      const std::vector<std::string>& witness_vkey_files, size_t quorum);

  LogTrust(LogTrust&&) = default;
  LogTrust& operator=(LogTrust&&) = default;
  LogTrust(const LogTrust&) = delete;
  LogTrust& operator=(const LogTrust&) = delete;

  // The policy for merkle::VerifyTlogProof; valid while this object lives.
  [[nodiscard]] merkle::TlogProofPolicy Policy() const;
  [[nodiscard]] const merkle::Ed25519Verifier& log() const { return log_; }
  [[nodiscard]] const std::string& origin() const { return origin_; }
  [[nodiscard]] size_t quorum() const { return quorum_; }

  // Opens `note` as a checkpoint of this log: the log's signature, the
  // origin, and the witness quorum (when quorum() > 0). UNAUTHENTICATED or
  // INVALID_ARGUMENT naming what failed.
  [[nodiscard]] absl::StatusOr<merkle::OpenedCheckpoint> Open(
      std::string_view note, merkle::CosignatureQuorum* cosigned) const;

 private:
  LogTrust(merkle::Ed25519Verifier log, std::string origin)
      : log_(std::move(log)), origin_(std::move(origin)) {}

  merkle::Ed25519Verifier log_;
  std::string origin_;
  std::vector<std::unique_ptr<merkle::CosignatureVerifier>> witnesses_;
  std::vector<const merkle::CosignatureVerifier*> witness_ptrs_;
  size_t quorum_ = 0;
};

struct LogClientOptions {
  // The deadline of each attempt of each call.
  absl::Duration call_timeout = absl::Seconds(30);
  // Attempts per call, the first included. At least 1.
  int max_attempts = 8;
  // Backoff before the second attempt; it doubles up to max_backoff, and
  // each wait is drawn uniformly from [backoff / 2, backoff].
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Records per SubmitRecords call (at most the server's max_batch).
  size_t batch_size = 256;
  // SubmitRecords calls in flight at once in Submit.
  size_t concurrency = 4;
  // Where the last trusted checkpoint is kept; empty keeps it in memory,
  // for this client's lifetime only.
  std::string state_file;
};

// A checkpoint that verified and is consistent with what was trusted.
struct VerifiedCheckpoint {
  merkle::Checkpoint checkpoint;
  std::string note;                  // The signed note, verbatim.
  merkle::CosignatureQuorum quorum;  // The witnesses that cosigned.
  // The checkpoint trusted before this one, if any.
  std::optional<merkle::Checkpoint> previous;
};

// The outcome of one submitted record. Without wait_for_inclusion, `index`
// and `duplicate` are the log's promise: only the leaf hash is checked.
// With it, the bundle proves them.
struct SubmitResult {
  absl::Status status;  // OK when the record is in the log.
  uint64_t index = 0;
  bool duplicate = false;    // It was already in the log at `index`.
  merkle::Hash leaf_hash{};  // Verified: the hash of this record's entry.
  // With wait_for_inclusion: the verified c2sp.org/tlog-proof bundle.
  std::string tlog_proof;
};

// An entry with the evidence that it is in the log.
struct ProvenEntry {
  uint64_t index = 0;
  std::string entry;       // The exact entry bytes.
  std::string tlog_proof;  // Verified c2sp.org/tlog-proof bundle.
  merkle::Checkpoint checkpoint;
};

// A LogClient is also a TileSource: Fetch reads the log's tlog-tiles
// resources over gRPC (GetTileResource), so a Monitor can follow a log
// without its HTTP read path.
class LogClient final : public TileSource {
 public:
  // A client of the log behind `channel`, trusting `trust`. INVALID_ARGUMENT
  // for options out of range; FAILED_PRECONDITION if the state file holds a
  // checkpoint that `trust` does not verify.
  static absl::StatusOr<std::unique_ptr<LogClient>> Create(
      std::shared_ptr<grpc::Channel> channel, LogTrust trust,
      LogClientOptions options);

  // Submits `records` in batches of options.batch_size, up to
  // options.concurrency calls at once. Returns one result per record, in
  // order. A call that still fails after its retries fails each of its
  // records with the call's status; a record the log acknowledges with the
  // wrong leaf hash or an unverifiable bundle fails with evidence.
  // `progress`, if set, is called with the number of records done so far,
  // from any thread, never concurrently.
  std::vector<SubmitResult> Submit(
      std::span<const vigil::v1::SignedPayload> records,
      bool wait_for_inclusion,
      const std::function<void(size_t)>& progress = nullptr);

  // Submits one registry change signed by the registry operator.
  SubmitResult SubmitRegistryChange(const vigil::v1::SignedPayload& change);

  // The log's latest checkpoint, verified and checked against the trusted
  // one (which it then replaces in the state file).
  absl::StatusOr<VerifiedCheckpoint> LatestCheckpoint();

  // Entry `index` with its bundle, proven against LatestCheckpoint().
  // OUT_OF_RANGE if the index is not in that tree.
  absl::StatusOr<ProvenEntry> ProveIndex(uint64_t index);
  // The entry whose leaf hash is `leaf_hash`, as ProveIndex. NOT_FOUND if
  // the log has no such entry in the latest tree.
  absl::StatusOr<ProvenEntry> ProveLeafHash(const merkle::Hash& leaf_hash);

  // Entries [start, start + count), fetched in as many calls as the server
  // needs. The bytes are not verified: prove them, or audit the tree.
  absl::StatusOr<std::vector<std::string>> GetEntries(uint64_t start,
                                                      uint64_t count);

  // The tlog-tiles resource at `path` ("checkpoint", "tile/0/000", ...) of
  // the log's latest checkpoint, unverified (TileSource). NOT_FOUND if the
  // log has no such resource.
  absl::StatusOr<std::string> Fetch(std::string_view path) override;

  // The agency registry as the server reports it. Not verified: the log's
  // registry-change entries are the authority (client/monitor.h replays
  // them).
  absl::StatusOr<std::vector<vigil::v1::AgencyKey>> ListAgencyKeys();

  // The last checkpoint this client trusted, if any.
  std::optional<merkle::Checkpoint> trusted() const;

 private:
  struct Trusted {
    merkle::Checkpoint checkpoint;
    std::string note;  // As the log signed it, with any cosignatures.
  };

  LogClient(std::shared_ptr<grpc::Channel> channel, LogTrust trust,
            LogClientOptions options);

  // The checkpoint in the state file, verified with the log's key; nullopt
  // if there is no state file yet.
  absl::StatusOr<std::optional<Trusted>> ReadState() const;
  absl::Status LoadState();
  // Brings the trusted checkpoint up to the state file's, which another
  // client may have moved on. Two trees of one size are a fork (evidence).
  absl::Status AdoptStoredState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Checks the signed checkpoint `note`, already opened as `checkpoint`,
  // against the trusted one: the same tree, or consistent with it; and
  // makes it the trusted one if it is larger. With `latest` (it is what the
  // log calls its latest), a smaller tree is a rollback.
  absl::StatusOr<VerifiedCheckpoint> Observe(std::string note,
                                             merkle::Checkpoint checkpoint,
                                             merkle::CosignatureQuorum quorum,
                                             bool latest);
  // Opens `note` with the trust, then Observe. A note that does not verify
  // is an error with evidence.
  absl::StatusOr<VerifiedCheckpoint> Verify(std::string note, bool latest);
  // OK if the log proves `older` a prefix of `newer`; else evidence.
  absl::Status CheckConsistent(const Trusted& older, const Trusted& newer);
  // OK if the log's acknowledgement `result` of `record` holds: the leaf
  // hash of the entry built from `record`, and with `wait_for_inclusion` a
  // bundle that verifies for it, whose checkpoint is consistent with the
  // trusted one. Otherwise the failure, with evidence.
  absl::Status CheckAcknowledgement(const vigil::v1::SignedPayload& record,
                                    server::EntryKind kind,
                                    bool wait_for_inclusion,
                                    SubmitResult& result);
  std::vector<SubmitResult> SubmitBatch(
      std::span<const vigil::v1::SignedPayload> records,
      bool wait_for_inclusion);
  absl::StatusOr<ProvenEntry> Prove(uint64_t index, std::string entry,
                                    const VerifiedCheckpoint& at);
  // Runs `attempt` with a fresh deadline-bound context until it succeeds,
  // fails with a status that is not retried, or runs out of attempts.
  grpc::Status Call(
      const std::function<grpc::Status(grpc::ClientContext*)>& attempt);

  const LogTrust trust_;
  const LogClientOptions options_;
  std::unique_ptr<vigil::v1::LogService::Stub> log_;
  std::unique_ptr<vigil::v1::RegistryService::Stub> registry_;

  // Serialises the consistency check and the update of the trusted state.
  mutable absl::Mutex mu_;
  std::optional<Trusted> trusted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LOG_CLIENT_H_
