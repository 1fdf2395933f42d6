// End-to-end tests of the `vigil` tool against the real vigil-server: an
// agency registers, records, submits; a court proves and verifies offline;
// every kind of tampering is refused with its own reason; a log that forks
// or rolls back is caught by the client's trusted state, with evidence.
// Both binaries run as child processes on 127.0.0.1 with free ports, in a
// temporary directory that is removed afterwards.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/note.h"
#include "merkle/tlog_proof.h"
#include "server/files.h"
#include "server/http_listener.h"
#include "tests/testing/server_process.h"
#include "tests/testing/witness_process.h"

namespace vigil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr char kOrigin[] = "vigil.example/cli-e2e";
constexpr char kOri[] = "CA0349400";
constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kError = 2;
constexpr int kRefused = 3;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteAll(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// The non-empty lines of `text`.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// The last line of `output` that is a JSON object.
Json LastJson(const std::string& output) {
  Json last;
  for (const std::string& line : Lines(output)) {
    if (line.starts_with("{")) last = Json::parse(line, nullptr, false);
  }
  return last;
}

class CliE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Run({VIGIL_SERVER_BINARY, "keygen", "--dir", Path("keys"),
                   "--origin", kOrigin})
                  .exit_code,
              kOk);
    for (const auto& [kind, name, prefix] :
         std::vector<std::array<std::string, 3>>{
             {"agency", kOri, "keys/agency"},
             {"agency", "CA0190000", "keys/other-agency"},
             {"witness", "w1.example", "keys/w1"},
             {"witness", "w2.example", "keys/w2"}}) {
      const testing::CommandResult r = Vigil(
          {"keygen", "--kind", kind, "--name", name, "--out", Path(prefix)});
      ASSERT_EQ(r.exit_code, kOk) << r.output;
    }
    StartServer("db");
    Register("keys/agency.vkey", "LOCAL_POLICE");
  }

  void TearDown() override {
    server_.Kill();
    EXPECT_THAT(server_.Log(), Not(HasSubstr("Sanitizer")));
  }

  std::string Path(const std::string& name) const { return dir_.Sub(name); }

  static testing::CommandResult Run(const std::vector<std::string>& argv) {
    absl::StatusOr<testing::CommandResult> r =
        testing::RunCommand(argv, absl::Seconds(60));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : testing::CommandResult{};
  }

  static testing::CommandResult Vigil(std::vector<std::string> args) {
    args.insert(args.begin(), VIGIL_CLI_BINARY);
    return Run(args);
  }

  // The flags that reach and trust the log, with this test's state file.
  std::vector<std::string> Log(const std::string& state = "state") const {
    return {"--server",  server_.grpc_address(),
            "--log-key", Path("keys/log.vkey"),
            "--state",   Path(state)};
  }

  testing::CommandResult VigilAt(std::vector<std::string> args,
                                 const std::string& state = "state") const {
    for (const std::string& flag : Log(state)) args.push_back(flag);
    return Vigil(args);
  }

  void StartServer(const std::string& db, bool http = false,
                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"serve",
                                     "--grpc-address",
                                     "127.0.0.1:0",
                                     "--http-address",
                                     http ? "127.0.0.1:0" : "",
                                     "--data-dir",
                                     Path(db),
                                     "--log-key-file",
                                     Path("keys/log.skey"),
                                     "--registry-key-file",
                                     Path("keys/registry.vkey"),
                                     "--checkpoint-interval",
                                     "50ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(
        server_.Start(VIGIL_SERVER_BINARY, args, /*expect_http=*/http).ok())
        << server_.Log();
  }

  void Register(const std::string& vkey, const std::string& agency_class) {
    const testing::CommandResult r = VigilAt(
        {"registry", "register", "--registry-key", Path("keys/registry.skey"),
         "--agency-key", Path(vkey), "--class", agency_class, "--agency-name",
         "Test agency", "--agency-state", "CA"});
    ASSERT_EQ(r.exit_code, kOk) << r.output;
  }

  // `vigil record` for one lookup, appended to records.jsonl.
  testing::CommandResult Record(const std::string& id,
                                const std::string& subject) {
    return Vigil({"record",
                  "--key",
                  Path("keys/agency.skey"),
                  "--openings",
                  Path("openings.jsonl"),
                  "--out",
                  Path("records.jsonl"),
                  "--record-id",
                  id,
                  "--role",
                  "REQUESTER",
                  "--correlation-id",
                  "CLETS-" + id,
                  "--event-time",
                  "now",
                  "--requesting-ori",
                  kOri,
                  "--operator",
                  "badge 4711",
                  "--source-system",
                  "CLETS",
                  "--destination",
                  "CA",
                  "--message-key",
                  "DQ",
                  "--category",
                  "DMV_PII",
                  "--category",
                  "ADDRESS",
                  "--declared-purpose",
                  "CRIMINAL_INVESTIGATION",
                  "--legal-process",
                  "NONE",
                  "--subject",
                  subject,
                  "--case-ref",
                  "case 2026-17",
                  "--outcome",
                  "HIT"});
  }

  // A CSV of `n` record descriptions of this agency's lookups.
  std::string WriteCsv(const std::string& name, int n,
                       const std::string& extra_rows = "") const {
    const int64_t now = absl::ToUnixMillis(absl::Now()) / 10;
    std::string csv =
        "record_id,submitter_role,correlation_id,event_time_centis,"
        "requesting_ori,operator,source_system,destination,message_key,"
        "data_categories,declared_purpose,legal_process,subject,outcome\n";
    for (int i = 0; i < n; ++i) {
      csv += absl::StrFormat(
          "%s-%d,REQUESTER,NLETS-%d,%d,%s,badge %d,NLETS,NY,DQ,"
          "DMV_PII;PHOTO,CRIMINAL_INVESTIGATION,JUDICIAL_WARRANT,"
          "NY ID %07d,HIT\n",
          name, i, i, now - i, kOri, i % 3, i);
    }
    csv += extra_rows;
    WriteAll(Path(name + ".csv"), csv);
    return Path(name + ".csv");
  }

  // Records, submits and proves one record; the court's files are
  // court.entry and court.tlog-proof.
  void ProveOneRecord() {
    const testing::CommandResult recorded = Record("r-1", "CA DL D1234567");
    ASSERT_EQ(recorded.exit_code, kOk) << recorded.output;
    const testing::CommandResult submitted =
        VigilAt({"submit", Path("records.jsonl"), "--wait"});
    ASSERT_EQ(submitted.exit_code, kOk) << submitted.output;
    const testing::CommandResult proved =
        VigilAt({"prove", "--record", Path("records.jsonl"), "--out",
                 Path("court.tlog-proof"), "--entry-out", Path("court.entry")});
    ASSERT_EQ(proved.exit_code, kOk) << proved.output;
  }

  // `vigil verify` of court.tlog-proof with `extra` flags.
  testing::CommandResult Verify(const std::vector<std::string>& extra,
                                const std::string& bundle = "court.tlog-proof",
                                const std::string& entry = "court.entry") {
    std::vector<std::string> args = {"verify", Path(bundle), "--entry",
                                     Path(entry)};
    bool has_log_key = false;
    for (const std::string& e : extra) has_log_key |= e == "--log-key";
    if (!has_log_key) {
      args.push_back("--log-key");
      args.push_back(Path("keys/log.vkey"));
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return Vigil(args);
  }

  testing::TempDir dir_;
  testing::ServerProcess server_{dir_.Sub("server.log")};
};

