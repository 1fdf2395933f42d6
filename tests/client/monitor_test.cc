#include "client/monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/signing.h"
#include "client/tile_source.h"
#include "client/witness.h"
#include "merkle/tlog_proof.h"
#include "server/files.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_records.h"
#include "tests/testing/testdata.h"
#include "tests/testing/tile_log.h"

namespace vigil::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::vigil::testing::IsError;
using Json = nlohmann::json;

constexpr char kOrigin[] = "vigil.example/monitored";

std::string EntryOf(const v1::SignedPayload& p, server::EntryKind kind) {
  return *EntryOfSignedPayload(p, kind);
}

class MonitorTest : public ::testing::Test {
 protected:
  // Appends the registration of `agency` to the log.
  void Register(const testing::TestAgency& agency) {
    v1::RegistryChange change = testing::RegisterAgency(agency, absl::Now());
    absl::StatusOr<merkle::Ed25519PrivateKey> key =
        merkle::Ed25519PrivateKey::FromSeed(registry_seed_);
    log_.Append(EntryOf(SignRegistryChange(change, *key),
                        server::EntryKind::kRegistryChange));
  }

  void Submit(const v1::AccessRecord& record,
              const testing::TestAgency& agency) {
    log_.Append(EntryOf(SignAccessRecord(record, agency.key),
                        server::EntryKind::kAccessRecord));
  }

  std::unique_ptr<Monitor> NewMonitor(bool records = true) {
    MonitorOptions options;
    options.state_file = dir_.Sub("state.json");
    options.vigil_records = records;
    options.registry_vkey = registry_vkey_;
    options.policy = policy_.has_value() ? &*policy_ : nullptr;
    options.expected_roles = expected_roles_;
    options.reconcile_grace = absl::Minutes(10);
    options.witnesses = witnesses_;
    absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
    EXPECT_TRUE(trust.ok()) << trust.status();
    absl::StatusOr<std::unique_ptr<Monitor>> monitor =
        Monitor::Create(&log_, *std::move(trust), options);
    EXPECT_TRUE(monitor.ok()) << monitor.status();
    return monitor.ok() ? *std::move(monitor) : nullptr;
  }

  std::vector<std::string> Rules(const MonitorRun& run) {
    std::vector<std::string> rules;
    for (const Alert& a : run.alerts) rules.push_back(a.rule);
    return rules;
  }

  testing::TempDir dir_;
  testing::TileLog log_{kOrigin};
  std::array<uint8_t, 32> registry_seed_ = {7};
  std::string registry_vkey_ =
      merkle::Ed25519Signer::Create("registry", registry_seed_)
          ->verifier()
          .vkey();
  std::optional<Policy> policy_;
  std::vector<v1::SubmitterRole> expected_roles_;
  std::vector<MonitorOptions::Witness> witnesses_;
  testing::TestAgency police_{"CA0340000", v1::LOCAL_POLICE};
};

TEST_F(MonitorTest, AuditsACompliantLogAndRaisesNothing) {
  Register(police_);
  for (int i = 0; i < 300; ++i) {
    Submit(testing::RequesterRecord(police_, absl::StrFormat("r-%d", i),
                                    absl::Now()),
           police_);
  }
  log_.Publish();
  std::unique_ptr<Monitor> monitor = NewMonitor();
  absl::StatusOr<MonitorRun> run = monitor->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->checkpoint.size, 301u);
  EXPECT_EQ(run->tree.entries, 301u);
  EXPECT_EQ(run->records, 300u);
  EXPECT_EQ(run->registry_changes, 1u);
  EXPECT_TRUE(run->alerts.empty());
  // Nothing new: a second run audits again and reports nothing.
  run = monitor->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->previous_size, 301u);
}

