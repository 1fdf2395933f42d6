#include "client/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/testing/status_matchers.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::vigil::testing::IsError;
using ::vigil::v1::AccessRecord;

const std::filesystem::path& PackDir() {
  static const std::filesystem::path dir = std::filesystem::path(__FILE__)
                                               .parent_path()
                                               .parent_path()
                                               .parent_path() /
                                           "client/policy";
  return dir;
}

constexpr const char* kPacks[] = {
    "ca-clets-sb54.json",          "ny-vtl-201-12.json",
    "il-625-ilcs-5-6-110.3.json",  "wa-rcw-43.17.425.json",
    "cjis-iii-purpose-codes.json",
};

Policy LoadPack(std::string_view file) {
  absl::StatusOr<Policy> policy =
      Policy::LoadFiles({(PackDir() / std::string(file)).string()});
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : Policy();
}

// A rules file with one rule "r" whose condition is `when`.
std::string OneRule(const std::string& when) {
  return absl::StrCat(
      R"({"format": "vigil-policy/v1", "rules": [{"name": "r",
          "description": "d", "law": "l", "severity": "violation",
          "when": )",
      when, "}]}");
}

absl::Status LoadError(std::string_view text) {
  return Policy::Load(text, "test.json").status();
}

RegistryFacts::Agency Ice() {
  return {"DCICE0000", vigil::v1::FEDERAL_IMMIGRATION, "DC"};
}
RegistryFacts::Agency LocalPolice(std::string state) {
  return {state + "0190000", vigil::v1::LOCAL_POLICE, state};
}
RegistryFacts::Agency Clets() {
  return {"CACLETS00", vigil::v1::SWITCH_OPERATOR, "CA"};
}
RegistryFacts::Agency Dmv(std::string state) {
  return {state + "DMV0000", vigil::v1::DMV_CUSTODIAN, state};
}
RegistryFacts::Agency Fbi() {
  return {"DCFBIWA00", vigil::v1::FEDERAL_OTHER, "DC"};
}

// The requester signed its own record.
RegistryFacts Self(const RegistryFacts::Agency& agency) {
  return RegistryFacts{agency, agency};
}

AccessRecord BaseRecord(const RegistryFacts::Agency& requester) {
  AccessRecord r;
  r.set_record_id("rec-1");
  r.set_submitter_role(vigil::v1::REQUESTER);
  r.set_correlation_id("MCN-0001");
  r.set_event_time_centis(178'000'000'000);
  r.set_requesting_ori(requester.ori);
  r.set_operator_commit(std::string(32, '\x11'));
  r.set_source_system(vigil::v1::NLETS);
  r.set_destination("TX");
  r.set_message_key("DQ");
  r.add_data_categories(vigil::v1::DMV_PII);
  r.set_declared_purpose(vigil::v1::CRIMINAL_INVESTIGATION);
  r.set_legal_process(vigil::v1::NONE);
  r.set_subject_commit(std::string(32, '\x22'));
  r.set_outcome(vigil::v1::HIT);
  return r;
}

void SetCategories(AccessRecord* r,
                   std::initializer_list<vigil::v1::DataCategory> cats) {
  r->clear_data_categories();
  for (vigil::v1::DataCategory c : cats) r->add_data_categories(c);
}

std::vector<std::string> Flagged(const Policy& policy, const AccessRecord& r,
                                 const RegistryFacts& facts) {
  std::vector<std::string> names;
  for (const Rule* rule : policy.Evaluate(r, facts)) {
    names.push_back(rule->name);
  }
  return names;
}

bool Matches(std::string_view when, const AccessRecord& r,
             const RegistryFacts& facts = {}) {
  absl::StatusOr<Policy> policy =
      Policy::Load(OneRule(std::string(when)), "test.json");
  EXPECT_TRUE(policy.ok()) << policy.status();
  if (!policy.ok()) return false;
  return !policy->Evaluate(r, facts).empty();
}

// ---------------------------------------------------------------------------
// Loading.

TEST(PolicyLoadTest, AcceptsAMinimalRulesFile) {
  absl::StatusOr<Policy> policy = Policy::Load(
      OneRule(R"({"field": "source_system", "equals": "CLETS"})"), "t.json");
  ASSERT_TRUE(policy.ok()) << policy.status();
  ASSERT_EQ(policy->size(), 1u);
  const Rule& rule = policy->rules()[0];
  EXPECT_EQ(rule.name, "r");
  EXPECT_EQ(rule.description, "d");
  EXPECT_EQ(rule.law, "l");
  EXPECT_EQ(rule.severity, "violation");
  EXPECT_EQ(rule.source, "t.json");
}

TEST(PolicyLoadTest, RefusesTextThatIsNotJson) {
  EXPECT_THAT(
      LoadError("{\"format\": "),
      IsError(absl::StatusCode::kInvalidArgument, "test.json: not valid JSON"));
}

TEST(PolicyLoadTest, RefusesAFileThatIsNotAnObject) {
  EXPECT_THAT(LoadError("[]"), IsError(absl::StatusCode::kInvalidArgument,
                                       "expected a rules file object"));
}

TEST(PolicyLoadTest, RefusesAMissingOrWrongFormatMarker) {
  EXPECT_THAT(
      LoadError(R"({"rules": []})"),
      IsError(absl::StatusCode::kInvalidArgument, "key \"format\": missing"));
  EXPECT_THAT(LoadError(R"({"format": "vigil-policy/v2", "rules": []})"),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"format\": expected \"vigil-policy/v1\""));
}

TEST(PolicyLoadTest, RefusesUnknownTopLevelKeys) {
  EXPECT_THAT(
      LoadError(R"({"format": "vigil-policy/v1", "rules": [], "rulez": 1})"),
      IsError(absl::StatusCode::kInvalidArgument, "key \"rulez\": unknown"));
}

