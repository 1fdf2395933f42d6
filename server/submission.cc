#include "server/submission.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"

namespace vigil::server {
namespace {

// A key for messages: hex of its first 8 bytes.
std::string KeyLabel(std::string_view key) {
  return merkle::HexEncode(merkle::AsBytes(key.substr(0, 8)));
}

absl::Status CheckSizes(const vigil::v1::SignedPayload& p) {
  if (p.payload().size() > kMaxPayloadSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("payload is %d bytes, at most %d allowed",
                        p.payload().size(), kMaxPayloadSize));
  }
  if (p.public_key().size() != kEntryPublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("public_key must be %d bytes, got %d",
                        kEntryPublicKeySize, p.public_key().size()));
  }
  if (p.signature().size() != kEntrySignatureSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("signature must be %d bytes, got %d",
                        kEntrySignatureSize, p.signature().size()));
  }
  return absl::OkStatus();
}

// The entry of a size-checked submission.
Entry MakeEntry(EntryKind kind, const vigil::v1::SignedPayload& p) {
  Entry entry;
  entry.kind = kind;
  std::copy(p.public_key().begin(), p.public_key().end(),
            entry.public_key.begin());
  std::copy(p.signature().begin(), p.signature().end(),
            entry.signature.begin());
  entry.payload = p.payload();
  return entry;
}

PendingEntry MakePending(const Entry& entry, const std::string& public_key) {
  PendingEntry pending;
  pending.entry = EncodeEntry(entry);
  pending.leaf_hash = merkle::HashLeaf(merkle::AsBytes(pending.entry));
  pending.kind = entry.kind;
  pending.public_key = public_key;
  return pending;
}

}  // namespace

absl::StatusOr<PendingEntry> CheckAccessRecordSubmission(
    const vigil::v1::SignedPayload& signed_payload, const Registry& registry,
    absl::Time now, const SubmissionOptions& options) {
  absl::Status s = CheckSizes(signed_payload);
  if (!s.ok()) return s;

  const std::optional<vigil::v1::AgencyKey> signer =
      registry.Find(signed_payload.public_key());
  if (!signer) {
    return absl::PermissionDeniedError(
        absl::StrFormat("unknown agency key %s: it is not in the registry",
                        KeyLabel(signed_payload.public_key())));
  }
  if (signer->revoked()) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "agency key %s of ORI %s was revoked at index %d",
        KeyLabel(signed_payload.public_key()),
        merkle::QuoteForError(signer->ori()), signer->revoked_at()));
  }

  absl::StatusOr<vigil::v1::AccessRecord> record =
      ParseAccessRecord(signed_payload.payload(), now, options.record);
  if (!record.ok()) return record.status();
  s = CheckSignerRole(*record, *signer);
  if (!s.ok()) return s;

  const Entry entry = MakeEntry(EntryKind::kAccessRecord, signed_payload);
  if (!VerifyEntrySignature(entry)) {
    return absl::UnauthenticatedError(absl::StrFormat(
        "signature does not verify with agency key %s (ORI %s) over "
        "\"vigil/record/v1\\n\" || payload",
        KeyLabel(signed_payload.public_key()),
        merkle::QuoteForError(signer->ori())));
  }
  return MakePending(entry, signed_payload.public_key());
}

absl::StatusOr<PendingEntry> CheckRegistryChangeSubmission(
    const vigil::v1::SignedPayload& signed_payload, absl::Time now,
    const SubmissionOptions& options) {
  absl::Status s = CheckSizes(signed_payload);
  if (!s.ok()) return s;

  const auto& registry_key = options.registry_public_key;
  if (std::all_of(registry_key.begin(), registry_key.end(),
                  [](uint8_t b) { return b == 0; })) {
    return absl::PermissionDeniedError(
        "registry changes are refused: no registry key is configured");
  }
  if (!std::equal(signed_payload.public_key().begin(),
                  signed_payload.public_key().end(), registry_key.begin(),
                  registry_key.end(), [](char a, uint8_t b) {
                    return static_cast<uint8_t>(a) == b;
                  })) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "registry change signed by key %s, not by the registry key %s",
        KeyLabel(signed_payload.public_key()),
        merkle::HexEncode(std::span(registry_key).first(8))));
  }

  absl::StatusOr<vigil::v1::RegistryChange> change =
      ParseRegistryChange(signed_payload.payload());
  if (!change.ok()) return change.status();
  s = CheckTimeWindow("change_time_centis", change->change_time_centis(), now,
                      options.record);
  if (!s.ok()) return s;

  const Entry entry = MakeEntry(EntryKind::kRegistryChange, signed_payload);
  if (!VerifyEntrySignature(entry)) {
    return absl::UnauthenticatedError(
        "signature does not verify with the registry key over "
        "\"vigil/registry/v1\\n\" || payload");
  }
  PendingEntry pending = MakePending(entry, signed_payload.public_key());
  pending.registry_change = *std::move(change);
  return pending;
}

}  // namespace vigil::server
