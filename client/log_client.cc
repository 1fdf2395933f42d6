#include "client/log_client.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/evidence.h"
#include "client/signing.h"
#include "merkle/encoding.h"
#include "merkle/proof.h"
#include "server/entry.h"
#include "server/files.h"

namespace vigil::client {
namespace {

using Json = nlohmann::ordered_json;

absl::Status FromGrpc(const grpc::Status& s, std::string_view call) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrFormat("%s: %s", call, s.error_message()));
}

// An exclusive flock(2) on a lock file, held while the object lives.
class FileLock {
 public:
  static absl::StatusOr<FileLock> Acquire(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(
        std::filesystem::path(path).parent_path(), ec);
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return absl::UnavailableError(absl::StrFormat(
          "cannot open lock file %s: %s", path, std::strerror(errno)));
    }
    while (flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      return absl::UnavailableError(
          absl::StrFormat("cannot lock %s: %s", path, std::strerror(err)));
    }
    return FileLock(fd);
  }

  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    if (fd_ >= 0) close(fd_);  // Releases the lock.
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

absl::StatusOr<merkle::Hash> HashFromBytes(std::string_view bytes,
                                           std::string_view what) {
  if (bytes.size() != merkle::kHashSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is %d bytes, not %d", what, bytes.size(), merkle::kHashSize));
  }
  merkle::Hash h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

absl::StatusOr<std::vector<merkle::Hash>> HashesFromProto(
    const google::protobuf::RepeatedPtrField<std::string>& proof) {
  std::vector<merkle::Hash> out;
  out.reserve(proof.size());
  for (const std::string& bytes : proof) {
    absl::StatusOr<merkle::Hash> h = HashFromBytes(bytes, "a proof hash");
    if (!h.ok()) return h.status();
    out.push_back(*h);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// LogTrust

absl::StatusOr<LogTrust> LogTrust::FromKeys(
    std::string_view log_vkey, std::string_view origin,
    const std::vector<std::string>& witness_vkeys, size_t quorum) {
  absl::StatusOr<merkle::Ed25519Verifier> log =
      merkle::Ed25519Verifier::FromVerifierKey(log_vkey);
  if (!log.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("log key: %s", log.status().message()));
  }
  const std::string log_origin =
      origin.empty() ? std::string(log->name()) : std::string(origin);
  LogTrust trust(*std::move(log), log_origin);
  for (const std::string& vkey : witness_vkeys) {
    absl::StatusOr<merkle::CosignatureVerifier> witness =
        merkle::CosignatureVerifier::FromVerifierKey(vkey);
    if (!witness.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("witness key: %s", witness.status().message()));
    }
    trust.witnesses_.push_back(
        std::make_unique<merkle::CosignatureVerifier>(*std::move(witness)));
    trust.witness_ptrs_.push_back(trust.witnesses_.back().get());
  }
  trust.quorum_ = quorum == 0 ? trust.witnesses_.size() : quorum;
  if (trust.quorum_ > trust.witnesses_.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a quorum of %d is more than the %d witness keys",
                        trust.quorum_, trust.witnesses_.size()));
  }
  return trust;
}

absl::StatusOr<LogTrust> LogTrust::FromKeyFiles(
    const std::string& log_vkey_file, std::string_view origin,
    const std::vector<std::string>& witness_vkey_files, size_t quorum) {
  absl::StatusOr<std::string> log_vkey =
      server::ReadKeyFile(log_vkey_file, /*secret=*/false);
  if (!log_vkey.ok()) return log_vkey.status();
  std::vector<std::string> witness_vkeys;
  for (const std::string& file : witness_vkey_files) {
    absl::StatusOr<std::string> vkey =
        server::ReadKeyFile(file, /*secret=*/false);
    if (!vkey.ok()) return vkey.status();
    witness_vkeys.push_back(*std::move(vkey));
  }
  return FromKeys(*log_vkey, origin, witness_vkeys, quorum);
}