TEST(PolicyLoadTest, RefusesRulesThatAreNotAnArrayOfObjects) {
  EXPECT_THAT(LoadError(R"({"format": "vigil-policy/v1", "rules": {}})"),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"rules\": expected an array of rules"));
  EXPECT_THAT(LoadError(R"({"format": "vigil-policy/v1", "rules": [3]})"),
              IsError(absl::StatusCode::kInvalidArgument,
                      "rule #1: key \"rules[0]\": expected a rule object"));
}

TEST(PolicyLoadTest, RefusesAnUnknownRuleKeyNamingRuleAndKey) {
  const std::string text =
      absl::StrReplaceAll(OneRule(R"({"field": "outcome", "equals": "HIT"})"),
                          {{"\"law\"", "\"citation\""}});
  EXPECT_THAT(LoadError(text),
              IsError(absl::StatusCode::kInvalidArgument,
                      "test.json: rule \"r\": key \"citation\": unknown key"));
}

TEST(PolicyLoadTest, RefusesAMissingRuleKey) {
  EXPECT_THAT(LoadError(R"({"format": "vigil-policy/v1", "rules": [{"name": "r",
        "description": "d", "severity": "warning", "when": {"not":
        {"field": "outcome", "equals": "HIT"}}}]})"),
              IsError(absl::StatusCode::kInvalidArgument,
                      "rule \"r\": key \"law\": missing"));
  EXPECT_THAT(LoadError(R"({"format": "vigil-policy/v1", "rules": [{"name":
        "r", "description": "d", "law": "l", "severity": "warning"}]})"),
              IsError(absl::StatusCode::kInvalidArgument,
                      "rule \"r\": key \"when\": missing"));
}

TEST(PolicyLoadTest, RefusesARuleKeyOfTheWrongType) {
  const std::string text =
      absl::StrReplaceAll(OneRule(R"({"field": "outcome", "equals": "HIT"})"),
                          {{"\"description\": \"d\"", "\"description\": 7"}});
  EXPECT_THAT(LoadError(text),
              IsError(absl::StatusCode::kInvalidArgument,
                      "rule \"r\": key \"description\": expected a string, "
                      "not an integer"));
}

TEST(PolicyLoadTest, RefusesAnUnknownSeverity) {
  const std::string text =
      absl::StrReplaceAll(OneRule(R"({"field": "outcome", "equals": "HIT"})"),
                          {{"\"violation\"", "\"fatal\""}});
  EXPECT_THAT(LoadError(text), IsError(absl::StatusCode::kInvalidArgument,
                                       "rule \"r\": key \"severity\""));
}

TEST(PolicyLoadTest, RefusesBadAndReservedRuleNames) {
  const std::string cond = R"({"field": "outcome", "equals": "HIT"})";
  EXPECT_THAT(LoadError(absl::StrReplaceAll(
                  OneRule(cond), {{"\"name\": \"r\"", "\"name\": \"a b\""}})),
              IsError(absl::StatusCode::kInvalidArgument,
                      "rule #1: key \"name\": rule name \"a b\""));
  EXPECT_THAT(
      LoadError(absl::StrReplaceAll(
          OneRule(cond), {{"\"name\": \"r\"", "\"name\": \"vigil/x\""}})),
      IsError(absl::StatusCode::kInvalidArgument, "reserved"));
}

TEST(PolicyLoadTest, RefusesARepeatedRuleName) {
  const std::string rule =
      R"({"name": "twice", "description": "d", "law": "l",
          "severity": "warning", "when": {"field": "outcome", "empty": true}})";
  EXPECT_THAT(
      LoadError(absl::StrCat(R"({"format": "vigil-policy/v1", "rules": [)",
                             rule, ",", rule, "]}")),
      IsError(
          absl::StatusCode::kInvalidArgument,
          "rule \"twice\": key \"name\": repeated rule name (also rule #1)"));
}

TEST(PolicyLoadTest, RefusesARepeatedJsonKeyNamingTheRule) {
  EXPECT_THAT(LoadError(R"({"format": "vigil-policy/v1", "rules": [
        {"name": "r", "name": "s", "description": "d", "law": "l",
         "severity": "warning", "when": {"field": "outcome", "empty": true}}]})"),
              IsError(absl::StatusCode::kInvalidArgument,
                      "rule #1: key \"name\": repeated"));
}

TEST(PolicyLoadTest, RefusesAnUnknownFieldName) {
  EXPECT_THAT(
      LoadError(OneRule(
          R"({"all": [{"field": "declared_purpse", "equals": "OTHER"}]})")),
      IsError(absl::StatusCode::kInvalidArgument,
              "rule \"r\": key \"when.all[0].field\": unknown field "
              "\"declared_purpse\""));
}

TEST(PolicyLoadTest, RefusesAnUnknownEnumNameNamingTheEnum) {
  EXPECT_THAT(
      LoadError(OneRule(R"({"field": "declared_purpose",
                            "in": ["CRIMINAL_INVESTIGATION", "CIVIL_IMIGRATION"]})")),
      IsError(absl::StatusCode::kInvalidArgument,
              "rule \"r\": key \"when.in[1]\": unknown DeclaredPurpose name "
              "\"CIVIL_IMIGRATION\""));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "requester.agency_class",
                                    "equals": "ICE"})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "unknown AgencyClass name \"ICE\""));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "data_categories",
                                    "any_of": ["DMV"]})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "unknown DataCategory name \"DMV\""));
}

