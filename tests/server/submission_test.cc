#include "server/submission.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "merkle/hash.h"
#include "merkle/note.h"
#include "server/entry.h"
#include "server/registry.h"
#include "tests/testing/status_matchers.h"

namespace vigil::server {
namespace {

using ::vigil::testing::IsError;

using ::vigil::v1::AccessRecord;
using ::vigil::v1::RegistryChange;
using ::vigil::v1::SignedPayload;

constexpr int64_t kNowSeconds = 1'750'000'000;
constexpr int64_t kNowCentis = kNowSeconds * 100;
const absl::Time kNow = absl::FromUnixSeconds(kNowSeconds);

merkle::Ed25519PrivateKey MakeKey(std::string_view label) {
  absl::StatusOr<merkle::Ed25519PrivateKey> key =
      merkle::Ed25519PrivateKey::FromSeed(
          merkle::Sha256(merkle::AsBytes(label)));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

std::string Str(const std::array<uint8_t, 32>& a) {
  return {a.begin(), a.end()};
}

AccessRecord ValidRecord() {
  AccessRecord r;
  r.set_record_id("rec-1");
  r.set_submitter_role(v1::REQUESTER);
  r.set_correlation_id("MCN0001");
  r.set_event_time_centis(kNowCentis - 100);
  r.set_requesting_ori("WA0340000");
  r.set_operator_commit(std::string(32, 'o'));
  r.set_source_system(v1::NLETS);
  r.set_destination("NY");
  r.set_message_key("DQ");
  r.add_data_categories(v1::DMV_PII);
  r.set_declared_purpose(v1::CRIMINAL_INVESTIGATION);
  r.set_legal_process(v1::NONE);
  r.set_subject_commit(std::string(32, 's'));
  r.set_outcome(v1::NO_HIT);
  return r;
}

SignedPayload Sign(EntryKind kind, std::string payload,
                   const merkle::Ed25519PrivateKey& key) {
  const auto signature =
      key.Sign(merkle::AsBytes(SignedMessage(kind, payload)));
  SignedPayload p;
  p.set_payload(std::move(payload));
  p.set_public_key(Str(key.public_key()));
  p.set_signature(std::string(signature.begin(), signature.end()));
  return p;
}

SignedPayload SignRecord(const AccessRecord& r,
                         const merkle::Ed25519PrivateKey& key) {
  return Sign(EntryKind::kAccessRecord, CanonicalPayload(r), key);
}

RegistryChange RegisterChange(const std::string& key, std::string ori,
                              v1::AgencyClass agency_class) {
  RegistryChange c;
  c.set_change_time_centis(kNowCentis - 100);
  v1::RegisterAgencyKey* r = c.mutable_register_();
  r->set_ori(std::move(ori));
  r->set_agency_class(agency_class);
  r->set_agency_name("An agency");
  r->set_public_key(key);
  return c;
}

class SubmissionTest : public ::testing::Test {
 protected:
  SubmissionTest()
      : police_(MakeKey("police")),
        dmv_(MakeKey("dmv")),
        revoked_(MakeKey("revoked")),
        stranger_(MakeKey("stranger")),
        registry_key_(MakeKey("registry")) {
    absl::StatusOr<std::unique_ptr<Registry>> r = Registry::Load({});
    EXPECT_TRUE(r.ok());
    registry_ = *std::move(r);
    Registry::Staging staging = registry_->Stage();
    EXPECT_TRUE(staging
                    .Apply(RegisterChange(Str(police_.public_key()),
                                          "WA0340000", v1::LOCAL_POLICE),
                           0)
                    .ok());
    EXPECT_TRUE(staging
                    .Apply(RegisterChange(Str(dmv_.public_key()), "NYDMV0000",
                                          v1::DMV_CUSTODIAN),
                           1)
                    .ok());
    EXPECT_TRUE(staging
                    .Apply(RegisterChange(Str(revoked_.public_key()),
                                          "WA0340000", v1::LOCAL_POLICE),
                           2)
                    .ok());
    RegistryChange revoke;
    revoke.set_change_time_centis(kNowCentis);
    revoke.mutable_revoke()->set_public_key(Str(revoked_.public_key()));
    EXPECT_TRUE(staging.Apply(revoke, 3).ok());
    registry_->Commit(staging);
    options_.registry_public_key = registry_key_.public_key();
  }

  absl::StatusOr<PendingEntry> Check(const SignedPayload& p) {
    return CheckAccessRecordSubmission(p, *registry_, kNow, options_);
  }
  absl::StatusOr<PendingEntry> CheckChange(const SignedPayload& p) {
    return CheckRegistryChangeSubmission(p, kNow, options_);
  }

  merkle::Ed25519PrivateKey police_, dmv_, revoked_, stranger_, registry_key_;
  std::unique_ptr<Registry> registry_;
  SubmissionOptions options_;
};

// ---------------------------------------------------------------------------
// Access records

TEST_F(SubmissionTest, ValidRecordBecomesAPendingEntry) {
  const SignedPayload p = SignRecord(ValidRecord(), police_);
  absl::StatusOr<PendingEntry> pending = Check(p);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->kind, EntryKind::kAccessRecord);
  EXPECT_EQ(pending->public_key, p.public_key());
  EXPECT_FALSE(pending->registry_change.has_value());
  EXPECT_EQ(pending->leaf_hash,
            merkle::HashLeaf(merkle::AsBytes(pending->entry)));

  absl::StatusOr<Entry> entry = DecodeEntry(pending->entry);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->kind, EntryKind::kAccessRecord);
  EXPECT_EQ(entry->payload, p.payload());  // The signed bytes, untouched.
  EXPECT_EQ(Str(entry->public_key), p.public_key());
  EXPECT_EQ(std::string(entry->signature.begin(), entry->signature.end()),
            p.signature());
  EXPECT_TRUE(VerifyEntrySignature(*entry));
}

TEST_F(SubmissionTest, CustodianRecordFromADmvIsAccepted) {
  AccessRecord r = ValidRecord();
  r.set_submitter_role(v1::CUSTODIAN);
  EXPECT_TRUE(Check(SignRecord(r, dmv_)).ok());
}

TEST_F(SubmissionTest, UnknownKeyIsPermissionDenied) {
  EXPECT_THAT(Check(SignRecord(ValidRecord(), stranger_)),
              IsError(absl::StatusCode::kPermissionDenied, "unknown agency"));
}

TEST_F(SubmissionTest, BadSignatureFromAnUnknownKeyIsPermissionDenied) {
  SignedPayload p = SignRecord(ValidRecord(), stranger_);
  p.set_signature(std::string(64, '\x5a'));
  EXPECT_THAT(Check(p),
              IsError(absl::StatusCode::kPermissionDenied, "unknown agency"));
}

TEST_F(SubmissionTest, RevokedKeyIsPermissionDenied) {
  EXPECT_THAT(
      Check(SignRecord(ValidRecord(), revoked_)),
      IsError(absl::StatusCode::kPermissionDenied, "revoked at index 3"));
}

TEST_F(SubmissionTest, BadSignatureFromAKnownKeyIsUnauthenticated) {
  SignedPayload p = SignRecord(ValidRecord(), police_);
  std::string sig = p.signature();
  sig[10] = static_cast<char>(sig[10] ^ 0x01);
  p.set_signature(sig);
  EXPECT_THAT(Check(p), IsError(absl::StatusCode::kUnauthenticated,
                                "signature does not verify"));
}

TEST_F(SubmissionTest, SignatureByAnotherKnownKeyIsUnauthenticated) {
  SignedPayload p = SignRecord(ValidRecord(), police_);
  p.set_signature(SignRecord(ValidRecord(), dmv_).signature());
  EXPECT_THAT(Check(p), IsError(absl::StatusCode::kUnauthenticated, ""));
}

TEST_F(SubmissionTest, RecordSignedAsARegistryChangeIsUnauthenticated) {
  const SignedPayload p = Sign(EntryKind::kRegistryChange,
                               CanonicalPayload(ValidRecord()), police_);
  EXPECT_THAT(Check(p), IsError(absl::StatusCode::kUnauthenticated, ""));
}

TEST_F(SubmissionTest, OversizePayloadIsInvalidArgument) {
  SignedPayload p = SignRecord(ValidRecord(), police_);
  p.set_payload(std::string(kMaxPayloadSize + 1, 'x'));
  EXPECT_THAT(Check(p), IsError(absl::StatusCode::kInvalidArgument, "payload"));
}

TEST_F(SubmissionTest, WrongPublicKeySizeIsInvalidArgument) {
  for (size_t size : {0, 31, 33}) {
    SignedPayload p = SignRecord(ValidRecord(), police_);
    p.set_public_key(std::string(size, 'k'));
    EXPECT_THAT(Check(p),
                IsError(absl::StatusCode::kInvalidArgument, "public_key"));
  }
}

TEST_F(SubmissionTest, WrongSignatureSizeIsInvalidArgument) {
  for (size_t size : {0, 63, 65}) {
    SignedPayload p = SignRecord(ValidRecord(), police_);
    p.set_signature(std::string(size, 's'));
    EXPECT_THAT(Check(p),
                IsError(absl::StatusCode::kInvalidArgument, "signature"));
  }
}

TEST_F(SubmissionTest, BrokenFieldIsInvalidArgument) {
  AccessRecord r = ValidRecord();
  r.set_requesting_ori("short");
  EXPECT_THAT(Check(SignRecord(r, police_)),
              IsError(absl::StatusCode::kInvalidArgument, "requesting_ori"));
  r = ValidRecord();
  r.set_event_time_centis(kNowCentis - int64_t{30} * 86400 * 100);
  EXPECT_THAT(Check(SignRecord(r, police_)),
              IsError(absl::StatusCode::kInvalidArgument, "event_time_centis"));
}

TEST_F(SubmissionTest, GarbagePayloadIsInvalidArgument) {
  EXPECT_THAT(
      Check(Sign(EntryKind::kAccessRecord, "\xff\xff garbage", police_)),
      IsError(absl::StatusCode::kInvalidArgument, "payload"));
}

TEST_F(SubmissionTest, RoleThatDoesNotFitTheSignerIsPermissionDenied) {
  AccessRecord r = ValidRecord();
  r.set_requesting_ori("CA0190000");  // Not the police key's own ORI.
  EXPECT_THAT(Check(SignRecord(r, police_)),
              IsError(absl::StatusCode::kPermissionDenied, "REQUESTER"));
  r = ValidRecord();
  r.set_submitter_role(v1::SWITCH);  // The police are no switch.
  EXPECT_THAT(Check(SignRecord(r, police_)),
              IsError(absl::StatusCode::kPermissionDenied, "SWITCH"));
}

TEST_F(SubmissionTest, HostileSubmissionsAllGetAnErrorNotACrash) {
  const SignedPayload valid = SignRecord(ValidRecord(), police_);
  std::vector<SignedPayload> hostile;
  hostile.emplace_back();  // Everything empty.
  for (size_t n = 0; n < valid.payload().size(); ++n) {
    SignedPayload p = valid;
    p.set_payload(valid.payload().substr(0, n));
    hostile.push_back(p);
  }
  for (size_t bit = 0; bit < valid.payload().size() * 8; bit += 7) {
    SignedPayload p = valid;
    std::string payload = p.payload();
    payload[bit / 8] = static_cast<char>(payload[bit / 8] ^ (1 << (bit % 8)));
    p.set_payload(payload);
    hostile.push_back(p);
  }
  for (const SignedPayload& p : hostile) {
    EXPECT_FALSE(Check(p).ok());
  }
}

// ---------------------------------------------------------------------------
// Registry changes

TEST_F(SubmissionTest, ValidRegistryChangeBecomesAPendingEntry) {
  const RegistryChange change = RegisterChange(Str(stranger_.public_key()),
                                               "OR0000000", v1::STATE_POLICE);
  const SignedPayload p =
      Sign(EntryKind::kRegistryChange, CanonicalPayload(change), registry_key_);
  absl::StatusOr<PendingEntry> pending = CheckChange(p);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->kind, EntryKind::kRegistryChange);
  EXPECT_EQ(pending->public_key, Str(registry_key_.public_key()));
  ASSERT_TRUE(pending->registry_change.has_value());
  EXPECT_EQ(CanonicalPayload(*pending->registry_change),
            CanonicalPayload(change));
  EXPECT_EQ(pending->leaf_hash,
            merkle::HashLeaf(merkle::AsBytes(pending->entry)));
  absl::StatusOr<Entry> entry = DecodeEntry(pending->entry);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->kind, EntryKind::kRegistryChange);
  EXPECT_EQ(entry->payload, p.payload());
  EXPECT_TRUE(VerifyEntrySignature(*entry));

  // The sequencer then applies it; the new key's records are accepted.
  Registry::Staging staging = registry_->Stage();
  ASSERT_TRUE(staging.Apply(*pending->registry_change, 4).ok());
  registry_->Commit(staging);
  AccessRecord r = ValidRecord();
  r.set_requesting_ori("OR0000000");
  EXPECT_TRUE(Check(SignRecord(r, stranger_)).ok());
}