TEST_F(CliE2ETest, RecordSubmitProveVerifyConvincesACourt) {
  ProveOneRecord();
  const testing::CommandResult r =
      Verify({"--agency-key", Path("keys/agency.vkey"), "--openings",
              Path("openings.jsonl")});
  ASSERT_EQ(r.exit_code, kOk) << r.output;
  EXPECT_THAT(r.output, HasSubstr("verified: entry"));
  EXPECT_THAT(r.output, HasSubstr(absl::StrFormat("the key of %s", kOri)));
  EXPECT_THAT(r.output,
              HasSubstr("subject commitment opens to \"CA DL D1234567\""));
  EXPECT_THAT(r.output, HasSubstr("case_ref commitment opens to"));

  // The same, for a script: the JSON names what was proven.
  const Json json = LastJson(
      Verify({"--agency-key", Path("keys/agency.vkey"), "--json"}).output);
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json["ok"], true);
  EXPECT_EQ(json["record_id"], "r-1");
  EXPECT_EQ(json["requesting_ori"], kOri);
  EXPECT_EQ(json["origin"], kOrigin);
  // The openings never left the agency: the log holds only commitments.
  EXPECT_THAT(ReadAll(Path("court.entry")), Not(HasSubstr("D1234567")));
  struct stat info {};
  ASSERT_EQ(stat(Path("openings.jsonl").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
}

TEST_F(CliE2ETest, EachTamperingFailsWithItsOwnReason) {
  ProveOneRecord();
  ASSERT_EQ(Verify({}).exit_code, kOk);
  const std::string bundle = ReadAll(Path("court.tlog-proof"));
  const std::string entry = ReadAll(Path("court.entry"));

  // One byte of the record.
  std::string changed = entry;
  changed[changed.size() - 5] ^= 0x01;
  WriteAll(Path("changed.entry"), changed);
  testing::CommandResult r = Verify({}, "court.tlog-proof", "changed.entry");
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("record: the record's signature does not"));

  // One proof hash.
  absl::StatusOr<merkle::TlogProof> proof = merkle::ParseTlogProof(bundle);
  ASSERT_TRUE(proof.ok()) << proof.status();
  ASSERT_FALSE(proof->inclusion.empty());
  merkle::TlogProof bad_proof = *proof;
  bad_proof.inclusion.back()[7] ^= 0x80;
  WriteAll(Path("bad-hash.tlog-proof"), *merkle::MarshalTlogProof(bad_proof));
  r = Verify({}, "bad-hash.tlog-proof");
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("step 4 (inclusion)"));

  // The checkpoint's signature.
  merkle::TlogProof bad_signature = *proof;
  absl::StatusOr<merkle::SignedNote> note =
      merkle::ParseSignedNote(proof->checkpoint);
  ASSERT_TRUE(note.ok()) << note.status();
  note->signatures[0].signature[3] ^= 0x01;
  bad_signature.checkpoint = *merkle::FormatSignedNote(*note);
  WriteAll(Path("bad-sig.tlog-proof"),
           *merkle::MarshalTlogProof(bad_signature));
  r = Verify({}, "bad-sig.tlog-proof");
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("step 2 (log signature): signature by"));
  EXPECT_THAT(r.output, HasSubstr("does not verify"));

  // The wrong log key: the registry's key is a fine key, but not the log's.
  r = Verify({"--log-key", Path("keys/registry.vkey"), "--origin", kOrigin});
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("step 2 (log signature): note has 1 "
                                  "signatures, none by any of the 1 known"));

  // A missing witness quorum.
  r = Verify({"--witness-key", Path("keys/w1.vkey")});
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("step 3 (witness cosignatures): 0 of 1"));

  // A wrong opening: the right opening for another value.
  absl::StatusOr<std::string> openings =
      server::ReadFile(Path("openings.jsonl"));
  ASSERT_TRUE(openings.ok());
  const Json line = Json::parse(openings->substr(0, openings->find('\n')));
  std::string subject_opening;
  for (const Json& o : line["openings"]) {
    if (o["field"] == "subject") subject_opening = o["opening"];
  }
  ASSERT_FALSE(subject_opening.empty());
  r = Verify({"--field", "subject", "--value", "CA DL D7654321", "--opening",
              subject_opening});
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("opening: the opening and value given do "
                                  "not open the record's subject"));
  EXPECT_EQ(Verify({"--field", "subject", "--value", "CA DL D1234567",
                    "--opening", subject_opening})
                .exit_code,
            kOk);

  // Another agency's key.
  r = Verify({"--agency-key", Path("keys/other-agency.vkey")});
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("agency key: the record was signed by key"));
}

