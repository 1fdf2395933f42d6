#include "client/signing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <memory>
#include <string>
#include <utility>

#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "server/entry.h"
#include "server/registry.h"
#include "server/submission.h"

namespace vigil::client {
namespace {

using Bytes32 = std::array<uint8_t, 32>;

constexpr int64_t kNowSeconds = 1'750'000'000;
const absl::Time kNow = absl::FromUnixSeconds(kNowSeconds);

merkle::Ed25519PrivateKey MakeKey(std::string_view label) {
  absl::StatusOr<merkle::Ed25519PrivateKey> key =
      merkle::Ed25519PrivateKey::FromSeed(
          merkle::Sha256(merkle::AsBytes(label)));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

Bytes32 Opening(uint8_t first) {
  Bytes32 o;
  for (size_t i = 0; i < o.size(); ++i) o[i] = static_cast<uint8_t>(first + i);
  return o;
}

std::string Str(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

TEST(SigningTest, DomainTagsAreTheDocumentedStrings) {
  EXPECT_EQ(kSubjectTag, "vigil/subject/v1\n");
  EXPECT_EQ(kOperatorTag, "vigil/operator/v1\n");
  EXPECT_EQ(kCaseTag, "vigil/case/v1\n");
  EXPECT_EQ(kLegalDocTag, "vigil/legal-doc/v1\n");
}

TEST(SigningTest, CommitmentMatchesKeyedBlake2bOfTagThenValue) {
  const Bytes32 opening = Opening(0x40);
  const std::string message = std::string(kSubjectTag) + "DL:WA:SMITHJ123";
  Bytes32 want;
  ASSERT_EQ(
      crypto_generichash(want.data(), want.size(),
                         reinterpret_cast<const unsigned char*>(message.data()),
                         message.size(), opening.data(), opening.size()),
      0);
  EXPECT_EQ(CommitWithOpening(kSubjectTag, "DL:WA:SMITHJ123", opening), want);
}

TEST(SigningTest, CommitmentKnownAnswers) {
  // BLAKE2b-256 with key 00 01 .. 1f, computed independently with Python's
  // hashlib.blake2b(message, key=bytes(range(32)), digest_size=32).
  EXPECT_EQ(merkle::HexEncode(
                CommitWithOpening(kOperatorTag, "badge-4411", Opening(0x00))),
            "7c0ed2d8c5c1f157fc552ecb2c9e8a4d863a987c31a494afc783357a58dea88c");
  EXPECT_EQ(
      merkle::HexEncode(CommitWithOpening(kSubjectTag, "", Opening(0x00))),
      "de1963d0ba0eafd0b781a6325c33ec51029d6ca12e7bb654fc2ec2483513eea5");
}

TEST(SigningTest, CommitUsesAFreshOpeningEachTime) {
  const Commitment a = Commit(kSubjectTag, "subject");
  const Commitment b = Commit(kSubjectTag, "subject");
  EXPECT_NE(a.opening, b.opening);
  EXPECT_NE(a.value, b.value);
  EXPECT_EQ(a.value, CommitWithOpening(kSubjectTag, "subject", a.opening));
}

TEST(SigningTest, CheckOpeningAcceptsTheRightOpening) {
  const Commitment c = Commit(kCaseTag, "case 2025-CR-0001");
  EXPECT_TRUE(CheckOpening(c.value, kCaseTag, "case 2025-CR-0001", c.opening));
}

TEST(SigningTest, CheckOpeningRefusesAnythingElse) {
  const Commitment c = Commit(kLegalDocTag, "warrant 17");
  EXPECT_FALSE(CheckOpening(c.value, kLegalDocTag, "warrant 18", c.opening));
  EXPECT_FALSE(CheckOpening(c.value, kCaseTag, "warrant 17", c.opening));
  Bytes32 opening = c.opening;
  opening[0] ^= 1;
  EXPECT_FALSE(CheckOpening(c.value, kLegalDocTag, "warrant 17", opening));
  Bytes32 value = c.value;
  value[31] ^= 0x80;
  EXPECT_FALSE(CheckOpening(value, kLegalDocTag, "warrant 17", c.opening));
}

TEST(SigningTest, TagAndValueBoundaryMatters) {
  // The tags end in '\n', so moving bytes between tag and value changes
  // the message only if a value could mimic a tag; here it does not.
  const Bytes32 o = Opening(9);
  EXPECT_NE(CommitWithOpening(kSubjectTag, "x", o),
            CommitWithOpening(kOperatorTag, "x", o));
}

v1::AccessRecord ValidRecord(const Commitment& subject,
                             const Commitment& operator_id) {
  v1::AccessRecord r;
  r.set_record_id("rec-77");
  r.set_submitter_role(v1::REQUESTER);
  r.set_correlation_id("MCN77");
  r.set_event_time_centis(kNowSeconds * 100 - 500);
  r.set_requesting_ori("WA0340000");
  r.set_operator_commit(Str(operator_id.value));
  r.set_source_system(v1::STATE_DMV);
  r.set_source_state("WA");
  r.set_destination("WA");
  r.set_message_key("RQ");
  r.add_data_categories(v1::VEHICLE);
  r.add_data_categories(v1::DMV_PII);
  r.set_declared_purpose(v1::TRAFFIC);
  r.set_legal_process(v1::NONE);
  r.set_subject_commit(Str(subject.value));
  r.set_outcome(v1::HIT);
  r.set_image_requested(true);
  return r;
}

TEST(SigningTest, SignedRecordCarriesCanonicalBytesAndAVerifyingSignature) {
  const merkle::Ed25519PrivateKey key = MakeKey("agency");
  const v1::AccessRecord r =
      ValidRecord(Commit(kSubjectTag, "s"), Commit(kOperatorTag, "o"));
  const v1::SignedPayload p = SignAccessRecord(r, key);
  EXPECT_EQ(p.payload(), server::CanonicalPayload(r));
  EXPECT_EQ(p.public_key(), Str(key.public_key()));
  ASSERT_EQ(p.signature().size(), 64u);
  const std::string message = "vigil/record/v1\n" + p.payload();
  EXPECT_EQ(crypto_sign_verify_detached(
                reinterpret_cast<const unsigned char*>(p.signature().data()),
                reinterpret_cast<const unsigned char*>(message.data()),
                message.size(),
                reinterpret_cast<const unsigned char*>(p.public_key().data())),
            0);
  // Ed25519 is deterministic, and so is the serialisation.
  EXPECT_EQ(SignAccessRecord(r, key).SerializeAsString(),
            p.SerializeAsString());
}

TEST(SigningTest, SignedRecordPassesTheServersSubmissionChecks) {
  const merkle::Ed25519PrivateKey agency = MakeKey("agency");
  absl::StatusOr<std::unique_ptr<server::Registry>> registry =
      server::Registry::Load({});
  ASSERT_TRUE(registry.ok());
  v1::RegistryChange reg;
  reg.set_change_time_centis(kNowSeconds * 100);
  reg.mutable_register_()->set_ori("WA0340000");
  reg.mutable_register_()->set_agency_class(v1::LOCAL_POLICE);
  reg.mutable_register_()->set_agency_name("Seattle PD");
  reg.mutable_register_()->set_public_key(Str(agency.public_key()));

  // The registry operator signs the registration; the server accepts it...
  const merkle::Ed25519PrivateKey operator_key = MakeKey("registry");
  server::SubmissionOptions options;
  options.registry_public_key = operator_key.public_key();
  absl::StatusOr<server::PendingEntry> change =
      server::CheckRegistryChangeSubmission(
          SignRegistryChange(reg, operator_key), kNow, options);
  ASSERT_TRUE(change.ok()) << change.status();
  server::Registry::Staging staging = (*registry)->Stage();
  ASSERT_TRUE(staging.Apply(*change->registry_change, 0).ok());
  (*registry)->Commit(staging);

  // ...and then the agency's signed record.
  const v1::AccessRecord r =
      ValidRecord(Commit(kSubjectTag, "s"), Commit(kOperatorTag, "o"));
  absl::StatusOr<server::PendingEntry> pending =
      server::CheckAccessRecordSubmission(SignAccessRecord(r, agency),
                                          **registry, kNow, options);
  ASSERT_TRUE(pending.ok()) << pending.status();
  absl::StatusOr<server::Entry> entry = server::DecodeEntry(pending->entry);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->payload, server::CanonicalPayload(r));
}

TEST(SigningTest, SignedRegistryChangeUsesTheRegistryPrefix) {
  const merkle::Ed25519PrivateKey key = MakeKey("registry");
  v1::RegistryChange c;
  c.set_change_time_centis(1);
  c.mutable_revoke()->set_public_key(std::string(32, 'k'));
  const v1::SignedPayload p = SignRegistryChange(c, key);
  EXPECT_EQ(p.payload(), server::CanonicalPayload(c));
  server::Entry entry;
  entry.kind = server::EntryKind::kRegistryChange;
  std::copy(p.public_key().begin(), p.public_key().end(),
            entry.public_key.begin());
  std::copy(p.signature().begin(), p.signature().end(),
            entry.signature.begin());
  entry.payload = p.payload();
  // Verified as the server does, with the registry prefix; not as a record.
  const std::string message = "vigil/registry/v1\n" + p.payload();
  EXPECT_EQ(crypto_sign_verify_detached(
                entry.signature.data(),
                reinterpret_cast<const unsigned char*>(message.data()),
                message.size(), entry.public_key.data()),
            0);
  const std::string as_record = "vigil/record/v1\n" + p.payload();
  EXPECT_NE(crypto_sign_verify_detached(
                entry.signature.data(),
                reinterpret_cast<const unsigned char*>(as_record.data()),
                as_record.size(), entry.public_key.data()),
            0);
}

}  // namespace
}  // namespace vigil::client
