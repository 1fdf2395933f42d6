#include "client/witness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "server/files.h"
#include "tests/testing/memory_tree.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace vigil::client {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::vigil::testing::IsError;

constexpr std::string_view kOrigin = "example.org/witnessed-log";
constexpr int64_t kStart = 1'750'000'000;

merkle::Hash Seed(std::string_view label) {
  return merkle::Sha256(merkle::AsBytes(label));
}

// A test log: a tree whose leaves are derived from `fork` (so two forks
// share no leaf), and the log's key.
class TestLog {
 public:
  explicit TestLog(std::string_view key_label = "log key",
                   std::string_view fork = "main",
                   std::string origin = std::string(kOrigin))
      : origin_(std::move(origin)),
        signer_(*merkle::Ed25519Signer::Create(origin_, Seed(key_label))),
        fork_(fork) {}

  // Grows the tree to `size` leaves.
  void GrowTo(uint64_t size) {
    while (tree_.size() < size) {
      tree_.Append(merkle::HashLeaf(
          merkle::AsBytes(absl::StrFormat("%s leaf %d", fork_, tree_.size()))));
    }
  }

  merkle::Hash Root(uint64_t size) {
    GrowTo(size);
    return size == 0 ? merkle::EmptyRoot() : tree_.RootAt(size);
  }

  std::string Text(uint64_t size) {
    return *merkle::MarshalCheckpoint({origin_, size, Root(size), {}});
  }

  // The checkpoint of the first `size` leaves, signed by the log.
  std::string Note(uint64_t size) {
    const merkle::NoteSigner* signers[] = {&signer_};
    return *merkle::SignNote(Text(size), signers);
  }

  std::vector<merkle::Hash> Proof(uint64_t old_size, uint64_t new_size) {
    GrowTo(new_size);
    return *tree_.ConsistencyProof(old_size, new_size);
  }

  const merkle::Ed25519Verifier& verifier() const { return signer_.verifier(); }
  const merkle::Ed25519Signer& signer() const { return signer_; }
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  merkle::Ed25519Signer signer_;
  std::string fork_;
  vigil::testing::MemoryTree tree_;
};

std::string Body(uint64_t old_size, const std::vector<merkle::Hash>& proof,
                 std::string_view note) {
  std::string body = absl::StrFormat("old %d\n", old_size);
  for (const merkle::Hash& h : proof) body += merkle::Base64Encode(h) + "\n";
  return body + "\n" + std::string(note);
}

class WitnessTest : public ::testing::Test {
 protected:
  WitnessTest() : now_(std::make_shared<std::atomic<int64_t>>(kStart)) {}

  void SetUp() override { witness_ = MustStart(); }

  std::vector<WitnessLog> Logs() const {
    return {WitnessLog{log_.origin(), {log_.verifier()}}};
  }

  absl::StatusOr<std::unique_ptr<Witness>> Start(
      std::string_view key_label = "witness key") {
    absl::StatusOr<merkle::Cosigner> cosigner =
        merkle::Cosigner::Create("witness.example/w1", Seed(key_label));
    if (!cosigner.ok()) return cosigner.status();
    std::shared_ptr<std::atomic<int64_t>> now = now_;
    return Witness::Create(*std::move(cosigner), Logs(), StateDir(),
                           [now] { return absl::FromUnixSeconds(*now); });
  }

  std::unique_ptr<Witness> MustStart() {
    absl::StatusOr<std::unique_ptr<Witness>> witness = Start();
    EXPECT_TRUE(witness.ok()) << witness.status();
    return witness.ok() ? *std::move(witness) : nullptr;
  }

  // A crash and a restart: a new Witness on the same state directory.
  void Restart() {
    witness_.reset();
    witness_ = MustStart();
    ASSERT_NE(witness_, nullptr);
  }

  std::string StateDir() const { return dir_.Sub("state"); }
  std::string StateFile() const {
    return StateDir() + "/" + OriginHash(log_.origin());
  }

  Witness::Response Add(uint64_t old_size, uint64_t new_size) {
    return witness_->AddCheckpoint(
        Body(old_size, log_.Proof(old_size, new_size), log_.Note(new_size)));
  }

