#include "server/record_checks.h"

#include <gmock/gmock.h>
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "merkle/hash.h"
#include "server/entry.h"
#include "tests/testing/status_matchers.h"

namespace vigil::server {
namespace {

using ::vigil::testing::IsError;

using ::testing::HasSubstr;
using ::testing::Not;
using ::vigil::v1::AccessRecord;
using ::vigil::v1::AgencyKey;
using ::vigil::v1::RegistryChange;

constexpr int64_t kNowSeconds = 1'750'000'000;
constexpr int64_t kNowCentis = kNowSeconds * 100;
const absl::Time kNow = absl::FromUnixSeconds(kNowSeconds);
const RecordCheckOptions kOptions;  // 7 days back, 5 minutes ahead.

AccessRecord ValidRecord() {
  AccessRecord r;
  r.set_record_id("rec-2025-000001");
  r.set_submitter_role(v1::REQUESTER);
  r.set_correlation_id("MCN 0001234");
  r.set_event_time_centis(kNowCentis - 6000);  // A minute ago.
  r.set_requesting_ori("WA0340000");
  r.set_operator_commit(std::string(32, '\x11'));
  r.set_source_system(v1::NLETS);
  r.set_destination("CA");
  r.set_message_key("DQ");
  r.add_data_categories(v1::DMV_PII);
  r.add_data_categories(v1::ADDRESS);
  r.set_purpose_code("C");
  r.set_declared_purpose(v1::CRIMINAL_INVESTIGATION);
  r.set_legal_process(v1::NONE);
  r.set_subject_commit(std::string(32, '\x22'));
  r.set_outcome(v1::HIT);
  return r;
}

absl::StatusOr<AccessRecord> Parse(const AccessRecord& r) {
  return ParseAccessRecord(CanonicalPayload(r), kNow, kOptions);
}

// A 32-byte Ed25519 public key derived from `label`.
std::string PublicKey(std::string_view label) {
  const merkle::Hash seed = merkle::Sha256(merkle::AsBytes(label));
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, seed.data());
  return {reinterpret_cast<const char*>(pk), sizeof(pk)};
}

// ---------------------------------------------------------------------------
// ParseAccessRecord

TEST(RecordCheckTest, ValidRecordPasses) {
  const AccessRecord r = ValidRecord();
  absl::StatusOr<AccessRecord> parsed = Parse(r);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), r.SerializeAsString());
}

TEST(RecordCheckTest, ValidVariantsPass) {
  const std::vector<std::function<void(AccessRecord&)>> variants = {
      [](AccessRecord& r) {
        r.set_source_system(v1::STATE_DMV);
        r.set_source_state("NY");
      },
      [](AccessRecord& r) { r.set_purpose_code(""); },
      [](AccessRecord& r) {
        r.set_legal_doc_commit(std::string(32, 'l'));
        r.set_case_ref_commit(std::string(32, 'c'));
        r.set_legal_process(v1::JUDICIAL_WARRANT);
      },
      [](AccessRecord& r) { r.set_record_id(std::string(128, '~')); },
      [](AccessRecord& r) { r.set_record_id(" "); },
      [](AccessRecord& r) { r.set_correlation_id(std::string(64, '!')); },
      [](AccessRecord& r) { r.set_destination("WA0340000ABCDEFG"); },
      [](AccessRecord& r) { r.set_message_key("IAQ12345"); },
      [](AccessRecord& r) {
        r.clear_data_categories();
        for (int c = 1; c <= 6; ++c) {
          r.add_data_categories(static_cast<v1::DataCategory>(c));
        }
      },
      [](AccessRecord& r) { r.set_image_requested(true); },
      [](AccessRecord& r) { r.set_submitter_role(v1::SWITCH); },
      [](AccessRecord& r) { r.set_outcome(v1::ERROR); },
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    AccessRecord r = ValidRecord();
    variants[i](r);
    EXPECT_TRUE(Parse(r).ok()) << "variant " << i << ": " << Parse(r).status();
  }
}

TEST(RecordCheckTest, EveryPurposeCodeIsAccepted) {
  for (char code : std::string("ACDFHIJRSVX")) {
    AccessRecord r = ValidRecord();
    r.set_purpose_code(std::string(1, code));
    EXPECT_TRUE(Parse(r).ok()) << code;
  }
}

TEST(RecordCheckTest, EventTimeWindowIsInclusive) {
  const int64_t seven_days = int64_t{7} * 24 * 3600 * 100;
  const int64_t five_minutes = int64_t{5} * 60 * 100;
  AccessRecord r = ValidRecord();
  r.set_event_time_centis(kNowCentis - seven_days);
  EXPECT_TRUE(Parse(r).ok()) << Parse(r).status();
  r.set_event_time_centis(kNowCentis + five_minutes);
  EXPECT_TRUE(Parse(r).ok()) << Parse(r).status();
  r.set_event_time_centis(kNowCentis - seven_days - 1);
  EXPECT_THAT(Parse(r),
              IsError(absl::StatusCode::kInvalidArgument, "event_time_centis"));
  r.set_event_time_centis(kNowCentis + five_minutes + 1);
  EXPECT_THAT(Parse(r),
              IsError(absl::StatusCode::kInvalidArgument, "event_time_centis"));
}

