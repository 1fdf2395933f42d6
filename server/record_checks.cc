#include "server/record_checks.h"

#include <google/protobuf/stubs/logging.h>
#include <sodium.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "merkle/encoding.h"
#include "server/entry.h"

namespace vigil::server {
namespace {

using ::vigil::merkle::QuoteForError;

constexpr size_t kCommitSize = 32;
constexpr size_t kOriSize = 9;
constexpr size_t kMaxRecordIdSize = 128;
constexpr size_t kMaxCorrelationIdSize = 64;
constexpr size_t kMaxDestinationSize = 16;
constexpr size_t kMaxMessageKeySize = 8;
constexpr size_t kMaxAgencyNameSize = 256;
constexpr size_t kMaxReasonSize = 256;
constexpr std::string_view kPurposeCodes = "ACDFHIJRSVX";

bool IsPrintableAscii(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool IsUpperOrDigit(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsUpperAlnum(std::string_view s) {
  for (char c : s) {
    if (!IsUpperOrDigit(c)) return false;
  }
  return true;
}

bool IsOri(std::string_view s) {
  return s.size() == kOriSize && IsUpperAlnum(s);
}

bool IsStateCode(std::string_view s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
         s[1] <= 'Z';
}

bool HasAsciiControl(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// "1..max printable ASCII" text fields.
absl::Status CheckPrintable(std::string_view field, std::string_view value,
                            size_t max_size) {
  if (value.empty() || value.size() > max_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s must be 1..%d bytes, got %d", field, max_size, value.size()));
  }
  if (!IsPrintableAscii(value)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %s must be printable ASCII (0x20..0x7e)", field,
                        QuoteForError(value)));
  }
  return absl::OkStatus();
}

absl::Status CheckOri(std::string_view field, std::string_view value) {
  if (!IsOri(value)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %s must be 9 characters of [A-Z0-9]", field, QuoteForError(value)));
  }
  return absl::OkStatus();
}

// A commitment: exactly 32 bytes, or also empty if `optional`. The message
// gives the length only, never the bytes.
absl::Status CheckCommit(std::string_view field, std::string_view value,
                         bool optional) {
  if (value.size() == kCommitSize || (optional && value.empty())) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("%s must be %s32 bytes, got %d bytes", field,
                      optional ? "empty or " : "", value.size()));
}

// An enum field that must hold a defined, non-zero (not UNSPECIFIED) value.
absl::Status CheckEnum(std::string_view field, int value, bool (*is_valid)(int),
                       std::string_view enum_name) {
  if (value == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s must be set (it is %s_UNSPECIFIED)", field, enum_name));
  }
  if (!is_valid(value)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %d is not a defined %s value", field, value, enum_name));
  }
  return absl::OkStatus();
}

// `d` (positive) for people: "9 days", "2.5 hours", "40 seconds".
std::string HumanDuration(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "forever";
  if (d >= absl::Hours(24)) {
    return absl::StrFormat("%.4g days", absl::FDivDuration(d, absl::Hours(24)));
  }
  if (d >= absl::Hours(1)) {
    return absl::StrFormat("%.4g hours", absl::FDivDuration(d, absl::Hours(1)));
  }
  if (d >= absl::Minutes(1)) {
    return absl::StrFormat("%.4g minutes",
                           absl::FDivDuration(d, absl::Minutes(1)));
  }
  return absl::StrFormat("%.4g seconds",
                         absl::FDivDuration(d, absl::Seconds(1)));
}

int64_t UnixCentis(absl::Time t) { return absl::ToUnixMillis(t) / 10; }

// Parses `payload` into `message`: at most kMaxPayloadSize bytes of a
// well-formed protobuf. `what` names the type.
absl::Status ParsePayload(std::string_view payload, std::string_view what,
                          google::protobuf::Message* message) {
  if (payload.size() > kMaxPayloadSize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("payload is %d bytes, at most %d allowed",
                        payload.size(), kMaxPayloadSize));
  }
  bool parsed = false;
  {
    // proto3 parsing logs every string field that is not UTF-8; from
    // untrusted input that would let any client flood the server's log.
    // The silencer is thread-safe; it mutes protobuf's (debug) logging
    // process-wide only while it lives.
    const google::protobuf::LogSilencer silencer;
    parsed = message->ParseFromArray(payload.data(),
                                     static_cast<int>(payload.size()));
  }
  if (!parsed) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "payload is not a valid %s protobuf (malformed, or a string field "
        "is not UTF-8)",
        what));
  }
  return absl::OkStatus();
}