TEST(PolicyLoadTest, RefusesAnOperatorNotDefinedOnTheFieldsType) {
  EXPECT_THAT(LoadError(OneRule(R"({"field": "source_system",
                                    "any_of": ["CLETS"]})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.any_of\": operator any_of is not defined "
                      "on field source_system"));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "has_legal_doc",
                                    "empty": true})")),
              IsError(absl::StatusCode::kInvalidArgument, "not defined"));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "data_categories",
                                    "in": ["CHRI"]})")),
              IsError(absl::StatusCode::kInvalidArgument, "not defined"));
}

TEST(PolicyLoadTest, RefusesUnknownMissingOrExtraOperators) {
  EXPECT_THAT(LoadError(OneRule(R"({"field": "outcome", "is": "HIT"})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.is\": unknown operator"));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "outcome"})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when\": predicate on outcome has no operator"));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "outcome", "equals": "HIT",
                            "in": ["HIT"]})")),
              IsError(absl::StatusCode::kInvalidArgument, "one operator"));
  EXPECT_THAT(LoadError(OneRule(R"({"equals": "HIT"})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.equals\": operator without a \"field\""));
}

TEST(PolicyLoadTest, RefusesMalformedConditionNodes) {
  EXPECT_THAT(LoadError(OneRule(R"({})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when\": empty condition"));
  EXPECT_THAT(LoadError(OneRule(R"("yes")")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when\": expected a condition object, not a "
                      "string"));
  EXPECT_THAT(LoadError(OneRule(R"({"all": []})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.all\": empty list of conditions"));
  EXPECT_THAT(LoadError(OneRule(R"({"any": {"field": "outcome",
                                                "empty": true}})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.any\": expected an array of conditions"));
  EXPECT_THAT(
      LoadError(OneRule(R"({"all": [{"field": "outcome", "empty": true}],
                            "any": [{"field": "outcome", "empty": true}]})")),
      IsError(absl::StatusCode::kInvalidArgument, "also has all"));
  EXPECT_THAT(LoadError(OneRule(R"({"none": []})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.none\": unknown key"));
}

TEST(PolicyLoadTest, RefusesOperatorValuesOfTheWrongType) {
  EXPECT_THAT(LoadError(OneRule(R"({"field": "purpose_code", "in": "R"})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.in\": expected an array of strings"));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "purpose_code",
                                    "in": ["R", 3]})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.in[1]\": expected a string"));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "purpose_code", "in": []})")),
              IsError(absl::StatusCode::kInvalidArgument, "empty list"));
  EXPECT_THAT(LoadError(OneRule(R"({"field": "purpose_code",
                                    "empty": "yes"})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "expected true or false, not a string"));
  EXPECT_THAT(
      LoadError(OneRule(R"({"field": "event_time_centis",
                                    "at_least": "2026"})")),
      IsError(absl::StatusCode::kInvalidArgument, "expected an integer"));
  EXPECT_THAT(
      LoadError(OneRule(R"({"field": "outcome", "equals": 1})")),
      IsError(absl::StatusCode::kInvalidArgument, "expected a Outcome name"));
  EXPECT_THAT(LoadError(OneRule(R"({"field": 5, "equals": 1})")),
              IsError(absl::StatusCode::kInvalidArgument,
                      "key \"when.field\": expected a field name"));
}

TEST(PolicyLoadTest, RefusesConditionsNestedTooDeep) {
  std::string deep = R"({"field": "outcome", "empty": true})";
  for (int i = 0; i < 40; ++i) deep = absl::StrCat(R"({"not": )", deep, "}");
  EXPECT_THAT(LoadError(OneRule(deep)),
              IsError(absl::StatusCode::kInvalidArgument, "nested deeper"));
}

TEST(PolicyLoadTest, LoadFilesReportsAMissingFile) {
  EXPECT_THAT(Policy::LoadFiles({(PackDir() / "no-such-pack.json").string()}),
              IsError(absl::StatusCode::kNotFound, "no-such-pack.json"));
}

TEST(PolicyLoadTest, MergeRefusesARuleNameInTwoSources) {
  absl::StatusOr<Policy> a =
      Policy::Load(OneRule(R"({"field": "outcome", "empty": true})"), "a.json");
  absl::StatusOr<Policy> b = Policy::Load(
      OneRule(R"({"field": "outcome", "empty": false})"), "b.json");
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<Policy> parts;
  parts.push_back(*std::move(a));
  parts.push_back(*std::move(b));
  EXPECT_THAT(Policy::Merge(std::move(parts)),
              IsError(absl::StatusCode::kInvalidArgument,
                      "rule \"r\" is defined in both a.json and b.json"));
}

TEST(PolicyLoadTest, AllShippedPacksLoadTogetherWithUniqueNames) {
  std::vector<std::string> paths;
  for (const char* pack : kPacks) paths.push_back((PackDir() / pack).string());
  absl::StatusOr<Policy> all = Policy::LoadFiles(paths);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 12u);
  for (const Rule& rule : all->rules()) {
    EXPECT_FALSE(rule.description.empty()) << rule.name;
    EXPECT_FALSE(rule.law.empty()) << rule.name;
    EXPECT_TRUE(rule.severity == "violation" || rule.severity == "warning");
  }
}

// ---------------------------------------------------------------------------
// Predicates.