TEST(RecordCheckTest, EventTimeErrorSaysHowFarAndTheWindow) {
  AccessRecord r = ValidRecord();
  r.set_event_time_centis(kNowCentis - int64_t{9} * 24 * 3600 * 100);
  EXPECT_THAT(Parse(r), IsError(absl::StatusCode::kInvalidArgument,
                                "is 9 days before now"));
  EXPECT_THAT(Parse(r),
              IsError(absl::StatusCode::kInvalidArgument, "window is 7 days"));
  r.set_event_time_centis(kNowCentis + int64_t{2} * 3600 * 100);
  EXPECT_THAT(Parse(r),
              IsError(absl::StatusCode::kInvalidArgument, "2 hours after now"));
}

TEST(RecordCheckTest, WindowFollowsTheOptions) {
  AccessRecord r = ValidRecord();
  r.set_event_time_centis(kNowCentis -
                          int64_t{3} * 3600 * 100);  // 3 hours ago.
  RecordCheckOptions options;
  options.max_age = absl::Hours(2);
  EXPECT_THAT(ParseAccessRecord(CanonicalPayload(r), kNow, options),
              IsError(absl::StatusCode::kInvalidArgument, "window is 2 hours"));
  options.max_age = absl::Hours(4);
  EXPECT_TRUE(ParseAccessRecord(CanonicalPayload(r), kNow, options).ok());
}

struct FieldCase {
  std::string name;
  std::function<void(AccessRecord&)> mutate;
  std::string field;  // The error message must name it.
};

class RecordCheckFieldRuleTest : public ::testing::TestWithParam<FieldCase> {};

TEST_P(RecordCheckFieldRuleTest, BrokenRuleIsRejectedNamingTheField) {
  AccessRecord r = ValidRecord();
  GetParam().mutate(r);
  const absl::StatusOr<AccessRecord> parsed = Parse(r);
  EXPECT_THAT(parsed,
              IsError(absl::StatusCode::kInvalidArgument, GetParam().field));
}

template <typename Enum>
Enum E(int v) {
  return static_cast<Enum>(v);
}