absl::Status CheckNoUnknownFields(const google::protobuf::Message& message,
                                  std::string_view what) {
  const google::protobuf::UnknownFieldSet& unknown =
      message.GetReflection()->GetUnknownFields(message);
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "payload has field number %d, unknown to %s; unknown fields are "
        "refused",
        unknown.field(0).number(), what));
  }
  return absl::OkStatus();
}

absl::Status CheckCanonical(std::string_view payload,
                            const google::protobuf::Message& message,
                            std::string_view what) {
  if (CanonicalPayload(message) != payload) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "payload is not the canonical encoding of its %s (a field is "
        "repeated, out of order, explicitly default or not minimally "
        "encoded); sign the deterministic serialisation",
        what));
  }
  return absl::OkStatus();
}

absl::Status CheckAccessRecordFields(const vigil::v1::AccessRecord& r,
                                     absl::Time now,
                                     const RecordCheckOptions& options) {
  absl::Status s = CheckPrintable("record_id", r.record_id(), kMaxRecordIdSize);
  if (!s.ok()) return s;
  s = CheckEnum("submitter_role", r.submitter_role(),
                vigil::v1::SubmitterRole_IsValid, "SUBMITTER_ROLE");
  if (!s.ok()) return s;
  s = CheckPrintable("correlation_id", r.correlation_id(),
                     kMaxCorrelationIdSize);
  if (!s.ok()) return s;
  s = CheckTimeWindow("event_time_centis", r.event_time_centis(), now, options);
  if (!s.ok()) return s;
  s = CheckOri("requesting_ori", r.requesting_ori());
  if (!s.ok()) return s;
  s = CheckCommit("operator_commit", r.operator_commit(), /*optional=*/false);
  if (!s.ok()) return s;
  s = CheckEnum("source_system", r.source_system(),
                vigil::v1::SourceSystem_IsValid, "SOURCE_SYSTEM");
  if (!s.ok()) return s;
  if (r.source_system() == vigil::v1::STATE_DMV) {
    if (!IsStateCode(r.source_state())) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "source_state %s must be a two-letter state code [A-Z]{2} when "
          "source_system is STATE_DMV",
          QuoteForError(r.source_state())));
    }
  } else if (!r.source_state().empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "source_state %s must be empty unless source_system is STATE_DMV",
        QuoteForError(r.source_state())));
  }
  s = CheckPrintable("destination", r.destination(), kMaxDestinationSize);
  if (!s.ok()) return s;
  if (r.message_key().empty() || r.message_key().size() > kMaxMessageKeySize ||
      !IsUpperAlnum(r.message_key())) {
    return absl::InvalidArgumentError(
        absl::StrFormat("message_key %s must be 1..8 characters of [A-Z0-9]",
                        QuoteForError(r.message_key())));
  }
  if (r.data_categories().empty()) {
    return absl::InvalidArgumentError(
        "data_categories must hold at least one category");
  }
  static_assert(vigil::v1::DataCategory_MAX < 64);
  uint64_t seen = 0;  // Bit v set once category v was seen.
  for (int i = 0; i < r.data_categories_size(); ++i) {
    const int category = r.data_categories(i);
    s = CheckEnum(absl::StrFormat("data_categories[%d]", i), category,
                  vigil::v1::DataCategory_IsValid, "DATA_CATEGORY");
    if (!s.ok()) return s;
    const uint64_t bit = uint64_t{1} << category;
    if ((seen & bit) != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("data_categories repeats %s",
                          vigil::v1::DataCategory_Name(
                              static_cast<vigil::v1::DataCategory>(category))));
    }
    seen |= bit;
  }
  const std::string& purpose = r.purpose_code();
  if (!purpose.empty() &&
      (purpose.size() != 1 ||
       kPurposeCodes.find(purpose[0]) == std::string_view::npos)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "purpose_code %s must be empty or one of A C D F H I J R S V X",
        QuoteForError(purpose)));
  }
  s = CheckEnum("declared_purpose", r.declared_purpose(),
                vigil::v1::DeclaredPurpose_IsValid, "DECLARED_PURPOSE");
  if (!s.ok()) return s;
  s = CheckEnum("legal_process", r.legal_process(),
                vigil::v1::LegalProcess_IsValid, "LEGAL_PROCESS");
  if (!s.ok()) return s;
  s = CheckCommit("legal_doc_commit", r.legal_doc_commit(), /*optional=*/true);
  if (!s.ok()) return s;
  s = CheckCommit("case_ref_commit", r.case_ref_commit(), /*optional=*/true);
  if (!s.ok()) return s;
  s = CheckCommit("subject_commit", r.subject_commit(), /*optional=*/false);
  if (!s.ok()) return s;
  return CheckEnum("outcome", r.outcome(), vigil::v1::Outcome_IsValid,
                   "OUTCOME");
}