TEST_F(CliE2ETest, WitnessQuorumIsCountedFromRealCosignatures) {
  ProveOneRecord();
  // Witness w1 cosigns the checkpoint in the bundle; w2 does not.
  absl::StatusOr<merkle::TlogProof> proof =
      merkle::ParseTlogProof(ReadAll(Path("court.tlog-proof")));
  ASSERT_TRUE(proof.ok()) << proof.status();
  absl::StatusOr<std::string> skey = server::ReadFile(Path("keys/w1.skey"));
  ASSERT_TRUE(skey.ok());
  absl::StatusOr<merkle::Cosigner> w1 =
      merkle::Cosigner::FromSignerKey(skey->substr(0, skey->find('\n')));
  ASSERT_TRUE(w1.ok()) << w1.status();
  absl::StatusOr<merkle::SignedNote> note =
      merkle::ParseSignedNote(proof->checkpoint);
  ASSERT_TRUE(note.ok());
  absl::StatusOr<merkle::NoteSignature> cosignature =
      w1->Cosign(note->text, absl::ToUnixSeconds(absl::Now()));
  ASSERT_TRUE(cosignature.ok()) << cosignature.status();
  const merkle::NoteSignature lines[] = {*cosignature};
  proof->checkpoint = *merkle::AddSignatureLines(proof->checkpoint, lines);
  WriteAll(Path("cosigned.tlog-proof"), *merkle::MarshalTlogProof(*proof));

  testing::CommandResult r =
      Verify({"--witness-key", Path("keys/w1.vkey"), "--witness-key",
              Path("keys/w2.vkey"), "--quorum", "1"},
             "cosigned.tlog-proof");
  EXPECT_EQ(r.exit_code, kOk) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cosigned by witness w1.example"));
  r = Verify({"--witness-key", Path("keys/w1.vkey"), "--witness-key",
              Path("keys/w2.vkey")},
             "cosigned.tlog-proof");
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("1 of 2 witnesses cosigned, need 2"));
}