merkle::TlogProofPolicy LogTrust::Policy() const {
  return merkle::TlogProofPolicy{origin_, &log_, witness_ptrs_, quorum_};
}

absl::StatusOr<merkle::OpenedCheckpoint> LogTrust::Open(
    std::string_view note, merkle::CosignatureQuorum* cosigned) const {
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(note, log_, origin_);
  if (!opened.ok()) return opened.status();
  if (quorum_ > 0) {
    absl::StatusOr<merkle::CosignatureQuorum> quorum =
        merkle::VerifyCosignatureQuorum(note, witness_ptrs_, quorum_);
    if (!quorum.ok()) return quorum.status();
    if (cosigned != nullptr) *cosigned = *std::move(quorum);
  }
  return opened;
}

// ---------------------------------------------------------------------------
// LogClient

LogClient::LogClient(std::shared_ptr<grpc::Channel> channel, LogTrust trust,
                     LogClientOptions options)
    : trust_(std::move(trust)),
      options_(std::move(options)),
      log_(vigil::v1::LogService::NewStub(channel)),
      registry_(vigil::v1::RegistryService::NewStub(channel)) {}

absl::StatusOr<std::unique_ptr<LogClient>> LogClient::Create(
    std::shared_ptr<grpc::Channel> channel, LogTrust trust,
    LogClientOptions options) {
  if (options.max_attempts < 1 || options.batch_size < 1 ||
      options.concurrency < 1 || options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "max_attempts, batch_size, concurrency and call_timeout must be "
        "positive");
  }
  std::unique_ptr<LogClient> client(
      new LogClient(std::move(channel), std::move(trust), std::move(options)));
  if (absl::Status s = client->LoadState(); !s.ok()) return s;
  return client;
}

absl::StatusOr<std::optional<LogClient::Trusted>> LogClient::ReadState() const {
  absl::StatusOr<std::string> note =
      server::ReadFile(options_.state_file, size_t{1} << 20);
  if (absl::IsNotFound(note.status())) return std::nullopt;
  if (!note.ok()) return note.status();
  // The witnesses that cosigned it were checked when it was stored; the
  // log's signature is checked again, so that a state file of another log,
  // or one edited by hand, is refused.
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(*note, trust_.log(), trust_.origin());
  if (!opened.ok()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the trusted checkpoint in %s does not verify with the log key %s: "
        "%s",
        options_.state_file, trust_.log().name(), opened.status().message()));
  }
  return Trusted{opened->checkpoint, *std::move(note)};
}

absl::Status LogClient::LoadState() {
  if (options_.state_file.empty()) return absl::OkStatus();
  absl::StatusOr<std::optional<Trusted>> state = ReadState();
  if (!state.ok()) return state.status();
  absl::MutexLock lock(&mu_);
  trusted_ = *std::move(state);
  return absl::OkStatus();
}

absl::Status LogClient::AdoptStoredState() {
  absl::StatusOr<std::optional<Trusted>> stored = ReadState();
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return absl::OkStatus();
  Trusted& disk = **stored;
  if (!trusted_.has_value()) {
    trusted_ = std::move(disk);
    return absl::OkStatus();
  }
  const uint64_t mine = trusted_->checkpoint.size;
  const uint64_t theirs = disk.checkpoint.size;
  if (mine == theirs) {
    if (disk.checkpoint.root == trusted_->checkpoint.root) {
      return absl::OkStatus();
    }
    return Misbehaviour(
        absl::StatusCode::kFailedPrecondition, "fork",
        absl::StrFormat("the log signed two different trees of size %d "
                        "(one seen by another client of this state file)",
                        mine),
        trust_.origin(),
        {{"trusted_checkpoint", trusted_->note}, {"checkpoint", disk.note}});
  }
  // Every write of the state file is checked, under the lock, against what
  // the file held before, and what this client holds came from the file or
  // went into it: so the file's checkpoint, if larger, extends ours.
  if (theirs > mine) trusted_ = std::move(disk);
  return absl::OkStatus();
}