TEST_F(SubmissionTest, RegistryChangeFromAnotherKeyIsPermissionDenied) {
  const RegistryChange change = RegisterChange(Str(stranger_.public_key()),
                                               "OR0000000", v1::STATE_POLICE);
  // Even a registered agency key may not change the registry.
  EXPECT_THAT(CheckChange(Sign(EntryKind::kRegistryChange,
                               CanonicalPayload(change), police_)),
              IsError(absl::StatusCode::kPermissionDenied, "registry key"));
}

TEST_F(SubmissionTest, RegistryChangeWithoutAConfiguredKeyIsPermissionDenied) {
  options_.registry_public_key = {};
  const RegistryChange change = RegisterChange(Str(stranger_.public_key()),
                                               "OR0000000", v1::STATE_POLICE);
  EXPECT_THAT(CheckChange(Sign(EntryKind::kRegistryChange,
                               CanonicalPayload(change), registry_key_)),
              IsError(absl::StatusCode::kPermissionDenied, "no registry key"));
}

TEST_F(SubmissionTest, RegistryChangeWithABadSignatureIsUnauthenticated) {
  const RegistryChange change = RegisterChange(Str(stranger_.public_key()),
                                               "OR0000000", v1::STATE_POLICE);
  SignedPayload p =
      Sign(EntryKind::kRegistryChange, CanonicalPayload(change), registry_key_);
  p.set_signature(std::string(64, '\0'));
  EXPECT_THAT(CheckChange(p), IsError(absl::StatusCode::kUnauthenticated, ""));
  // Signed with the access-record prefix: also refused.
  p = Sign(EntryKind::kAccessRecord, CanonicalPayload(change), registry_key_);
  EXPECT_THAT(CheckChange(p), IsError(absl::StatusCode::kUnauthenticated, ""));
}