TEST(PolicyPredicateTest, StringEqualsInEmptyStartsWithAndMatches) {
  AccessRecord r = BaseRecord(LocalPolice("CA"));
  r.set_purpose_code("C");
  EXPECT_TRUE(Matches(R"({"field": "destination", "equals": "TX"})", r));
  EXPECT_FALSE(Matches(R"({"field": "destination", "equals": "tx"})", r));
  EXPECT_TRUE(Matches(R"({"field": "message_key", "in": ["KQ", "DQ"]})", r));
  EXPECT_FALSE(Matches(R"({"field": "message_key", "in": ["KQ"]})", r));
  EXPECT_TRUE(Matches(R"({"field": "source_state", "empty": true})", r));
  EXPECT_FALSE(Matches(R"({"field": "purpose_code", "empty": true})", r));
  EXPECT_TRUE(Matches(R"({"field": "purpose_code", "empty": false})", r));
  EXPECT_TRUE(
      Matches(R"({"field": "requesting_ori", "starts_with": "CA019"})", r));
  EXPECT_TRUE(Matches(
      R"({"field": "requesting_ori", "starts_with": ["NY", "CA"]})", r));
  EXPECT_FALSE(
      Matches(R"({"field": "requesting_ori", "starts_with": "DC"})", r));
  EXPECT_TRUE(
      Matches(R"({"field": "requesting_ori", "matches": "CA?19*"})", r));
  EXPECT_TRUE(Matches(R"({"field": "record_id", "matches": "*"})", r));
  EXPECT_FALSE(
      Matches(R"({"field": "requesting_ori", "matches": "??FBI*"})", r));
  EXPECT_TRUE(
      Matches(R"({"field": "correlation_id", "matches": "MCN-*1"})", r));
}

TEST(PolicyPredicateTest, EnumEqualsInAndEmpty) {
  AccessRecord r = BaseRecord(LocalPolice("CA"));
  EXPECT_TRUE(Matches(R"({"field": "outcome", "equals": "HIT"})", r));
  EXPECT_TRUE(
      Matches(R"({"field": "legal_process", "in": ["NONE", "SUBPOENA"]})", r));
  EXPECT_FALSE(Matches(R"({"field": "legal_process",
                           "in": ["JUDICIAL_WARRANT", "COURT_ORDER"]})",
                       r));
  EXPECT_FALSE(Matches(R"({"field": "submitter_role", "empty": true})", r));
  r.clear_submitter_role();
  EXPECT_TRUE(Matches(R"({"field": "submitter_role", "empty": true})", r));
  EXPECT_TRUE(Matches(R"({"field": "submitter_role",
                          "equals": "SUBMITTER_ROLE_UNSPECIFIED"})",
                      r));
}

TEST(PolicyPredicateTest, AnEnumValueUnknownToTheSchemaIsInNoList) {
  AccessRecord r = BaseRecord(LocalPolice("CA"));
  r.set_outcome(static_cast<vigil::v1::Outcome>(99));
  r.add_data_categories(static_cast<vigil::v1::DataCategory>(1000));
  EXPECT_FALSE(Matches(
      R"({"field": "outcome", "in": ["HIT", "NO_HIT", "DENIED", "ERROR",
                                     "OUTCOME_UNSPECIFIED"]})",
      r));
  EXPECT_FALSE(Matches(R"({"field": "data_categories",
                           "all_in": ["DMV_PII", "PHOTO", "ADDRESS",
                                      "VEHICLE", "CHRI", "IMMIGRATION"]})",
                       r));
}

TEST(PolicyPredicateTest, SetEqualsAnyOfAllInNoneOfAndEmpty) {
  AccessRecord r = BaseRecord(LocalPolice("CA"));
  SetCategories(&r, {vigil::v1::ADDRESS, vigil::v1::DMV_PII});
  EXPECT_TRUE(Matches(
      R"({"field": "data_categories", "equals": ["DMV_PII", "ADDRESS"]})", r));
  EXPECT_FALSE(
      Matches(R"({"field": "data_categories", "equals": ["DMV_PII"]})", r));
  EXPECT_TRUE(Matches(
      R"({"field": "data_categories", "any_of": ["ADDRESS", "CHRI"]})", r));
  EXPECT_FALSE(Matches(
      R"({"field": "data_categories", "any_of": ["PHOTO", "CHRI"]})", r));
  EXPECT_TRUE(Matches(R"({"field": "data_categories",
                          "all_in": ["DMV_PII", "ADDRESS", "PHOTO"]})",
                      r));
  EXPECT_FALSE(
      Matches(R"({"field": "data_categories", "all_in": ["DMV_PII"]})", r));
  EXPECT_TRUE(Matches(
      R"({"field": "data_categories", "none_of": ["CHRI", "PHOTO"]})", r));
  EXPECT_FALSE(
      Matches(R"({"field": "data_categories", "none_of": ["ADDRESS"]})", r));
  EXPECT_FALSE(Matches(R"({"field": "data_categories", "empty": true})", r));
  r.clear_data_categories();
  EXPECT_TRUE(Matches(R"({"field": "data_categories", "empty": true})", r));
}

TEST(PolicyPredicateTest, BooleanFieldsIncludingCommitmentPresence) {
  AccessRecord r = BaseRecord(LocalPolice("CA"));
  EXPECT_TRUE(Matches(R"({"field": "has_legal_doc", "equals": false})", r));
  EXPECT_TRUE(Matches(R"({"field": "has_case_ref", "equals": false})", r));
  EXPECT_TRUE(Matches(R"({"field": "image_requested", "equals": false})", r));
  r.set_legal_doc_commit(std::string(32, '\x33'));
  r.set_case_ref_commit(std::string(32, '\x44'));
  r.set_image_requested(true);
  EXPECT_TRUE(Matches(R"({"field": "has_legal_doc", "equals": true})", r));
  EXPECT_TRUE(Matches(R"({"field": "has_case_ref", "equals": true})", r));
  EXPECT_TRUE(Matches(R"({"field": "image_requested", "equals": true})", r));
}