std::optional<merkle::Checkpoint> LogClient::trusted() const {
  absl::MutexLock lock(&mu_);
  if (!trusted_.has_value()) return std::nullopt;
  return trusted_->checkpoint;
}

grpc::Status LogClient::Call(
    const std::function<grpc::Status(grpc::ClientContext*)>& attempt) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  absl::Duration backoff = options_.initial_backoff;
  grpc::Status status;
  for (int n = 1;; ++n) {
    grpc::ClientContext context;
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.call_timeout));
    status = attempt(&context);
    if (status.ok() || !Retryable(status.error_code()) ||
        n >= options_.max_attempts) {
      return status;
    }
    std::uniform_real_distribution<double> fraction(0.5, 1.0);
    absl::SleepFor(backoff * fraction(jitter));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status LogClient::CheckConsistent(const Trusted& older,
                                        const Trusted& newer) {
  vigil::v1::GetConsistencyProofRequest request;
  request.set_old_size(older.checkpoint.size);
  request.set_new_size(newer.checkpoint.size);
  vigil::v1::ConsistencyProofResponse response;
  const grpc::Status s = Call([&](grpc::ClientContext* context) {
    return log_->GetConsistencyProof(context, request, &response);
  });
  if (!s.ok()) return FromGrpc(s, "GetConsistencyProof");
  absl::StatusOr<std::vector<merkle::Hash>> proof =
      HashesFromProto(response.proof());
  const absl::Status verified =
      proof.ok() ? merkle::VerifyConsistency(
                       older.checkpoint.size, newer.checkpoint.size,
                       older.checkpoint.root, newer.checkpoint.root, *proof)
                 : proof.status();
  if (verified.ok()) return absl::OkStatus();
  Json hashes = Json::array();
  for (const std::string& h : response.proof()) {
    hashes.push_back(merkle::Base64Encode(merkle::AsBytes(h)));
  }
  return Misbehaviour(
      absl::StatusCode::kFailedPrecondition, "inconsistent-checkpoints",
      absl::StrFormat("the log's checkpoints of sizes %d and %d are not "
                      "consistent: %s",
                      older.checkpoint.size, newer.checkpoint.size,
                      verified.message()),
      trust_.origin(),
      {{"older_checkpoint", older.note},
       {"newer_checkpoint", newer.note},
       {"consistency_proof",
        {{"old_size", older.checkpoint.size},
         {"new_size", newer.checkpoint.size},
         {"hashes", hashes}}}});
}

absl::StatusOr<VerifiedCheckpoint> LogClient::Observe(
    std::string note, merkle::Checkpoint checkpoint,
    merkle::CosignatureQuorum quorum, bool latest) {
  absl::MutexLock lock(&mu_);
  // Clients sharing the state file (other processes too) take turns, and
  // each checks against what the file holds now, not what it held when
  // the client started: the trusted checkpoint only ever moves forward.
  std::optional<FileLock> file_lock;
  if (!options_.state_file.empty()) {
    absl::StatusOr<FileLock> locked =
        FileLock::Acquire(options_.state_file + ".lock");
    if (!locked.ok()) return locked.status();
    file_lock.emplace(*std::move(locked));
    if (absl::Status s = AdoptStoredState(); !s.ok()) return s;
  }
  Trusted seen{std::move(checkpoint), std::move(note)};
  VerifiedCheckpoint out;
  out.checkpoint = seen.checkpoint;
  out.note = seen.note;
  out.quorum = std::move(quorum);
  if (trusted_.has_value()) {
    out.previous = trusted_->checkpoint;
    const uint64_t old_size = trusted_->checkpoint.size;
    const uint64_t size = seen.checkpoint.size;
    if (size == old_size) {
      if (seen.checkpoint.root == trusted_->checkpoint.root) return out;
      return Misbehaviour(
          absl::StatusCode::kFailedPrecondition, "fork",
          absl::StrFormat("the log signed two different trees of size %d",
                          size),
          trust_.origin(),
          {{"trusted_checkpoint", trusted_->note}, {"checkpoint", seen.note}});
    }
    if (size < old_size && latest) {
      return Misbehaviour(
          absl::StatusCode::kFailedPrecondition, "rollback",
          absl::StrFormat("the log rolled back: its latest checkpoint has "
                          "size %d, smaller than the trusted size %d",
                          size, old_size),
          trust_.origin(),
          {{"trusted_checkpoint", trusted_->note}, {"checkpoint", seen.note}});
    }
    // An older checkpoint (say, in a bundle made before another call
    // advanced the trusted one) must be a prefix of the trusted tree; a
    // newer one must extend it.
    const bool older = size < old_size;
    if (absl::Status s = older ? CheckConsistent(seen, *trusted_)
                               : CheckConsistent(*trusted_, seen);
        !s.ok()) {
      return s;
    }
    if (older) return out;
  }
  if (!options_.state_file.empty()) {
    if (absl::Status s =
            server::WriteFileAtomically(options_.state_file, seen.note, 0644);
        !s.ok()) {
      return s;
    }
  }
  trusted_ = std::move(seen);
  return out;
}

