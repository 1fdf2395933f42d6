// vigil-demo-agency: plays a police agency against a running vigil-server,
// for the README's main job. It registers a fresh agency key through the
// registry service (signed with the operator's registry key), signs sample
// access records locally (commitments computed here: no identifier leaves
// this process), submits them and waits until a signed checkpoint covers
// them, then writes one record's entry bytes and its c2sp.org/tlog-proof
// bundle to files for offline verification with `vigil verify`.
//
//   vigil-demo-agency --server 127.0.0.1:PORT --registry-key registry.skey
//                     --records 20 --out DIR

#include <grpcpp/grpcpp.h>
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/signing.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "vigil/v1/log.grpc.pb.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client {
namespace {

constexpr auto kDeadline = std::chrono::seconds(30);
constexpr char kDemoOri[] = "CA0349400";

std::unique_ptr<grpc::ClientContext> Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + kDeadline);
  return ctx;
}

absl::Status FromGrpc(const grpc::Status& s, std::string_view call) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrFormat("%s: %s", call, s.error_message()));
}

absl::Status FromResult(const vigil::v1::RecordResult& r,
                        std::string_view what) {
  if (r.code() == 0) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(r.code()),
                      absl::StrFormat("%s: %s", what, r.message()));
}

absl::StatusOr<std::string> ReadKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrFormat("cannot open %s", path));
  std::ostringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  if (!key.empty() && key.back() == '\n') key.pop_back();
  return key;
}

absl::Status WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out)
    return absl::UnavailableError(absl::StrFormat("cannot write %s", path));
  return absl::OkStatus();
}

// A plausible CLETS driver-license query by the demo agency.
vigil::v1::AccessRecord SampleRecord(int n, int64_t now_centis) {
  vigil::v1::AccessRecord r;
  r.set_record_id(absl::StrFormat("demo-%d-%d", now_centis, n));
  r.set_submitter_role(vigil::v1::REQUESTER);
  r.set_correlation_id(absl::StrFormat("CLETS-%d-%04d", now_centis / 100, n));
  r.set_event_time_centis(now_centis - 100 * n);
  r.set_requesting_ori(kDemoOri);
  const Commitment op = Commit(kOperatorTag, "badge 4711");
  r.set_operator_commit(std::string(op.value.begin(), op.value.end()));
  r.set_source_system(vigil::v1::CLETS);
  r.set_destination("CA");
  r.set_message_key("DQ");
  r.add_data_categories(vigil::v1::DMV_PII);
  r.add_data_categories(vigil::v1::ADDRESS);
  r.set_declared_purpose(vigil::v1::CRIMINAL_INVESTIGATION);
  r.set_legal_process(vigil::v1::NONE);
  const Commitment subject =
      Commit(kSubjectTag, absl::StrFormat("CA DL D%07d", 1000000 + n));
  r.set_subject_commit(std::string(subject.value.begin(), subject.value.end()));
  r.set_outcome(n % 5 == 0 ? vigil::v1::NO_HIT : vigil::v1::HIT);
  r.set_image_requested(n % 3 == 0);
  return r;
}

