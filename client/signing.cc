#include "client/signing.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
// Header-only use: the signing prefixes, SignedMessage and CanonicalPayload
// are inline there, so this adds no link dependency on vigil::server.
#include "server/entry.h"
#include "server/record_checks.h"

namespace vigil::client {
namespace {

static_assert(crypto_generichash_KEYBYTES_MIN <= kOpeningSize &&
              kOpeningSize <= crypto_generichash_KEYBYTES_MAX);
static_assert(crypto_generichash_BYTES_MIN <= kCommitmentSize &&
              kCommitmentSize <= crypto_generichash_BYTES_MAX);

// sodium_init() is idempotent and thread-safe; it fails only when the
// system has no usable randomness.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

vigil::v1::SignedPayload Sign(server::EntryKind kind, std::string payload,
                              const merkle::Ed25519PrivateKey& key) {
  const std::string message = server::SignedMessage(kind, payload);
  const auto signature = key.Sign(merkle::AsBytes(message));
  vigil::v1::SignedPayload out;
  out.set_payload(std::move(payload));
  out.set_public_key(key.public_key().data(), key.public_key().size());
  out.set_signature(signature.data(), signature.size());
  return out;
}

}  // namespace

Commitment Commit(std::string_view domain_tag, std::string_view value) {
  EnsureSodium();
  Commitment c;
  randombytes_buf(c.opening.data(), c.opening.size());
  c.value = CommitWithOpening(domain_tag, value, c.opening);
  return c;
}

std::array<uint8_t, kCommitmentSize> CommitWithOpening(
    std::string_view domain_tag, std::string_view value,
    const std::array<uint8_t, kOpeningSize>& opening) {
  EnsureSodium();
  crypto_generichash_state state;
  crypto_generichash_init(&state, opening.data(), opening.size(),
                          kCommitmentSize);
  crypto_generichash_update(
      &state, reinterpret_cast<const unsigned char*>(domain_tag.data()),
      domain_tag.size());
  crypto_generichash_update(
      &state, reinterpret_cast<const unsigned char*>(value.data()),
      value.size());
  std::array<uint8_t, kCommitmentSize> out;
  crypto_generichash_final(&state, out.data(), out.size());
  // The state was keyed with the secret opening.
  sodium_memzero(&state, sizeof(state));
  return out;
}

bool CheckOpening(const std::array<uint8_t, kCommitmentSize>& commitment,
                  std::string_view domain_tag, std::string_view value,
                  const std::array<uint8_t, kOpeningSize>& opening) {
  const std::array<uint8_t, kCommitmentSize> expected =
      CommitWithOpening(domain_tag, value, opening);
  return sodium_memcmp(expected.data(), commitment.data(), kCommitmentSize) ==
         0;
}

OpeningKey OpeningKey::FromSeed(
    std::span<const uint8_t, merkle::kEd25519SeedSize> seed) {
  EnsureSodium();
  static constexpr std::string_view kLabel = "vigil/opening-key/v1\n";
  OpeningKey key;
  crypto_generichash(key.key_.data(), key.key_.size(),
                     reinterpret_cast<const unsigned char*>(kLabel.data()),
                     kLabel.size(), seed.data(), seed.size());
  return key;
}

OpeningKey::OpeningKey(OpeningKey&& other) noexcept : key_(other.key_) {
  sodium_memzero(other.key_.data(), other.key_.size());
}

OpeningKey& OpeningKey::operator=(OpeningKey&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    sodium_memzero(other.key_.data(), other.key_.size());
  }
  return *this;
}

OpeningKey::~OpeningKey() { sodium_memzero(key_.data(), key_.size()); }

std::array<uint8_t, kOpeningSize> OpeningKey::Derive(
    std::string_view domain_tag, std::string_view record_id,
    std::string_view value) const {
  static constexpr std::string_view kLabel = "vigil/opening/v1\n";
  crypto_generichash_state state;
  crypto_generichash_init(&state, key_.data(), key_.size(), kOpeningSize);
  auto update = [&state](std::string_view bytes) {
    crypto_generichash_update(
        &state, reinterpret_cast<const unsigned char*>(bytes.data()),
        bytes.size());
  };
  auto update_length = [&update](size_t n) {
    const char be[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                        static_cast<char>(n >> 8), static_cast<char>(n)};
    update(std::string_view(be, sizeof be));
  };
  update(kLabel);
  update_length(domain_tag.size());
  update(domain_tag);
  update_length(record_id.size());
  update(record_id);
  update(value);
  std::array<uint8_t, kOpeningSize> out;
  crypto_generichash_final(&state, out.data(), out.size());
  sodium_memzero(&state, sizeof(state));
  return out;
}

absl::StatusOr<std::string> CommitmentOf(const vigil::v1::AccessRecord& record,
                                         std::string_view name) {
  if (name == "operator") return record.operator_commit();
  if (name == "subject") return record.subject_commit();
  if (name == "legal_doc") return record.legal_doc_commit();
  if (name == "case_ref") return record.case_ref_commit();
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s is not a committed field (operator, subject, legal_doc, case_ref)",
      merkle::QuoteForError(name)));
}

