#include "tests/testing/test_records.h"

#include <array>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_format.h"
#include "client/signing.h"

namespace vigil::testing {
namespace {

merkle::Ed25519PrivateKey RandomKey() {
  std::random_device random;
  std::array<uint8_t, 32> seed{};
  for (uint8_t& b : seed) b = static_cast<uint8_t>(random());
  return *merkle::Ed25519PrivateKey::FromSeed(seed);
}

std::string Bytes(const std::array<uint8_t, 32>& a) {
  return std::string(a.begin(), a.end());
}

}  // namespace

int64_t ToCentis(absl::Time t) { return absl::ToUnixMillis(t) / 10; }

TestAgency::TestAgency(std::string ori, v1::AgencyClass agency_class)
    : key(RandomKey()), ori(std::move(ori)), agency_class(agency_class) {}

std::string TestAgency::public_key() const { return Bytes(key.public_key()); }

absl::StatusOr<merkle::Ed25519PrivateKey> LoadPrivateKeyFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrFormat("cannot read %s", path));
  std::ostringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  if (!key.empty() && key.back() == '\n') key.pop_back();
  absl::StatusOr<merkle::SignerKey> parsed = merkle::ParseSignerKey(key);
  if (!parsed.ok()) return parsed.status();
  return merkle::Ed25519PrivateKey::FromSeed(parsed->seed);
}

v1::RegistryChange RegisterAgency(const TestAgency& agency, absl::Time now) {
  v1::RegistryChange change;
  change.set_change_time_centis(ToCentis(now));
  v1::RegisterAgencyKey* r = change.mutable_register_();
  r->set_ori(agency.ori);
  r->set_agency_class(agency.agency_class);
  r->set_agency_name(absl::StrFormat("Test agency %s", agency.ori));
  r->set_state("CA");
  r->set_public_key(agency.public_key());
  return change;
}

v1::RegistryChange RevokeAgency(const TestAgency& agency, absl::Time now) {
  v1::RegistryChange change;
  change.set_change_time_centis(ToCentis(now));
  v1::RevokeAgencyKey* r = change.mutable_revoke();
  r->set_public_key(agency.public_key());
  r->set_reason("key compromised");
  return change;
}

v1::AccessRecord RequesterRecord(const TestAgency& agency,
                                 const std::string& record_id,
                                 absl::Time event_time) {
  v1::AccessRecord r;
  r.set_record_id(record_id);
  r.set_submitter_role(v1::REQUESTER);
  r.set_correlation_id(absl::StrFormat("MCN-%s", record_id).substr(0, 64));
  r.set_event_time_centis(ToCentis(event_time));
  r.set_requesting_ori(agency.ori);
  r.set_operator_commit(
      Bytes(client::Commit(client::kOperatorTag, "badge 4711").value));
  r.set_source_system(v1::CLETS);
  r.set_destination("CA");
  r.set_message_key("DQ");
  r.add_data_categories(v1::DMV_PII);
  r.set_declared_purpose(v1::CRIMINAL_INVESTIGATION);
  r.set_legal_process(v1::NONE);
  r.set_subject_commit(
      Bytes(client::Commit(client::kSubjectTag, "D1234567").value));
  r.set_outcome(v1::HIT);
  return r;
}

}  // namespace vigil::testing
