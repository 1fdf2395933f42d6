#include "server/witness_quorum.h"

#include <future>
#include <set>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "merkle/encoding.h"
#include "merkle/note.h"
#include "server/witness_client.h"

namespace vigil::server {
namespace {

// A witness that keeps answering 409 with a new size is not followed
// forever.
constexpr int kMaxConflicts = 3;

std::string WitnessName(const WitnessEndpoint& w) {
  return absl::StrFormat("%s (%s)", w.key.name(), w.url);
}

}  // namespace

absl::StatusOr<WitnessEndpoint> ParseWitnessSetting(std::string_view setting) {
  const size_t space = setting.find(' ');
  if (space == std::string_view::npos ||
      setting.find(' ', space + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("witness %s is not \"<verifier key> <URL>\"",
                        merkle::QuoteForError(setting)));
  }
  absl::StatusOr<merkle::CosignatureVerifier> key =
      merkle::CosignatureVerifier::FromVerifierKey(setting.substr(0, space));
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "witness %s: not a cosignature (type 0x04) verifier key: %s",
        merkle::QuoteForError(setting), key.status().message()));
  }
  const std::string_view url = setting.substr(space + 1);
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return absl::InvalidArgumentError(
        absl::StrFormat("witness %s: URL %s is not http[s]://...", key->name(),
                        merkle::QuoteForError(url)));
  }
  return WitnessEndpoint{*std::move(key), std::string(url)};
}

absl::Status ValidateWitnessPolicy(const WitnessPolicy& policy) {
  std::set<std::pair<std::string, uint32_t>> names;
  std::set<std::array<uint8_t, 32>> keys;
  for (const WitnessEndpoint& w : policy.witnesses) {
    if (!names.emplace(w.key.name(), w.key.key_id()).second ||
        !keys.insert(w.key.public_key()).second) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "witness %s is configured twice: one key cannot count twice",
          w.key.name()));
    }
  }
  if (policy.quorum == 0 || policy.quorum > policy.witnesses.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a witness quorum of %d is outside [1, %d], the witnesses configured",
        policy.quorum, policy.witnesses.size()));
  }
  return absl::OkStatus();
}

WitnessQuorum::WitnessQuorum(WitnessPolicy policy, absl::Duration timeout,
                             LogReader* reader)
    : witnesses_(std::move(policy.witnesses)),
      k_(policy.quorum),
      ca_file_(std::move(policy.ca_file)),
      timeout_(timeout),
      reader_(reader),
      cosigned_size_(witnesses_.size()) {}

absl::StatusOr<merkle::NoteSignature> WitnessQuorum::CosignWith(
    size_t witness, const SignedCheckpoint& signed_checkpoint) {
  const WitnessEndpoint& w = witnesses_[witness];
  const uint64_t size = signed_checkpoint.checkpoint.size;
  uint64_t old_size = 0;
  {
    absl::MutexLock lock(&mu_);
    old_size = cosigned_size_[witness].value_or(0);
  }
  for (int attempt = 0; attempt <= kMaxConflicts; ++attempt) {
    if (old_size > size) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "it cosigned size %d of this log, larger than %d", old_size, size));
    }
    absl::StatusOr<std::vector<merkle::Hash>> proof =
        old_size == 0 ? std::vector<merkle::Hash>()
                      : reader_->ConsistencyProof(old_size, size);
    if (!proof.ok()) return proof.status();
    absl::StatusOr<WitnessReply> reply = AddCheckpointToWitness(
        w.url, old_size, *proof, signed_checkpoint.note, timeout_, ca_file_);
    if (!reply.ok()) return reply.status();
    if (reply->conflict_size.has_value()) {
      old_size = *reply->conflict_size;
      absl::MutexLock lock(&mu_);
      cosigned_size_[witness] = old_size;
      continue;
    }
    absl::StatusOr<merkle::SignedNote> note =
        merkle::ParseSignedNote(signed_checkpoint.note);
    if (!note.ok()) return note.status();
    for (merkle::NoteSignature& signature : reply->signatures) {
      if (signature.name != w.key.name() ||
          signature.key_id != w.key.key_id()) {
        continue;  // Another of the witness's keys, not configured here.
      }
      absl::StatusOr<uint64_t> timestamp =
          w.key.VerifyCosignature(note->text, signature.signature);
      if (!timestamp.ok()) {
        return absl::UnauthenticatedError(
            absl::StrFormat("its cosignature does not verify: %s",
                            timestamp.status().message()));
      }
      absl::MutexLock lock(&mu_);
      cosigned_size_[witness] = size;
      return std::move(signature);
    }
    return absl::UnauthenticatedError(
        absl::StrFormat("it answered without a cosignature by its key %s+%s",
                        w.key.name(), merkle::FormatKeyId(w.key.key_id())));
  }
  return absl::UnavailableError(absl::StrFormat(
      "it answered 409 with a new size %d times in a row", kMaxConflicts + 1));
}

absl::StatusOr<std::string> WitnessQuorum::Cosign(
    const SignedCheckpoint& signed_checkpoint) {
  // Every witness at once: one slow witness delays publication by one
  // timeout at most, not one per witness.
  std::vector<std::future<absl::StatusOr<merkle::NoteSignature>>> replies;
  replies.reserve(witnesses_.size());
  for (size_t i = 0; i < witnesses_.size(); ++i) {
    replies.push_back(
        std::async(std::launch::async, [this, i, &signed_checkpoint] {
          return CosignWith(i, signed_checkpoint);
        }));
  }
  std::vector<merkle::NoteSignature> cosignatures;
  std::vector<std::string> failed;
  for (size_t i = 0; i < witnesses_.size(); ++i) {
    absl::StatusOr<merkle::NoteSignature> reply = replies[i].get();
    if (reply.ok()) {
      cosignatures.push_back(*std::move(reply));
    } else {
      failed.push_back(absl::StrFormat("%s: %s", WitnessName(witnesses_[i]),
                                       reply.status().message()));
    }
  }
  if (cosignatures.size() < k_) {
    return absl::UnavailableError(absl::StrFormat(
        "%d of the %d witnesses cosigned size %d, %d needed; %s",
        cosignatures.size(), witnesses_.size(),
        signed_checkpoint.checkpoint.size, k_, absl::StrJoin(failed, "; ")));
  }
  return merkle::AddSignatureLines(signed_checkpoint.note, cosignatures);
}

absl::Status WitnessQuorum::CheckCosigned(std::string_view note) const {
  std::vector<const merkle::CosignatureVerifier*> keys;
  keys.reserve(witnesses_.size());
  for (const WitnessEndpoint& w : witnesses_) keys.push_back(&w.key);
  absl::StatusOr<merkle::CosignatureQuorum> quorum =
      merkle::VerifyCosignatureQuorum(note, keys, k_);
  return quorum.status();
}

}  // namespace vigil::server
