#include "merkle/cosignature.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "merkle/checkpoint.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace vigil::merkle {
namespace {

using ::vigil::testing::IsError;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kReferenceOrigin = "example.org/reference-log";
constexpr uint64_t kReferenceTimestamp = 1764201600;

std::string Testdata(const std::string& path) {
  absl::StatusOr<std::string> content = vigil::testing::ReadTestdata(path);
  EXPECT_TRUE(content.ok()) << content.status();
  return content.value_or("");
}

// A key file's key: its one line without the line terminator, which the
// key parsers (strictly) do not accept.
std::string KeyFile(const std::string& path) {
  std::string key = Testdata(path);
  if (!key.empty() && key.back() == '\n') key.pop_back();
  return key;
}

Hash Seed(std::string_view label) { return Sha256(AsBytes(label)); }

Cosigner MakeCosigner(std::string_view name) {
  absl::StatusOr<Cosigner> cosigner = Cosigner::Create(name, Seed(name));
  EXPECT_TRUE(cosigner.ok()) << cosigner.status();
  return *std::move(cosigner);
}

Ed25519Signer MakeSigner(std::string_view name) {
  absl::StatusOr<Ed25519Signer> signer =
      Ed25519Signer::Create(name, Seed(name));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

std::string CheckpointText(uint64_t size) {
  Checkpoint c;
  c.origin = "example.org/log";
  c.size = size;
  c.root = Sha256(AsBytes(absl::StrFormat("root %d", size)));
  return MarshalCheckpoint(c).value();
}

// The reference checkpoint split into its text and its two signature lines.
struct ReferenceCheckpoint {
  std::string note;
  std::string text;
  std::string log_line;
  std::string witness_line;
};

ReferenceCheckpoint LoadReference() {
  ReferenceCheckpoint r;
  r.note = Testdata("reference-log/log/checkpoint");
  const size_t blank = r.note.find("\n\n");
  r.text = r.note.substr(0, blank + 1);
  const size_t log_end = r.note.find('\n', blank + 2) + 1;
  r.log_line = r.note.substr(blank + 2, log_end - blank - 2);
  r.witness_line = r.note.substr(log_end);
  return r;
}

TEST(CosignatureTest, MessageMatchesTheSpecExample) {
  const std::string text =
      "example.com/behind-the-sofa\n"
      "20852163\n"
      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  EXPECT_EQ(CosignatureMessage(text, 1679315147),
            "cosignature/v1\n"
            "time 1679315147\n"
            "example.com/behind-the-sofa\n"
            "20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  EXPECT_EQ(CosignatureMessage("x\n", 0), "cosignature/v1\ntime 0\nx\n");
}

TEST(CosignatureTest, SpecExampleCarriesItsTimestamp) {
  // The spec's example cosignature was made at the time its message shows.
  absl::StatusOr<NoteSignature> line = ParseSignatureLine(
      "— witness.example.com/w1 "
      "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin"
      "1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n");
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->key_id, 0x8d66cf3fu);
  EXPECT_EQ(CosignatureTimestamp(line->signature).value(), 1679315147u);
}

TEST(CosignatureTest, ReferenceWitnessCosignatureVerifies) {
  const ReferenceCheckpoint r = LoadReference();
  absl::StatusOr<CosignatureVerifier> witness =
      CosignatureVerifier::FromVerifierKey(
          KeyFile("reference-log/witness.vkey"));
  ASSERT_TRUE(witness.ok()) << witness.status();
  EXPECT_EQ(witness->name(), "example.org/reference-witness");
  EXPECT_EQ(witness->key_id(), 0xddacfa79u);

  // Through the checkpoint's other signatures...
  absl::StatusOr<Ed25519Verifier> log =
      Ed25519Verifier::FromVerifierKey(KeyFile("reference-log/log.vkey"));
  ASSERT_TRUE(log.ok()) << log.status();
  absl::StatusOr<OpenedCheckpoint> opened =
      OpenCheckpoint(r.note, *log, kReferenceOrigin);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->other_signatures.size(), 1u);
  EXPECT_EQ(witness
                ->VerifyCosignature(opened->text,
                                    opened->other_signatures[0].signature)
                .value(),
            kReferenceTimestamp);

  // ...and as a note verifier next to the log's key.
  const NoteVerifier* verifiers[] = {&*log, &*witness};
  absl::StatusOr<OpenedNote> note = OpenNote(r.note, verifiers);
  ASSERT_TRUE(note.ok()) << note.status();
  ASSERT_EQ(note->verified.size(), 2u);
  EXPECT_EQ(note->verified[1].verifier, &*witness);
  EXPECT_EQ(CosignatureTimestamp(note->verified[1].signature.signature).value(),
            kReferenceTimestamp);

  // The witness alone also opens the note.
  const NoteVerifier* witness_only[] = {&*witness};
  EXPECT_TRUE(OpenNote(r.note, witness_only).ok());
}

TEST(CosignatureTest, ReferenceWitnessKeysCorrespond) {
  absl::StatusOr<Cosigner> cosigner =
      Cosigner::FromSignerKey(KeyFile("reference-log/witness.skey"));
  ASSERT_TRUE(cosigner.ok()) << cosigner.status();
  EXPECT_EQ(cosigner->verifier().vkey(), KeyFile("reference-log/witness.vkey"));
  EXPECT_EQ(cosigner->name(), "example.org/reference-witness");
}

TEST(CosignatureTest, ReferenceCheckpointIsReproducedByteForByte) {
  const ReferenceCheckpoint r = LoadReference();
  absl::StatusOr<Ed25519Signer> log =
      Ed25519Signer::FromSignerKey(KeyFile("reference-log/log.skey"));
  ASSERT_TRUE(log.ok()) << log.status();
  absl::StatusOr<Cosigner> witness =
      Cosigner::FromSignerKey(KeyFile("reference-log/witness.skey"));
  ASSERT_TRUE(witness.ok()) << witness.status();

  // Rebuild the body from its values, not by copying it.
  Checkpoint c;
  c.origin = std::string(kReferenceOrigin);
  c.size = 1000;
  c.root =
      Base64DecodeHash("Pc/ho5pvuNRZpWIFj7LKiaHdKpUfufA4cAkEV6Uu/pg=", "root")
          .value();
  const std::string text = MarshalCheckpoint(c).value();
  EXPECT_EQ(text, r.text);

  const NoteSigner* signers[] = {&*log};
  const std::string signed_note = SignNote(text, signers).value();
  EXPECT_EQ(signed_note, r.text + "\n" + r.log_line);

  absl::StatusOr<NoteSignature> cosig =
      witness->Cosign(text, kReferenceTimestamp);
  ASSERT_TRUE(cosig.ok()) << cosig.status();
  EXPECT_EQ(FormatSignatureLine(*cosig), r.witness_line);

  absl::StatusOr<std::string> full =
      AddSignatureLines(signed_note, {&*cosig, 1});
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(*full, r.note);
}

TEST(CosignatureTest, CosignaturesRoundTrip) {
  const Cosigner w = MakeCosigner("witness.example/w");
  const std::string text = CheckpointText(5);
  for (uint64_t t : {uint64_t{0}, uint64_t{1}, kReferenceTimestamp,
                     kMaxCosignatureTimestamp}) {
    absl::StatusOr<NoteSignature> sig = w.Cosign(text, t);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_EQ(sig->name, "witness.example/w");
    EXPECT_EQ(sig->key_id, w.key_id());
    EXPECT_EQ(sig->signature.size(), kCosignatureSize);
    EXPECT_EQ(CosignatureTimestamp(sig->signature).value(), t);
    EXPECT_EQ(w.verifier().VerifyCosignature(text, sig->signature).value(), t);
    EXPECT_TRUE(w.verifier().Verify(text, sig->signature));
    EXPECT_EQ(ParseSignatureLine(FormatSignatureLine(*sig)).value(), *sig);
  }
}

TEST(CosignatureTest, KeyIdUsesTypeByteFour) {
  const Cosigner w = MakeCosigner("w");
  const auto& pk = w.verifier().public_key();
  EXPECT_EQ(w.key_id(), ComputeKeyId("w", 0x04, pk));
  EXPECT_NE(w.key_id(), ComputeKeyId("w", 0x01, pk));
  // The same seed as a type 0x01 note key has another ID.
  EXPECT_NE(w.key_id(), MakeSigner("w").key_id());
}

TEST(CosignatureTest, GeneratedCosignerKeysParse) {
  absl::StatusOr<NoteKeyPair> pair =
      GenerateNoteKey("witness.example/w", kSignatureTypeCosignatureV1);
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_THAT(pair->verifier_key,
              ::testing::MatchesRegex(
                  "witness\\.example/w\\+[0-9a-f]{8}\\+B[A-Za-z0-9+/]{43}"));
  EXPECT_THAT(pair->signer_key,
              ::testing::MatchesRegex("PRIVATE\\+KEY\\+witness\\.example/"
                                      "w\\+[0-9a-f]{8}\\+B[A-Za-z0-9+/]{43}"));
  absl::StatusOr<Cosigner> cosigner = Cosigner::FromSignerKey(pair->signer_key);
  ASSERT_TRUE(cosigner.ok()) << cosigner.status();
  EXPECT_EQ(cosigner->verifier().vkey(), pair->verifier_key);
  absl::StatusOr<Cosigner> random = Cosigner::Generate("witness.example/w");
  ASSERT_TRUE(random.ok()) << random.status();
  EXPECT_NE(random->verifier().vkey(), pair->verifier_key);
}

TEST(CosignatureTest, KeysOfTheWrongTypeAreRejected) {
  const NoteKeyPair ed =
      GenerateNoteKey("log", kSignatureTypeEd25519, Seed("log")).value();
  EXPECT_THAT(Cosigner::FromSignerKey(ed.signer_key),
              IsError(absl::StatusCode::kInvalidArgument, "type 0x01"));
  EXPECT_THAT(CosignatureVerifier::FromVerifierKey(ed.verifier_key),
              IsError(absl::StatusCode::kInvalidArgument, "type 0x01"));
  EXPECT_THAT(Cosigner::Create("w", std::vector<uint8_t>(31)),
              IsError(absl::StatusCode::kInvalidArgument, "31 bytes"));
  EXPECT_THAT(CosignatureVerifier::Create("w w", std::vector<uint8_t>(32)),
              IsError(absl::StatusCode::kInvalidArgument, "space"));
}

TEST(CosignatureTest, CosignerRefusesBadTimestampsAndNonCheckpoints) {
  const Cosigner w = MakeCosigner("w");
  EXPECT_THAT(w.Cosign(CheckpointText(1), kMaxCosignatureTimestamp + 1),
              IsError(absl::StatusCode::kInvalidArgument, "exceeds 2^63-1"));
  EXPECT_THAT(w.Cosign("just some text\n", 1),
              IsError(absl::StatusCode::kInvalidArgument, "not a checkpoint"));
  EXPECT_THAT(w.Cosign("", 1),
              IsError(absl::StatusCode::kInvalidArgument, "not a checkpoint"));
}

TEST(CosignatureTest, MalformedCosignaturesDoNotVerify) {
  const Cosigner w = MakeCosigner("w");
  const std::string text = CheckpointText(7);
  const std::vector<uint8_t> good = w.Cosign(text, 100).value().signature;
  const CosignatureVerifier& v = w.verifier();

  std::vector<uint8_t> shorter(good.begin(), good.end() - 1);
  EXPECT_THAT(v.VerifyCosignature(text, shorter),
              IsError(absl::StatusCode::kInvalidArgument, "71 bytes, want 72"));
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_THAT(v.VerifyCosignature(text, longer),
              IsError(absl::StatusCode::kInvalidArgument, "73 bytes, want 72"));
  EXPECT_FALSE(v.Verify(text, {}));
  // Only the Ed25519 signature, without a timestamp.
  EXPECT_FALSE(v.Verify(text, std::span(good).subspan(8)));

  // Another timestamp, same signature.
  std::vector<uint8_t> retimed = good;
  retimed[7] ^= 1;
  EXPECT_THAT(v.VerifyCosignature(text, retimed),
              IsError(absl::StatusCode::kUnauthenticated,
                      "at time 101 does not verify"));
  // A timestamp with the top bit set is out of range whatever it signs.
  std::vector<uint8_t> huge = good;
  huge[0] = 0x80;
  EXPECT_THAT(v.VerifyCosignature(text, huge),
              IsError(absl::StatusCode::kInvalidArgument, "exceeds 2^63-1"));
  // Every flipped bit of the signature is caught.
  for (size_t bit = 0; bit < good.size() * 8; ++bit) {
    std::vector<uint8_t> flipped = good;
    flipped[bit / 8] ^= 1 << (bit % 8);
    EXPECT_FALSE(v.Verify(text, flipped)) << "bit " << bit;
  }
  // Another checkpoint, or the same one with an extension line.
  EXPECT_FALSE(v.Verify(CheckpointText(8), good));
  EXPECT_FALSE(v.Verify(text + "ext\n", good));
  EXPECT_TRUE(v.Verify(text, good));
}

TEST(CosignatureTest, EveryBitFlipOfTheReferenceWitnessLineIsRejected) {
  const ReferenceCheckpoint r = LoadReference();
  absl::StatusOr<CosignatureVerifier> witness =
      CosignatureVerifier::FromVerifierKey(
          KeyFile("reference-log/witness.vkey"));
  ASSERT_TRUE(witness.ok());
  const NoteVerifier* verifiers[] = {&*witness};
  const std::string note = r.text + "\n" + r.witness_line;
  ASSERT_TRUE(OpenNote(note, verifiers).ok());
  for (size_t bit = 0; bit < note.size() * 8; ++bit) {
    std::string flipped = note;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(OpenNote(flipped, verifiers).ok()) << "bit " << bit;
  }
}

// Three witnesses over a log-signed checkpoint, for k-of-n tests.
class CosignatureQuorumTest : public ::testing::Test {
 protected:
  CosignatureQuorumTest()
      : log_(MakeSigner("example.org/log")),
        w1_(MakeCosigner("w1.example")),
        w2_(MakeCosigner("w2.example")),
        w3_(MakeCosigner("w3.example")) {
    const NoteSigner* signers[] = {&log_};
    text_ = CheckpointText(10);
    note_ = SignNote(text_, signers).value();
  }