TEST(PolicyPredicateTest, IntegerEqualsAtLeastAndBelow) {
  AccessRecord r = BaseRecord(LocalPolice("CA"));
  r.set_event_time_centis(500);
  EXPECT_TRUE(Matches(R"({"field": "event_time_centis", "equals": 500})", r));
  EXPECT_TRUE(Matches(R"({"field": "event_time_centis", "at_least": 500})", r));
  EXPECT_FALSE(
      Matches(R"({"field": "event_time_centis", "at_least": 501})", r));
  EXPECT_TRUE(Matches(R"({"field": "event_time_centis", "below": 501})", r));
  EXPECT_FALSE(Matches(R"({"field": "event_time_centis", "below": 500})", r));
}

TEST(PolicyPredicateTest, RegistryFactsAndAbsentAgencies) {
  AccessRecord r = BaseRecord(Ice());
  RegistryFacts facts{Clets(), Ice()};
  EXPECT_TRUE(Matches(R"({"field": "requester.agency_class",
                          "equals": "FEDERAL_IMMIGRATION"})",
                      r, facts));
  EXPECT_TRUE(
      Matches(R"({"field": "requester.state", "equals": "DC"})", r, facts));
  EXPECT_TRUE(Matches(R"({"field": "requester.registered", "equals": true})", r,
                      facts));
  EXPECT_TRUE(
      Matches(R"({"field": "signer.ori", "equals": "CACLETS00"})", r, facts));
  EXPECT_TRUE(Matches(R"({"field": "signer.agency_class",
                          "equals": "SWITCH_OPERATOR"})",
                      r, facts));
  EXPECT_TRUE(
      Matches(R"({"field": "signer.state", "equals": "CA"})", r, facts));
  EXPECT_TRUE(
      Matches(R"({"field": "signer.registered", "equals": true})", r, facts));

  const RegistryFacts unknown;
  EXPECT_TRUE(Matches(R"({"field": "requester.registered", "equals": false})",
                      r, unknown));
  EXPECT_TRUE(Matches(R"({"field": "signer.registered", "equals": false})", r,
                      unknown));
  EXPECT_TRUE(Matches(R"({"field": "requester.agency_class",
                          "equals": "AGENCY_CLASS_UNSPECIFIED"})",
                      r, unknown));
  EXPECT_FALSE(Matches(R"({"field": "requester.agency_class",
                           "equals": "FEDERAL_IMMIGRATION"})",
                       r, unknown));
  EXPECT_TRUE(
      Matches(R"({"field": "requester.state", "empty": true})", r, unknown));
  EXPECT_TRUE(Matches(R"({"field": "signer.ori", "empty": true})", r, unknown));
}

TEST(PolicyPredicateTest, AllAnyAndNotCombine) {
  const AccessRecord r = BaseRecord(LocalPolice("CA"));
  const std::string yes = R"({"field": "outcome", "equals": "HIT"})";
  const std::string no = R"({"field": "outcome", "equals": "DENIED"})";
  auto all = [](std::string a, std::string b) {
    return absl::StrCat(R"({"all": [)", a, ",", b, "]}");
  };
  auto any = [](std::string a, std::string b) {
    return absl::StrCat(R"({"any": [)", a, ",", b, "]}");
  };
  auto negate = [](std::string a) {
    return absl::StrCat(R"({"not": )", a, "}");
  };
  EXPECT_TRUE(Matches(all(yes, yes), r));
  EXPECT_FALSE(Matches(all(yes, no), r));
  EXPECT_TRUE(Matches(any(no, yes), r));
  EXPECT_FALSE(Matches(any(no, no), r));
  EXPECT_TRUE(Matches(negate(no), r));
  EXPECT_FALSE(Matches(negate(yes), r));
  EXPECT_TRUE(Matches(all(any(no, yes), negate(all(yes, no))), r));
  EXPECT_FALSE(Matches(any(all(yes, no), negate(any(no, yes))), r));
}

TEST(PolicyEvaluateTest, ReturnsMatchingRulesInPolicyOrder) {
  absl::StatusOr<Policy> policy = Policy::Load(
      R"({"format": "vigil-policy/v1", "description": "two", "rules": [
        {"name": "b", "description": "d", "law": "l", "severity": "warning",
         "when": {"field": "outcome", "equals": "HIT"}},
        {"name": "a", "description": "d", "law": "l", "severity": "warning",
         "when": {"field": "outcome", "equals": "DENIED"}},
        {"name": "c", "description": "d", "law": "l", "severity": "violation",
         "when": {"field": "message_key", "equals": "DQ"}}]})",
      "t.json");
  ASSERT_TRUE(policy.ok()) << policy.status();
  const AccessRecord r = BaseRecord(LocalPolice("CA"));
  EXPECT_THAT(Flagged(*policy, r, {}), ElementsAre("b", "c"));
  EXPECT_THAT(Policy().Evaluate(r, {}), IsEmpty());
}

// ---------------------------------------------------------------------------
// CA CLETS SB 54.

class CaCletsSb54Test : public ::testing::Test {
 protected:
  // ICE asks CLETS for DMV data; CLETS logs it.
  static AccessRecord CletsRecord(const RegistryFacts::Agency& requester) {
    AccessRecord r = BaseRecord(requester);
    r.set_submitter_role(vigil::v1::SWITCH);
    r.set_source_system(vigil::v1::CLETS);
    r.set_destination("CA");
    SetCategories(&r, {vigil::v1::DMV_PII, vigil::v1::ADDRESS});
    return r;
  }
  Policy policy_ = LoadPack("ca-clets-sb54.json");
  static constexpr char kViolation[] = "ca-sb54/clets-non-chri-to-immigration";
  static constexpr char kCriminal[] =
      "ca-sb54/clets-non-chri-for-criminal-immigration";
};

