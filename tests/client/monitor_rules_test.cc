// The monitor with every shipped rule pack (client/policy/*.json) over one
// Vigil log: each rule flags its violating record, and only it; a compliant
// look-alike of each raises nothing; reconciliation flags the lookup its
// requester did not log. The table below has one row per shipped rule, and
// a rule added to a pack without a row fails HasOneRowForEveryShippedRule.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/monitor.h"
#include "client/policy.h"
#include "client/signing.h"
#include "merkle/hash.h"
#include "merkle/tlog_proof.h"
#include "server/entry.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_records.h"
#include "tests/testing/tile_log.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

constexpr char kOrigin[] = "vigil.example/monitored-rules";

// The shipped packs: every *.json in client/policy/, found from this file's
// place in the tree as policy_test.cc does, in name order.
std::vector<std::string> PackPaths() {
  const std::filesystem::path dir = std::filesystem::path(__FILE__)
                                        .parent_path()
                                        .parent_path()
                                        .parent_path() /
                                    "client/policy";
  std::vector<std::string> paths;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (file.is_regular_file() && file.path().extension() == ".json") {
      paths.push_back(file.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// The registered agencies a record can be signed by or name as requester.
enum class Party { kPolice, kIce, kClets, kFbi, kNyDmv, kIlDmv, kWaDmv };

// The public fields of one record. Unset fields are those of a local
// police DMV query over CLETS (testing::RequesterRecord).
struct Lookup {
  Party signer = Party::kPolice;
  v1::SubmitterRole role = v1::REQUESTER;
  // requesting_ori; the signer's if unset.
  std::optional<Party> requester = std::nullopt;
  v1::SourceSystem source_system = v1::CLETS;
  std::string source_state{};
  std::string destination = "CA";
  std::string message_key = "DQ";
  std::vector<v1::DataCategory> data_categories = {v1::DMV_PII};
  std::string purpose_code{};
  v1::DeclaredPurpose declared_purpose = v1::CRIMINAL_INVESTIGATION;
  v1::LegalProcess legal_process = v1::NONE;
  bool legal_doc = false;  // Commits to a legal document.
  v1::Outcome outcome = v1::HIT;
};

// One shipped rule: a record that breaks it and a look-alike that does not.
struct RuleRow {
  std::string rule;
  Lookup violating;
  Lookup compliant;
  // An integrity check the monitor raises on `violating` as well as `rule`
  // (a record whose fields break record.proto, as other software may
  // write, is still judged by the rules).
  std::string also_raised{};
};

const std::vector<RuleRow>& Rows() {
  static const std::vector<RuleRow>* const rows = new std::vector<RuleRow>{
      // ca-clets-sb54.json. The switch logs ICE's query.
      {.rule = "ca-sb54/clets-non-chri-to-immigration",
       .violating = {.signer = Party::kClets,
                     .role = v1::SWITCH,
                     .requester = Party::kIce,
                     .data_categories = {v1::DMV_PII, v1::ADDRESS}},
       // Criminal history only is what SB 54 lets CLETS give ICE.
       .compliant = {.signer = Party::kClets,
                     .role = v1::SWITCH,
                     .requester = Party::kIce,
                     .data_categories = {v1::CHRI},
                     .purpose_code = "C"}},
      {.rule = "ca-sb54/clets-non-chri-for-criminal-immigration",
       .violating = {.signer = Party::kClets,
                     .role = v1::SWITCH,
                     .requester = Party::kPolice,
                     .declared_purpose = v1::CRIMINAL_IMMIGRATION},
       .compliant = {.signer = Party::kClets,
                     .role = v1::SWITCH,
                     .requester = Party::kPolice,
                     .declared_purpose = v1::CRIMINAL_INVESTIGATION}},

      // cjis-iii-purpose-codes.json. Local police query III.
      {.rule = "cjis-iii/chri-query-without-purpose-code",
       .violating = {.source_system = v1::III,
                     .destination = "DCFBIWA00",
                     .message_key = "QH",
                     .data_categories = {v1::CHRI}},
       .compliant = {.source_system = v1::III,
                     .destination = "DCFBIWA00",
                     .message_key = "QH",
                     .data_categories = {v1::CHRI},
                     .purpose_code = "C"}},
      {.rule = "cjis-iii/invalid-purpose-code",
       .violating = {.source_system = v1::III,
                     .destination = "DCFBIWA00",
                     .message_key = "QH",
                     .data_categories = {v1::CHRI},
                     .purpose_code = "E"},
       .compliant = {.source_system = v1::III,
                     .destination = "DCFBIWA00",
                     .message_key = "QH",
                     .data_categories = {v1::CHRI},
                     .purpose_code = "X"},
       // server::ParseAccessRecord refuses a purpose code outside
       // A C D F H I J R S V X: the record is also a malformed entry.
       .also_raised = kRuleMalformedEntry},
      {.rule = "cjis-iii/purpose-code-r-from-non-fbi-ori",
       .violating = {.source_system = v1::III,
                     .destination = "DCFBIWA00",
                     .message_key = "QH",
                     .data_categories = {v1::CHRI},
                     .purpose_code = "R"},
       // The same query by an FBI field office.
       .compliant = {.signer = Party::kFbi,
                     .source_system = v1::III,
                     .destination = "DCFBIWA00",
                     .message_key = "QH",
                     .data_categories = {v1::CHRI},
                     .purpose_code = "R"}},

      // ny-vtl-201-12.json. ICE logs its own queries of NY DMV data.
      {.rule = "ny-vtl-201-12/dmv-data-to-immigration-without-judicial-order",
       .violating = {.signer = Party::kIce,
                     .source_system = v1::STATE_DMV,
                     .source_state = "NY",
                     .destination = "NYDMV0000",
                     .data_categories = {v1::DMV_PII, v1::PHOTO},
                     .legal_process = v1::ADMINISTRATIVE_WARRANT,
                     .legal_doc = true},
       .compliant = {.signer = Party::kIce,
                     .source_system = v1::STATE_DMV,
                     .source_state = "NY",
                     .destination = "NYDMV0000",
                     .data_categories = {v1::DMV_PII, v1::PHOTO},
                     .legal_process = v1::COURT_ORDER,
                     .legal_doc = true}},
      {.rule = "ny-vtl-201-12/judicial-order-without-document",
       .violating = {.signer = Party::kIce,
                     .source_system = v1::NLETS,
                     .destination = "NY",
                     .data_categories = {v1::VEHICLE},
                     .legal_process = v1::JUDICIAL_WARRANT},
       .compliant = {.signer = Party::kIce,
                     .source_system = v1::NLETS,
                     .destination = "NY",
                     .data_categories = {v1::VEHICLE},
                     .legal_process = v1::JUDICIAL_WARRANT,
                     .legal_doc = true}},

      // il-625-ilcs-5-6-110.3.json.
      {.rule = "il-625-ilcs-5-6-110.3/"
               "dmv-data-to-immigration-without-judicial-order",
       .violating = {.signer = Party::kIce,
                     .source_system = v1::NLETS,
                     .destination = "IL",
                     .declared_purpose = v1::CIVIL_IMMIGRATION},
       // Illinois refused.
       .compliant = {.signer = Party::kIce,
                     .source_system = v1::NLETS,
                     .destination = "IL",
                     .declared_purpose = v1::CIVIL_IMMIGRATION,
                     .outcome = v1::DENIED}},
      {.rule = "il-625-ilcs-5-6-110.3/dmv-data-to-immigration-on-subpoena",
       .violating = {.signer = Party::kIce,
                     .source_system = v1::STATE_DMV,
                     .source_state = "IL",
                     .destination = "ILSOS0000",
                     .data_categories = {v1::ADDRESS},
                     .legal_process = v1::SUBPOENA,
                     .legal_doc = true},
       // A CHRI-only answer is not DMV data.
       .compliant = {.signer = Party::kIce,
                     .source_system = v1::STATE_DMV,
                     .source_state = "IL",
                     .destination = "ILSOS0000",
                     .data_categories = {v1::CHRI},
                     .purpose_code = "C",
                     .legal_process = v1::SUBPOENA,
                     .legal_doc = true}},
      // The Secretary of State's own record of answering local police who
      // declared a civil immigration purpose.
      {.rule = "il-625-ilcs-5-6-110.3/judicial-order-without-document",
       .violating = {.signer = Party::kIlDmv,
                     .role = v1::CUSTODIAN,
                     .requester = Party::kPolice,
                     .source_system = v1::NLETS,
                     .destination = "ILSOS0000",
                     .data_categories = {v1::PHOTO},
                     .declared_purpose = v1::CIVIL_IMMIGRATION,
                     .legal_process = v1::COURT_ORDER},
       .compliant = {.signer = Party::kIlDmv,
                     .role = v1::CUSTODIAN,
                     .requester = Party::kPolice,
                     .source_system = v1::NLETS,
                     .destination = "ILSOS0000",
                     .data_categories = {v1::PHOTO},
                     .declared_purpose = v1::CIVIL_IMMIGRATION,
                     .legal_process = v1::COURT_ORDER,
                     .legal_doc = true}},

      // wa-rcw-43.17.425.json.
      // The Department of Licensing's record of answering ICE: WA data only
      // because the WA custodian signed it.
      {.rule =
           "wa-rcw-43.17.425/dmv-data-to-immigration-without-judicial-order",
       .violating = {.signer = Party::kWaDmv,
                     .role = v1::CUSTODIAN,
                     .requester = Party::kIce,
                     .source_system = v1::NLETS,
                     .destination = "WADOL0000",
                     .data_categories = {v1::ADDRESS}},
       .compliant = {.signer = Party::kWaDmv,
                     .role = v1::CUSTODIAN,
                     .requester = Party::kPolice,
                     .source_system = v1::NLETS,
                     .destination = "WADOL0000",
                     .data_categories = {v1::ADDRESS},
                     .declared_purpose = v1::TRAFFIC}},
      {.rule = "wa-rcw-43.17.425/judicial-order-without-document",
       .violating = {.source_system = v1::STATE_DMV,
                     .source_state = "WA",
                     .destination = "WADOL0000",
                     .declared_purpose = v1::CIVIL_IMMIGRATION,
                     .legal_process = v1::JUDICIAL_WARRANT},
       // Another state's DMV.
       .compliant = {.source_system = v1::STATE_DMV,
                     .source_state = "OR",
                     .destination = "ORDMV0000",
                     .declared_purpose = v1::CIVIL_IMMIGRATION,
                     .legal_process = v1::JUDICIAL_WARRANT}},
  };
  return *rows;
}

// An alert as the tests compare it: (rule, index, agency).
struct Expected {
  std::string rule;
  uint64_t index = 0;
  std::string agency;
};

class MonitorRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Policy> policy = Policy::LoadFiles(PackPaths());
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *std::move(policy);
    Register(police_, "CA");
    Register(ice_, "DC");
    Register(clets_, "CA");
    Register(fbi_, "NY");
    Register(ny_dmv_, "NY");
    Register(il_dmv_, "IL");
    Register(wa_dmv_, "WA");
  }

  [[nodiscard]] const testing::TestAgency& Agency(Party party) const {
    switch (party) {
      case Party::kPolice:
        return police_;
      case Party::kIce:
        return ice_;
      case Party::kClets:
        return clets_;
      case Party::kFbi:
        return fbi_;
      case Party::kNyDmv:
        return ny_dmv_;
      case Party::kIlDmv:
        return il_dmv_;
      case Party::kWaDmv:
        return wa_dmv_;
    }
    return police_;
  }

  // Appends the registration of `agency` in `state`.
  void Register(const testing::TestAgency& agency, const std::string& state) {
    v1::RegistryChange change = testing::RegisterAgency(agency, now_);
    change.mutable_register_()->set_state(state);
    absl::StatusOr<merkle::Ed25519PrivateKey> key =
        merkle::Ed25519PrivateKey::FromSeed(registry_seed_);
    ASSERT_TRUE(key.ok()) << key.status();
    Append(SignRegistryChange(change, *key),
           server::EntryKind::kRegistryChange);
  }

  // Appends `record` signed by `signer`; its index.
  uint64_t Submit(const v1::AccessRecord& record,
                  const testing::TestAgency& signer) {
    Append(SignAccessRecord(record, signer.key),
           server::EntryKind::kAccessRecord);
    return log_.entries().size() - 1;
  }

  // Appends the record `lookup` describes, with id (and correlation id
  // "MCN-<id>") `id`, about an event at `when`; its index.
  uint64_t Submit(const Lookup& lookup, const std::string& id,
                  absl::Time when) {
    const testing::TestAgency& signer = Agency(lookup.signer);
    v1::AccessRecord r = testing::RequesterRecord(signer, id, when);
    r.set_submitter_role(lookup.role);
    r.set_requesting_ori(Agency(lookup.requester.value_or(lookup.signer)).ori);
    r.set_source_system(lookup.source_system);
    r.set_source_state(lookup.source_state);
    r.set_destination(lookup.destination);
    r.set_message_key(lookup.message_key);
    r.clear_data_categories();
    for (v1::DataCategory c : lookup.data_categories) r.add_data_categories(c);
    r.set_purpose_code(lookup.purpose_code);
    r.set_declared_purpose(lookup.declared_purpose);
    r.set_legal_process(lookup.legal_process);
    if (lookup.legal_doc) {
      const std::array<uint8_t, kCommitmentSize> doc =
          Commit(kLegalDocTag, "warrant 24-M-0113").value;
      r.set_legal_doc_commit(std::string(doc.begin(), doc.end()));
    }
    r.set_outcome(lookup.outcome);
    return Submit(r, signer);
  }

  void Append(const v1::SignedPayload& payload, server::EntryKind kind) {
    absl::StatusOr<std::string> entry = EntryOfSignedPayload(payload, kind);
    ASSERT_TRUE(entry.ok()) << entry.status();
    log_.Append(*std::move(entry));
  }

  // Each row's violating and compliant records, now; returns the alerts
  // the violating ones must raise. Sets violating_ and compliant_.
  std::vector<Expected> SeedRules() {
    std::vector<Expected> expected;
    for (size_t i = 0; i < Rows().size(); ++i) {
      const RuleRow& row = Rows()[i];
      const uint64_t bad = Submit(
          row.violating, absl::StrFormat("rule-%02d-violating", i), now_);
      const uint64_t good = Submit(
          row.compliant, absl::StrFormat("rule-%02d-compliant", i), now_);
      violating_[bad] = i;
      compliant_[good] = i;
      expected.push_back({row.rule, bad, Agency(row.violating.signer).ori});
      if (!row.also_raised.empty()) {
        expected.push_back(
            {row.also_raised, bad, Agency(row.violating.signer).ori});
      }
    }
    return expected;
  }

  // Lookups for reconciliation (REQUESTER and SWITCH expected), two hours
  // before now; returns the alerts they must raise.
  std::vector<Expected> SeedLookups() {
    const absl::Time old = now_ - absl::Hours(2);
    // Logged by the requester and the switch.
    v1::AccessRecord both = testing::RequesterRecord(police_, "both-req", old);
    Submit(both, police_);
    Submit(Relayed(both, "both-sw", v1::SWITCH), clets_);
    // Logged by all three parties.
    v1::AccessRecord all = testing::RequesterRecord(police_, "all-req", old);
    all.set_source_system(v1::STATE_DMV);
    all.set_source_state("NY");
    all.set_destination("NYDMV0000");
    Submit(all, police_);
    Submit(Relayed(all, "all-sw", v1::SWITCH), clets_);
    Submit(Relayed(all, "all-dmv", v1::CUSTODIAN), ny_dmv_);
    // Logged by the switch only: the requester did not log it.
    v1::AccessRecord hidden = testing::RequesterRecord(police_, "hidden", old);
    switch_only_ = Submit(Relayed(hidden, "hidden-sw", v1::SWITCH), clets_);
    // Logged by the custodian only.
    v1::AccessRecord direct = all;
    direct.set_correlation_id("MCN-direct");
    custodian_only_ =
        Submit(Relayed(direct, "direct-dmv", v1::CUSTODIAN), ny_dmv_);
    // Logged by the switch only, but within the grace period.
    v1::AccessRecord recent =
        testing::RequesterRecord(police_, "recent", now_ - absl::Minutes(5));
    Submit(Relayed(recent, "recent-sw", v1::SWITCH), clets_);
    return {{kRuleUnreconciled, switch_only_, police_.ori},
            {kRuleUnreconciled, custodian_only_, police_.ori}};
  }

  // `record` as another party logged it.
  static v1::AccessRecord Relayed(v1::AccessRecord record,
                                  const std::string& record_id,
                                  v1::SubmitterRole role) {
    record.set_record_id(record_id);
    record.set_submitter_role(role);
    return record;
  }

  // One run of a fresh monitor with every pack and reconciliation of
  // REQUESTER and SWITCH records, grace 10 minutes.
  absl::StatusOr<MonitorRun> Run() {
    log_.Publish();
    MonitorOptions options;
    options.state_file = dir_.Sub("state.json");
    options.registry_vkey = registry_vkey_;
    options.policy = &policy_;
    options.expected_roles = {v1::REQUESTER, v1::SWITCH};
    options.reconcile_grace = absl::Minutes(10);
    absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
    if (!trust.ok()) return trust.status();
    absl::StatusOr<std::unique_ptr<Monitor>> monitor =
        Monitor::Create(&log_, *std::move(trust), options);
    if (!monitor.ok()) return monitor.status();
    return (*monitor)->RunOnce();
  }

  static std::vector<std::tuple<std::string, uint64_t, std::string>> Triples(
      const std::vector<Expected>& alerts) {
    std::vector<std::tuple<std::string, uint64_t, std::string>> triples;
    triples.reserve(alerts.size());
    for (const Expected& e : alerts) {
      triples.emplace_back(e.rule, e.index, e.agency);
    }
    return triples;
  }
  static std::vector<std::tuple<std::string, uint64_t, std::string>> Triples(
      const std::vector<Alert>& alerts) {
    std::vector<std::tuple<std::string, uint64_t, std::string>> triples;
    triples.reserve(alerts.size());
    for (const Alert& a : alerts)
      triples.emplace_back(a.rule, a.index, a.agency);
    return triples;
  }

  const absl::Time now_ = absl::Now();
  testing::TempDir dir_;
  testing::TileLog log_{kOrigin};
  std::array<uint8_t, 32> registry_seed_ = {9};
  std::string registry_vkey_ =
      merkle::Ed25519Signer::Create("registry", registry_seed_)
          ->verifier()
          .vkey();
  Policy policy_;
  testing::TestAgency police_{"CA0340000", v1::LOCAL_POLICE};
  testing::TestAgency ice_{"DCICE0000", v1::FEDERAL_IMMIGRATION};
  testing::TestAgency clets_{"CA0000001", v1::SWITCH_OPERATOR};
  testing::TestAgency fbi_{"NYFBINY00", v1::FEDERAL_OTHER};
  testing::TestAgency ny_dmv_{"NYDMV0000", v1::DMV_CUSTODIAN};
  testing::TestAgency il_dmv_{"ILSOS0000", v1::DMV_CUSTODIAN};
  testing::TestAgency wa_dmv_{"WADOL0000", v1::DMV_CUSTODIAN};
  // Rows() positions of the records SeedRules appended, by log index.
  std::map<uint64_t, size_t> violating_;
  std::map<uint64_t, size_t> compliant_;
  uint64_t switch_only_ = 0;
  uint64_t custodian_only_ = 0;
};

TEST(MonitorRulesTableTest, HasOneRowForEveryShippedRule) {
  const std::vector<std::string> paths = PackPaths();
  ASSERT_FALSE(paths.empty());
  absl::StatusOr<Policy> policy = Policy::LoadFiles(paths);
  ASSERT_TRUE(policy.ok()) << policy.status();
  std::set<std::string> loaded;
  for (const Rule& rule : policy->rules()) loaded.insert(rule.name);
  std::set<std::string> rows;
  for (const RuleRow& row : Rows()) {
    EXPECT_TRUE(rows.insert(row.rule).second) << "two rows for " << row.rule;
  }
  EXPECT_EQ(loaded, rows) << "each rule of client/policy/*.json needs a row";
  EXPECT_EQ(loaded.size(), 12u);
}

TEST_F(MonitorRulesTest, RaisesExactlyTheExpectedAlerts) {
  std::vector<Expected> expected = SeedRules();
  for (Expected& e : SeedLookups()) expected.push_back(std::move(e));
  absl::StatusOr<MonitorRun> run = Run();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->records, log_.entries().size() - 7);
  EXPECT_EQ(run->registry_changes, 7u);
  EXPECT_THAT(Triples(run->alerts),
              UnorderedElementsAreArray(Triples(expected)));
}