absl::Status Run(const std::string& server, const std::string& registry_key,
                 int count, const std::string& out_dir) {
  if (sodium_init() < 0) return absl::InternalError("libsodium init failed");
  absl::StatusOr<std::string> skey = ReadKey(registry_key);
  if (!skey.ok()) return skey.status();
  absl::StatusOr<merkle::SignerKey> parsed = merkle::ParseSignerKey(*skey);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<merkle::Ed25519PrivateKey> registry =
      merkle::Ed25519PrivateKey::FromSeed(parsed->seed);
  if (!registry.ok()) return registry.status();

  std::array<uint8_t, 32> seed;
  randombytes_buf(seed.data(), seed.size());
  absl::StatusOr<merkle::Ed25519PrivateKey> agency =
      merkle::Ed25519PrivateKey::FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (!agency.ok()) return agency.status();

  auto channel =
      grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  auto registry_stub = vigil::v1::RegistryService::NewStub(channel);
  auto log_stub = vigil::v1::LogService::NewStub(channel);

  // 1. The operator registers the agency's key; the change is a log entry.
  vigil::v1::RegistryChange change;
  change.set_change_time_centis(absl::ToUnixMillis(absl::Now()) / 10);
  auto* reg = change.mutable_register_();
  reg->set_ori(kDemoOri);
  reg->set_agency_class(vigil::v1::LOCAL_POLICE);
  reg->set_agency_name("Demo City Police Department");
  reg->set_state("CA");
  reg->set_public_key(
      std::string(agency->public_key().begin(), agency->public_key().end()));
  vigil::v1::SubmitRegistryChangeRequest reg_request;
  *reg_request.mutable_change() = SignRegistryChange(change, *registry);
  vigil::v1::RecordResult reg_result;
  if (absl::Status s = FromGrpc(registry_stub->SubmitRegistryChange(
                                    Context().get(), reg_request, &reg_result),
                                "SubmitRegistryChange");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = FromResult(reg_result, "registering the agency");
      !s.ok()) {
    return s;
  }
  std::cout << absl::StrFormat(
      "registered agency %s (LOCAL_POLICE) key %s... at log index %d\n",
      kDemoOri, merkle::HexEncode(std::span(agency->public_key()).first(8)),
      reg_result.index());

  // 2. The agency signs its lookups and submits them in one batch.
  const int64_t now_centis = absl::ToUnixMillis(absl::Now()) / 10;
  vigil::v1::SubmitRecordsRequest request;
  request.set_wait_for_inclusion(true);
  for (int n = 0; n < count; ++n) {
    *request.add_records() =
        SignAccessRecord(SampleRecord(n, now_centis), *agency);
  }
  vigil::v1::SubmitRecordsResponse response;
  if (absl::Status s =
          FromGrpc(log_stub->SubmitRecords(Context().get(), request, &response),
                   "SubmitRecords");
      !s.ok()) {
    return s;
  }
  for (int n = 0; n < response.results_size(); ++n) {
    if (absl::Status s =
            FromResult(response.results(n), absl::StrFormat("record %d", n));
        !s.ok()) {
      return s;
    }
  }
  std::cout << absl::StrFormat(
      "submitted %d signed access records: indices %d..%d, each covered by "
      "a signed checkpoint\n",
      count, response.results(0).index(), response.results(count - 1).index());

  // 3. Keep one record's evidence: the exact entry bytes (fetched and
  // checked against the leaf hash the log returned) and its bundle.
  const vigil::v1::RecordResult& kept = response.results(count / 2);
  vigil::v1::GetEntriesRequest entries_request;
  entries_request.set_start(kept.index());
  entries_request.set_count(1);
  vigil::v1::GetEntriesResponse entries;
  if (absl::Status s = FromGrpc(
          log_stub->GetEntries(Context().get(), entries_request, &entries),
          "GetEntries");
      !s.ok()) {
    return s;
  }
  if (entries.entries_size() != 1) {
    return absl::DataLossError("GetEntries returned no entry");
  }
  const merkle::Hash leaf =
      merkle::HashLeaf(merkle::AsBytes(entries.entries(0)));
  if (std::string(leaf.begin(), leaf.end()) != kept.leaf_hash()) {
    return absl::DataLossError(absl::StrFormat(
        "entry %d does not hash to the leaf hash the log acknowledged",
        kept.index()));
  }
  const std::string entry_file = out_dir + "/entry.bin";
  const std::string bundle_file = out_dir + "/entry.tlog-proof";
  if (absl::Status s = WriteFile(entry_file, entries.entries(0)); !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(bundle_file, kept.tlog_proof()); !s.ok()) {
    return s;
  }
  std::cout << absl::StrFormat(
      "kept the evidence of entry %d: %s (%d bytes) and %s\n", kept.index(),
      entry_file, entries.entries(0).size(), bundle_file);
  return absl::OkStatus();
}

}  // namespace
}  // namespace vigil::client

int main(int argc, char** argv) {
  CLI::App app{"Plays an agency against a running vigil-server (demo)"};
  std::string server, registry_key, out_dir;
  int records = 20;
  app.add_option("--server", server, "gRPC address host:port")->required();
  app.add_option("--registry-key", registry_key,
                 "the registry operator's signer key file")
      ->required();
  app.add_option("--records", records, "how many records to submit")
      ->check(CLI::Range(1, 1000));
  app.add_option("--out", out_dir,
                 "where to write entry.bin and "
                 "entry.tlog-proof")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const absl::Status s =
      vigil::client::Run(server, registry_key, records, out_dir);
  if (!s.ok()) {
    std::cerr << "vigil-demo-agency: " << s << "\n";
    return 1;
  }
  return 0;
}