TEST_F(CliE2ETest, SubmittingTheSameFileTwiceAppendsNothingNew) {
  const std::string csv = WriteCsv("batch", 300);
  const std::vector<std::string> submit = {
      "submit",     csv,
      "--key",      Path("keys/agency.skey"),
      "--openings", Path("openings.jsonl"),
      "--wait",     "--batch-size",
      "64",         "--json"};
  testing::CommandResult first = VigilAt(submit);
  ASSERT_EQ(first.exit_code, kOk) << first.output;
  const Json first_summary = LastJson(first.output)["summary"];
  EXPECT_EQ(first_summary["appended"], 300);
  const Json before = LastJson(VigilAt({"checkpoint", "--json"}).output);
  ASSERT_TRUE(before.is_object());

  testing::CommandResult second = VigilAt(submit);
  ASSERT_EQ(second.exit_code, kOk) << second.output;
  const Json summary = LastJson(second.output)["summary"];
  EXPECT_EQ(summary["appended"], 0);
  EXPECT_EQ(summary["duplicates"], 300);
  // Each record is reported at the index it got the first time.
  std::map<std::string, uint64_t> first_index;
  for (const std::string& line : Lines(first.output)) {
    const Json r = Json::parse(line, nullptr, false);
    if (r.is_object() && r.contains("index")) {
      first_index[r["record_id"]] = r["index"];
    }
  }
  int duplicates = 0;
  for (const std::string& line : Lines(second.output)) {
    const Json r = Json::parse(line, nullptr, false);
    if (!r.is_object() || !r.contains("index")) continue;
    EXPECT_EQ(r["duplicate"], true);
    EXPECT_EQ(r["index"], first_index[r["record_id"]]);
    ++duplicates;
  }
  EXPECT_EQ(duplicates, 300);
  absl::SleepFor(absl::Milliseconds(200));  // Four checkpoint intervals.
  const Json after = LastJson(VigilAt({"checkpoint", "--json"}).output);
  EXPECT_EQ(after["size"], before["size"]);
  EXPECT_EQ(after["root"], before["root"]);
}

TEST_F(CliE2ETest, SubmitReportsEveryRefusedRecordByItsLine) {
  const std::string csv = WriteCsv(
      "mixed", 20,
      // Line 22: an enum that does not exist. Line 23: a requester record
      // naming another agency, which the log refuses for this signer.
      absl::StrFormat("bad-enum,REQUESTER,X-1,%d,%s,b,CLETS,CA,DQ,DMV_PII,"
                      "HUNTING,NONE,s,HIT\n"
                      "not-mine,REQUESTER,X-2,%d,CA0190000,b,CLETS,CA,DQ,"
                      "DMV_PII,CRIMINAL_INVESTIGATION,NONE,s,HIT\n",
                      absl::ToUnixMillis(absl::Now()) / 10, kOri,
                      absl::ToUnixMillis(absl::Now()) / 10));
  const testing::CommandResult r =
      VigilAt({"submit", csv, "--key", Path("keys/agency.skey"), "--openings",
               Path("openings.jsonl"), "--results", Path("results.jsonl")});
  EXPECT_EQ(r.exit_code, kRefused) << r.output;
  EXPECT_THAT(r.output, HasSubstr("22 records: 20 appended, 0 already in "
                                  "the log, 2 refused, 0 not sent"));
  std::map<int, Json> by_line;
  for (const std::string& line : Lines(ReadAll(Path("results.jsonl")))) {
    const Json j = Json::parse(line);
    by_line[j["line"].get<int>()] = j;
  }
  ASSERT_EQ(by_line.size(), 22u);
  EXPECT_EQ(by_line[2]["status"], "OK");
  EXPECT_EQ(by_line[22]["status"], "INVALID_ARGUMENT");
  EXPECT_THAT(by_line[22]["error"].get<std::string>(),
              HasSubstr("declared_purpose"));
  EXPECT_EQ(by_line[23]["status"], "PERMISSION_DENIED");
  EXPECT_THAT(by_line[23]["error"].get<std::string>(),
              HasSubstr("requesting_ori"));
}

