// What an RPC thread checks before it hands a submission to the sequencer:
// sizes, the signer's registry entry, the Ed25519 signature, the payload's
// fields and the signer's role. Everything that does not depend on the
// submission's position in the log is checked here, in parallel on the RPC
// threads, holding no lock while verifying; the sequencer re-checks only
// what its position decides (a key revoked by an earlier entry of the same
// batch, whether a registry change applies).
//
// Error codes (docs/design.md): INVALID_ARGUMENT malformed submission,
// PERMISSION_DENIED unknown, revoked or unfit signer, UNAUTHENTICATED a
// signature that does not verify.
//
// Thread-safety: the functions are safe from any thread; Registry is
// thread-safe.

#ifndef VIGIL_SERVER_SUBMISSION_H_
#define VIGIL_SERVER_SUBMISSION_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/entry.h"
#include "server/record_checks.h"
#include "server/registry.h"
#include "vigil/v1/log.pb.h"

namespace vigil::server {

struct SubmissionOptions {
  // Bounds on the record's (and the registry change's) timestamp.
  RecordCheckOptions record;
  // The registry operator's Ed25519 public key. All zero means none is
  // configured: every registry change is then refused.
  std::array<uint8_t, 32> registry_public_key{};
};

// Checks an agency's signed AccessRecord, in this order (cheap checks
// first; a submission with several faults gets the first one's error):
//   1. sizes: payload at most kMaxPayloadSize bytes, public_key 32 bytes,
//      signature 64 bytes; else INVALID_ARGUMENT naming which;
//   2. signer: its key must be in `registry` and not revoked; else
//      PERMISSION_DENIED (so a bad signature from an unknown key is
//      PERMISSION_DENIED, not UNAUTHENTICATED);
//   3. fields: ParseAccessRecord at `now`; else INVALID_ARGUMENT;
//   4. role: CheckSignerRole; else PERMISSION_DENIED;
//   5. signature over SignedMessage(kAccessRecord, payload), last because
//      it is the expensive step; else UNAUTHENTICATED.
// Returns the PendingEntry to submit (kind kAccessRecord, no
// registry_change).
absl::StatusOr<PendingEntry> CheckAccessRecordSubmission(
    const vigil::v1::SignedPayload& signed_payload, const Registry& registry,
    absl::Time now, const SubmissionOptions& options);

// Checks a signed RegistryChange, in this order:
//   1. sizes as above (INVALID_ARGUMENT);
//   2. signer: public_key must equal options.registry_public_key, and one
//      must be configured; else PERMISSION_DENIED;
//   3. fields: ParseRegistryChange, and change_time_centis within the
//      options.record window around `now`; else INVALID_ARGUMENT;
//   4. signature over SignedMessage(kRegistryChange, payload); else
//      UNAUTHENTICATED.
// Whether the change applies (a key registered twice, rotating an unknown
// key, ...) is decided by the sequencer (Registry::Staging::Apply) in log
// order. Returns the PendingEntry with registry_change set.
absl::StatusOr<PendingEntry> CheckRegistryChangeSubmission(
    const vigil::v1::SignedPayload& signed_payload, absl::Time now,
    const SubmissionOptions& options);

}  // namespace vigil::server

#endif  // VIGIL_SERVER_SUBMISSION_H_