const FieldCase kFieldCases[] = {
    {"RecordIdEmpty", [](AccessRecord& r) { r.clear_record_id(); },
     "record_id"},
    {"RecordIdTooLong",
     [](AccessRecord& r) { r.set_record_id(std::string(129, 'a')); },
     "record_id"},
    {"RecordIdControl", [](AccessRecord& r) { r.set_record_id("a\tb"); },
     "record_id"},
    {"RecordIdNonAscii",
     [](AccessRecord& r) { r.set_record_id("caf\xc3\xa9"); }, "record_id"},
    {"RecordIdDel", [](AccessRecord& r) { r.set_record_id("a\x7f"); },
     "record_id"},
    {"RoleUnset", [](AccessRecord& r) { r.clear_submitter_role(); },
     "submitter_role"},
    {"RoleOutOfRange",
     [](AccessRecord& r) { r.set_submitter_role(E<v1::SubmitterRole>(4)); },
     "submitter_role"},
    {"RoleNegative",
     [](AccessRecord& r) { r.set_submitter_role(E<v1::SubmitterRole>(-1)); },
     "submitter_role"},
    {"CorrelationIdEmpty", [](AccessRecord& r) { r.clear_correlation_id(); },
     "correlation_id"},
    {"CorrelationIdTooLong",
     [](AccessRecord& r) { r.set_correlation_id(std::string(65, '1')); },
     "correlation_id"},
    {"CorrelationIdNewline",
     [](AccessRecord& r) { r.set_correlation_id("123\n"); }, "correlation_id"},
    {"EventTimeUnset", [](AccessRecord& r) { r.clear_event_time_centis(); },
     "event_time_centis"},
    {"EventTimeTooOld",
     [](AccessRecord& r) {
       r.set_event_time_centis(kNowCentis - int64_t{8} * 86400 * 100);
     },
     "event_time_centis"},
    {"EventTimeFuture",
     [](AccessRecord& r) {
       r.set_event_time_centis(kNowCentis + int64_t{60} * 60 * 100);
     },
     "event_time_centis"},
    {"EventTimeMin",
     [](AccessRecord& r) {
       r.set_event_time_centis(std::numeric_limits<int64_t>::min());
     },
     "event_time_centis"},
    {"EventTimeMax",
     [](AccessRecord& r) {
       r.set_event_time_centis(std::numeric_limits<int64_t>::max());
     },
     "event_time_centis"},
    {"OriEmpty", [](AccessRecord& r) { r.clear_requesting_ori(); },
     "requesting_ori"},
    {"OriShort", [](AccessRecord& r) { r.set_requesting_ori("WA034000"); },
     "requesting_ori"},
    {"OriLong", [](AccessRecord& r) { r.set_requesting_ori("WA03400000"); },
     "requesting_ori"},
    {"OriLowercase", [](AccessRecord& r) { r.set_requesting_ori("wa0340000"); },
     "requesting_ori"},
    {"OriPunctuation",
     [](AccessRecord& r) { r.set_requesting_ori("WA-340000"); },
     "requesting_ori"},
    {"OperatorCommitEmpty", [](AccessRecord& r) { r.clear_operator_commit(); },
     "operator_commit"},
    {"OperatorCommitShort",
     [](AccessRecord& r) { r.set_operator_commit(std::string(31, 'o')); },
     "operator_commit"},
    {"OperatorCommitLong",
     [](AccessRecord& r) { r.set_operator_commit(std::string(33, 'o')); },
     "operator_commit"},
    {"SourceSystemUnset", [](AccessRecord& r) { r.clear_source_system(); },
     "source_system"},
    {"SourceSystemOutOfRange",
     [](AccessRecord& r) { r.set_source_system(E<v1::SourceSystem>(6)); },
     "source_system"},
    {"SourceStateMissingForDmv",
     [](AccessRecord& r) { r.set_source_system(v1::STATE_DMV); },
     "source_state"},
    {"SourceStateLowercase",
     [](AccessRecord& r) {
       r.set_source_system(v1::STATE_DMV);
       r.set_source_state("ny");
     },
     "source_state"},
    {"SourceStateThreeLetters",
     [](AccessRecord& r) {
       r.set_source_system(v1::STATE_DMV);
       r.set_source_state("NYC");
     },
     "source_state"},
    {"SourceStateDigits",
     [](AccessRecord& r) {
       r.set_source_system(v1::STATE_DMV);
       r.set_source_state("N1");
     },
     "source_state"},
    {"SourceStateWithoutDmv", [](AccessRecord& r) { r.set_source_state("NY"); },
     "source_state"},
    {"DestinationEmpty", [](AccessRecord& r) { r.clear_destination(); },
     "destination"},
    {"DestinationTooLong",
     [](AccessRecord& r) { r.set_destination(std::string(17, 'A')); },
     "destination"},
    {"DestinationControl", [](AccessRecord& r) { r.set_destination("C\rA"); },
     "destination"},
    {"MessageKeyEmpty", [](AccessRecord& r) { r.clear_message_key(); },
     "message_key"},
    {"MessageKeyTooLong",
     [](AccessRecord& r) { r.set_message_key("ABCDEFGHI"); }, "message_key"},
    {"MessageKeyLowercase", [](AccessRecord& r) { r.set_message_key("dq"); },
     "message_key"},
    {"MessageKeySpace", [](AccessRecord& r) { r.set_message_key("D Q"); },
     "message_key"},
    {"DataCategoriesEmpty", [](AccessRecord& r) { r.clear_data_categories(); },
     "data_categories"},
    {"DataCategoryUnspecified",
     [](AccessRecord& r) {
       r.add_data_categories(v1::DATA_CATEGORY_UNSPECIFIED);
     },
     "data_categories[2]"},
    {"DataCategoryOutOfRange",
     [](AccessRecord& r) { r.add_data_categories(E<v1::DataCategory>(7)); },
     "data_categories[2]"},
    {"DataCategoryHuge",
     [](AccessRecord& r) {
       r.add_data_categories(E<v1::DataCategory>(1 << 20));
     },
     "data_categories[2]"},
    {"DataCategoryNegative",
     [](AccessRecord& r) { r.add_data_categories(E<v1::DataCategory>(-3)); },
     "data_categories[2]"},
    {"DataCategoryRepeated",
     [](AccessRecord& r) { r.add_data_categories(v1::DMV_PII); },
     "data_categories repeats DMV_PII"},
    {"PurposeCodeUnknown", [](AccessRecord& r) { r.set_purpose_code("B"); },
     "purpose_code"},
    {"PurposeCodeTwoLetters", [](AccessRecord& r) { r.set_purpose_code("CC"); },
     "purpose_code"},
    {"PurposeCodeLowercase", [](AccessRecord& r) { r.set_purpose_code("c"); },
     "purpose_code"},
    {"DeclaredPurposeUnset",
     [](AccessRecord& r) { r.clear_declared_purpose(); }, "declared_purpose"},
    {"DeclaredPurposeOutOfRange",
     [](AccessRecord& r) { r.set_declared_purpose(E<v1::DeclaredPurpose>(8)); },
     "declared_purpose"},
    {"LegalProcessUnset", [](AccessRecord& r) { r.clear_legal_process(); },
     "legal_process"},
    {"LegalProcessOutOfRange",
     [](AccessRecord& r) { r.set_legal_process(E<v1::LegalProcess>(6)); },
     "legal_process"},
    {"LegalDocCommitShort",
     [](AccessRecord& r) { r.set_legal_doc_commit(std::string(31, 'l')); },
     "legal_doc_commit"},
    {"LegalDocCommitLong",
     [](AccessRecord& r) { r.set_legal_doc_commit(std::string(64, 'l')); },
     "legal_doc_commit"},
    {"CaseRefCommitShort",
     [](AccessRecord& r) { r.set_case_ref_commit(std::string(1, 'c')); },
     "case_ref_commit"},
    {"CaseRefCommitLong",
     [](AccessRecord& r) { r.set_case_ref_commit(std::string(33, 'c')); },
     "case_ref_commit"},
    {"SubjectCommitEmpty", [](AccessRecord& r) { r.clear_subject_commit(); },
     "subject_commit"},
    {"SubjectCommitShort",
     [](AccessRecord& r) { r.set_subject_commit(std::string(16, 's')); },
     "subject_commit"},
    {"OutcomeUnset", [](AccessRecord& r) { r.clear_outcome(); }, "outcome"},
    {"OutcomeOutOfRange",
     [](AccessRecord& r) { r.set_outcome(E<v1::Outcome>(5)); }, "outcome"},
};