  // Expects a 200 whose one cosignature verifies over `text` at the clock's
  // time.
  void ExpectCosigned(const Witness::Response& r, std::string_view text) {
    ASSERT_EQ(r.http_status, 200) << r.body;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
    ASSERT_TRUE(r.body.ends_with('\n'));
    ASSERT_EQ(r.body.find('\n'), r.body.size() - 1) << "one line: " << r.body;
    EXPECT_TRUE(r.body.starts_with("\xE2\x80\x94 witness.example/w1 "));
    absl::StatusOr<merkle::NoteSignature> sig =
        merkle::ParseSignatureLine(r.body);
    ASSERT_TRUE(sig.ok()) << sig.status();
    const merkle::CosignatureVerifier& v = witness_->verifier();
    EXPECT_EQ(sig->name, v.name());
    EXPECT_EQ(sig->key_id, v.key_id());
    absl::StatusOr<uint64_t> ts = v.VerifyCosignature(text, sig->signature);
    ASSERT_TRUE(ts.ok()) << ts.status();
    EXPECT_EQ(*ts, static_cast<uint64_t>(now_->load()));
  }

  void ExpectConflict(const Witness::Response& r, uint64_t latest) {
    EXPECT_EQ(r.http_status, 409) << r.body;
    EXPECT_EQ(r.content_type, "text/x.tlog.size");
    EXPECT_EQ(r.body, absl::StrFormat("%d\n", latest));
  }

  // The size of the latest checkpoint the witness cosigned, as its 409
  // states: the request's old size is one the witness never has.
  uint64_t LatestSize() {
    constexpr uint64_t kHuge = uint64_t{1} << 62;
    const std::string text = *merkle::MarshalCheckpoint(
        {log_.origin(), kHuge, Seed("huge root"), {}});
    const merkle::NoteSigner* signers[] = {&log_.signer()};
    const Witness::Response r = witness_->AddCheckpoint(
        Body(kHuge - 1, {}, *merkle::SignNote(text, signers)));
    EXPECT_EQ(r.http_status, 409) << r.body;
    std::optional<uint64_t> size = merkle::ParseDecimal(
        std::string_view(r.body).substr(0, r.body.size() - 1));
    EXPECT_TRUE(size.has_value()) << r.body;
    return size.value_or(kHuge);
  }

  vigil::testing::TempDir dir_;
  std::shared_ptr<std::atomic<int64_t>> now_;
  TestLog log_;
  std::unique_ptr<Witness> witness_;
};

// ---------------------------------------------------------------------------
// 200

TEST_F(WitnessTest, FirstCheckpointIsCosignedFromOldSizeZero) {
  ExpectCosigned(Add(0, 5), log_.Text(5));
}

TEST_F(WitnessTest, CosignatureVerifiesWhenAppendedToTheCheckpoint) {
  const Witness::Response r = Add(0, 7);
  ASSERT_EQ(r.http_status, 200) << r.body;
  // The spec's recipe: concatenate the reply to the checkpoint.
  const std::string cosigned = log_.Note(7) + r.body;
  const merkle::CosignatureVerifier* witnesses[] = {&witness_->verifier()};
  absl::StatusOr<merkle::CosignatureQuorum> quorum =
      merkle::VerifyCosignatureQuorum(cosigned, witnesses, 1);
  ASSERT_TRUE(quorum.ok()) << quorum.status();
  EXPECT_EQ(quorum->cosigned[0].timestamp, static_cast<uint64_t>(kStart));
}

TEST_F(WitnessTest, ExtensionsWithConsistencyProofsAreCosigned) {
  ExpectCosigned(Add(0, 3), log_.Text(3));
  *now_ += 10;
  ExpectCosigned(Add(3, 4), log_.Text(4));
  *now_ += 10;
  ExpectCosigned(Add(4, 13), log_.Text(13));
  ExpectCosigned(Add(13, 1000), log_.Text(1000));
  EXPECT_EQ(LatestSize(), 1000u);
}

TEST_F(WitnessTest, SameTreeAgainIsCosignedAgain) {
  ASSERT_EQ(Add(0, 6).http_status, 200);
  *now_ += 60;
  ExpectCosigned(Add(6, 6), log_.Text(6));
}

