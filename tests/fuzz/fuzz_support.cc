#include "tests/fuzz/fuzz_support.h"

#include <array>
#include <cstdlib>
#include <fstream>
#include <span>
#include <sstream>
#include <utility>

#include "absl/status/statusor.h"
#include "client/signing.h"
#include "merkle/proof.h"
#include "merkle/tiles.h"
#include "server/entry.h"

namespace vigil::fuzz {
namespace {

// Aborts with `what` unless `value` holds a value; the known data must
// build, or every target would check nothing.
template <typename T>
T Must(absl::StatusOr<T> value, std::string_view what) {
  if (!value.ok()) {
    std::fprintf(stderr, "fuzz setup: %.*s: %s\n",
                 static_cast<int>(what.size()), what.data(),
                 std::string(value.status().message()).c_str());
    std::abort();
  }
  return *std::move(value);
}

std::string TrimNewline(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// The hashes of `nodes` (subtrees of the reference tree), assembled.
std::vector<merkle::Hash> Assemble(const merkle::ProofNodes& nodes,
                                   const std::vector<merkle::Hash>& leaves) {
  std::vector<merkle::Hash> hashes;
  for (const merkle::NodeID& id : nodes.ids) {
    hashes.push_back(merkle::MerkleRootOfHashes(
        std::span(leaves).subspan(id.Begin(), id.End() - id.Begin())));
  }
  return Must(merkle::AssembleProof(nodes, hashes), "assembling a proof");
}

ReferenceLog BuildReference() {
  ReferenceLog ref;
  ref.checkpoint_note = ReadTestdata("reference-log/log/checkpoint");
  ref.log_skey = TrimNewline(ReadTestdata("reference-log/log.skey"));
  ref.witness_skey = TrimNewline(ReadTestdata("reference-log/witness.skey"));
  ref.log = Must(merkle::Ed25519Verifier::FromVerifierKey(
                     TrimNewline(ReadTestdata("reference-log/log.vkey"))),
                 "log.vkey");
  ref.witness = Must(merkle::CosignatureVerifier::FromVerifierKey(TrimNewline(
                         ReadTestdata("reference-log/witness.vkey"))),
                     "witness.vkey");
  merkle::SignedNote note =
      Must(merkle::ParseSignedNote(ref.checkpoint_note), "checkpoint note");
  ref.checkpoint_text = note.text;
  ref.checkpoint =
      Must(merkle::ParseCheckpoint(ref.checkpoint_text), "checkpoint text");
  ref.origin = ref.checkpoint.origin;
  const merkle::CosignatureVerifier* witnesses[] = {&*ref.witness};
  merkle::CosignatureQuorum quorum =
      Must(merkle::VerifyCosignatureQuorum(ref.checkpoint_note, witnesses, 1),
           "reference cosignature");
  ref.witness_timestamp = quorum.cosigned.at(0).timestamp;

  const std::pair<const char*, size_t> tiles[] = {
      {"reference-log/log/tile/0/000", 256},
      {"reference-log/log/tile/0/001", 256},
      {"reference-log/log/tile/0/002", 256},
      {"reference-log/log/tile/0/003.p/232", 232}};
  for (const auto& [path, width] : tiles) {
    std::vector<merkle::Hash> hashes =
        Must(merkle::DecodeTile(ReadTestdata(path), width), path);
    ref.leaf_hashes.insert(ref.leaf_hashes.end(), hashes.begin(), hashes.end());
  }
  if (merkle::MerkleRootOfHashes(ref.leaf_hashes) != ref.checkpoint.root) {
    std::fprintf(stderr, "fuzz setup: reference tiles do not match\n");
    std::abort();
  }

  merkle::Checkpoint half;
  half.origin = ref.origin;
  half.size = 500;
  half.root =
      merkle::MerkleRootOfHashes(std::span(ref.leaf_hashes).subspan(0, 500));
  ref.checkpoint500_text =
      Must(merkle::MarshalCheckpoint(half), "size-500 checkpoint");
  merkle::Ed25519Signer signer =
      Must(merkle::Ed25519Signer::FromSignerKey(ref.log_skey), "log.skey");
  const merkle::NoteSigner* signers[] = {&signer};
  ref.checkpoint500_note =
      Must(merkle::SignNote(ref.checkpoint500_text, signers), "signing");
  ref.consistency_500_1000 =
      Assemble(Must(merkle::ConsistencyNodes(500, 1000), "consistency"),
               ref.leaf_hashes);
  return ref;
}

std::string Bytes(std::span<const uint8_t> b) {
  return std::string(b.begin(), b.end());
}

KnownEntries BuildKnown() {
  KnownEntries known;
  std::array<uint8_t, 32> record_seed{};
  record_seed.fill(0x42);
  std::array<uint8_t, 32> change_seed{};
  change_seed.fill(0x43);
  merkle::Ed25519PrivateKey record_key =
      Must(merkle::Ed25519PrivateKey::FromSeed(record_seed), "record key");
  merkle::Ed25519PrivateKey change_key =
      Must(merkle::Ed25519PrivateKey::FromSeed(change_seed), "change key");
  known.record_key = Bytes(record_key.public_key());
  known.change_key = Bytes(change_key.public_key());

  vigil::v1::AccessRecord& r = known.record;
  r.set_record_id("fuzz-record-1");
  r.set_submitter_role(vigil::v1::REQUESTER);
  r.set_correlation_id("MCN-fuzz-record-1");
  // One hour before the fixed now, in 1/100 s.
  r.set_event_time_centis((kFixedNowSeconds - 3600) * 100);
  r.set_requesting_ori("CA0123456");
  r.set_operator_commit(std::string(32, '\x11'));
  r.set_source_system(vigil::v1::STATE_DMV);
  r.set_source_state("NY");
  r.set_destination("NY");
  r.set_message_key("DQ");
  r.add_data_categories(vigil::v1::DMV_PII);
  r.add_data_categories(vigil::v1::ADDRESS);
  r.set_purpose_code("C");
  r.set_declared_purpose(vigil::v1::CIVIL_IMMIGRATION);
  r.set_legal_process(vigil::v1::ADMINISTRATIVE_WARRANT);
  r.set_legal_doc_commit(std::string(32, '\x22'));
  r.set_subject_commit(std::string(32, '\x33'));
  r.set_outcome(vigil::v1::HIT);
  r.set_image_requested(true);
  known.record_payload = server::CanonicalPayload(r);
  known.record_entry =
      Must(client::EntryOfSignedPayload(client::SignAccessRecord(r, record_key),
                                        server::EntryKind::kAccessRecord),
           "record entry");

  vigil::v1::RegistryChange& c = known.change;
  c.set_change_time_centis((kFixedNowSeconds - 7200) * 100);
  vigil::v1::RegisterAgencyKey* reg = c.mutable_register_();
  reg->set_ori("CA0123456");
  reg->set_agency_class(vigil::v1::FEDERAL_IMMIGRATION);
  reg->set_agency_name("Fuzz test agency");
  reg->set_state("CA");
  reg->set_public_key(known.record_key);
  known.change_payload = server::CanonicalPayload(c);
  known.change_entry = Must(
      client::EntryOfSignedPayload(client::SignRegistryChange(c, change_key),
                                   server::EntryKind::kRegistryChange),
      "registry change entry");
  return known;
}

}  // namespace

std::string ReadTestdata(std::string_view relative) {
  const std::string path =
      std::string(VIGIL_TESTDATA_DIR) + "/" + std::string(relative);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz setup: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const ReferenceLog& Reference() {
  static const ReferenceLog* const ref = new ReferenceLog(BuildReference());
  return *ref;
}

std::vector<merkle::Hash> ReferenceInclusionProof(uint64_t index) {
  const ReferenceLog& ref = Reference();
  return Assemble(Must(merkle::InclusionNodes(index, ref.leaf_hashes.size()),
                       "inclusion nodes"),
                  ref.leaf_hashes);
}

const KnownEntries& Known() {
  static const KnownEntries* const known = new KnownEntries(BuildKnown());
  return *known;
}

}  // namespace vigil::fuzz