absl::StatusOr<VerifiedCheckpoint> LogClient::Verify(std::string note,
                                                     bool latest) {
  merkle::CosignatureQuorum quorum;
  absl::StatusOr<merkle::OpenedCheckpoint> opened = trust_.Open(note, &quorum);
  if (!opened.ok()) {
    return Misbehaviour(
        opened.status().code(), "bad-checkpoint",
        absl::StrFormat("the log's checkpoint does not verify: %s",
                        opened.status().message()),
        trust_.origin(), {{"checkpoint", note}});
  }
  return Observe(std::move(note), std::move(opened->checkpoint),
                 std::move(quorum), latest);
}

absl::StatusOr<VerifiedCheckpoint> LogClient::LatestCheckpoint() {
  vigil::v1::CheckpointResponse response;
  const grpc::Status s = Call([&](grpc::ClientContext* context) {
    return log_->GetCheckpoint(context, vigil::v1::GetCheckpointRequest(),
                               &response);
  });
  if (!s.ok()) return FromGrpc(s, "GetCheckpoint");
  return Verify(std::move(*response.mutable_checkpoint()), /*latest=*/true);
}

// ---------------------------------------------------------------------------
// Submitting

namespace {

SubmitResult ResultFromProto(const vigil::v1::RecordResult& r) {
  SubmitResult out;
  out.status =
      absl::Status(static_cast<absl::StatusCode>(r.code()), r.message());
  out.index = r.index();
  out.duplicate = r.duplicate();
  out.tlog_proof = r.tlog_proof();
  if (r.leaf_hash().size() == merkle::kHashSize) {
    std::copy(r.leaf_hash().begin(), r.leaf_hash().end(),
              out.leaf_hash.begin());
  }
  return out;
}

bool RetryableResult(const SubmitResult& r) {
  return absl::IsResourceExhausted(r.status) || absl::IsUnavailable(r.status);
}

}  // namespace