INSTANTIATE_TEST_SUITE_P(AllRules, RecordCheckFieldRuleTest,
                         ::testing::ValuesIn(kFieldCases),
                         [](const ::testing::TestParamInfo<FieldCase>& info) {
                           return info.param.name;
                         });

TEST(RecordCheckTest, ErrorsNeverEchoCommitmentBytes) {
  const std::string secret = "SECRET-OPERATOR-IDENTITY-BYTES!";  // 31 bytes.
  for (auto set : std::vector<void (AccessRecord::*)(const std::string&)>{
           &AccessRecord::set_operator_commit,
           &AccessRecord::set_subject_commit,
           &AccessRecord::set_legal_doc_commit,
           &AccessRecord::set_case_ref_commit}) {
    AccessRecord r = ValidRecord();
    (r.*set)(secret);
    const absl::Status s = Parse(r).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("SECRET")));
  }
}

TEST(RecordCheckTest, UnknownFieldIsRejected) {
  std::string payload = CanonicalPayload(ValidRecord());
  payload += std::string("\xa0\x06\x01", 3);  // Field 100, varint 1.
  EXPECT_THAT(ParseAccessRecord(payload, kNow, kOptions),
              IsError(absl::StatusCode::kInvalidArgument, "field number 100"));
}

TEST(RecordCheckTest, UnknownLengthDelimitedFieldIsRejected) {
  std::string payload = CanonicalPayload(ValidRecord());
  payload += std::string("\xaa\x01\x03xyz", 6);  // Field 21, bytes "xyz".
  EXPECT_THAT(ParseAccessRecord(payload, kNow, kOptions),
              IsError(absl::StatusCode::kInvalidArgument, "unknown"));
}

TEST(RecordCheckTest, RepeatedScalarFieldIsRejectedAsNotCanonical) {
  // A second record_id: the parser keeps the last, so the first would be
  // signed and stored without ever being checked.
  std::string payload = CanonicalPayload(ValidRecord());
  payload += std::string("\x0a\x02id", 4);
  EXPECT_THAT(ParseAccessRecord(payload, kNow, kOptions),
              IsError(absl::StatusCode::kInvalidArgument, "canonical"));
}

TEST(RecordCheckTest, ExplicitDefaultValueIsRejectedAsNotCanonical) {
  std::string payload = CanonicalPayload(ValidRecord());
  payload += std::string("\x98\x01\x00", 3);  // image_requested = false.
  EXPECT_THAT(ParseAccessRecord(payload, kNow, kOptions),
              IsError(absl::StatusCode::kInvalidArgument, "canonical"));
}

TEST(RecordCheckTest, NonMinimalVarintIsRejectedAsNotCanonical) {
  std::string payload = CanonicalPayload(ValidRecord());
  payload += std::string("\x98\x01\x81\x00", 4);  // image_requested = 1.
  EXPECT_THAT(ParseAccessRecord(payload, kNow, kOptions),
              IsError(absl::StatusCode::kInvalidArgument, "canonical"));
  // The minimal form of the same record is accepted.
  AccessRecord r = ValidRecord();
  r.set_image_requested(true);
  EXPECT_TRUE(Parse(r).ok());
}

TEST(RecordCheckTest, BoolOtherThanOneIsRejectedAsNotCanonical) {
  std::string payload = CanonicalPayload(ValidRecord());
  payload += std::string("\x98\x01\x02", 3);  // image_requested = 2.
  EXPECT_THAT(ParseAccessRecord(payload, kNow, kOptions),
              IsError(absl::StatusCode::kInvalidArgument, "canonical"));
}