TEST_F(CaCletsSb54Test, FlagsDmvDataToAnImmigrationAgency) {
  EXPECT_THAT(Flagged(policy_, CletsRecord(Ice()), {Clets(), Ice()}),
              ElementsAre(kViolation));
  // Whatever purpose it declares, and when ICE signs its own record.
  AccessRecord r = CletsRecord(Ice());
  r.set_declared_purpose(vigil::v1::CRIMINAL_INVESTIGATION);
  r.set_submitter_role(vigil::v1::REQUESTER);
  EXPECT_THAT(Flagged(policy_, r, RegistryFacts{Ice(), std::nullopt}),
              ElementsAre(kViolation));
}

TEST_F(CaCletsSb54Test, FlagsCivilImmigrationPurposeFromAnyAgency) {
  AccessRecord r = CletsRecord(LocalPolice("CA"));
  r.set_declared_purpose(vigil::v1::CIVIL_IMMIGRATION);
  SetCategories(&r, {vigil::v1::CHRI, vigil::v1::PHOTO});
  EXPECT_THAT(Flagged(policy_, r, {Clets(), LocalPolice("CA")}),
              ElementsAre(kViolation));
}

TEST_F(CaCletsSb54Test, WarnsOnCriminalImmigrationPurposeFromLocalPolice) {
  AccessRecord r = CletsRecord(LocalPolice("CA"));
  r.set_declared_purpose(vigil::v1::CRIMINAL_IMMIGRATION);
  EXPECT_THAT(Flagged(policy_, r, {Clets(), LocalPolice("CA")}),
              ElementsAre(kCriminal));
}

TEST_F(CaCletsSb54Test, AllowsChriOnlyQueriesByImmigrationAgencies) {
  AccessRecord r = CletsRecord(Ice());
  SetCategories(&r, {vigil::v1::CHRI});
  r.set_purpose_code("C");
  EXPECT_THAT(Flagged(policy_, r, {Clets(), Ice()}), IsEmpty());
  r.set_declared_purpose(vigil::v1::CIVIL_IMMIGRATION);
  EXPECT_THAT(Flagged(policy_, r, {Clets(), Ice()}), IsEmpty());
}

TEST_F(CaCletsSb54Test, AllowsLocalPoliceDmvLookupsAndDeniedOrNonClets) {
  EXPECT_THAT(Flagged(policy_, CletsRecord(LocalPolice("CA")),
                      {Clets(), LocalPolice("CA")}),
              IsEmpty());
  AccessRecord denied = CletsRecord(Ice());
  denied.set_outcome(vigil::v1::DENIED);
  EXPECT_THAT(Flagged(policy_, denied, {Clets(), Ice()}), IsEmpty());
  AccessRecord nlets = CletsRecord(Ice());
  nlets.set_source_system(vigil::v1::NLETS);
  EXPECT_THAT(Flagged(policy_, nlets, {Clets(), Ice()}), IsEmpty());
}

// ---------------------------------------------------------------------------
// NY, IL and WA DMV laws: one fixture, parameterised by state.

struct StatePack {
  const char* file;
  const char* state;
  const char* prefix;
  bool court_subpoena_allowed;  // IL: subpoenas issued by a court.
};

class StateDmvTest : public ::testing::TestWithParam<StatePack> {
 protected:
  std::string RuleName(const std::string& what) const {
    return absl::StrCat(GetParam().prefix, "/", what);
  }
  // ICE asks the state's DMV for a driver's record, logged by ICE.
  AccessRecord DmvRecord(const RegistryFacts::Agency& requester) const {
    AccessRecord r = BaseRecord(requester);
    r.set_source_system(vigil::v1::STATE_DMV);
    r.set_source_state(GetParam().state);
    r.set_destination(absl::StrCat(GetParam().state, "DMV0000"));
    SetCategories(&r, {vigil::v1::DMV_PII, vigil::v1::PHOTO});
    r.set_declared_purpose(vigil::v1::CIVIL_IMMIGRATION);
    return r;
  }
  Policy policy_ = LoadPack(GetParam().file);
};

TEST_P(StateDmvTest, FlagsAnImmigrationAgencyWithoutAJudgesOrder) {
  EXPECT_THAT(
      Flagged(policy_, DmvRecord(Ice()), Self(Ice())),
      ElementsAre(RuleName("dmv-data-to-immigration-without-judicial-order")));
}

TEST_P(StateDmvTest, FlagsAnAdministrativeWarrant) {
  AccessRecord r = DmvRecord(Ice());
  r.set_legal_process(vigil::v1::ADMINISTRATIVE_WARRANT);
  r.set_legal_doc_commit(std::string(32, '\x55'));
  EXPECT_THAT(
      Flagged(policy_, r, Self(Ice())),
      ElementsAre(RuleName("dmv-data-to-immigration-without-judicial-order")));
}

TEST_P(StateDmvTest, TreatsASubpoenaByTheStatesLaw) {
  AccessRecord r = DmvRecord(Ice());
  r.set_legal_process(vigil::v1::SUBPOENA);
  r.set_legal_doc_commit(std::string(32, '\x55'));
  EXPECT_THAT(Flagged(policy_, r, Self(Ice())),
              ElementsAre(RuleName(GetParam().court_subpoena_allowed
                                       ? "dmv-data-to-immigration-on-subpoena"
                                       : "dmv-data-to-immigration-without-"
                                         "judicial-order")));
}