TEST_F(WitnessTest, EmptyTreeIsCosigned) {
  ExpectCosigned(Add(0, 0), log_.Text(0));
  ExpectCosigned(Add(0, 2), log_.Text(2));
}

TEST_F(WitnessTest, SignaturesOfUnknownKeysAreIgnored) {
  auto other = *merkle::Ed25519Signer::Create("someone.else", Seed("other"));
  const merkle::NoteSigner* signers[] = {&other, &log_.signer()};
  const std::string note = *merkle::SignNote(log_.Text(4), signers);
  ExpectCosigned(witness_->AddCheckpoint(Body(0, {}, note)), log_.Text(4));
}

TEST_F(WitnessTest, AnyOfTheLogsKeysIsTrusted) {
  TestLog rotated("rotated log key");
  absl::StatusOr<std::unique_ptr<Witness>> witness = Witness::Create(
      *merkle::Cosigner::Create("witness.example/w1", Seed("witness key")),
      {WitnessLog{log_.origin(), {log_.verifier(), rotated.verifier()}}},
      StateDir(), [] { return absl::FromUnixSeconds(kStart); });
  ASSERT_TRUE(witness.ok()) << witness.status();
  EXPECT_EQ((*witness)->AddCheckpoint(Body(0, {}, rotated.Note(2))).http_status,
            200);
  EXPECT_EQ((*witness)
                ->AddCheckpoint(Body(2, log_.Proof(2, 5), log_.Note(5)))
                .http_status,
            200);
}

// ---------------------------------------------------------------------------
// 409

TEST_F(WitnessTest, OldSizeOtherThanTheLatestCosignedIsAConflict) {
  ASSERT_EQ(Add(0, 5).http_status, 200);
  ExpectConflict(Add(0, 8), 5);
  ExpectConflict(Add(4, 8), 5);
  ExpectConflict(Add(6, 8), 5);
  ExpectCosigned(Add(5, 8), log_.Text(8));
  ExpectConflict(Add(5, 9), 8);
}

TEST_F(WitnessTest, NonZeroOldSizeBeforeAnyCosignatureIsAConflict) {
  ExpectConflict(Add(3, 5), 0);
}

// ---------------------------------------------------------------------------
// 404

TEST_F(WitnessTest, UnknownOriginIsNotFound) {
  TestLog stranger("log key", "main", "example.org/another-log");
  const Witness::Response r =
      witness_->AddCheckpoint(Body(0, {}, stranger.Note(3)));
  EXPECT_EQ(r.http_status, 404) << r.body;
  EXPECT_THAT(r.body, HasSubstr("example.org/another-log"));
}

// ---------------------------------------------------------------------------
// 403

TEST_F(WitnessTest, CheckpointWithoutATrustedSignatureIsForbidden) {
  TestLog impostor("impostor key");  // Same origin and key name, other key.
  const Witness::Response r =
      witness_->AddCheckpoint(Body(0, {}, impostor.Note(3)));
  EXPECT_EQ(r.http_status, 403) << r.body;
  EXPECT_EQ(LatestSize(), 0u);
}

TEST_F(WitnessTest, FailingSignatureOfATrustedKeyIsForbidden) {
  // A second, valid signature by another key does not save the note.
  auto other = *merkle::Ed25519Signer::Create("someone.else", Seed("other"));
  const merkle::NoteSigner* signers[] = {&log_.signer(), &other};
  absl::StatusOr<merkle::SignedNote> note =
      merkle::ParseSignedNote(*merkle::SignNote(log_.Text(3), signers));
  ASSERT_TRUE(note.ok());
  note->signatures[0].signature[10] ^= 0x01;
  const Witness::Response r =
      witness_->AddCheckpoint(Body(0, {}, *merkle::FormatSignedNote(*note)));
  EXPECT_EQ(r.http_status, 403) << r.body;
}

TEST_F(WitnessTest, SignatureOverAnotherTextIsForbidden) {
  // The log's signature of size 3 moved onto the text of size 4.
  absl::StatusOr<merkle::SignedNote> note =
      merkle::ParseSignedNote(log_.Note(3));
  ASSERT_TRUE(note.ok());
  note->text = log_.Text(4);
  const Witness::Response r =
      witness_->AddCheckpoint(Body(0, {}, *merkle::FormatSignedNote(*note)));
  EXPECT_EQ(r.http_status, 403) << r.body;
}

