// Field-level checks of the payloads agencies and the registry operator
// sign: every rule written in the comments of proto/vigil/v1/record.proto,
// the fit of a record's submitter role to its signer (DESIGN.md, "The
// signer is the submitter"), and the rules of registry changes.
//
// A payload is accepted only if it parses, carries no field this schema does
// not know, and is the canonical encoding (entry.h, CanonicalPayload) of
// what it parses to: otherwise bytes that nobody validated (an unknown
// field, an earlier copy of a field that the parser overwrote, a second
// member of a oneof) would be signed and stored in the log. Monitors
// replaying the log run the same parsers.
//
// Errors are INVALID_ARGUMENT naming the field (or PERMISSION_DENIED for a
// role that does not fit its signer). Messages may quote public text fields
// (escaped, cut at 64 bytes) but never contain the bytes of a commitment.
//
// Thread-safety: all functions are pure and safe from any thread.

#ifndef VIGIL_SERVER_RECORD_CHECKS_H_
#define VIGIL_SERVER_RECORD_CHECKS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vigil/v1/log.pb.h"
#include "vigil/v1/record.pb.h"

namespace vigil::server {

// Bounds on AccessRecord.event_time_centis relative to the server's clock.
struct RecordCheckOptions {
  // Oldest accepted event: now - max_age (inclusive).
  absl::Duration max_age = absl::Hours(24 * 7);
  // Latest accepted event: now + max_future_skew (inclusive), for clocks
  // that run slightly ahead of the server's.
  absl::Duration max_future_skew = absl::Minutes(5);
};

// OK if `centis` (UTC, hundredths of a second since the Unix epoch) is
// within [now - options.max_age, now + options.max_future_skew]. Otherwise
// INVALID_ARGUMENT naming `field`, how far the time is from `now`, and the
// window.
absl::Status CheckTimeWindow(std::string_view field, int64_t centis,
                             absl::Time now, const RecordCheckOptions& options);

// Parses an AccessRecord payload and checks every field rule of
// record.proto:
//   record_id        1..128 printable ASCII (0x20..0x7e)
//   submitter_role   REQUESTER, CUSTODIAN or SWITCH
//   correlation_id   1..64 printable ASCII
//   event_time_centis  within [now - max_age, now + max_future_skew]
//   requesting_ori   [A-Z0-9]{9}
//   operator_commit, subject_commit   exactly 32 bytes
//   source_system    a defined, non-UNSPECIFIED value
//   source_state     two letters A-Z if source_system is STATE_DMV, else empty
//   destination      1..16 printable ASCII (an ORI or state code)
//   message_key      1..8 of [A-Z0-9]
//   data_categories  at least one; each defined, not UNSPECIFIED; no repeats
//   purpose_code     empty or one of A C D F H I J R S V X
//   declared_purpose, legal_process, outcome   defined, not UNSPECIFIED
//   legal_doc_commit, case_ref_commit   empty or exactly 32 bytes
// Enum numbers outside the schema (proto3 keeps them) are refused.
// INVALID_ARGUMENT naming the field (or the payload: over kMaxPayloadSize
// bytes, not a protobuf, unknown fields, not canonical) otherwise. The first
// failing rule, in field order, is reported.
absl::StatusOr<vigil::v1::AccessRecord> ParseAccessRecord(
    std::string_view payload, absl::Time now,
    const RecordCheckOptions& options);

// OK if `record`'s submitter role fits the agency that signed it:
//   REQUESTER  requesting_ori must be the signer's own ORI;
//   CUSTODIAN  the signer's class must be DMV_CUSTODIAN;
//   SWITCH     the signer's class must be SWITCH_OPERATOR.
// PERMISSION_DENIED naming the role, the signer's ORI and class otherwise;
// INVALID_ARGUMENT if the role is not one of the three (ParseAccessRecord
// refuses such records). Does not look at whether the key is revoked.
absl::Status CheckSignerRole(const vigil::v1::AccessRecord& record,
                             const vigil::v1::AgencyKey& signer);

// Parses a RegistryChange payload: no unknown fields (at any depth),
// canonical encoding, and CheckRegistryChange. INVALID_ARGUMENT naming the
// field otherwise.
absl::StatusOr<vigil::v1::RegistryChange> ParseRegistryChange(
    std::string_view payload);

// The field rules of a RegistryChange:
//   change_time_centis  > 0
//   change              exactly one of register, rotate, revoke
//   register.ori        [A-Z0-9]{9}
//   register.agency_class  defined, not UNSPECIFIED
//   register.agency_name   1..256 bytes of UTF-8, no ASCII control character
//   register.state      empty or two letters A-Z
//   register.public_key, rotate.new_public_key   a valid Ed25519 public key:
//                       32 bytes, canonical, on the curve, in the prime-order
//                       subgroup, not of small order
//   rotate.old_public_key, revoke.public_key   32 bytes
//   rotate              old and new keys differ
//   revoke.reason       0..256 bytes of UTF-8, no ASCII control character
// INVALID_ARGUMENT naming the field otherwise. Whether the change applies
// to the registry is Registry::Staging::Apply's business.
absl::Status CheckRegistryChange(const vigil::v1::RegistryChange& change);

}  // namespace vigil::server

#endif  // VIGIL_SERVER_RECORD_CHECKS_H_