std::string ClassName(int agency_class) {
  if (vigil::v1::AgencyClass_IsValid(agency_class)) {
    return vigil::v1::AgencyClass_Name(
        static_cast<vigil::v1::AgencyClass>(agency_class));
  }
  return absl::StrFormat("AgencyClass(%d)", agency_class);
}

// A key that must exist already: 32 bytes.
absl::Status CheckKeySize(std::string_view field, std::string_view key) {
  if (key.size() != kEntryPublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s must be a 32-byte Ed25519 public key, got %d bytes",
                        field, key.size()));
  }
  return absl::OkStatus();
}

// A key that is about to be trusted: a valid Ed25519 public key.
absl::Status CheckNewKey(std::string_view field, std::string_view key) {
  absl::Status s = CheckKeySize(field, key);
  if (!s.ok()) return s;
  if (crypto_core_ed25519_is_valid_point(
          reinterpret_cast<const unsigned char*>(key.data())) != 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is not a valid Ed25519 public key (not canonical, not on the "
        "curve, or of small order)",
        field));
  }
  return absl::OkStatus();
}

// 0..max_size (or min_size..max_size) bytes of UTF-8 without ASCII control
// characters.
absl::Status CheckUtf8Text(std::string_view field, std::string_view value,
                           size_t min_size, size_t max_size) {
  if (value.size() < min_size || value.size() > max_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s must be %d..%d bytes, got %d", field, min_size,
                        max_size, value.size()));
  }
  if (!merkle::IsValidUtf8(value)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is not valid UTF-8", field));
  }
  if (HasAsciiControl(value)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %s holds an ASCII control character", field, QuoteForError(value)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTimeWindow(std::string_view field, int64_t centis,
                             absl::Time now,
                             const RecordCheckOptions& options) {
  // Durations saturate rather than overflow, so any int64 is safe here.
  const absl::Time event = absl::UnixEpoch() + absl::Milliseconds(centis) * 10;
  const absl::Duration age = now - event;
  if (age > options.max_age) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %d is %s before now (%d), window is %s", field, centis,
        HumanDuration(age), UnixCentis(now), HumanDuration(options.max_age)));
  }
  if (-age > options.max_future_skew) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %d is %s after now (%d), at most %s allowed", field,
                        centis, HumanDuration(-age), UnixCentis(now),
                        HumanDuration(options.max_future_skew)));
  }
  return absl::OkStatus();
}

absl::StatusOr<vigil::v1::AccessRecord> ParseAccessRecord(
    std::string_view payload, absl::Time now,
    const RecordCheckOptions& options) {
  vigil::v1::AccessRecord record;
  absl::Status s = ParsePayload(payload, "vigil.v1.AccessRecord", &record);
  if (!s.ok()) return s;
  s = CheckNoUnknownFields(record, "vigil.v1.AccessRecord");
  if (!s.ok()) return s;
  s = CheckAccessRecordFields(record, now, options);
  if (!s.ok()) return s;
  s = CheckCanonical(payload, record, "vigil.v1.AccessRecord");
  if (!s.ok()) return s;
  return record;
}