// ---------------------------------------------------------------------------
// 400

TEST_F(WitnessTest, OldSizeAboveTheCheckpointSizeIsBadRequest) {
  ASSERT_EQ(Add(0, 5).http_status, 200);
  const Witness::Response r =
      witness_->AddCheckpoint(Body(6, {}, log_.Note(5)));
  EXPECT_EQ(r.http_status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("old size 6 exceeds the checkpoint size 5"));
}

TEST_F(WitnessTest, MalformedBodiesAreBadRequests) {
  const std::string note = log_.Note(4);
  const std::string proof_line =
      merkle::Base64Encode(log_.Proof(2, 4)[0]) + "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"only the old line", "old 0\n"},
      {"no newline", "old 0"},
      {"no blank line", "old 0\n" + note},
      {"no old line", "\n" + note},
      {"capital Old", "Old 0\n\n" + note},
      {"two spaces", "old  0\n\n" + note},
      {"tab", "old\t0\n\n" + note},
      {"leading zero", "old 00\n\n" + note},
      {"leading zero 2", "old 02\n" + proof_line + "\n" + note},
      {"plus sign", "old +2\n" + proof_line + "\n" + note},
      {"negative", "old -1\n\n" + note},
      {"trailing space", "old 0 \n\n" + note},
      {"CRLF", "old 0\r\n\r\n" + note},
      {"overflow", "old 18446744073709551616\n\n" + note},
      {"hex", "old 0x2\n" + proof_line + "\n" + note},
      {"bad base64", "old 2\n!!!!\n\n" + note},
      {"unpadded base64",
       "old 2\n" + proof_line.substr(0, proof_line.size() - 2) + "\n\n" + note},
      {"short hash", "old 2\n" +
                         merkle::Base64Encode(std::vector<uint8_t>(31)) +
                         "\n\n" + note},
      {"long hash", "old 2\n" + merkle::Base64Encode(std::vector<uint8_t>(33)) +
                        "\n\n" + note},
      {"space after hash", "old 2\n" +
                               proof_line.substr(0, proof_line.size() - 1) +
                               " \n\n" + note},
      {"note without signature", "old 0\n\n" + log_.Text(4)},
      {"note without blank line", "old 0\n\n" + log_.Text(4) + "x\n"},
      {"not a checkpoint",
       "old 0\n\n" + *merkle::SignNote("hello\n",
                                       std::vector<const merkle::NoteSigner*>{
                                           &log_.signer()})},
      {"two blank lines", "old 0\n\n\n" + note},
      {"truncated note", "old 0\n\n" + note.substr(0, note.size() - 1)},
  };
  for (const auto& [name, body] : cases) {
    const Witness::Response r = witness_->AddCheckpoint(body);
    EXPECT_EQ(r.http_status, 400) << name << ": " << r.body;
    EXPECT_EQ(r.content_type, "text/plain; charset=utf-8") << name;
  }
  EXPECT_EQ(LatestSize(), 0u);
}

TEST_F(WitnessTest, SixtyThreeProofLinesAreParsedSixtyFourAreNot) {
  const std::vector<merkle::Hash> lines(63, Seed("junk"));
  // 63 lines parse, and the proof (of the wrong length) is then refused.
  EXPECT_EQ(witness_->AddCheckpoint(Body(0, lines, log_.Note(4))).http_status,
            422);
  std::vector<merkle::Hash> too_many(64, Seed("junk"));
  const Witness::Response r =
      witness_->AddCheckpoint(Body(0, too_many, log_.Note(4)));
  EXPECT_EQ(r.http_status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("more than 63"));
}

TEST_F(WitnessTest, OversizedBodyIsBadRequest) {
  std::string body = Body(0, {}, log_.Note(4));
  body.append(kMaxAddCheckpointBody, 'x');
  EXPECT_EQ(witness_->AddCheckpoint(body).http_status, 400);
}

// ---------------------------------------------------------------------------
// 422

