// Evidence of a log's misbehaviour: what a client or monitor saw that
// contradicts what the log promised, kept as a JSON document inside the
// error status (docs/formats.md, "Evidence"), so that any failed check can
// be written to a file and checked again by anyone.
//
// Thread-safety: the functions are pure.

#ifndef VIGIL_CLIENT_EVIDENCE_H_
#define VIGIL_CLIENT_EVIDENCE_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace vigil::client {

// The URL under which a failed check stores its evidence in the status.
inline constexpr std::string_view kEvidencePayloadUrl =
    "type.vigil.dev/evidence";

// An error with `code` and `message` whose payload is the evidence: a JSON
// object with "vigil_evidence": 1, "kind", "failure" (the message),
// "origin", "observed_at" (now, RFC 3339) and the keys of `fields` (what
// the log served, verbatim).
absl::Status Misbehaviour(absl::StatusCode code, std::string_view kind,
                          const std::string& message, std::string_view origin,
                          const nlohmann::ordered_json& fields);

// The evidence a failed check attached to `status` (a JSON document), or
// nullopt for an error that is not a failed check of the log's data.
std::optional<std::string> EvidenceOf(const absl::Status& status);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_EVIDENCE_H_