TEST(RecordCheckTest, UnpackedRepeatedEnumIsRejectedAsNotCanonical) {
  AccessRecord r = ValidRecord();
  r.clear_data_categories();
  r.clear_purpose_code();
  r.clear_declared_purpose();
  r.clear_legal_process();
  r.clear_subject_commit();
  r.clear_outcome();
  // Fields 1..10, then data_categories unpacked (tag 0x58 per element),
  // then the rest in order.
  std::string payload = CanonicalPayload(r);
  payload += std::string("\x58\x01\x58\x03", 4);
  AccessRecord tail;
  tail.set_purpose_code("C");
  tail.set_declared_purpose(v1::CRIMINAL_INVESTIGATION);
  tail.set_legal_process(v1::NONE);
  tail.set_subject_commit(std::string(32, '\x22'));
  tail.set_outcome(v1::HIT);
  payload += CanonicalPayload(tail);
  // It parses to exactly the valid record...
  AccessRecord parsed;
  ASSERT_TRUE(parsed.ParseFromString(payload));
  EXPECT_EQ(CanonicalPayload(parsed), CanonicalPayload(ValidRecord()));
  // ...but is another encoding of it.
  EXPECT_THAT(ParseAccessRecord(payload, kNow, kOptions),
              IsError(absl::StatusCode::kInvalidArgument, "canonical"));
}

TEST(RecordCheckTest, FieldsOutOfOrderAreRejectedAsNotCanonical) {
  AccessRecord head = ValidRecord();
  head.clear_record_id();
  AccessRecord id;
  id.set_record_id("rec-2025-000001");
  const std::string payload = CanonicalPayload(head) + CanonicalPayload(id);
  EXPECT_THAT(ParseAccessRecord(payload, kNow, kOptions),
              IsError(absl::StatusCode::kInvalidArgument, "canonical"));
}

TEST(RecordCheckTest, GarbageBytesAreRejected) {
  const std::vector<std::string> garbage = {
      "",
      std::string("\xff\xff\xff\xff", 4),
      std::string("\x0a\xff\xff\xff\xff\x0f", 6),  // Length past the end.
      std::string("\x0a\x05"
                  "ab",
                  4),              // Truncated string.
      std::string("\x08", 1),      // Tag without value.
      std::string("\x0f", 1),      // Wire type 7.
      std::string("\x0b\x0c", 2),  // Group start/end.
      "not a protobuf at all",
  };
  for (const std::string& g : garbage) {
    EXPECT_THAT(ParseAccessRecord(g, kNow, kOptions),
                IsError(absl::StatusCode::kInvalidArgument, ""))
        << ::testing::PrintToString(g);
  }
}

TEST(RecordCheckTest, RandomBytesAreRejectedWithoutCrashing) {
  std::mt19937 rng(20250615);  // Fixed seed: failures reproduce.
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 400, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    EXPECT_FALSE(ParseAccessRecord(bytes, kNow, kOptions).ok());
  }
}

TEST(RecordCheckTest, RandomMutationsOfAValidRecordNeverCrash) {
  std::mt19937 rng(7);  // Fixed seed.
  const std::string valid = CanonicalPayload(ValidRecord());
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = valid;
    bytes[rng() % bytes.size()] = static_cast<char>(rng());
    const absl::StatusOr<AccessRecord> parsed =
        ParseAccessRecord(bytes, kNow, kOptions);
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    } else {
      EXPECT_EQ(CanonicalPayload(*parsed), bytes);
    }
  }
}

TEST(RecordCheckTest, EveryTruncationOfAValidRecordIsRejected) {
  const std::string valid = CanonicalPayload(ValidRecord());
  for (size_t n = 0; n < valid.size(); ++n) {
    EXPECT_THAT(ParseAccessRecord(valid.substr(0, n), kNow, kOptions),
                IsError(absl::StatusCode::kInvalidArgument, ""))
        << "length " << n;
  }
}

TEST(RecordCheckTest, OversizePayloadIsRejected) {
  AccessRecord r = ValidRecord();
  r.set_destination(std::string(kMaxPayloadSize, 'A'));
  EXPECT_THAT(Parse(r),
              IsError(absl::StatusCode::kInvalidArgument, "at most 65437"));
}

// ---------------------------------------------------------------------------
// CheckSignerRole

AgencyKey Signer(std::string ori, v1::AgencyClass agency_class) {
  AgencyKey k;
  k.set_public_key(PublicKey(ori));
  k.set_ori(std::move(ori));
  k.set_agency_class(agency_class);
  return k;
}

