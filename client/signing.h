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
#include <string_view>

#include "merkle/note.h"
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