TEST_F(MonitorRulesTest, FlagsEachRuleOnItsViolatingRecordWithItsAgency) {
  SeedRules();
  absl::StatusOr<MonitorRun> run = Run();
  ASSERT_TRUE(run.ok()) << run.status();
  std::map<std::string, const Rule*> rules;
  for (const Rule& rule : policy_.rules()) rules[rule.name] = &rule;
  for (const auto& [index, i] : violating_) {
    const RuleRow& row = Rows()[i];
    SCOPED_TRACE(row.rule);
    std::vector<const Alert*> raised;
    for (const Alert& a : run->alerts) {
      if (a.index == index) raised.push_back(&a);
    }
    ASSERT_EQ(raised.size(), row.also_raised.empty() ? 1u : 2u)
        << "at index " << index;
    if (!row.also_raised.empty()) {
      const Alert& also = *raised[raised[0]->rule == row.rule ? 1 : 0];
      EXPECT_EQ(also.rule, row.also_raised);
      EXPECT_THAT(also.reason, HasSubstr("purpose_code"));
    }
    const Alert& a = *raised[raised[0]->rule == row.rule ? 0 : 1];
    EXPECT_EQ(a.rule, row.rule);
    EXPECT_EQ(a.severity, rules.at(row.rule)->severity);
    EXPECT_EQ(a.agency, Agency(row.violating.signer).ori);
    EXPECT_EQ(a.record_id, absl::StrFormat("rule-%02d-violating", i));
    EXPECT_EQ(a.correlation_id, "MCN-" + a.record_id);
    EXPECT_FALSE(a.reason.empty());
  }
}