TEST(RecordCheckTest, SignerRoleFitsForEveryRoleAndClass) {
  for (int c = 0; c <= 9; ++c) {  // UNSPECIFIED, 1..8, and an unknown class.
    const auto agency_class = static_cast<v1::AgencyClass>(c);
    for (const bool own_ori : {true, false}) {
      const AgencyKey signer =
          Signer(own_ori ? "WA0340000" : "CA0190000", agency_class);
      for (const v1::SubmitterRole role :
           {v1::REQUESTER, v1::CUSTODIAN, v1::SWITCH}) {
        AccessRecord r = ValidRecord();
        r.set_submitter_role(role);
        bool fits = false;
        switch (role) {
          case v1::REQUESTER:
            fits = own_ori;
            break;
          case v1::CUSTODIAN:
            fits = agency_class == v1::DMV_CUSTODIAN;
            break;
          default:
            fits = agency_class == v1::SWITCH_OPERATOR;
            break;
        }
        const absl::Status s = CheckSignerRole(r, signer);
        SCOPED_TRACE(absl::StrFormat("role %s class %d own_ori %d",
                                     v1::SubmitterRole_Name(role), c, own_ori));
        if (fits) {
          EXPECT_TRUE(s.ok()) << s;
        } else {
          EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
          const std::string message(s.message());
          EXPECT_THAT(message, HasSubstr(v1::SubmitterRole_Name(role)));
          EXPECT_THAT(message, HasSubstr(signer.ori()));
          EXPECT_THAT(message,
                      HasSubstr(v1::AgencyClass_IsValid(c)
                                    ? v1::AgencyClass_Name(agency_class)
                                    : absl::StrFormat("AgencyClass(%d)", c)));
        }
      }
    }
  }
}

TEST(RecordCheckTest, CustodianAndSwitchMayNameAnotherRequester) {
  AccessRecord r = ValidRecord();  // requesting_ori WA0340000.
  r.set_submitter_role(v1::CUSTODIAN);
  EXPECT_TRUE(CheckSignerRole(r, Signer("NYDMV0000", v1::DMV_CUSTODIAN)).ok());
  r.set_submitter_role(v1::SWITCH);
  EXPECT_TRUE(
      CheckSignerRole(r, Signer("CACLETS00", v1::SWITCH_OPERATOR)).ok());
}

TEST(RecordCheckTest, ImmigrationAgencyCannotLogAsARequesterForAnother) {
  AccessRecord r = ValidRecord();
  EXPECT_THAT(CheckSignerRole(r, Signer("DCICE0000", v1::FEDERAL_IMMIGRATION)),
              IsError(absl::StatusCode::kPermissionDenied,
                      "REQUESTER record names requesting_ori \"WA0340000\""));
}

TEST(RecordCheckTest, UnspecifiedRoleIsInvalidArgument) {
  AccessRecord r = ValidRecord();
  r.clear_submitter_role();
  EXPECT_THAT(CheckSignerRole(r, Signer("WA0340000", v1::LOCAL_POLICE)),
              IsError(absl::StatusCode::kInvalidArgument, "submitter_role"));
}

// ---------------------------------------------------------------------------
// ParseRegistryChange

RegistryChange ValidRegister() {
  RegistryChange c;
  c.set_change_time_centis(kNowCentis);
  v1::RegisterAgencyKey* r = c.mutable_register_();
  r->set_ori("WA0340000");
  r->set_agency_class(v1::LOCAL_POLICE);
  r->set_agency_name("Seattle Police Department — Records");
  r->set_state("WA");
  r->set_public_key(PublicKey("seattle"));
  return c;
}

RegistryChange ValidRotate() {
  RegistryChange c;
  c.set_change_time_centis(kNowCentis);
  c.mutable_rotate()->set_old_public_key(PublicKey("old"));
  c.mutable_rotate()->set_new_public_key(PublicKey("new"));
  return c;
}

RegistryChange ValidRevoke() {
  RegistryChange c;
  c.set_change_time_centis(kNowCentis);
  c.mutable_revoke()->set_public_key(PublicKey("old"));
  c.mutable_revoke()->set_reason("key compromised");
  return c;
}

TEST(RegistryChangeCheckTest, ValidChangesPass) {
  for (const RegistryChange& c :
       {ValidRegister(), ValidRotate(), ValidRevoke()}) {
    absl::StatusOr<RegistryChange> parsed =
        ParseRegistryChange(CanonicalPayload(c));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(CanonicalPayload(*parsed), CanonicalPayload(c));
  }
  RegistryChange no_state = ValidRegister();
  no_state.mutable_register_()->clear_state();
  EXPECT_TRUE(ParseRegistryChange(CanonicalPayload(no_state)).ok());
  RegistryChange no_reason = ValidRevoke();
  no_reason.mutable_revoke()->clear_reason();
  EXPECT_TRUE(ParseRegistryChange(CanonicalPayload(no_reason)).ok());
}

struct ChangeCase {
  std::string name;
  std::function<RegistryChange()> make;
  std::string field;
};

class RegistryChangeRuleTest : public ::testing::TestWithParam<ChangeCase> {};