TEST_F(MonitorTest, FlagsRecordsTheLogShouldHaveRefusedWithBundles) {
  Register(police_);
  testing::TestAgency stranger("CA0990000", v1::LOCAL_POLICE);  // Unregistered.
  Submit(testing::RequesterRecord(stranger, "x-1", absl::Now()), stranger);
  // A requester record naming another agency.
  v1::AccessRecord not_mine =
      testing::RequesterRecord(police_, "x-2", absl::Now());
  not_mine.set_requesting_ori("CA0990000");
  Submit(not_mine, police_);
  // A record whose signature is broken.
  std::string broken = EntryOf(
      SignAccessRecord(testing::RequesterRecord(police_, "x-3", absl::Now()),
                       police_.key),
      server::EntryKind::kAccessRecord);
  broken[40] ^= 0x01;
  log_.Append(broken);
  log_.Append("not an entry");
  log_.Publish();
  absl::StatusOr<MonitorRun> run = NewMonitor()->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(Rules(*run), ElementsAre(kRuleUnregisteredKey, kRuleRoleMismatch,
                                       kRuleBadSignature, kRuleMalformedEntry));
  // Each alert carries a bundle that proves its entry in the checkpoint.
  absl::StatusOr<LogTrust> trust = LogTrust::FromKeys(log_.vkey(), "", {}, 0);
  for (const Alert& a : run->alerts) {
    absl::StatusOr<merkle::TlogProof> bundle =
        merkle::ParseTlogProof(a.tlog_proof);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    EXPECT_EQ(bundle->index, a.index);
    EXPECT_TRUE(merkle::VerifyTlogProof(
                    *bundle,
                    merkle::HashLeaf(merkle::AsBytes(log_.entries()[a.index])),
                    trust->Policy())
                    .ok());
  }
}

TEST_F(MonitorTest, ReportsEachFindingOnceAcrossRuns) {
  Register(police_);
  testing::TestAgency stranger("CA0990000", v1::LOCAL_POLICE);
  Submit(testing::RequesterRecord(stranger, "x-1", absl::Now()), stranger);
  log_.Publish();
  ASSERT_EQ(NewMonitor()->RunOnce()->alerts.size(), 1u);
  Submit(testing::RequesterRecord(stranger, "x-2", absl::Now()), stranger);
  log_.Publish();
  // A new monitor resumes from the state file.
  absl::StatusOr<MonitorRun> run = NewMonitor()->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->alerts.size(), 1u);
  EXPECT_EQ(run->alerts[0].index, 2u);
  EXPECT_EQ(run->previous_size, 2u);
}

// Entries are prepared in chunks of 4,096 on other threads while the next
// chunk is read; judging must still follow log order across chunks.
TEST_F(MonitorTest, JudgesInLogOrderAcrossChunks) {
  Register(police_);
  testing::TestAgency sheriff("CA0350000", v1::LOCAL_POLICE);
  testing::TestAgency rogue("CA0770000", v1::LOCAL_POLICE);
  const auto submit_police = [&](uint64_t up_to) {
    while (log_.entries().size() < up_to) {
      Submit(testing::RequesterRecord(
                 police_, absl::StrFormat("r-%d", log_.entries().size()),
                 absl::Now()),
             police_);
    }
  };
  // The sheriff's record in the third chunk verifies only if its
  // registration in the second chunk was judged first.
  submit_police(4100);
  log_.Append(
      EntryOf(SignRegistryChange(testing::RegisterAgency(rogue, absl::Now()),
                                 rogue.key),
              server::EntryKind::kRegistryChange));
  submit_police(6000);
  Register(sheriff);
  submit_police(8200);
  log_.Append("not an entry");
  submit_police(8300);
  Submit(testing::RequesterRecord(sheriff, "s-1", absl::Now()), sheriff);
  submit_police(8400);
  log_.Publish();
  absl::StatusOr<MonitorRun> run = NewMonitor()->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->tree.entries, 8400u);
  EXPECT_EQ(run->registry_changes, 3u);
  EXPECT_EQ(run->records, 8396u);
  ASSERT_THAT(Rules(*run),
              ElementsAre(kRuleBadRegistryChange, kRuleMalformedEntry));
  EXPECT_EQ(run->alerts[0].index, 4100u);
  EXPECT_EQ(run->alerts[1].index, 8200u);
}

TEST_F(MonitorTest, ARevokedKeyAndARegistryEntryNotByTheOperatorAreFlagged) {
  Register(police_);
  absl::StatusOr<merkle::Ed25519PrivateKey> key =
      merkle::Ed25519PrivateKey::FromSeed(registry_seed_);
  log_.Append(EntryOf(
      SignRegistryChange(testing::RevokeAgency(police_, absl::Now()), *key),
      server::EntryKind::kRegistryChange));
  Submit(testing::RequesterRecord(police_, "late", absl::Now()), police_);
  // An agency registering itself.
  testing::TestAgency rogue("CA0770000", v1::LOCAL_POLICE);
  log_.Append(
      EntryOf(SignRegistryChange(testing::RegisterAgency(rogue, absl::Now()),
                                 rogue.key),
              server::EntryKind::kRegistryChange));
  log_.Publish();
  absl::StatusOr<MonitorRun> run = NewMonitor()->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(Rules(*run),
              ElementsAre(kRuleRevokedKey, kRuleBadRegistryChange));
}