TEST_F(WitnessTest, EmptyCheckpointWithAnotherRootIsUnprocessable) {
  const std::string text = *merkle::MarshalCheckpoint(
      {log_.origin(), 0, Seed("not the empty root"), {}});
  const merkle::NoteSigner* signers[] = {&log_.signer()};
  const Witness::Response r =
      witness_->AddCheckpoint(Body(0, {}, *merkle::SignNote(text, signers)));
  EXPECT_EQ(r.http_status, 422) << r.body;
  EXPECT_EQ(LatestSize(), 0u);
}

TEST_F(WitnessTest, ProofWithOldSizeZeroIsUnprocessable) {
  const Witness::Response r =
      witness_->AddCheckpoint(Body(0, {log_.Root(1)}, log_.Note(4)));
  EXPECT_EQ(r.http_status, 422) << r.body;
}

TEST_F(WitnessTest, EveryMutatedProofIsUnprocessable) {
  ASSERT_EQ(Add(0, 6).http_status, 200);
  const std::vector<merkle::Hash> good = log_.Proof(6, 13);
  ASSERT_GT(good.size(), 1u);
  std::vector<std::pair<std::string, std::vector<merkle::Hash>>> mutations;
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<merkle::Hash> flipped = good;
    flipped[i][i % merkle::kHashSize] ^= 0x01;
    mutations.emplace_back(absl::StrFormat("bit flipped in %d", i), flipped);
  }
  mutations.emplace_back(
      "truncated", std::vector<merkle::Hash>(good.begin(), good.end() - 1));
  std::vector<merkle::Hash> trailing = good;
  trailing.push_back(good.back());
  mutations.emplace_back("trailing hash", trailing);
  mutations.emplace_back("empty", std::vector<merkle::Hash>{});
  std::vector<merkle::Hash> swapped = good;
  std::swap(swapped[0], swapped[1]);
  mutations.emplace_back("swapped", swapped);
  mutations.emplace_back("proof for size 12", log_.Proof(6, 12));
  for (const auto& [name, proof] : mutations) {
    const Witness::Response r =
        witness_->AddCheckpoint(Body(6, proof, log_.Note(13)));
    EXPECT_EQ(r.http_status, 422) << name << ": " << r.body;
  }
  EXPECT_EQ(LatestSize(), 6u);
  ExpectCosigned(witness_->AddCheckpoint(Body(6, good, log_.Note(13))),
                 log_.Text(13));
}

TEST_F(WitnessTest, ProofForTheNeighbouringSizesIsUnprocessable) {
  ASSERT_EQ(Add(0, 6).http_status, 200);
  // Size ±1 of the new checkpoint: the proof is for 6 -> 13.
  EXPECT_EQ(witness_->AddCheckpoint(Body(6, log_.Proof(6, 13), log_.Note(12)))
                .http_status,
            422);
  EXPECT_EQ(witness_->AddCheckpoint(Body(6, log_.Proof(6, 13), log_.Note(14)))
                .http_status,
            422);
}

TEST_F(WitnessTest, SameSizeWithAnotherRootIsUnprocessable) {
  ASSERT_EQ(Add(0, 5).http_status, 200);
  TestLog fork("log key", "fork");
  const Witness::Response r =
      witness_->AddCheckpoint(Body(5, {}, fork.Note(5)));
  EXPECT_EQ(r.http_status, 422) << r.body;
  EXPECT_THAT(r.body, HasSubstr("root"));
}

// ---------------------------------------------------------------------------
// Never two trees of one size

TEST_F(WitnessTest, NeverCosignsTwoTreesOfOneSizeEvenAcrossRestarts) {
  TestLog fork("log key", "fork");  // Same key, other leaves: a split view.
  ASSERT_EQ(Add(0, 5).http_status, 200);
  ASSERT_EQ(Add(5, 9).http_status, 200);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "before restart" : "after restart");
    for (uint64_t size : {uint64_t{5}, uint64_t{9}, uint64_t{12}}) {
      for (uint64_t old_size : {uint64_t{0}, uint64_t{5}, uint64_t{9}}) {
        if (old_size > size) continue;
        const Witness::Response r = witness_->AddCheckpoint(
            Body(old_size, fork.Proof(old_size, size), fork.Note(size)));
        EXPECT_NE(r.http_status, 200)
            << "cosigned the fork at size " << size << " from " << old_size;
      }
    }
    // A fork at a size the witness never saw: no consistent proof exists.
    EXPECT_EQ(witness_->AddCheckpoint(Body(9, fork.Proof(9, 12), fork.Note(12)))
                  .http_status,
              422);
    ExpectConflict(witness_->AddCheckpoint(Body(0, {}, fork.Note(3))), 9);
    Restart();
  }
  // The real log goes on.
  ExpectCosigned(Add(9, 12), log_.Text(12));
}