  // `note_` with cosignatures of its text by `cosigners` at time 1000 + i.
  [[nodiscard]] std::string Cosigned(
      std::vector<const Cosigner*> cosigners) const {
    std::vector<NoteSignature> sigs;
    for (size_t i = 0; i < cosigners.size(); ++i) {
      sigs.push_back(cosigners[i]->Cosign(text_, 1000 + i).value());
    }
    return AddSignatureLines(note_, sigs).value();
  }

  [[nodiscard]] std::vector<const CosignatureVerifier*> Witnesses() const {
    return {&w1_.verifier(), &w2_.verifier(), &w3_.verifier()};
  }

  Ed25519Signer log_;
  Cosigner w1_, w2_, w3_;
  std::string text_;
  std::string note_;
};

TEST_F(CosignatureQuorumTest, TwoOfThreePassesWithTwoValidCosignatures) {
  absl::StatusOr<CosignatureQuorum> q =
      VerifyCosignatureQuorum(Cosigned({&w1_, &w3_}), Witnesses(), 2);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->cosigned.size(), 2u);
  EXPECT_EQ(q->cosigned[0].name, "w1.example");
  EXPECT_EQ(q->cosigned[0].timestamp, 1000u);
  EXPECT_EQ(q->cosigned[1].name, "w3.example");
  EXPECT_EQ(q->cosigned[1].key_id, w3_.key_id());
  EXPECT_EQ(q->cosigned[1].timestamp, 1001u);
  ASSERT_EQ(q->failed.size(), 1u);
  EXPECT_THAT(q->failed[0], HasSubstr("w2.example+"));
  EXPECT_THAT(q->failed[0], HasSubstr("no cosignature"));
}

