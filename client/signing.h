// What an agency runs to log a lookup: commitments to the personal values
// a record must not hold in clear, and signing of records and registry
// changes in the exact form the server verifies.
//
// Commitments (DESIGN.md, "Commitments"):
//
//   commitment = BLAKE2b-256(key = opening, message = domain_tag || value)
//
// with a fresh 32-byte random opening (libsodium crypto_generichash). The
// agency keeps value and opening; a court given both checks the commitment
// with CheckOpening. The domain tag separates what is committed to, so a
// subject commitment never opens as an operator commitment.
//
// Signing: the payload is serialised once, canonically (server/entry.h,
// CanonicalPayload), and those bytes are both signed and sent; the
// signature covers SignedMessage(kind, payload) (server/entry.h). The
// prefixes and SignedMessage live in server/entry.h, header-only, so the
// format is defined once; the client uses the header without linking
// vigil::server.
//
// Thread-safety: all functions are safe from any thread.

#ifndef VIGIL_CLIENT_SIGNING_H_
#define VIGIL_CLIENT_SIGNING_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/record_input.h"
#include "merkle/note.h"
#include "server/entry.h"
#include "vigil/v1/log.pb.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client {

// Domain tags, one per committed value.
inline constexpr std::string_view kSubjectTag = "vigil/subject/v1\n";
inline constexpr std::string_view kOperatorTag = "vigil/operator/v1\n";
inline constexpr std::string_view kCaseTag = "vigil/case/v1\n";
inline constexpr std::string_view kLegalDocTag = "vigil/legal-doc/v1\n";

inline constexpr size_t kCommitmentSize = 32;
inline constexpr size_t kOpeningSize = 32;

// A commitment and the opening that opens it. `opening` is secret until the
// agency hands it to a court: never log it.
struct Commitment {
  std::array<uint8_t, kCommitmentSize> value{};
  std::array<uint8_t, kOpeningSize> opening{};
};

// A commitment to `value` under `domain_tag` (one of the tags above), with
// a fresh random opening (libsodium randombytes_buf).
Commitment Commit(std::string_view domain_tag, std::string_view value);

// BLAKE2b-256(key = opening, message = domain_tag || value). Deterministic.
std::array<uint8_t, kCommitmentSize> CommitWithOpening(
    std::string_view domain_tag, std::string_view value,
    const std::array<uint8_t, kOpeningSize>& opening);

// True iff `opening` opens `commitment` to `value` under `domain_tag`. The
// comparison is constant-time (sodium_memcmp).
bool CheckOpening(const std::array<uint8_t, kCommitmentSize>& commitment,
                  std::string_view domain_tag, std::string_view value,
                  const std::array<uint8_t, kOpeningSize>& opening);

// The secret from which an agency derives the openings of its commitments,
// so that building the same record twice gives the same bytes (and the log
// de-duplicates a resubmitted file) while every opening stays unguessable:
//
//   opening_key = BLAKE2b-256(key = agency signing seed,
//                             message = "vigil/opening-key/v1\n")
//   opening     = BLAKE2b-256(key = opening_key,
//                             message = "vigil/opening/v1\n" ||
//                                       u32be(len tag) || tag ||
//                                       u32be(len record_id) || record_id ||
//                                       value)
//
// An opening reveals nothing about the key or about other openings (BLAKE2b
// is a PRF under a secret key); giving one to a court opens exactly one
// commitment. Move-only; wiped on destruction.
class OpeningKey {
 public:
  // The key of the agency whose Ed25519 signing seed is `seed` (32 bytes).
  static OpeningKey FromSeed(
      std::span<const uint8_t, merkle::kEd25519SeedSize> seed);

  OpeningKey(OpeningKey&& other) noexcept;
  OpeningKey& operator=(OpeningKey&& other) noexcept;
  OpeningKey(const OpeningKey&) = delete;
  OpeningKey& operator=(const OpeningKey&) = delete;
  ~OpeningKey();