TEST_F(CliE2ETest, SubmitTakesSignedRecordsAndDescriptionsInJsonLines) {
  ASSERT_EQ(Record("signed-1", "CA DL D1").exit_code, kOk);
  std::string jsonl = ReadAll(Path("records.jsonl"));
  jsonl += absl::StrFormat(
      R"({"record_id": "described-1", "submitter_role": "REQUESTER", )"
      R"("correlation_id": "N-1", "event_time": "%s", )"
      R"("requesting_ori": "%s", "operator": "badge 1", )"
      R"("source_system": "STATE_DMV", "source_state": "NY", )"
      R"("destination": "NY", "message_key": "DQ", )"
      R"("data_categories": ["DMV_PII"], "declared_purpose": "TRAFFIC", )"
      R"("legal_process": "NONE", "subject": "NY ID 1", "outcome": "NO_HIT"})"
      "\n",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E2SZ", absl::Now(),
                       absl::UTCTimeZone()),
      kOri);
  WriteAll(Path("mixed.jsonl"), jsonl);
  // A description cannot be signed without the agency's key.
  testing::CommandResult r = VigilAt({"submit", Path("mixed.jsonl")});
  EXPECT_EQ(r.exit_code, kRefused) << r.output;
  EXPECT_THAT(r.output, HasSubstr("needs --key"));
  r = VigilAt({"submit", Path("mixed.jsonl"), "--key", Path("keys/agency.skey"),
               "--openings", Path("openings.jsonl"), "--progress", "always"});
  EXPECT_EQ(r.exit_code, kOk) << r.output;
  EXPECT_THAT(r.output, HasSubstr("2 records: 1 appended, 1 already"));
  EXPECT_THAT(r.output, HasSubstr("] 2/2 records"));  // The progress bar.
}

TEST_F(CliE2ETest, ALogThatForksOrRollsBackIsCaughtWithEvidence) {
  ASSERT_EQ(
      VigilAt({"submit", WriteCsv("a", 10), "--key", Path("keys/agency.skey"),
               "--openings", Path("openings.jsonl"), "--wait"})
          .exit_code,
      kOk);
  testing::CommandResult trusted = VigilAt({"checkpoint"});
  ASSERT_EQ(trusted.exit_code, kOk) << trusted.output;
  const std::string state = ReadAll(Path("state"));
  ASSERT_THAT(state, HasSubstr("\n11\n"));  // Registration + 10 records.

  // The same log key signs another history: 1 + 20 other records.
  server_.Kill();
  StartServer("forked-db");
  Register("keys/agency.vkey", "LOCAL_POLICE");
  ASSERT_EQ(
      VigilAt({"submit", WriteCsv("b", 20), "--key", Path("keys/agency.skey"),
               "--openings", Path("openings.jsonl"), "--wait"},
              "fresh-state")
          .exit_code,
      kOk);
  testing::CommandResult r =
      VigilAt({"checkpoint", "--evidence-out", Path("fork.json")});
  EXPECT_EQ(r.exit_code, kFailed) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sizes 11 and 21 are not consistent"));
  Json evidence = Json::parse(ReadAll(Path("fork.json")), nullptr, false);
  ASSERT_TRUE(evidence.is_object());
  EXPECT_EQ(evidence["kind"], "inconsistent-checkpoints");
  EXPECT_EQ(evidence["older_checkpoint"], state);
  EXPECT_THAT(evidence["newer_checkpoint"].get<std::string>(),
              HasSubstr("\n21\n"));
  EXPECT_EQ(evidence["consistency_proof"]["old_size"], 11);
  EXPECT_EQ(ReadAll(Path("state")), state);  // Still the trusted one.

  // The same key, and a shorter history.
  server_.Kill();
  StartServer("short-db");
  Register("keys/agency.vkey", "LOCAL_POLICE");
  absl::SleepFor(absl::Milliseconds(200));
  r = VigilAt({"checkpoint", "--evidence-out", Path("rollback.json")});
  EXPECT_EQ(r.exit_code, kFailed) << r.output;
  EXPECT_THAT(r.output, HasSubstr("rolled back"));
  evidence = Json::parse(ReadAll(Path("rollback.json")), nullptr, false);
  EXPECT_EQ(evidence["kind"], "rollback");
  EXPECT_EQ(evidence["trusted_checkpoint"], state);
  EXPECT_EQ(ReadAll(Path("state")), state);
}