// Checked on the message, so that byte strings proto3 parsing would refuse
// (invalid UTF-8) also reach the rule.
TEST_P(RegistryChangeRuleTest, BrokenRuleIsRejectedNamingTheField) {
  // Serialising a non-UTF-8 string logs a protobuf error; it is expected.
  const google::protobuf::LogSilencer silencer;
  const RegistryChange c = GetParam().make();
  EXPECT_THAT(CheckRegistryChange(c),
              IsError(absl::StatusCode::kInvalidArgument, GetParam().field));
  EXPECT_THAT(ParseRegistryChange(CanonicalPayload(c)),
              IsError(absl::StatusCode::kInvalidArgument, ""));
}

std::function<RegistryChange()> Mutated(
    const std::function<RegistryChange()>& make,
    const std::function<void(RegistryChange&)>& mutate) {
  return [make, mutate] {
    RegistryChange c = make();
    mutate(c);
    return c;
  };
}

const ChangeCase kChangeCases[] = {
    {"TimeZero",
     Mutated(ValidRegister,
             [](RegistryChange& c) { c.set_change_time_centis(0); }),
     "change_time_centis"},
    {"TimeNegative",
     Mutated(ValidRevoke,
             [](RegistryChange& c) { c.set_change_time_centis(-1); }),
     "change_time_centis"},
    {"NoChange",
     Mutated(ValidRegister, [](RegistryChange& c) { c.clear_change(); }),
     "change must set exactly one"},
    {"RegisterOriShort",
     Mutated(
         ValidRegister,
         [](RegistryChange& c) { c.mutable_register_()->set_ori("WA034"); }),
     "register.ori"},
    {"RegisterOriLowercase",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->set_ori("wa0340000");
             }),
     "register.ori"},
    {"RegisterClassUnset",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->clear_agency_class();
             }),
     "register.agency_class"},
    {"RegisterClassOutOfRange",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->set_agency_class(E<v1::AgencyClass>(9));
             }),
     "register.agency_class"},
    {"RegisterNameEmpty",
     Mutated(
         ValidRegister,
         [](RegistryChange& c) { c.mutable_register_()->clear_agency_name(); }),
     "register.agency_name"},
    {"RegisterNameTooLong",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->set_agency_name(std::string(257, 'n'));
             }),
     "register.agency_name"},
    {"RegisterNameNotUtf8",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->set_agency_name("bad \xc3\x28 name");
             }),
     "register.agency_name"},
    {"RegisterNameControl",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->set_agency_name("evil\x1b[2Jname");
             }),
     "register.agency_name"},
    {"RegisterStateLowercase",
     Mutated(ValidRegister,
             [](RegistryChange& c) { c.mutable_register_()->set_state("wa"); }),
     "register.state"},
    {"RegisterStateLong",
     Mutated(
         ValidRegister,
         [](RegistryChange& c) { c.mutable_register_()->set_state("WAS"); }),
     "register.state"},
    {"RegisterKeyEmpty",
     Mutated(
         ValidRegister,
         [](RegistryChange& c) { c.mutable_register_()->clear_public_key(); }),
     "register.public_key"},
    {"RegisterKeyShort",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->set_public_key(std::string(31, 'k'));
             }),
     "register.public_key"},
    {"RegisterKeyAllZero",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->set_public_key(std::string(32, '\0'));
             }),
     "register.public_key is not a valid Ed25519"},
    {"RegisterKeyNonCanonical",
     Mutated(ValidRegister,
             [](RegistryChange& c) {
               c.mutable_register_()->set_public_key(std::string(32, '\xff'));
             }),
     "register.public_key is not a valid Ed25519"},
    {"RotateOldShort",
     Mutated(ValidRotate,
             [](RegistryChange& c) {
               c.mutable_rotate()->set_old_public_key(std::string(33, 'k'));
             }),
     "rotate.old_public_key"},
    {"RotateNewShort",
     Mutated(
         ValidRotate,
         [](RegistryChange& c) { c.mutable_rotate()->clear_new_public_key(); }),
     "rotate.new_public_key"},
    {"RotateNewAllZero",
     Mutated(ValidRotate,
             [](RegistryChange& c) {
               c.mutable_rotate()->set_new_public_key(std::string(32, '\0'));
             }),
     "rotate.new_public_key is not a valid Ed25519"},
    {"RotateToSameKey",
     Mutated(ValidRotate,
             [](RegistryChange& c) {
               c.mutable_rotate()->set_new_public_key(
                   c.rotate().old_public_key());
             }),
     "rotate.new_public_key equals"},
    {"RevokeKeyShort",
     Mutated(ValidRevoke,
             [](RegistryChange& c) {
               c.mutable_revoke()->set_public_key("short");
             }),
     "revoke.public_key"},
    {"RevokeReasonTooLong",
     Mutated(ValidRevoke,
             [](RegistryChange& c) {
               c.mutable_revoke()->set_reason(std::string(257, 'r'));
             }),
     "revoke.reason"},
    {"RevokeReasonNotUtf8",
     Mutated(
         ValidRevoke,
         [](RegistryChange& c) { c.mutable_revoke()->set_reason("\xff\xfe"); }),
     "revoke.reason"},
    {"RevokeReasonControl",
     Mutated(ValidRevoke,
             [](RegistryChange& c) {
               c.mutable_revoke()->set_reason(std::string("nul\0", 4));
             }),
     "revoke.reason"},
};

