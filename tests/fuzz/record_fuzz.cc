// Entry payloads: AccessRecord and RegistryChange (server/record_checks.h).
//
// Properties: a payload that parses is the canonical encoding of what it
// parses to (so no signed byte escaped the checks), and the parsed message
// obeys the documented field limits checked here again independently.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/entry.h"
#include "server/record_checks.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

bool Printable(const std::string& s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool Ori(const std::string& s) {
  if (s.size() != 9) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

void CheckRecord(const vigil::v1::AccessRecord& r) {
  VIGIL_FUZZ_CHECK(Printable(r.record_id(), 1, 128));
  VIGIL_FUZZ_CHECK(Printable(r.correlation_id(), 1, 64));
  VIGIL_FUZZ_CHECK(Ori(r.requesting_ori()));
  VIGIL_FUZZ_CHECK(r.operator_commit().size() == 32);
  VIGIL_FUZZ_CHECK(r.subject_commit().size() == 32);
  VIGIL_FUZZ_CHECK(r.legal_doc_commit().empty() ||
                   r.legal_doc_commit().size() == 32);
  VIGIL_FUZZ_CHECK(r.case_ref_commit().empty() ||
                   r.case_ref_commit().size() == 32);
  VIGIL_FUZZ_CHECK(Printable(r.destination(), 1, 16));
  VIGIL_FUZZ_CHECK(!r.message_key().empty() && r.message_key().size() <= 8);
  VIGIL_FUZZ_CHECK(r.data_categories_size() >= 1);
  VIGIL_FUZZ_CHECK(r.purpose_code().size() <= 1);
  VIGIL_FUZZ_CHECK(vigil::v1::SubmitterRole_IsValid(r.submitter_role()) &&
                   r.submitter_role() != 0);
  VIGIL_FUZZ_CHECK(vigil::v1::SourceSystem_IsValid(r.source_system()) &&
                   r.source_system() != 0);
  VIGIL_FUZZ_CHECK(r.source_state().empty() ||
                   r.source_system() == vigil::v1::STATE_DMV);
}

void Run(std::string_view input) {
  const absl::Time now = absl::FromUnixSeconds(kFixedNowSeconds);
  absl::StatusOr<vigil::v1::AccessRecord> record =
      server::ParseAccessRecord(input, now, server::RecordCheckOptions{});
  if (record.ok()) {
    VIGIL_FUZZ_CHECK(input.size() <= server::kMaxPayloadSize);
    VIGIL_FUZZ_CHECK(server::CanonicalPayload(*record) == input);
    CheckRecord(*record);
  }

  absl::StatusOr<vigil::v1::RegistryChange> change =
      server::ParseRegistryChange(input);
  if (change.ok()) {
    VIGIL_FUZZ_CHECK(server::CanonicalPayload(*change) == input);
    VIGIL_FUZZ_CHECK(change->change_time_centis() > 0);
    VIGIL_FUZZ_CHECK(change->change_case() !=
                     vigil::v1::RegistryChange::CHANGE_NOT_SET);
    VIGIL_FUZZ_CHECK(server::CheckRegistryChange(*change).ok());
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
