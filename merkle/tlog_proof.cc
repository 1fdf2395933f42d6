#include "merkle/tlog_proof.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "merkle/encoding.h"
#include "merkle/proof.h"

namespace vigil::merkle {
namespace {

constexpr std::string_view kExtraPrefix = "extra ";
constexpr std::string_view kIndexPrefix = "index ";

// Splits off the next '\n'-terminated line of `rest`. False if there is
// none.
bool NextLine(std::string_view& rest, std::string_view& line) {
  const size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) return false;
  line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return true;
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrFormat("malformed tlog-proof: %s", what));
}

// Prefixes `status`'s message with the verification step that failed.
absl::Status AtStep(int step, std::string_view name,
                    const absl::Status& status) {
  return {status.code(),
          absl::StrFormat("step %d (%s): %s", step, name, status.message())};
}

}  // namespace

absl::StatusOr<std::string> MarshalTlogProof(const TlogProof& proof) {
  if (proof.extra.has_value() && proof.extra->size() > kMaxTlogProofExtra) {
    return Malformed(absl::StrFormat("extra data is %d bytes, limit %d",
                                     proof.extra->size(), kMaxTlogProofExtra));
  }
  if (proof.inclusion.size() > kMaxTlogProofHashes) {
    return Malformed(absl::StrFormat("%d proof hashes, limit %d",
                                     proof.inclusion.size(),
                                     kMaxTlogProofHashes));
  }
  if (absl::Status s = ParseSignedNote(proof.checkpoint).status(); !s.ok()) {
    return Malformed(absl::StrFormat("checkpoint: %s", s.message()));
  }
  std::string out(kTlogProofHeader);
  out += '\n';
  if (proof.extra.has_value()) {
    out += kExtraPrefix;
    out += Base64Encode(*proof.extra);
    out += '\n';
  }
  out += absl::StrFormat("%s%d\n", kIndexPrefix, proof.index);
  for (const Hash& h : proof.inclusion) {
    out += Base64Encode(h);
    out += '\n';
  }
  out += '\n';
  out += proof.checkpoint;
  return out;
}

absl::StatusOr<TlogProof> ParseTlogProof(std::string_view bundle) {
  if (bundle.size() > kMaxNoteSize + 4 * kMaxTlogProofExtra) {
    return Malformed(
        absl::StrFormat("%d bytes is over the size limit", bundle.size()));
  }
  TlogProof proof;
  std::string_view rest = bundle;
  std::string_view line;
  if (!NextLine(rest, line) || line != kTlogProofHeader) {
    return Malformed(
        absl::StrFormat("first line is not \"%s\"", kTlogProofHeader));
  }
  if (!NextLine(rest, line)) return Malformed("no index line");
  if (line.starts_with(kExtraPrefix)) {
    absl::StatusOr<std::vector<uint8_t>> extra =
        Base64Decode(line.substr(kExtraPrefix.size()), "extra line");
    if (!extra.ok()) return Malformed(extra.status().message());
    if (extra->size() > kMaxTlogProofExtra) {
      return Malformed(absl::StrFormat("extra data is %d bytes, limit %d",
                                       extra->size(), kMaxTlogProofExtra));
    }
    proof.extra = *std::move(extra);
    if (!NextLine(rest, line)) return Malformed("no index line");
  }
  if (!line.starts_with(kIndexPrefix)) {
    return Malformed("expected an \"index <n>\" line");
  }
  const std::optional<uint64_t> index =
      ParseDecimal(line.substr(kIndexPrefix.size()));
  if (!index.has_value()) {
    return Malformed("index is not a decimal number without leading zeros");
  }
  proof.index = *index;
  while (true) {
    if (!NextLine(rest, line)) {
      return Malformed("no empty line before the checkpoint");
    }
    if (line.empty()) break;
    if (proof.inclusion.size() == kMaxTlogProofHashes) {
      return Malformed(
          absl::StrFormat("more than %d proof hashes", kMaxTlogProofHashes));
    }
    absl::StatusOr<Hash> h = Base64DecodeHash(
        line, absl::StrFormat("proof hash %d", proof.inclusion.size()));
    if (!h.ok()) return Malformed(h.status().message());
    proof.inclusion.push_back(*h);
  }
  if (absl::Status s = ParseSignedNote(rest).status(); !s.ok()) {
    return Malformed(absl::StrFormat("checkpoint: %s", s.message()));
  }
  proof.checkpoint = std::string(rest);
  return proof;
}

absl::StatusOr<VerifiedTlogProof> VerifyTlogProof(
    const TlogProof& proof, const Hash& leaf_hash,
    const TlogProofPolicy& policy) {
  if (policy.log == nullptr) {
    return absl::InvalidArgumentError("tlog-proof policy has no log key");
  }
  if (policy.quorum > policy.witnesses.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tlog-proof policy needs %d cosignatures from %d witnesses",
        policy.quorum, policy.witnesses.size()));
  }
  // Step 1, the leaf hash, is the caller's: it depends on the application.
  absl::StatusOr<OpenedCheckpoint> opened =
      OpenCheckpoint(proof.checkpoint, *policy.log, policy.origin);
  if (!opened.ok()) return AtStep(2, "log signature", opened.status());

  VerifiedTlogProof verified;
  if (policy.quorum > 0) {
    absl::StatusOr<CosignatureQuorum> quorum = VerifyCosignatureQuorum(
        proof.checkpoint, policy.witnesses, policy.quorum);
    if (!quorum.ok()) return AtStep(3, "witness cosignatures", quorum.status());
    verified.quorum = *std::move(quorum);
  }

  const Checkpoint& checkpoint = opened->checkpoint;
  if (absl::Status s = VerifyInclusion(proof.index, checkpoint.size, leaf_hash,
                                       proof.inclusion, checkpoint.root);
      !s.ok()) {
    return AtStep(4, "inclusion", s);
  }
  verified.checkpoint = checkpoint;
  verified.index = proof.index;
  return verified;
}

}  // namespace vigil::merkle