  // The opening of `value` committed under `domain_tag` in the record
  // `record_id`.
  [[nodiscard]] std::array<uint8_t, kOpeningSize> Derive(
      std::string_view domain_tag, std::string_view record_id,
      std::string_view value) const;

 private:
  OpeningKey() = default;
  std::array<uint8_t, 32> key_{};
};

// The committed fields of an AccessRecord, by the names record_input.h and
// the openings file use: "operator", "subject", "legal_doc", "case_ref".
struct CommittedField {
  std::string_view name;
  std::string_view domain_tag;
};
inline constexpr CommittedField kCommittedFields[] = {
    {"operator", kOperatorTag},
    {"subject", kSubjectTag},
    {"legal_doc", kLegalDocTag},
    {"case_ref", kCaseTag},
};

// The commitment in `record` of the committed field `name` (empty if the
// record has none). INVALID_ARGUMENT for a name not in kCommittedFields.
absl::StatusOr<std::string> CommitmentOf(const vigil::v1::AccessRecord& record,
                                         std::string_view name);

// One opened commitment: what a court needs to check it.
struct FieldOpening {
  std::string field;  // A kCommittedFields name.
  std::string value;  // The clear value. Personal data.
  std::array<uint8_t, kOpeningSize> opening{};
  std::array<uint8_t, kCommitmentSize> commitment{};
};

// A record ready to sign, with the openings of its commitments.
struct BuiltRecord {
  vigil::v1::AccessRecord record;
  std::vector<FieldOpening> openings;  // In kCommittedFields order.
};

// `input.record` with its commitments filled in: the operator and subject
// always, the legal document and case reference when present, each opened
// by `key.Derive(tag, record_id, value)`. Deterministic.
BuiltRecord BuildRecord(const RecordInput& input, const OpeningKey& key);

// OK if `opening` opens the commitment of `opening.field` in `record`.
// INVALID_ARGUMENT naming the field if the field is unknown or the record
// has no such commitment; PERMISSION_DENIED naming the field if the opening
// and value do not open it. Never quotes the value.
absl::Status CheckFieldOpening(const vigil::v1::AccessRecord& record,
                               const FieldOpening& opening);

// An access-record entry that holds up: decoded, its Ed25519 signature
// valid for its public key, its payload parsed under every field rule of
// record.proto except the event-time window, which only the log applies
// at submission.
struct OpenedRecord {
  server::Entry entry;
  vigil::v1::AccessRecord record;
};

// Opens `entry` (its exact bytes). INVALID_ARGUMENT naming the problem for
// a malformed entry or payload or a registry change; UNAUTHENTICATED if the
// signature does not verify.
absl::StatusOr<OpenedRecord> OpenRecordEntry(std::string_view entry);

// The entry the log builds from `record` signed as `kind` (server/entry.h).
// INVALID_ARGUMENT if the public key is not 32 bytes, the signature not 64
// or the payload longer than kMaxPayloadSize.
absl::StatusOr<std::string> EntryOfSignedPayload(
    const vigil::v1::SignedPayload& record, server::EntryKind kind);

// The signed payload inside `entry`, for submitting it again.
// INVALID_ARGUMENT if it is not an access-record entry.
absl::StatusOr<vigil::v1::SignedPayload> SignedPayloadOfEntry(
    std::string_view entry);

// `record` serialised canonically once, signed by `key` over
// "vigil/record/v1\n" || payload: the SignedPayload to submit. The record
// is not checked; the server refuses one that breaks a field rule.
vigil::v1::SignedPayload SignAccessRecord(const vigil::v1::AccessRecord& record,
                                          const merkle::Ed25519PrivateKey& key);

// As SignAccessRecord for a registry change, signed over
// "vigil/registry/v1\n" || payload; `key` is the registry operator's key.
vigil::v1::SignedPayload SignRegistryChange(
    const vigil::v1::RegistryChange& change,
    const merkle::Ed25519PrivateKey& key);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_SIGNING_H_