BuiltRecord BuildRecord(const RecordInput& input, const OpeningKey& key) {
  BuiltRecord out;
  out.record = input.record;
  const std::string& id = input.record.record_id();
  const std::optional<std::string> values[] = {input.operator_id, input.subject,
                                               input.legal_doc, input.case_ref};
  std::string* const commits[] = {out.record.mutable_operator_commit(),
                                  out.record.mutable_subject_commit(),
                                  out.record.mutable_legal_doc_commit(),
                                  out.record.mutable_case_ref_commit()};
  for (size_t i = 0; i < std::size(kCommittedFields); ++i) {
    if (!values[i].has_value()) {
      commits[i]->clear();
      continue;
    }
    FieldOpening opened;
    opened.field = kCommittedFields[i].name;
    opened.value = *values[i];
    opened.opening = key.Derive(kCommittedFields[i].domain_tag, id, *values[i]);
    opened.commitment = CommitWithOpening(kCommittedFields[i].domain_tag,
                                          *values[i], opened.opening);
    commits[i]->assign(opened.commitment.begin(), opened.commitment.end());
    out.openings.push_back(std::move(opened));
  }
  return out;
}

absl::Status CheckFieldOpening(const vigil::v1::AccessRecord& record,
                               const FieldOpening& opening) {
  absl::StatusOr<std::string> commitment = CommitmentOf(record, opening.field);
  if (!commitment.ok()) return commitment.status();
  if (commitment->size() != kCommitmentSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the record has no %s commitment to open", opening.field));
  }
  std::array<uint8_t, kCommitmentSize> committed;
  std::copy(commitment->begin(), commitment->end(), committed.begin());
  std::string_view tag;
  for (const CommittedField& f : kCommittedFields) {
    if (f.name == opening.field) tag = f.domain_tag;
  }
  if (!CheckOpening(committed, tag, opening.value, opening.opening)) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "the opening and value given do not open the record's %s commitment",
        opening.field));
  }
  return absl::OkStatus();
}

absl::StatusOr<OpenedRecord> OpenRecordEntry(std::string_view bytes) {
  absl::StatusOr<server::Entry> entry = server::DecodeEntry(bytes);
  if (!entry.ok()) return entry.status();
  if (entry->kind != server::EntryKind::kAccessRecord) {
    return absl::InvalidArgumentError(
        "the entry is a registry change, not an access record");
  }
  if (!server::VerifyEntrySignature(*entry)) {
    return absl::UnauthenticatedError(absl::StrFormat(
        "the record's signature does not verify with its public key %s",
        merkle::HexEncode(entry->public_key)));
  }
  // Any event time: the window was the log's to enforce when it accepted
  // the record; here only the field rules matter.
  server::RecordCheckOptions any_time;
  any_time.max_age = absl::InfiniteDuration();
  any_time.max_future_skew = absl::InfiniteDuration();
  absl::StatusOr<vigil::v1::AccessRecord> record =
      server::ParseAccessRecord(entry->payload, absl::Now(), any_time);
  if (!record.ok()) return record.status();
  return OpenedRecord{*std::move(entry), *std::move(record)};
}

absl::StatusOr<std::string> EntryOfSignedPayload(
    const vigil::v1::SignedPayload& record, server::EntryKind kind) {
  server::Entry entry;
  entry.kind = kind;
  if (record.public_key().size() != entry.public_key.size() ||
      record.signature().size() != entry.signature.size() ||
      record.payload().size() > server::kMaxPayloadSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "not a well-formed signed record: the public key must be %d bytes, "
        "the signature %d and the payload at most %d",
        entry.public_key.size(), entry.signature.size(),
        server::kMaxPayloadSize));
  }
  std::copy(record.public_key().begin(), record.public_key().end(),
            entry.public_key.begin());
  std::copy(record.signature().begin(), record.signature().end(),
            entry.signature.begin());
  entry.payload = record.payload();
  return server::EncodeEntry(entry);
}

absl::StatusOr<vigil::v1::SignedPayload> SignedPayloadOfEntry(
    std::string_view bytes) {
  absl::StatusOr<server::Entry> entry = server::DecodeEntry(bytes);
  if (!entry.ok()) return entry.status();
  if (entry->kind != server::EntryKind::kAccessRecord) {
    return absl::InvalidArgumentError(
        "the entry is a registry change, not an access record");
  }
  vigil::v1::SignedPayload out;
  out.set_payload(entry->payload);
  out.set_public_key(entry->public_key.data(), entry->public_key.size());
  out.set_signature(entry->signature.data(), entry->signature.size());
  return out;
}

vigil::v1::SignedPayload SignAccessRecord(
    const vigil::v1::AccessRecord& record,
    const merkle::Ed25519PrivateKey& key) {
  return Sign(server::EntryKind::kAccessRecord,
              server::CanonicalPayload(record), key);
}

vigil::v1::SignedPayload SignRegistryChange(
    const vigil::v1::RegistryChange& change,
    const merkle::Ed25519PrivateKey& key) {
  return Sign(server::EntryKind::kRegistryChange,
              server::CanonicalPayload(change), key);
}

}  // namespace vigil::client