absl::Status LogClient::CheckAcknowledgement(
    const vigil::v1::SignedPayload& record, server::EntryKind kind,
    bool wait_for_inclusion, SubmitResult& result) {
  absl::StatusOr<std::string> entry = EntryOfSignedPayload(record, kind);
  const merkle::Hash expected =
      entry.ok() ? merkle::HashLeaf(merkle::AsBytes(*entry)) : merkle::Hash{};
  if (!entry.ok() || result.leaf_hash != expected) {
    return Misbehaviour(
        absl::StatusCode::kDataLoss, "wrong-leaf-hash",
        absl::StrFormat("the log acknowledged index %d with leaf hash %s, "
                        "not the hash of the submitted entry",
                        result.index, merkle::HexEncode(result.leaf_hash)),
        trust_.origin(),
        {{"index", result.index},
         {"acknowledged_leaf_hash", merkle::HexEncode(result.leaf_hash)},
         {"entry",
          entry.ok() ? merkle::Base64Encode(merkle::AsBytes(*entry)) : ""}});
  }
  if (!wait_for_inclusion) return absl::OkStatus();
  absl::StatusOr<merkle::TlogProof> bundle =
      merkle::ParseTlogProof(result.tlog_proof);
  absl::StatusOr<merkle::VerifiedTlogProof> verified =
      bundle.ok() ? merkle::VerifyTlogProof(*bundle, expected, trust_.Policy())
                  : absl::StatusOr<merkle::VerifiedTlogProof>(bundle.status());
  absl::Status problem = verified.status();
  if (verified.ok() && verified->index != result.index) {
    problem = absl::InvalidArgumentError(
        absl::StrFormat("the bundle proves index %d, not the acknowledged %d",
                        verified->index, result.index));
  }
  if (!problem.ok()) {
    return Misbehaviour(
        absl::StatusCode::kDataLoss, "bad-tlog-proof",
        absl::StrFormat("the log's bundle for index %d does not verify: %s",
                        result.index, problem.message()),
        trust_.origin(),
        {{"index", result.index},
         {"entry", merkle::Base64Encode(merkle::AsBytes(*entry))},
         {"tlog_proof", result.tlog_proof}});
  }
  absl::StatusOr<VerifiedCheckpoint> observed =
      Verify(bundle->checkpoint, /*latest=*/false);
  return observed.status();
}