absl::Status CheckSignerRole(const vigil::v1::AccessRecord& record,
                             const vigil::v1::AgencyKey& signer) {
  const std::string signer_class = ClassName(signer.agency_class());
  switch (record.submitter_role()) {
    case vigil::v1::REQUESTER:
      if (record.requesting_ori() != signer.ori()) {
        return absl::PermissionDeniedError(absl::StrFormat(
            "REQUESTER record names requesting_ori %s but is signed by ORI "
            "%s (class %s): a requester records only its own lookups",
            QuoteForError(record.requesting_ori()), QuoteForError(signer.ori()),
            signer_class));
      }
      return absl::OkStatus();
    case vigil::v1::CUSTODIAN:
      if (signer.agency_class() != vigil::v1::DMV_CUSTODIAN) {
        return absl::PermissionDeniedError(absl::StrFormat(
            "CUSTODIAN record signed by ORI %s of class %s: only a "
            "DMV_CUSTODIAN agency signs custodian records",
            QuoteForError(signer.ori()), signer_class));
      }
      return absl::OkStatus();
    case vigil::v1::SWITCH:
      if (signer.agency_class() != vigil::v1::SWITCH_OPERATOR) {
        return absl::PermissionDeniedError(absl::StrFormat(
            "SWITCH record signed by ORI %s of class %s: only a "
            "SWITCH_OPERATOR agency signs switch records",
            QuoteForError(signer.ori()), signer_class));
      }
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("submitter_role %d is not REQUESTER, CUSTODIAN or "
                          "SWITCH",
                          static_cast<int>(record.submitter_role())));
  }
}

absl::StatusOr<vigil::v1::RegistryChange> ParseRegistryChange(
    std::string_view payload) {
  vigil::v1::RegistryChange change;
  absl::Status s = ParsePayload(payload, "vigil.v1.RegistryChange", &change);
  if (!s.ok()) return s;
  s = CheckNoUnknownFields(change, "vigil.v1.RegistryChange");
  if (!s.ok()) return s;
  switch (change.change_case()) {
    case vigil::v1::RegistryChange::kRegister:
      s = CheckNoUnknownFields(change.register_(),
                               "vigil.v1.RegisterAgencyKey");
      break;
    case vigil::v1::RegistryChange::kRotate:
      s = CheckNoUnknownFields(change.rotate(), "vigil.v1.RotateAgencyKey");
      break;
    case vigil::v1::RegistryChange::kRevoke:
      s = CheckNoUnknownFields(change.revoke(), "vigil.v1.RevokeAgencyKey");
      break;
    case vigil::v1::RegistryChange::CHANGE_NOT_SET:
      break;
  }
  if (!s.ok()) return s;
  s = CheckRegistryChange(change);
  if (!s.ok()) return s;
  s = CheckCanonical(payload, change, "vigil.v1.RegistryChange");
  if (!s.ok()) return s;
  return change;
}

absl::Status CheckRegistryChange(const vigil::v1::RegistryChange& change) {
  if (change.change_time_centis() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("change_time_centis must be positive, got %d",
                        change.change_time_centis()));
  }
  absl::Status s;
  switch (change.change_case()) {
    case vigil::v1::RegistryChange::kRegister: {
      const vigil::v1::RegisterAgencyKey& r = change.register_();
      s = CheckOri("register.ori", r.ori());
      if (!s.ok()) return s;
      s = CheckEnum("register.agency_class", r.agency_class(),
                    vigil::v1::AgencyClass_IsValid, "AGENCY_CLASS");
      if (!s.ok()) return s;
      s = CheckUtf8Text("register.agency_name", r.agency_name(), 1,
                        kMaxAgencyNameSize);
      if (!s.ok()) return s;
      if (!r.state().empty() && !IsStateCode(r.state())) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "register.state %s must be empty or a two-letter state code "
            "[A-Z]{2}",
            QuoteForError(r.state())));
      }
      return CheckNewKey("register.public_key", r.public_key());
    }
    case vigil::v1::RegistryChange::kRotate: {
      const vigil::v1::RotateAgencyKey& r = change.rotate();
      s = CheckKeySize("rotate.old_public_key", r.old_public_key());
      if (!s.ok()) return s;
      s = CheckNewKey("rotate.new_public_key", r.new_public_key());
      if (!s.ok()) return s;
      if (r.old_public_key() == r.new_public_key()) {
        return absl::InvalidArgumentError(
            "rotate.new_public_key equals rotate.old_public_key");
      }
      return absl::OkStatus();
    }
    case vigil::v1::RegistryChange::kRevoke: {
      const vigil::v1::RevokeAgencyKey& r = change.revoke();
      s = CheckKeySize("revoke.public_key", r.public_key());
      if (!s.ok()) return s;
      return CheckUtf8Text("revoke.reason", r.reason(), 0, kMaxReasonSize);
    }
    case vigil::v1::RegistryChange::CHANGE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "change must set exactly one of register, rotate, revoke");
}

}  // namespace vigil::server