TEST_F(CliE2ETest, AnUnreachableLogIsAnErrorNotARefusal) {
  ASSERT_EQ(Record("r-1", "CA DL D1").exit_code, kOk);
  server_.Kill();
  const testing::CommandResult r = VigilAt(
      {"submit", Path("records.jsonl"), "--attempts", "2", "--timeout", "2"});
  EXPECT_EQ(r.exit_code, kError) << r.output;
  EXPECT_THAT(r.output, HasSubstr("0 refused, 1 not sent"));
}

TEST_F(CliE2ETest, AMonitorFlagsAnImmigrationLookupOfDmvDataOverClets) {
  server_.Kill();
  StartServer("monitored-db", /*http=*/true);
  Register("keys/agency.vkey", "LOCAL_POLICE");
  ASSERT_EQ(Vigil({"keygen", "--kind", "agency", "--name", "DCICE0000", "--out",
                   Path("keys/ice")})
                .exit_code,
            kOk);
  Register("keys/ice.vkey", "FEDERAL_IMMIGRATION");
  // A compliant lookup by the police, then ICE reading DMV data over CLETS.
  ASSERT_EQ(Record("police-1", "CA DL D1").exit_code, kOk);
  const testing::CommandResult ice = Vigil({"record",
                                            "--key",
                                            Path("keys/ice.skey"),
                                            "--openings",
                                            Path("ice-openings.jsonl"),
                                            "--out",
                                            Path("records.jsonl"),
                                            "--record-id",
                                            "ice-1",
                                            "--role",
                                            "REQUESTER",
                                            "--correlation-id",
                                            "CLETS-ICE-1",
                                            "--event-time",
                                            "now",
                                            "--requesting-ori",
                                            "DCICE0000",
                                            "--operator",
                                            "agent 7",
                                            "--source-system",
                                            "CLETS",
                                            "--destination",
                                            "CA",
                                            "--message-key",
                                            "DQ",
                                            "--category",
                                            "DMV_PII",
                                            "--category",
                                            "ADDRESS",
                                            "--declared-purpose",
                                            "CIVIL_IMMIGRATION",
                                            "--legal-process",
                                            "ADMINISTRATIVE_WARRANT",
                                            "--subject",
                                            "CA DL D2",
                                            "--outcome",
                                            "HIT"});
  ASSERT_EQ(ice.exit_code, kOk) << ice.output;
  ASSERT_EQ(VigilAt({"submit", Path("records.jsonl"), "--wait"}).exit_code,
            kOk);

  const std::string policy = std::filesystem::path(__FILE__)
                                 .parent_path()
                                 .parent_path()
                                 .parent_path() /
                             "client/policy/ca-clets-sb54.json";
  const std::vector<std::string> monitor = {"monitor",
                                            "--log-url",
                                            "http://" + server_.http_address(),
                                            "--log-key",
                                            Path("keys/log.vkey"),
                                            "--registry-key",
                                            Path("keys/registry.vkey"),
                                            "--policy",
                                            policy,
                                            "--state",
                                            Path("monitor.json"),
                                            "--alerts",
                                            Path("alerts.jsonl")};
  testing::CommandResult r = Vigil(monitor);
  EXPECT_EQ(r.exit_code, kRefused) << r.output;  // 3: alerts raised.
  const std::vector<std::string> alerts = Lines(ReadAll(Path("alerts.jsonl")));
  ASSERT_EQ(alerts.size(), 1u) << r.output;
  const Json alert = Json::parse(alerts[0]);
  EXPECT_EQ(alert["rule"], "ca-sb54/clets-non-chri-to-immigration");
  EXPECT_EQ(alert["agency"], "DCICE0000");
  EXPECT_EQ(alert["record_id"], "ice-1");
  // The alert's bundle convinces a court, with the entry from the log.
  WriteAll(Path("alert.tlog-proof"), alert["tlog_proof"]);
  ASSERT_EQ(
      VigilAt({"prove", "--index", std::to_string(alert["index"].get<int>()),
               "--out", Path("ignored.tlog-proof"), "--entry-out",
               Path("alert.entry")})
          .exit_code,
      kOk);
  r = Verify({"--agency-key", Path("keys/ice.vkey")}, "alert.tlog-proof",
             "alert.entry");
  EXPECT_EQ(r.exit_code, kOk) << r.output;
  EXPECT_THAT(r.output, HasSubstr("CIVIL_IMMIGRATION"));

  // Nothing new: a second run raises nothing and exits 0.
  r = Vigil(monitor);
  EXPECT_EQ(r.exit_code, kOk) << r.output;
  EXPECT_EQ(Lines(ReadAll(Path("alerts.jsonl"))).size(), 1u);
}