// ---------------------------------------------------------------------------
// State

TEST_F(WitnessTest, StateSurvivesARestart) {
  ASSERT_EQ(Add(0, 5).http_status, 200);
  ASSERT_EQ(Add(5, 11).http_status, 200);
  const Witness::Response before =
      witness_->LatestCheckpoint(OriginHash(log_.origin()));
  Restart();
  ExpectConflict(Add(5, 12), 11);
  const Witness::Response after =
      witness_->LatestCheckpoint(OriginHash(log_.origin()));
  EXPECT_EQ(after.http_status, 200);
  EXPECT_EQ(after.body, before.body);
  ExpectCosigned(Add(11, 12), log_.Text(12));
}

TEST_F(WitnessTest, StateFileIsTheCosignedNoteWrittenBeforeAnswering) {
  const Witness::Response r = Add(0, 4);
  ASSERT_EQ(r.http_status, 200);
  absl::StatusOr<std::string> file = server::ReadFile(StateFile());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(*file, log_.Note(4) + r.body);
}

TEST_F(WitnessTest, StateKeepsOnlyVerifiedSignatures) {
  auto other = *merkle::Ed25519Signer::Create("someone.else", Seed("other"));
  const merkle::NoteSigner* signers[] = {&other, &log_.signer()};
  const Witness::Response r = witness_->AddCheckpoint(
      Body(0, {}, *merkle::SignNote(log_.Text(4), signers)));
  ASSERT_EQ(r.http_status, 200) << r.body;
  const Witness::Response latest =
      witness_->LatestCheckpoint(OriginHash(log_.origin()));
  EXPECT_EQ(latest.body, log_.Note(4) + r.body);
  EXPECT_THAT(latest.body, ::testing::Not(HasSubstr("someone.else")));
}

TEST_F(WitnessTest, RefusesToStartFromAStateFileThatDoesNotVerify) {
  ASSERT_EQ(Add(0, 4).http_status, 200);
  witness_.reset();
  const std::string good = *server::ReadFile(StateFile());
  TestLog fork("log key", "fork");
  TestLog impostor("impostor key");
  const Witness::Response foreign =
      MustStart()->AddCheckpoint(Body(4, {}, log_.Note(4)));
  ASSERT_EQ(foreign.http_status, 200);
  std::string flipped_root = good;
  const size_t root_at = flipped_root.find('\n', flipped_root.find('\n') + 1);
  flipped_root[root_at + 1] = flipped_root[root_at + 1] == 'A' ? 'B' : 'A';
  // Signed by the log, cosigned by another witness key.
  const merkle::Cosigner stranger =
      *merkle::Cosigner::Create("witness.example/w1", Seed("other witness"));
  const std::string other_witness =
      log_.Note(4) +
      merkle::FormatSignatureLine(*stranger.Cosign(log_.Text(4), kStart));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", "garbage"},
      {"empty", ""},
      {"flipped root", flipped_root},
      {"log signature only", log_.Note(4)},
      {"impostor log key", impostor.Note(4) + foreign.body},
      {"cosignature of another tree", fork.Note(4) + foreign.body},
      {"other witness key", other_witness},
  };
  for (const auto& [name, content] : cases) {
    ASSERT_TRUE(server::WriteFileAtomically(StateFile(), content).ok());
    EXPECT_THAT(Start(), IsError(absl::StatusCode::kDataLoss, StateFile()))
        << name;
  }
  ASSERT_TRUE(server::WriteFileAtomically(StateFile(), good).ok());
  EXPECT_TRUE(Start().ok());
}