TEST_F(MonitorTest, ARecordIdUsedTwiceByOneKeyIsFlaggedAcrossRuns) {
  testing::TestAgency sheriff("CA0190000", v1::STATE_POLICE);
  Register(police_);
  Register(sheriff);
  const absl::Time t0 = absl::Now() - absl::Minutes(5);
  Submit(testing::RequesterRecord(police_, "r-1", t0), police_);
  // Another agency's key may use the same record_id.
  Submit(testing::RequesterRecord(sheriff, "r-1", t0), sheriff);
  log_.Publish();
  std::unique_ptr<Monitor> monitor = NewMonitor();
  absl::StatusOr<MonitorRun> run = monitor->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->alerts.empty());
  // A later, different record reusing police's "r-1" is flagged, in the
  // run that first sees it, though the first use was audited before.
  Submit(testing::RequesterRecord(police_, "r-1", t0 + absl::Minutes(1)),
         police_);
  Submit(testing::RequesterRecord(police_, "r-2", t0), police_);
  log_.Publish();
  run = monitor->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->alerts.size(), 1u);
  EXPECT_EQ(run->alerts[0].rule, kRuleDuplicateRecordId);
  EXPECT_EQ(run->alerts[0].index, 4u);
  EXPECT_EQ(run->alerts[0].agency, police_.ori);
  EXPECT_EQ(run->alerts[0].record_id, "r-1");
  EXPECT_THAT(run->alerts[0].reason, HasSubstr("already used by this key"));
  // Reported once.
  run = monitor->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->alerts.empty());
}

TEST_F(MonitorTest, ALookupTheRequesterDidNotLogSurfacesThroughTheSwitch) {
  testing::TestAgency clets("CA0000001", v1::SWITCH_OPERATOR);
  Register(police_);
  Register(clets);
  expected_roles_ = {v1::REQUESTER, v1::SWITCH};
  const absl::Time t0 = absl::Now() - absl::Hours(2);
  // Lookup A: both parties logged it. Lookup B: only the switch did.
  v1::AccessRecord a = testing::RequesterRecord(police_, "a-req", t0);
  a.set_correlation_id("CLETS-A");
  Submit(a, police_);
  v1::AccessRecord a_switch = a;
  a_switch.set_record_id("a-sw");
  a_switch.set_submitter_role(v1::SWITCH);
  Submit(a_switch, clets);
  v1::AccessRecord b_switch = a_switch;
  b_switch.set_record_id("b-sw");
  b_switch.set_correlation_id("CLETS-B");
  Submit(b_switch, clets);
  log_.Publish();
  // Within the grace period nothing is said.
  absl::StatusOr<MonitorRun> run = NewMonitor()->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->alerts.empty());
  // Later lookups move the log's time past the grace period.
  Submit(testing::RequesterRecord(police_, "later", absl::Now()), police_);
  log_.Publish();
  run = NewMonitor()->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  // "later" itself has no switch record yet, but it is within the grace.
  ASSERT_EQ(run->alerts.size(), 1u);
  EXPECT_EQ(run->alerts[0].rule, kRuleUnreconciled);
  EXPECT_EQ(run->alerts[0].correlation_id, "CLETS-B");
  EXPECT_THAT(run->alerts[0].reason, HasSubstr("no record by REQUESTER"));
  // Reported once.
  log_.Publish();
  EXPECT_TRUE(NewMonitor()->RunOnce()->alerts.empty());
}

TEST_F(MonitorTest, ARollbackIsCaughtWithEvidence) {
  for (int i = 0; i < 10; ++i) log_.Append(absl::StrFormat("entry %d", i));
  log_.Publish();
  ASSERT_TRUE(NewMonitor(false)->RunOnce().ok());
  const std::string trusted = *log_.Fetch("checkpoint");
  log_.entries().resize(6);
  log_.Publish();
  absl::StatusOr<MonitorRun> run = NewMonitor(false)->RunOnce();
  EXPECT_THAT(run,
              IsError(absl::StatusCode::kFailedPrecondition, "rolled back"));
  const Json evidence = Json::parse(*EvidenceOf(run.status()));
  EXPECT_EQ(evidence["kind"], "rollback");
  EXPECT_EQ(evidence["trusted_checkpoint"], trusted);
}

