#include "client/evidence.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace vigil::client {
namespace {

using Json = nlohmann::ordered_json;

absl::string_view PayloadUrl() {
  return absl::string_view(kEvidencePayloadUrl.data(),
                           kEvidencePayloadUrl.size());
}

}  // namespace

absl::Status Misbehaviour(absl::StatusCode code, std::string_view kind,
                          const std::string& message, std::string_view origin,
                          const Json& evidence) {
  Json doc;
  doc["vigil_evidence"] = 1;
  doc["kind"] = kind;
  doc["failure"] = message;
  doc["origin"] = origin;
  doc["observed_at"] =
      absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  doc.update(evidence);
  absl::Status status(code, message);
  status.SetPayload(PayloadUrl(), absl::Cord(doc.dump(2) + "\n"));
  return status;
}

std::optional<std::string> EvidenceOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(PayloadUrl());
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace vigil::client