TEST_F(WitnessTest, StateOfAnotherOriginIsRefused) {
  TestLog other("log key", "main", "example.org/other");
  ASSERT_EQ(Add(0, 3).http_status, 200);
  const std::string good = *server::ReadFile(StateFile());
  witness_.reset();
  // A file moved from one origin's name to another's.
  ASSERT_TRUE(server::WriteFileAtomically(
                  StateDir() + "/" + OriginHash(other.origin()), good)
                  .ok());
  EXPECT_THAT(
      Witness::Create(
          *merkle::Cosigner::Create("witness.example/w1", Seed("witness key")),
          {WitnessLog{other.origin(), {log_.verifier(), other.verifier()}}},
          StateDir(), [] { return absl::FromUnixSeconds(kStart); }),
      IsError(absl::StatusCode::kDataLoss, "example.org/witnessed-log"));
}

TEST_F(WitnessTest, FailedWriteIsNotAnsweredAndIsSticky) {
  ASSERT_EQ(Add(0, 3).http_status, 200);
  // The state directory turns into a file: the next write fails.
  std::filesystem::remove_all(StateDir());
  { std::ofstream(StateDir()) << "in the way"; }
  const Witness::Response failed = Add(3, 5);
  EXPECT_EQ(failed.http_status, 500) << failed.body;
  // The state did not move.
  const Witness::Response latest =
      witness_->LatestCheckpoint(OriginHash(log_.origin()));
  EXPECT_TRUE(latest.body.starts_with(log_.Text(3))) << latest.body;
  std::filesystem::remove(StateDir());
  std::filesystem::create_directories(StateDir());
  const Witness::Response again = Add(3, 5);
  EXPECT_EQ(again.http_status, 500) << "a failed write must be sticky";
}

TEST_F(WitnessTest, ClockAtOrBeforeTheEpochIsRefused) {
  *now_ = 0;
  EXPECT_EQ(Add(0, 3).http_status, 500);
  *now_ = -5;
  EXPECT_EQ(Add(0, 3).http_status, 500);
  *now_ = 1;
  ExpectCosigned(Add(0, 3), log_.Text(3));
}

// ---------------------------------------------------------------------------
// LatestCheckpoint

TEST_F(WitnessTest, LatestCheckpointServesTheLogAndWitnessSignatures) {
  const std::string hash = OriginHash(log_.origin());
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(witness_->LatestCheckpoint(hash).http_status, 404);
  ASSERT_EQ(Add(0, 5).http_status, 200);
  *now_ += 3;
  ASSERT_EQ(Add(5, 9).http_status, 200);
  const Witness::Response r = witness_->LatestCheckpoint(hash);
  ASSERT_EQ(r.http_status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(r.body, log_.verifier(), log_.origin());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->checkpoint.size, 9u);
  const merkle::CosignatureVerifier* witnesses[] = {&witness_->verifier()};
  absl::StatusOr<merkle::CosignatureQuorum> quorum =
      merkle::VerifyCosignatureQuorum(r.body, witnesses, 1);
  ASSERT_TRUE(quorum.ok()) << quorum.status();
  EXPECT_EQ(quorum->cosigned[0].timestamp, static_cast<uint64_t>(kStart + 3));
}

TEST_F(WitnessTest, LatestCheckpointOfAnUnknownHashIsNotFound) {
  ASSERT_EQ(Add(0, 5).http_status, 200);
  std::string upper = OriginHash(log_.origin());
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  for (const std::string& hash :
       {std::string(), std::string(64, '0'), upper,
        OriginHash("example.org/other"), OriginHash(log_.origin()).substr(1)}) {
    EXPECT_EQ(witness_->LatestCheckpoint(hash).http_status, 404) << hash;
  }
}