// The whole watch: a log that publishes only what two witnesses (2 of 2)
// cosigned, a court that counts their cosignatures, and a monitor that
// cross-checks each witness's view with the tree it audits.
TEST_F(CliE2ETest,
       TwoWitnessesCosignEveryPublishedCheckpointAndAMonitorAgrees) {
  testing::WitnessProcess witnesses[2];
  std::string settings[2];
  for (int i = 0; i < 2; ++i) {
    const std::string name = absl::StrFormat("keys/w%d", i + 1);
    ASSERT_TRUE(witnesses[i]
                    .Start(VIGIL_CLI_BINARY,
                           {"--key", Path(name + ".skey"), "--log-key",
                            Path("keys/log.vkey"), "--state-dir",
                            Path(name + "-state"), "--listen", "127.0.0.1:0"})
                    .ok())
        << witnesses[i].output();
    settings[i] = absl::StrFormat("%s %s", ReadAll(Path(name + ".vkey")),
                                  witnesses[i].url());
    // The key file ends in a newline; the setting is one line.
    settings[i].erase(settings[i].find('\n'), 1);
  }
  server_.Kill();
  StartServer("witnessed-db", /*http=*/true,
              {"--witnesses", settings[0], "--witnesses", settings[1],
               "--witness-quorum", "2", "--witness-timeout", "5s"});
  Register("keys/agency.vkey", "LOCAL_POLICE");
  const std::vector<std::string> both = {"--witness-key", Path("keys/w1.vkey"),
                                         "--witness-key", Path("keys/w2.vkey"),
                                         "--quorum",      "2"};
  auto with_both = [&](std::vector<std::string> args) {
    args.insert(args.end(), both.begin(), both.end());
    return args;
  };

  // A record, acknowledged once in a checkpoint both witnesses cosigned.
  ProveOneRecord();
  testing::CommandResult r = Verify(both);
  EXPECT_EQ(r.exit_code, kOk) << r.output;
  EXPECT_THAT(r.output, HasSubstr("cosigned by witness w1.example"));
  EXPECT_THAT(r.output, HasSubstr("cosigned by witness w2.example"));
  r = VigilAt(with_both({"checkpoint", "--json"}), "state-quorum");
  ASSERT_EQ(r.exit_code, kOk) << r.output;
  const uint64_t cosigned_size = LastJson(r.output)["size"].get<uint64_t>();
  EXPECT_EQ(cosigned_size, 2u);

  const std::vector<std::string> monitor = with_both(
      {"monitor", "--log-url", "http://" + server_.http_address(), "--log-key",
       Path("keys/log.vkey"), "--registry-key", Path("keys/registry.vkey"),
       "--state", Path("monitor.json"), "--witness-url", witnesses[0].url(),
       "--witness-url", witnesses[1].url(), "--json"});
  r = Vigil(monitor);
  EXPECT_EQ(r.exit_code, kOk) << r.output;
  Json report = LastJson(r.output);
  ASSERT_EQ(report["witnesses"].size(), 2u) << r.output;
  for (const Json& w : report["witnesses"]) {
    EXPECT_EQ(w["outcome"], "consistent") << r.output;
    EXPECT_EQ(w["size"], cosigned_size) << r.output;
  }

  // One witness down: records are still taken, but nothing is published.
  const uint16_t port = server::ParseHostPort(witnesses[1].address())->port;
  witnesses[1].Stop(SIGTERM);
  ASSERT_EQ(Record("r-2", "CA DL D7654321").exit_code, kOk);
  r = VigilAt({"submit", Path("records.jsonl")});
  ASSERT_EQ(r.exit_code, kOk) << r.output;
  absl::SleepFor(absl::Seconds(1));
  r = VigilAt({"checkpoint", "--json"});
  ASSERT_EQ(r.exit_code, kOk) << r.output;
  EXPECT_EQ(LastJson(r.output)["size"], cosigned_size);
  EXPECT_THAT(server_.Log(), HasSubstr("1 of the 2 witnesses cosigned"));

  // Back on its port, it is caught up from the size it cosigned.
  ASSERT_TRUE(
      witnesses[1]
          .Start(VIGIL_CLI_BINARY,
                 {"--key", Path("keys/w2.skey"), "--log-key",
                  Path("keys/log.vkey"), "--state-dir", Path("keys/w2-state"),
                  "--listen", absl::StrFormat("127.0.0.1:%d", port)})
          .ok())
      << witnesses[1].output();
  r = VigilAt(with_both({"submit", Path("records.jsonl"), "--wait"}),
              "state-quorum");
  ASSERT_EQ(r.exit_code, kOk) << r.output;
  r = VigilAt(with_both({"checkpoint", "--json"}), "state-quorum");
  ASSERT_EQ(r.exit_code, kOk) << r.output;
  EXPECT_EQ(LastJson(r.output)["size"], 3u);
  r = Vigil(monitor);
  EXPECT_EQ(r.exit_code, kOk) << r.output;
  report = LastJson(r.output);
  for (const Json& w : report["witnesses"]) {
    EXPECT_EQ(w["outcome"], "consistent") << r.output;
    EXPECT_EQ(w["size"], 3u) << r.output;
  }
  // The same audit over the log's gRPC API instead of its HTTP tiles.
  std::vector<std::string> over_grpc = monitor;
  over_grpc[1] = "--server";
  over_grpc[2] = server_.grpc_address();
  over_grpc[8] = Path("monitor-grpc.json");
  ASSERT_EQ(over_grpc[7], "--state");
  r = Vigil(over_grpc);
  EXPECT_EQ(r.exit_code, kOk) << r.output;
  report = LastJson(r.output);
  EXPECT_EQ(report["size"], 3u) << r.output;
  EXPECT_EQ(report["entries"], 3u) << r.output;
  // The server reports the recovery within a second or so.
  for (absl::Time until = absl::Now() + absl::Seconds(10);
       absl::Now() < until &&
       server_.Log().find("cosign checkpoints again") == std::string::npos;) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(server_.Log(), HasSubstr("witnesses cosign checkpoints again"));
}