TEST_F(MonitorTest, AForkedLogIsCaughtWithBothCheckpoints) {
  for (int i = 0; i < 10; ++i) log_.Append(absl::StrFormat("entry %d", i));
  log_.Publish();
  ASSERT_TRUE(NewMonitor(false)->RunOnce().ok());
  const std::string trusted = *log_.Fetch("checkpoint");
  // The same key signs a history where entry 3 differs, and grows it.
  log_.entries()[3] = "entry 3, rewritten";
  for (int i = 10; i < 20; ++i) log_.Append(absl::StrFormat("entry %d", i));
  log_.Publish();
  absl::StatusOr<MonitorRun> run = NewMonitor(false)->RunOnce();
  EXPECT_THAT(run, IsError(absl::StatusCode::kFailedPrecondition,
                           "not the root it signed then"));
  const Json evidence = Json::parse(*EvidenceOf(run.status()));
  EXPECT_EQ(evidence["kind"], "inconsistent-checkpoints");
  EXPECT_EQ(evidence["older_checkpoint"], trusted);
  EXPECT_EQ(evidence["newer_checkpoint"], *log_.Fetch("checkpoint"));

  // Two trees of the same size.
  log_.entries().resize(10);
  log_.Publish();
  run = NewMonitor(false)->RunOnce();
  EXPECT_THAT(run, IsError(absl::StatusCode::kFailedPrecondition,
                           "two different trees of size 10"));
}

// A witness's monitoring view: what it serves, by path.
class FakeWitness final : public TileSource {
 public:
  // Serves `note` as its latest cosigned checkpoint of kOrigin's log.
  void Serve(std::string note) {
    files_[OriginHash(kOrigin) + "/checkpoint"] = std::move(note);
  }
  void Fail() { fail_ = true; }
  absl::StatusOr<std::string> Fetch(std::string_view path) override {
    if (fail_) return absl::UnavailableError("connection refused");
    auto it = files_.find(std::string(path));
    if (it == files_.end()) return absl::NotFoundError("404");
    return it->second;
  }

 private:
  std::map<std::string, std::string> files_;
  bool fail_ = false;
};

TEST_F(MonitorTest, WitnessedCheckpointsAreCrossCheckedWithTheTree) {
  FakeWitness earlier, current, ahead, silent, down, impostor;
  for (int i = 0; i < 15; ++i) log_.Append(absl::StrFormat("entry %d", i));
  log_.Publish();
  ahead.Serve(*log_.Fetch("checkpoint"));
  log_.entries().resize(5);
  log_.Publish();
  earlier.Serve(*log_.Fetch("checkpoint"));
  for (int i = 5; i < 10; ++i) log_.Append(absl::StrFormat("entry %d", i));
  log_.Publish();
  current.Serve(*log_.Fetch("checkpoint"));
  down.Fail();
  testing::TileLog other(kOrigin);  // Another key, same origin.
  other.Publish();
  impostor.Serve(*other.Fetch("checkpoint"));
  witnesses_ = {{"earlier", &earlier}, {"current", &current},
                {"ahead", &ahead},     {"silent", &silent},
                {"down", &down},       {"impostor", &impostor}};

  absl::StatusOr<MonitorRun> run = NewMonitor(false)->RunOnce();
  ASSERT_TRUE(run.ok()) << run.status();
  std::vector<std::string> outcomes;
  for (const WitnessView& w : run->witnesses) {
    outcomes.push_back(
        absl::StrFormat("%s %d %s", w.name, w.size.value_or(99),
                        w.outcome.substr(0, w.outcome.find(':'))));
  }
  EXPECT_THAT(outcomes,
              ElementsAre("earlier 5 consistent", "current 10 consistent",
                          "ahead 15 ahead", "silent 99 none",
                          "down 99 unavailable", "impostor 99 invalid"));
}

