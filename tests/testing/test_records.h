// Valid records, agencies and registry changes for server tests, signed
// with client/signing.h exactly as an agency would.
//
// Thread-safety: all functions are safe from any thread.

#ifndef VIGIL_TESTS_TESTING_TEST_RECORDS_H_
#define VIGIL_TESTS_TESTING_TEST_RECORDS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "merkle/note.h"
#include "vigil/v1/log.pb.h"
#include "vigil/v1/record.pb.h"

namespace vigil::testing {

// `t` in hundredths of a second since the Unix epoch (CJIS AU-8).
int64_t ToCentis(absl::Time t);

// An agency with a fresh random Ed25519 key.
struct TestAgency {
  TestAgency(std::string ori, v1::AgencyClass agency_class);

  // The 32-byte public key, as the proto fields hold it.
  std::string public_key() const;

  merkle::Ed25519PrivateKey key;
  std::string ori;  // [A-Z0-9]{9}
  v1::AgencyClass agency_class;
};

// The private key of a note signer key file (such as vigil-server keygen's
// registry.skey), for signing registry changes.
absl::StatusOr<merkle::Ed25519PrivateKey> LoadPrivateKeyFile(
    const std::string& path);

// Registers `agency` (state "CA"), made at `now`.
v1::RegistryChange RegisterAgency(const TestAgency& agency, absl::Time now);

// Revokes `agency`'s key, made at `now`.
v1::RegistryChange RevokeAgency(const TestAgency& agency, absl::Time now);

// A valid REQUESTER record by `agency` with id `record_id` about a lookup
// at `event_time` (fresh random commitments, so two calls never give the
// same record).
v1::AccessRecord RequesterRecord(const TestAgency& agency,
                                 const std::string& record_id,
                                 absl::Time event_time);

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_TEST_RECORDS_H_