INSTANTIATE_TEST_SUITE_P(AllRules, RegistryChangeRuleTest,
                         ::testing::ValuesIn(kChangeCases),
                         [](const ::testing::TestParamInfo<ChangeCase>& info) {
                           return info.param.name;
                         });

TEST(RegistryChangeCheckTest, NameAndReasonAtTheirLimitsPass) {
  RegistryChange c = ValidRegister();
  c.mutable_register_()->set_agency_name(std::string(256, 'n'));
  EXPECT_TRUE(ParseRegistryChange(CanonicalPayload(c)).ok());
  c = ValidRevoke();
  c.mutable_revoke()->set_reason(std::string(256, 'r'));
  EXPECT_TRUE(ParseRegistryChange(CanonicalPayload(c)).ok());
}

TEST(RegistryChangeCheckTest, UnknownTopLevelFieldIsRejected) {
  std::string payload = CanonicalPayload(ValidRevoke());
  payload += std::string("\x28\x01", 2);  // Field 5, varint 1.
  EXPECT_THAT(ParseRegistryChange(payload),
              IsError(absl::StatusCode::kInvalidArgument, "field number 5"));
}

google::protobuf::UnknownFieldSet* UnknownFields(
    google::protobuf::Message* message) {
  return message->GetReflection()->MutableUnknownFields(message);
}

TEST(RegistryChangeCheckTest, UnknownNestedFieldIsRejected) {
  RegistryChange c = ValidRegister();
  UnknownFields(c.mutable_register_())->AddVarint(9, 1);
  EXPECT_THAT(ParseRegistryChange(c.SerializeAsString()),
              IsError(absl::StatusCode::kInvalidArgument,
                      "unknown to vigil.v1.RegisterAgencyKey"));
  c = ValidRotate();
  UnknownFields(c.mutable_rotate())->AddVarint(3, 1);
  EXPECT_THAT(ParseRegistryChange(c.SerializeAsString()),
              IsError(absl::StatusCode::kInvalidArgument,
                      "unknown to vigil.v1.RotateAgencyKey"));
  c = ValidRevoke();
  UnknownFields(c.mutable_revoke())->AddLengthDelimited(7, "x");
  EXPECT_THAT(ParseRegistryChange(c.SerializeAsString()),
              IsError(absl::StatusCode::kInvalidArgument,
                      "unknown to vigil.v1.RevokeAgencyKey"));
}

TEST(RegistryChangeCheckTest, TwoChangesInOnePayloadAreRejected) {
  // A revoke followed by a register: the parser keeps only the last member
  // of the oneof, so the revoke would be signed but never applied.
  RegistryChange revoke_only = ValidRevoke();
  revoke_only.clear_change_time_centis();
  RegistryChange reg = ValidRegister();
  const std::string payload =
      CanonicalPayload(revoke_only) + CanonicalPayload(reg);
  EXPECT_THAT(ParseRegistryChange(payload),
              IsError(absl::StatusCode::kInvalidArgument, "canonical"));
}

TEST(RegistryChangeCheckTest, GarbageAndTruncationsAreRejected) {
  const std::string valid = CanonicalPayload(ValidRegister());
  for (size_t n = 0; n < valid.size(); ++n) {
    EXPECT_FALSE(ParseRegistryChange(valid.substr(0, n)).ok()) << n;
  }
  std::mt19937 rng(99);  // Fixed seed.
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 200, '\0');
    for (char& ch : bytes) ch = static_cast<char>(rng());
    EXPECT_FALSE(ParseRegistryChange(bytes).ok());
  }
}

TEST(RegistryChangeCheckTest, OversizePayloadIsRejected) {
  EXPECT_THAT(ParseRegistryChange(std::string(kMaxPayloadSize + 1, '\0')),
              IsError(absl::StatusCode::kInvalidArgument, "payload is 65438"));
}

// ---------------------------------------------------------------------------
// CheckTimeWindow

TEST(RecordCheckTest, TimeWindowNamesTheField) {
  EXPECT_TRUE(CheckTimeWindow("t", kNowCentis, kNow, kOptions).ok());
  EXPECT_THAT(
      CheckTimeWindow("change_time_centis", 1, kNow, kOptions),
      IsError(absl::StatusCode::kInvalidArgument, "change_time_centis 1 is"));
}

}  // namespace
}  // namespace vigil::server