TEST_F(CosignatureQuorumTest, ThreeOfThreePassesWithAllCosignatures) {
  absl::StatusOr<CosignatureQuorum> q =
      VerifyCosignatureQuorum(Cosigned({&w3_, &w2_, &w1_}), Witnesses(), 3);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->cosigned.size(), 3u);
  EXPECT_TRUE(q->failed.empty());
}

TEST_F(CosignatureQuorumTest, TwoOfThreeFailsWithOneValidCosignature) {
  EXPECT_THAT(VerifyCosignatureQuorum(Cosigned({&w2_}), Witnesses(), 2),
              IsError(absl::StatusCode::kUnauthenticated,
                      "1 of 3 witnesses cosigned, need 2; failed: w1.example"));
  EXPECT_THAT(VerifyCosignatureQuorum(note_, Witnesses(), 1),
              IsError(absl::StatusCode::kUnauthenticated,
                      "0 of 3 witnesses cosigned, need 1"));
}

TEST_F(CosignatureQuorumTest, CosignatureOfAnotherCheckpointDoesNotCount) {
  // w2 cosigned a different checkpoint; its line is moved onto this one.
  const NoteSignature stale = w2_.Cosign(CheckpointText(9), 1000).value();
  const NoteSignature fresh = w1_.Cosign(text_, 1000).value();
  const NoteSignature both[] = {fresh, stale};
  const std::string note = AddSignatureLines(note_, both).value();
  absl::StatusOr<CosignatureQuorum> q =
      VerifyCosignatureQuorum(note, Witnesses(), 2);
  EXPECT_THAT(q, IsError(absl::StatusCode::kUnauthenticated,
                         "1 of 3 witnesses cosigned, need 2"));
  EXPECT_THAT(std::string(q.status().message()), HasSubstr("does not verify"));

  // With two good cosignatures the bad one is reported but does not veto.
  const NoteSignature third = w3_.Cosign(text_, 1000).value();
  absl::StatusOr<CosignatureQuorum> ok = VerifyCosignatureQuorum(
      AddSignatureLines(note, {&third, 1}).value(), Witnesses(), 2);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->cosigned.size(), 2u);
  ASSERT_EQ(ok->failed.size(), 1u);
  EXPECT_THAT(ok->failed[0], HasSubstr("w2.example+"));
}