TEST_F(SubmissionTest, MalformedRegistryChangeIsInvalidArgument) {
  RegistryChange change =
      RegisterChange(Str(stranger_.public_key()), "bad ori", v1::STATE_POLICE);
  EXPECT_THAT(CheckChange(Sign(EntryKind::kRegistryChange,
                               CanonicalPayload(change), registry_key_)),
              IsError(absl::StatusCode::kInvalidArgument, "register.ori"));
  EXPECT_THAT(
      CheckChange(Sign(EntryKind::kRegistryChange, "\xff", registry_key_)),
      IsError(absl::StatusCode::kInvalidArgument, "payload"));
}

TEST_F(SubmissionTest, RegistryChangeOutsideTheTimeWindowIsInvalidArgument) {
  RegistryChange change = RegisterChange(Str(stranger_.public_key()),
                                         "OR0000000", v1::STATE_POLICE);
  change.set_change_time_centis(kNowCentis - int64_t{8} * 86400 * 100);
  EXPECT_THAT(
      CheckChange(Sign(EntryKind::kRegistryChange, CanonicalPayload(change),
                       registry_key_)),
      IsError(absl::StatusCode::kInvalidArgument, "change_time_centis"));
}

TEST_F(SubmissionTest, RegistryChangeSizeErrorsAreInvalidArgument) {
  const RegistryChange change = RegisterChange(Str(stranger_.public_key()),
                                               "OR0000000", v1::STATE_POLICE);
  const SignedPayload valid =
      Sign(EntryKind::kRegistryChange, CanonicalPayload(change), registry_key_);
  SignedPayload p = valid;
  p.set_payload(std::string(kMaxPayloadSize + 1, 'x'));
  EXPECT_THAT(CheckChange(p),
              IsError(absl::StatusCode::kInvalidArgument, "payload"));
  p = valid;
  p.set_public_key("k");
  EXPECT_THAT(CheckChange(p),
              IsError(absl::StatusCode::kInvalidArgument, "public_key"));
  p = valid;
  p.set_signature("s");
  EXPECT_THAT(CheckChange(p),
              IsError(absl::StatusCode::kInvalidArgument, "signature"));
}

}  // namespace
}  // namespace vigil::server