TEST_P(StateDmvTest, FindsTheStatesDataByDestinationOrCustodian) {
  // Over Nlets, to the state's code, with any declared purpose.
  AccessRecord nlets = DmvRecord(Ice());
  nlets.set_source_system(vigil::v1::NLETS);
  nlets.clear_source_state();
  nlets.set_destination(GetParam().state);
  nlets.set_declared_purpose(vigil::v1::CRIMINAL_INVESTIGATION);
  SetCategories(&nlets, {vigil::v1::VEHICLE});
  EXPECT_THAT(
      Flagged(policy_, nlets, Self(Ice())),
      ElementsAre(RuleName("dmv-data-to-immigration-without-judicial-order")));
  // The DMV's own record of answering an unregistered requester asking for
  // a civil immigration purpose.
  AccessRecord custodian = DmvRecord(LocalPolice("TX"));
  custodian.set_submitter_role(vigil::v1::CUSTODIAN);
  custodian.set_source_system(vigil::v1::NLETS);
  custodian.clear_source_state();
  SetCategories(&custodian, {vigil::v1::ADDRESS});
  EXPECT_THAT(
      Flagged(policy_, custodian,
              RegistryFacts{Dmv(GetParam().state), std::nullopt}),
      ElementsAre(RuleName("dmv-data-to-immigration-without-judicial-order")));
}

TEST_P(StateDmvTest, WarnsOnAJudicialWarrantWithNoDocument) {
  AccessRecord r = DmvRecord(Ice());
  r.set_legal_process(vigil::v1::JUDICIAL_WARRANT);
  EXPECT_THAT(Flagged(policy_, r, Self(Ice())),
              ElementsAre(RuleName("judicial-order-without-document")));
}

TEST_P(StateDmvTest, AllowsAJudicialWarrantOrCourtOrderWithItsDocument) {
  AccessRecord r = DmvRecord(Ice());
  r.set_legal_doc_commit(std::string(32, '\x55'));
  r.set_legal_process(vigil::v1::JUDICIAL_WARRANT);
  EXPECT_THAT(Flagged(policy_, r, Self(Ice())), IsEmpty());
  r.set_legal_process(vigil::v1::COURT_ORDER);
  EXPECT_THAT(Flagged(policy_, r, Self(Ice())), IsEmpty());
}