TEST_F(CosignatureQuorumTest, UnknownSignaturesAreIgnored) {
  const Cosigner stranger = MakeCosigner("stranger.example");
  const std::string note = Cosigned({&stranger, &w1_, &w2_});
  absl::StatusOr<CosignatureQuorum> q =
      VerifyCosignatureQuorum(note, Witnesses(), 2);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->cosigned.size(), 2u);
}

TEST_F(CosignatureQuorumTest, WitnessListMustBeDistinctAndLargeEnough) {
  const std::string note = Cosigned({&w1_, &w2_});
  EXPECT_THAT(VerifyCosignatureQuorum(note, Witnesses(), 0),
              IsError(absl::StatusCode::kInvalidArgument, "must be >= 1"));
  EXPECT_THAT(VerifyCosignatureQuorum(note, Witnesses(), 4),
              IsError(absl::StatusCode::kInvalidArgument,
                      "quorum 4 of 3 witnesses can never be met"));
  const CosignatureVerifier* twice[] = {&w1_.verifier(), &w1_.verifier()};
  EXPECT_THAT(VerifyCosignatureQuorum(note, twice, 2),
              IsError(absl::StatusCode::kInvalidArgument, "listed twice"));
  // One key under two names would let one witness count twice.
  const CosignatureVerifier alias =
      CosignatureVerifier::Create("alias.example", w1_.verifier().public_key())
          .value();
  const CosignatureVerifier* aliased[] = {&w1_.verifier(), &alias};
  EXPECT_THAT(VerifyCosignatureQuorum(note, aliased, 2),
              IsError(absl::StatusCode::kInvalidArgument, "shares its public"));
  const CosignatureVerifier* null[] = {nullptr};
  EXPECT_THAT(VerifyCosignatureQuorum(note, null, 1),
              IsError(absl::StatusCode::kInvalidArgument, "null"));
}