TEST_F(CliE2ETest, KeygenNeverOverwritesAndKeepsSecretsPrivate) {
  const testing::CommandResult again =
      Vigil({"keygen", "--kind", "agency", "--name", kOri, "--out",
             Path("keys/agency")});
  EXPECT_EQ(again.exit_code, kError);
  EXPECT_THAT(again.output, HasSubstr("never overwrites"));
  struct stat info {};
  ASSERT_EQ(stat(Path("keys/agency.skey").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  EXPECT_EQ(Vigil({"keygen", "--kind", "agency", "--name", "not an ori",
                   "--out", Path("keys/x")})
                .exit_code,
            kError);
}

TEST_F(CliE2ETest, OpenChecksOpeningsAgainstARecord) {
  ASSERT_EQ(Record("r-9", "WA DL 99").exit_code, kOk);
  testing::CommandResult r =
      Vigil({"open", "--record", Path("records.jsonl"), "--openings",
             Path("openings.jsonl"), "--json"});
  ASSERT_EQ(r.exit_code, kOk) << r.output;
  const Json json = LastJson(r.output);
  EXPECT_EQ(json["record_id"], "r-9");
  EXPECT_EQ(json["opened"].size(), 3u);  // operator, subject, case_ref.
  r = Vigil({"open", "--record", Path("records.jsonl"), "--field", "operator",
             "--value", "badge 4712", "--opening", std::string(64, '0')});
  EXPECT_EQ(r.exit_code, kFailed);
  EXPECT_THAT(r.output, HasSubstr("do not open the record's operator"));
}

TEST_F(CliE2ETest, EverySubcommandHasHelpAndRefusesUnknownFlags) {
  for (const char* cmd :
       {"keygen", "record", "submit", "checkpoint", "prove", "verify", "open",
        "audit-tiles", "prove-tiles", "registry"}) {
    const testing::CommandResult help = Vigil({cmd, "--help"});
    EXPECT_EQ(help.exit_code, kOk) << cmd;
    EXPECT_THAT(help.output, HasSubstr("--")) << cmd;
    EXPECT_EQ(Vigil({cmd, "--no-such-flag"}).exit_code, kError) << cmd;
  }
  EXPECT_EQ(Vigil({}).exit_code, kError);
}

}  // namespace
}  // namespace vigil