TEST(OriginHashTest, IsLowercaseHexSha256) {
  EXPECT_EQ(OriginHash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ---------------------------------------------------------------------------
// Create

TEST_F(WitnessTest, CreateRefusesBadArguments) {
  auto make = [&](std::vector<WitnessLog> logs, const std::string& dir,
                  WitnessClock clock) {
    return Witness::Create(
        *merkle::Cosigner::Create("witness.example/w1", Seed("w")),
        std::move(logs), dir, std::move(clock));
  };
  const WitnessClock clock = [] { return absl::FromUnixSeconds(kStart); };
  EXPECT_THAT(make({}, StateDir(), clock),
              IsError(absl::StatusCode::kInvalidArgument, "at least one log"));
  EXPECT_THAT(make({WitnessLog{"a", {}}}, StateDir(), clock),
              IsError(absl::StatusCode::kInvalidArgument, "no key"));
  EXPECT_THAT(make({WitnessLog{"", {log_.verifier()}}}, StateDir(), clock),
              IsError(absl::StatusCode::kInvalidArgument, "empty"));
  EXPECT_THAT(make({WitnessLog{"a\nb", {log_.verifier()}}}, StateDir(), clock),
              IsError(absl::StatusCode::kInvalidArgument, "control"));
  EXPECT_THAT(make({WitnessLog{"a", {log_.verifier()}},
                    WitnessLog{"a", {log_.verifier()}}},
                   StateDir(), clock),
              IsError(absl::StatusCode::kInvalidArgument, "twice"));
  EXPECT_THAT(make({WitnessLog{"a", {log_.verifier(), log_.verifier()}}},
                   StateDir(), clock),
              IsError(absl::StatusCode::kInvalidArgument, "two keys"));
  EXPECT_THAT(make(Logs(), "", clock),
              IsError(absl::StatusCode::kInvalidArgument, "state directory"));
  EXPECT_THAT(make(Logs(), StateDir(), nullptr),
              IsError(absl::StatusCode::kInvalidArgument, "clock"));
}

TEST_F(WitnessTest, CreateMakesTheStateDirectory) {
  EXPECT_TRUE(std::filesystem::is_directory(StateDir()));
  { std::ofstream(dir_.Sub("file")) << "not a directory"; }
  EXPECT_THAT(Witness::Create(
                  *merkle::Cosigner::Create("witness.example/w1", Seed("w")),
                  Logs(), dir_.Sub("file") + "/state",
                  [] { return absl::FromUnixSeconds(kStart); }),
              IsError(absl::StatusCode::kUnavailable, "state directory"));
}

// ---------------------------------------------------------------------------
// Concurrency

TEST_F(WitnessTest, ConcurrentRequestsNeverRollTheStateBack) {
  constexpr uint64_t kFinal = 200;
  constexpr int kThreads = 8;
  log_.GrowTo(kFinal);
  // Precompute every note and proof a thread may need: TestLog is not
  // thread-safe.
  std::vector<std::string> notes(kFinal + 1);
  for (uint64_t s = 0; s <= kFinal; ++s) notes[s] = log_.Note(s);
  std::map<std::pair<uint64_t, uint64_t>, std::vector<merkle::Hash>> proofs;
  for (uint64_t a = 0; a <= kFinal; ++a) {
    for (uint64_t b = a + 1; b <= std::min(kFinal, a + 16); ++b) {
      proofs[{a, b}] = log_.Proof(a, b);
    }
  }
  absl::Mutex mu;
  std::map<uint64_t, int> successes_from;  // Old size -> 200s.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);  // Fixed seeds.
      uint64_t believed = 0;
      while (believed < kFinal) {
        const uint64_t target = std::min(kFinal, believed + 1 + rng() % 16);
        const Witness::Response r = witness_->AddCheckpoint(
            Body(believed, proofs.at({believed, target}), notes[target]));
        if (r.http_status == 200) {
          absl::MutexLock lock(&mu);
          ++successes_from[believed];
          believed = target;
        } else if (r.http_status == 409) {
          believed = *merkle::ParseDecimal(
              std::string_view(r.body).substr(0, r.body.size() - 1));
        } else {
          ADD_FAILURE() << r.http_status << " " << r.body;
          return;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  // Each state was extended exactly once: two successes from one old size
  // would mean a check and a write interleaved.
  for (const auto& [old_size, count] : successes_from) {
    EXPECT_EQ(count, 1) << "old size " << old_size;
  }
  EXPECT_EQ(LatestSize(), kFinal);
  Restart();
  EXPECT_EQ(LatestSize(), kFinal);
}

}  // namespace
}  // namespace vigil::client