std::vector<SubmitResult> LogClient::SubmitBatch(
    std::span<const vigil::v1::SignedPayload> records,
    bool wait_for_inclusion) {
  std::vector<SubmitResult> results(records.size());
  // Positions in `records` still to be sent: all of them at first, then
  // those the log pushed back.
  std::vector<size_t> pending(records.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  absl::Duration backoff = options_.initial_backoff;
  for (int attempt = 1; !pending.empty(); ++attempt) {
    vigil::v1::SubmitRecordsRequest request;
    request.set_wait_for_inclusion(wait_for_inclusion);
    for (size_t i : pending) *request.add_records() = records[i];
    vigil::v1::SubmitRecordsResponse response;
    const grpc::Status s = Call([&](grpc::ClientContext* context) {
      return log_->SubmitRecords(context, request, &response);
    });
    if (!s.ok() || response.results_size() != request.records_size()) {
      const absl::Status failed =
          s.ok() ? absl::DataLossError(absl::StrFormat(
                       "SubmitRecords: %d results for %d records",
                       response.results_size(), request.records_size()))
                 : FromGrpc(s, "SubmitRecords");
      for (size_t i : pending) results[i].status = failed;
      break;
    }
    std::vector<size_t> again;
    for (size_t n = 0; n < pending.size(); ++n) {
      const size_t i = pending[n];
      results[i] = ResultFromProto(response.results(static_cast<int>(n)));
      if (RetryableResult(results[i])) {
        again.push_back(i);
      } else if (results[i].status.ok()) {
        if (absl::Status c = CheckAcknowledgement(
                records[i], server::EntryKind::kAccessRecord,
                wait_for_inclusion, results[i]);
            !c.ok()) {
          results[i].status = c;
        }
      }
    }
    if (again.empty() || attempt >= options_.max_attempts) break;
    pending = std::move(again);
    thread_local std::minstd_rand jitter(std::random_device{}());
    std::uniform_real_distribution<double> fraction(0.5, 1.0);
    absl::SleepFor(backoff * fraction(jitter));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  return results;
}

std::vector<SubmitResult> LogClient::Submit(
    std::span<const vigil::v1::SignedPayload> records, bool wait_for_inclusion,
    const std::function<void(size_t)>& progress) {
  std::vector<SubmitResult> results(records.size());
  const size_t batches =
      (records.size() + options_.batch_size - 1) / options_.batch_size;
  std::atomic<size_t> next_batch{0};
  absl::Mutex progress_mu;
  size_t done = 0;
  auto worker = [&] {
    for (size_t b = next_batch++; b < batches; b = next_batch++) {
      const size_t begin = b * options_.batch_size;
      const size_t end = std::min(records.size(), begin + options_.batch_size);
      std::vector<SubmitResult> batch =
          SubmitBatch(records.subspan(begin, end - begin), wait_for_inclusion);
      std::move(batch.begin(), batch.end(), results.begin() + begin);
      if (progress) {
        absl::MutexLock lock(&progress_mu);
        done += end - begin;
        progress(done);
      }
    }
  };
  const size_t threads = std::min(options_.concurrency, batches);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  return results;
}

SubmitResult LogClient::SubmitRegistryChange(
    const vigil::v1::SignedPayload& change) {
  vigil::v1::SubmitRegistryChangeRequest request;
  *request.mutable_change() = change;
  vigil::v1::RecordResult response;
  const grpc::Status s = Call([&](grpc::ClientContext* context) {
    return registry_->SubmitRegistryChange(context, request, &response);
  });
  if (!s.ok()) {
    SubmitResult failed;
    failed.status = FromGrpc(s, "SubmitRegistryChange");
    return failed;
  }
  SubmitResult result = ResultFromProto(response);
  if (result.status.ok()) {
    if (absl::Status c =
            CheckAcknowledgement(change, server::EntryKind::kRegistryChange,
                                 /*wait_for_inclusion=*/false, result);
        !c.ok()) {
      result.status = c;
    }
  }
  return result;
}

// ---------------------------------------------------------------------------
// Reading

absl::StatusOr<std::vector<std::string>> LogClient::GetEntries(uint64_t start,
                                                               uint64_t count) {
  std::vector<std::string> out;
  while (out.size() < count) {
    vigil::v1::GetEntriesRequest request;
    request.set_start(start + out.size());
    request.set_count(count - out.size());
    vigil::v1::GetEntriesResponse response;
    const grpc::Status s = Call([&](grpc::ClientContext* context) {
      return log_->GetEntries(context, request, &response);
    });
    if (!s.ok()) return FromGrpc(s, "GetEntries");
    if (response.entries_size() == 0 ||
        static_cast<uint64_t>(response.entries_size()) > request.count()) {
      return absl::DataLossError(absl::StrFormat(
          "GetEntries returned %d entries for a request of %d at %d",
          response.entries_size(), request.count(), request.start()));
    }
    for (std::string& e : *response.mutable_entries()) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

absl::StatusOr<std::string> LogClient::Fetch(std::string_view path) {
  vigil::v1::GetTileResourceRequest request;
  request.set_path(std::string(path));
  vigil::v1::TileResourceResponse response;
  const grpc::Status s = Call([&](grpc::ClientContext* context) {
    return log_->GetTileResource(context, request, &response);
  });
  if (!s.ok()) return FromGrpc(s, "GetTileResource");
  return std::move(*response.mutable_data());
}

absl::StatusOr<ProvenEntry> LogClient::Prove(uint64_t index, std::string entry,
                                             const VerifiedCheckpoint& at) {
  vigil::v1::GetInclusionProofRequest request;
  request.set_index(index);
  request.set_tree_size(at.checkpoint.size);
  vigil::v1::InclusionProofResponse response;
  const grpc::Status s = Call([&](grpc::ClientContext* context) {
    return log_->GetInclusionProof(context, request, &response);
  });
  if (!s.ok()) return FromGrpc(s, "GetInclusionProof");
  const merkle::Hash leaf = merkle::HashLeaf(merkle::AsBytes(entry));
  absl::StatusOr<std::vector<merkle::Hash>> proof =
      HashesFromProto(response.proof());
  const absl::Status verified =
      proof.ok() ? merkle::VerifyInclusion(index, at.checkpoint.size, leaf,
                                           *proof, at.checkpoint.root)
                 : proof.status();
  if (!verified.ok()) {
    Json hashes = Json::array();
    for (const std::string& h : response.proof()) {
      hashes.push_back(merkle::Base64Encode(merkle::AsBytes(h)));
    }
    return Misbehaviour(
        absl::StatusCode::kDataLoss, "bad-inclusion-proof",
        absl::StrFormat("the log's inclusion proof of entry %d in the tree "
                        "of size %d does not verify: %s",
                        index, at.checkpoint.size, verified.message()),
        trust_.origin(),
        {{"checkpoint", at.note},
         {"index", index},
         {"entry", merkle::Base64Encode(merkle::AsBytes(entry))},
         {"inclusion_proof", hashes}});
  }
  merkle::TlogProof bundle;
  bundle.index = index;
  bundle.inclusion = *std::move(proof);
  bundle.checkpoint = at.note;
  absl::StatusOr<std::string> text = merkle::MarshalTlogProof(bundle);
  if (!text.ok()) return text.status();
  ProvenEntry out;
  out.index = index;
  out.entry = std::move(entry);
  out.tlog_proof = *std::move(text);
  out.checkpoint = at.checkpoint;
  return out;
}

absl::StatusOr<ProvenEntry> LogClient::ProveIndex(uint64_t index) {
  absl::StatusOr<VerifiedCheckpoint> at = LatestCheckpoint();
  if (!at.ok()) return at.status();
  if (index >= at->checkpoint.size) {
    return absl::OutOfRangeError(
        absl::StrFormat("index %d is not in the log's tree of size %d", index,
                        at->checkpoint.size));
  }
  absl::StatusOr<std::vector<std::string>> entries = GetEntries(index, 1);
  if (!entries.ok()) return entries.status();
  return Prove(index, std::move(entries->front()), *at);
}

absl::StatusOr<ProvenEntry> LogClient::ProveLeafHash(
    const merkle::Hash& leaf_hash) {
  absl::StatusOr<VerifiedCheckpoint> at = LatestCheckpoint();
  if (!at.ok()) return at.status();
  // Ask where the entry is; its bytes and proof are then checked as any.
  vigil::v1::GetInclusionProofRequest request;
  request.set_leaf_hash(leaf_hash.data(), leaf_hash.size());
  request.set_tree_size(at->checkpoint.size);
  vigil::v1::InclusionProofResponse response;
  const grpc::Status s = Call([&](grpc::ClientContext* context) {
    return log_->GetInclusionProof(context, request, &response);
  });
  if (!s.ok()) return FromGrpc(s, "GetInclusionProof");
  absl::StatusOr<std::vector<std::string>> entries =
      GetEntries(response.index(), 1);
  if (!entries.ok()) return entries.status();
  if (merkle::HashLeaf(merkle::AsBytes(entries->front())) != leaf_hash) {
    return Misbehaviour(
        absl::StatusCode::kDataLoss, "wrong-entry",
        absl::StrFormat("the log placed leaf hash %s at index %d, but the "
                        "entry there has another hash",
                        merkle::HexEncode(leaf_hash), response.index()),
        trust_.origin(),
        {{"checkpoint", at->note},
         {"index", response.index()},
         {"leaf_hash", merkle::HexEncode(leaf_hash)},
         {"entry", merkle::Base64Encode(merkle::AsBytes(entries->front()))}});
  }
  return Prove(response.index(), std::move(entries->front()), *at);
}

absl::StatusOr<std::vector<vigil::v1::AgencyKey>> LogClient::ListAgencyKeys() {
  vigil::v1::ListAgencyKeysResponse response;
  const grpc::Status s = Call([&](grpc::ClientContext* context) {
    return registry_->ListAgencyKeys(
        context, vigil::v1::ListAgencyKeysRequest(), &response);
  });
  if (!s.ok()) return FromGrpc(s, "ListAgencyKeys");
  return std::vector<vigil::v1::AgencyKey>(response.keys().begin(),
                                           response.keys().end());
}

}  // namespace vigil::client