TEST_F(CosignatureQuorumTest, MalformedNoteIsInvalid) {
  const std::string note = Cosigned({&w1_, &w2_});
  EXPECT_THAT(
      VerifyCosignatureQuorum(note.substr(0, note.size() - 1), Witnesses(), 2),
      IsError(absl::StatusCode::kInvalidArgument, "newline"));
  EXPECT_THAT(VerifyCosignatureQuorum("", Witnesses(), 2),
              IsError(absl::StatusCode::kInvalidArgument, "empty"));
}

TEST_F(CosignatureQuorumTest, WitnessesCanOpenTheNoteAsVerifiers) {
  const std::string note = Cosigned({&w1_, &w2_});
  const NoteVerifier* verifiers[] = {&w1_.verifier(), &w2_.verifier(),
                                     &w3_.verifier()};
  absl::StatusOr<OpenedNote> opened = OpenNote(note, verifiers);
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::vector<std::string> names;
  for (const VerifiedSignature& v : opened->verified) {
    names.push_back(v.signature.name);
  }
  EXPECT_THAT(names, ElementsAre("w1.example", "w2.example"));
  ASSERT_EQ(opened->unverified.size(), 1u);
  EXPECT_EQ(opened->unverified[0].name, "example.org/log");
}

}  // namespace
}  // namespace vigil::merkle