TEST_F(MonitorTest, ALogShowingAWitnessAnotherTreeIsCaughtWithBoth) {
  for (int i = 0; i < 10; ++i) log_.Append(absl::StrFormat("entry %d", i));
  // The log has a witness cosign a tree where entry 3 differs...
  log_.entries()[3] = "entry 3, as the witness was shown";
  log_.Publish();
  const std::string shown = *log_.Fetch("checkpoint");
  FakeWitness witness;
  witness.Serve(shown);
  witnesses_ = {{"witness", &witness}};
  // ...and serves the monitor the real one, grown: a split view.
  log_.entries()[3] = "entry 3";
  for (int i = 10; i < 12; ++i) log_.Append(absl::StrFormat("entry %d", i));
  log_.Publish();
  absl::StatusOr<MonitorRun> run = NewMonitor(false)->RunOnce();
  EXPECT_THAT(run, IsError(absl::StatusCode::kFailedPrecondition,
                           "showed witness witness a tree of size 10"));
  const Json evidence = Json::parse(*EvidenceOf(run.status()));
  EXPECT_EQ(evidence["kind"], "fork");
  EXPECT_EQ(evidence["witnessed_checkpoint"], shown);
  EXPECT_EQ(evidence["checkpoint"], *log_.Fetch("checkpoint"));

  // Same size, different roots: caught before any entry is read.
  log_.entries().resize(10);
  log_.Publish();
  EXPECT_THAT(NewMonitor(false)->RunOnce(),
              IsError(absl::StatusCode::kFailedPrecondition, "size 10"));
}

TEST_F(MonitorTest, ACorruptedTileIsCaughtWithEvidence) {
  for (int i = 0; i < 600; ++i) log_.Append(absl::StrFormat("entry %d", i));
  log_.Publish();
  log_.files()["tile/0/001"][5] ^= 0x01;
  absl::StatusOr<MonitorRun> run = NewMonitor(false)->RunOnce();
  EXPECT_THAT(run, IsError(absl::StatusCode::kDataLoss, "tile/0/001"));
  EXPECT_EQ(Json::parse(*EvidenceOf(run.status()))["kind"], "corrupted-log");
  // Nothing was saved: a fixed log audits clean.
  log_.Publish();
  EXPECT_TRUE(NewMonitor(false)->RunOnce().ok());
}

TEST_F(MonitorTest, TheTreeAuditPassesOnTheReferenceLogAndFailsOnAnyChange) {
  const std::filesystem::path reference =
      testing::TestdataPath("reference-log/log");
  absl::StatusOr<std::string> vkey =
      testing::ReadTestdata("reference-log/log.vkey");
  ASSERT_TRUE(vkey.ok()) << vkey.status();
  auto run_on = [&](const std::filesystem::path& dir) {
    DirectoryTileSource source(dir);
    MonitorOptions options;
    options.state_file = dir_.Sub("ref-state.json");
    options.vigil_records = false;
    std::filesystem::remove(options.state_file);
    absl::StatusOr<LogTrust> trust =
        LogTrust::FromKeys(vkey->substr(0, vkey->find('\n')), "", {}, 0);
    EXPECT_TRUE(trust.ok()) << trust.status();
    absl::StatusOr<std::unique_ptr<Monitor>> monitor =
        Monitor::Create(&source, *std::move(trust), options);
    EXPECT_TRUE(monitor.ok()) << monitor.status();
    return (*monitor)->RunOnce();
  };
  absl::StatusOr<MonitorRun> run = run_on(reference);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_GT(run->tree.entries, 0u);

  const std::filesystem::path copy = dir_.path() / "copy";
  std::filesystem::copy(reference, copy,
                        std::filesystem::copy_options::recursive);
  for (const auto& file : std::filesystem::recursive_directory_iterator(copy)) {
    if (!file.is_regular_file()) continue;
    const std::string path = file.path().string();
    std::string bytes = *server::ReadFile(path);
    if (bytes.empty()) continue;
    bytes[bytes.size() / 2] ^= 0x01;
    ASSERT_TRUE(server::WriteFileAtomically(path, bytes).ok());
    EXPECT_FALSE(run_on(copy).ok()) << "a changed byte in " << path;
    bytes[bytes.size() / 2] ^= 0x01;
    ASSERT_TRUE(server::WriteFileAtomically(path, bytes).ok());
  }
}

}  // namespace
}  // namespace vigil::client