TEST_F(MonitorRulesTest, RaisesNothingOnTheCompliantLookAlikes) {
  SeedRules();
  absl::StatusOr<MonitorRun> run = Run();
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(compliant_.size(), Rows().size());
  for (const Alert& a : run->alerts) {
    if (auto it = compliant_.find(a.index); it != compliant_.end()) {
      ADD_FAILURE() << a.rule << " raised on the compliant twin of "
                    << Rows()[it->second].rule << " at index " << a.index
                    << ": " << a.reason;
    }
  }
}

TEST_F(MonitorRulesTest, ReconciliationFlagsOnlyLookupsTheRequesterDidNotLog) {
  const std::vector<Expected> expected = SeedLookups();
  absl::StatusOr<MonitorRun> run = Run();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(Triples(run->alerts),
              UnorderedElementsAreArray(Triples(expected)));
  for (const Alert& a : run->alerts) {
    EXPECT_EQ(a.severity, "violation");
    EXPECT_EQ(a.agency, police_.ori);
    if (a.index == switch_only_) {
      EXPECT_EQ(a.correlation_id, "MCN-hidden");
      EXPECT_EQ(a.record_id, "hidden-sw");
      EXPECT_THAT(a.reason, HasSubstr("has no record by REQUESTER"));
      EXPECT_THAT(a.reason, ::testing::Not(HasSubstr("SWITCH")));
    } else {
      EXPECT_EQ(a.index, custodian_only_);
      EXPECT_EQ(a.correlation_id, "MCN-direct");
      EXPECT_THAT(a.reason, HasSubstr("has no record by REQUESTER, SWITCH"));
    }
  }
  // Reported once: a second run over the same log says nothing.
  run = Run();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->alerts, IsEmpty());
}

TEST_F(MonitorRulesTest, EveryAlertCarriesABundleThatVerifies) {
  SeedRules();
  SeedLookups();
  absl::StatusOr<MonitorRun> run = Run();
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_FALSE(run->alerts.empty());
  absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
  ASSERT_TRUE(trust.ok()) << trust.status();
  for (const Alert& a : run->alerts) {
    SCOPED_TRACE(absl::StrFormat("%s at %d", a.rule, a.index));
    absl::StatusOr<merkle::TlogProof> bundle =
        merkle::ParseTlogProof(a.tlog_proof);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    EXPECT_EQ(bundle->index, a.index);
    EXPECT_TRUE(merkle::VerifyTlogProof(
                    *bundle,
                    merkle::HashLeaf(merkle::AsBytes(log_.entries()[a.index])),
                    trust->Policy())
                    .ok());
    // Not the bundle of a neighbouring entry.
    if (a.index + 1 < log_.entries().size()) {
      EXPECT_FALSE(merkle::VerifyTlogProof(*bundle,
                                           merkle::HashLeaf(merkle::AsBytes(
                                               log_.entries()[a.index + 1])),
                                           trust->Policy())
                       .ok());
    }
  }
}

}  // namespace
}  // namespace vigil::client