TEST_P(StateDmvTest, AllowsLocalPoliceOtherStatesChriAndDenials) {
  AccessRecord local = DmvRecord(LocalPolice(GetParam().state));
  local.set_declared_purpose(vigil::v1::TRAFFIC);
  EXPECT_THAT(Flagged(policy_, local, Self(LocalPolice(GetParam().state))),
              IsEmpty());
  AccessRecord other_state = DmvRecord(Ice());
  other_state.set_source_state("TX");
  other_state.set_destination("TX");
  EXPECT_THAT(Flagged(policy_, other_state, Self(Ice())), IsEmpty());
  AccessRecord chri = DmvRecord(Ice());
  SetCategories(&chri, {vigil::v1::CHRI});
  EXPECT_THAT(Flagged(policy_, chri, Self(Ice())), IsEmpty());
  AccessRecord denied = DmvRecord(Ice());
  denied.set_outcome(vigil::v1::DENIED);
  EXPECT_THAT(Flagged(policy_, denied, Self(Ice())), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Packs, StateDmvTest,
    ::testing::Values(
        StatePack{"ny-vtl-201-12.json", "NY", "ny-vtl-201-12", false},
        StatePack{"il-625-ilcs-5-6-110.3.json", "IL", "il-625-ilcs-5-6-110.3",
                  true},
        StatePack{"wa-rcw-43.17.425.json", "WA", "wa-rcw-43.17.425", false}),
    [](const ::testing::TestParamInfo<StatePack>& info) {
      return std::string(info.param.state);
    });

// ---------------------------------------------------------------------------
// CJIS III purpose codes.

class CjisIiiTest : public ::testing::Test {
 protected:
  static AccessRecord ChriRecord(const RegistryFacts::Agency& requester) {
    AccessRecord r = BaseRecord(requester);
    r.set_source_system(vigil::v1::III);
    r.set_destination("DCFBIWA00");
    r.set_message_key("QH");
    SetCategories(&r, {vigil::v1::CHRI});
    r.set_purpose_code("C");
    return r;
  }
  Policy policy_ = LoadPack("cjis-iii-purpose-codes.json");
};

TEST_F(CjisIiiTest, FlagsAChriQueryWithoutAPurposeCode) {
  AccessRecord r = ChriRecord(LocalPolice("CA"));
  r.clear_purpose_code();
  EXPECT_THAT(Flagged(policy_, r, Self(LocalPolice("CA"))),
              ElementsAre("cjis-iii/chri-query-without-purpose-code"));
  // CHRI through a state switch, not III, counts too.
  r.set_source_system(vigil::v1::CLETS);
  EXPECT_THAT(Flagged(policy_, r, Self(LocalPolice("CA"))),
              ElementsAre("cjis-iii/chri-query-without-purpose-code"));
}

TEST_F(CjisIiiTest, FlagsAnInvalidPurposeCode) {
  AccessRecord r = ChriRecord(LocalPolice("CA"));
  r.set_purpose_code("E");
  EXPECT_THAT(Flagged(policy_, r, Self(LocalPolice("CA"))),
              ElementsAre("cjis-iii/invalid-purpose-code"));
}

TEST_F(CjisIiiTest, FlagsPurposeCodeRFromANonFbiOri) {
  AccessRecord r = ChriRecord(LocalPolice("CA"));
  r.set_purpose_code("R");
  EXPECT_THAT(Flagged(policy_, r, Self(LocalPolice("CA"))),
              ElementsAre("cjis-iii/purpose-code-r-from-non-fbi-ori"));
}

TEST_F(CjisIiiTest, AllowsValidCodesRFromTheFbiAndNonChriQueries) {
  for (const char* code : {"A", "C", "D", "F", "H", "I", "J", "S", "V", "X"}) {
    AccessRecord r = ChriRecord(LocalPolice("CA"));
    r.set_purpose_code(code);
    EXPECT_THAT(Flagged(policy_, r, Self(LocalPolice("CA"))), IsEmpty())
        << code;
  }
  AccessRecord fbi = ChriRecord(Fbi());
  fbi.set_purpose_code("R");
  EXPECT_THAT(Flagged(policy_, fbi, Self(Fbi())), IsEmpty());
  AccessRecord field_office = ChriRecord(Fbi());
  field_office.set_requesting_ori("NYFBINY00");
  field_office.set_purpose_code("R");
  EXPECT_THAT(Flagged(policy_, field_office, {}), IsEmpty());
  // A DMV query needs no purpose code.
  AccessRecord dmv = BaseRecord(LocalPolice("CA"));
  EXPECT_THAT(Flagged(policy_, dmv, Self(LocalPolice("CA"))), IsEmpty());
}

// ---------------------------------------------------------------------------
// Explain.

TEST(PolicyExplainTest, NamesTheValuesThatMadeTheSb54RuleMatch) {
  const Policy policy = LoadPack("ca-clets-sb54.json");
  AccessRecord r = BaseRecord(Ice());
  r.set_source_system(vigil::v1::CLETS);
  SetCategories(&r, {vigil::v1::ADDRESS, vigil::v1::DMV_PII});
  const RegistryFacts facts{Clets(), Ice()};
  const std::vector<const Rule*> matched = policy.Evaluate(r, facts);
  ASSERT_EQ(matched.size(), 1u);
  EXPECT_EQ(Explain(*matched[0], r, facts),
            "requester agency_class FEDERAL_IMMIGRATION; source_system CLETS; "
            "data_categories DMV_PII,ADDRESS (not only CHRI); outcome HIT "
            "(not DENIED)");
}

TEST(PolicyExplainTest, NamesTheMissingJudgesOrderAndTheStatesData) {
  const Policy policy = LoadPack("ny-vtl-201-12.json");
  AccessRecord r = BaseRecord(LocalPolice("TX"));
  r.set_destination("NY");
  r.set_declared_purpose(vigil::v1::CIVIL_IMMIGRATION);
  r.set_legal_process(vigil::v1::ADMINISTRATIVE_WARRANT);
  r.set_legal_doc_commit(std::string(32, '\x7f'));
  const RegistryFacts facts{LocalPolice("TX"), std::nullopt};
  const std::vector<const Rule*> matched = policy.Evaluate(r, facts);
  ASSERT_EQ(matched.size(), 1u);
  const std::string reason = Explain(*matched[0], r, facts);
  EXPECT_THAT(reason, AllOf(HasSubstr("declared_purpose CIVIL_IMMIGRATION"),
                            HasSubstr("destination NY"),
                            HasSubstr("data_categories DMV_PII (includes "
                                      "DMV_PII)"),
                            HasSubstr("legal_process ADMINISTRATIVE_WARRANT "
                                      "(not JUDICIAL_WARRANT/COURT_ORDER)")));
  // Only the first true alternative of an "any" is named.
  EXPECT_THAT(reason, Not(HasSubstr("requester")));
  // Never a commitment's bytes.
  EXPECT_THAT(reason, Not(HasSubstr("\x7f")));
  EXPECT_THAT(reason, Not(HasSubstr("7f")));
}

TEST(PolicyExplainTest, NamesPredicatesOfEveryKind) {
  AccessRecord r = BaseRecord(LocalPolice("CA"));
  r.set_purpose_code("R");
  auto explain = [&](std::string_view when, const RegistryFacts& facts = {}) {
    absl::StatusOr<Policy> policy =
        Policy::Load(OneRule(std::string(when)), "t.json");
    EXPECT_TRUE(policy.ok()) << policy.status();
    return policy.ok() ? Explain(policy->rules()[0], r, facts) : "";
  };
  EXPECT_EQ(explain(R"({"all": [{"field": "purpose_code", "equals": "R"},
      {"not": {"field": "requesting_ori", "matches": "??FBI*"}}]})"),
            "purpose_code R; requesting_ori CA0190000 (does not match ??FBI*)");
  EXPECT_EQ(explain(R"({"field": "purpose_code", "empty": true})"),
            "purpose_code R");
  EXPECT_EQ(explain(R"({"field": "source_state", "empty": true})"),
            "source_state (empty)");
  EXPECT_EQ(explain(R"({"field": "requesting_ori", "starts_with": "CA"})"),
            "requesting_ori CA0190000 (starts with CA)");
  EXPECT_EQ(explain(R"({"field": "data_categories", "none_of": ["CHRI"]})"),
            "data_categories DMV_PII (none of CHRI)");
  EXPECT_EQ(explain(R"({"field": "data_categories", "all_in": ["DMV_PII"]})"),
            "data_categories DMV_PII (only DMV_PII)");
  EXPECT_EQ(explain(R"({"field": "has_legal_doc", "equals": false})"),
            "has_legal_doc false");
  EXPECT_EQ(explain(R"({"field": "event_time_centis", "at_least": 10})"),
            "event_time_centis 178000000000 (>= 10)");
  EXPECT_EQ(explain(R"({"field": "requester.agency_class",
                        "equals": "LOCAL_POLICE"})"),
            "requester not registered");
  EXPECT_EQ(explain(R"({"field": "requester.state", "equals": "CA"})",
                    Self(LocalPolice("CA"))),
            "requester state CA");
  // Why a rule did not match: every alternative of a false "any".
  EXPECT_EQ(explain(R"({"any": [{"field": "outcome", "equals": "DENIED"},
                                {"field": "message_key", "in": ["KQ", "RQ"]}]})"),
            "outcome HIT (not DENIED); message_key DQ (not KQ or RQ)");
}

}  // namespace
}  // namespace vigil::client
