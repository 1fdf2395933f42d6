// tlog-proof bundles over the independent reference log: built from its
// entries, verified with its keys, and every tampering refused at the step
// that catches it.

#include "merkle/tlog_proof.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "merkle/encoding.h"
#include "merkle/tiles.h"
#include "tests/testing/memory_tree.h"
#include "tests/testing/testdata.h"

namespace vigil::merkle {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kOrigin = "example.org/reference-log";

std::string Trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

class TlogProofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* bundle : {"000", "001", "002", "003.p/232"}) {
      absl::StatusOr<std::string> data = testing::ReadTestdata(
          absl::StrCat("reference-log/log/tile/entries/", bundle));
      ASSERT_TRUE(data.ok()) << data.status();
      const size_t width = std::string_view(bundle).size() > 3 ? 232 : 256;
      absl::StatusOr<std::vector<std::string>> entries =
          DecodeEntryBundle(*data, width);
      ASSERT_TRUE(entries.ok()) << entries.status();
      for (const std::string& e : *entries) {
        entries_.push_back(e);
        tree_.Append(HashLeaf(AsBytes(e)));
      }
    }
    ASSERT_EQ(tree_.size(), 1000u);
    absl::StatusOr<std::string> checkpoint =
        testing::ReadTestdata("reference-log/log/checkpoint");
    ASSERT_TRUE(checkpoint.ok());
    checkpoint_ = *checkpoint;
    absl::StatusOr<Ed25519Verifier> log = Ed25519Verifier::FromVerifierKey(
        Trimmed(*testing::ReadTestdata("reference-log/log.vkey")));
    ASSERT_TRUE(log.ok()) << log.status();
    log_.emplace(*std::move(log));
    absl::StatusOr<CosignatureVerifier> witness =
        CosignatureVerifier::FromVerifierKey(
            Trimmed(*testing::ReadTestdata("reference-log/witness.vkey")));
    ASSERT_TRUE(witness.ok()) << witness.status();
    witness_.emplace(*std::move(witness));
    witnesses_ = {&*witness_};
  }

  TlogProof ProofFor(uint64_t index) {
    TlogProof proof;
    proof.index = index;
    proof.inclusion = *tree_.InclusionProof(index, 1000);
    proof.checkpoint = checkpoint_;
    return proof;
  }

  TlogProofPolicy Policy(size_t quorum = 1) {
    return TlogProofPolicy{std::string(kOrigin), &*log_, witnesses_, quorum};
  }

  std::vector<std::string> entries_;
  testing::MemoryTree tree_;
  std::string checkpoint_;
  std::optional<Ed25519Verifier> log_;
  std::optional<CosignatureVerifier> witness_;
  std::vector<const CosignatureVerifier*> witnesses_;
};

TEST_F(TlogProofTest, BundleForEveryHundredthEntryVerifies) {
  for (uint64_t index = 0; index < 1000; index += 99) {
    const TlogProof proof = ProofFor(index);
    absl::StatusOr<std::string> bundle = MarshalTlogProof(proof);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    absl::StatusOr<TlogProof> parsed = ParseTlogProof(*bundle);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, proof);
    absl::StatusOr<VerifiedTlogProof> verified =
        VerifyTlogProof(*parsed, HashLeaf(AsBytes(entries_[index])), Policy());
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->index, index);
    EXPECT_EQ(verified->checkpoint.size, 1000u);
    ASSERT_EQ(verified->quorum.cosigned.size(), 1u);
    EXPECT_EQ(verified->quorum.cosigned[0].timestamp, 1764201600u);
  }
}

TEST_F(TlogProofTest, LayoutFollowsTheSpec) {
  TlogProof proof = ProofFor(5);
  proof.extra = std::vector<uint8_t>{'h', 'i'};
  const std::string bundle = *MarshalTlogProof(proof);
  std::string want = "c2sp.org/tlog-proof@v1\nextra aGk=\nindex 5\n";
  for (const Hash& h : proof.inclusion) want += Base64Encode(h) + "\n";
  want += "\n" + checkpoint_;
  EXPECT_EQ(bundle, want);
  EXPECT_EQ(*ParseTlogProof(bundle), proof);
}

TEST_F(TlogProofTest, TamperingFailsAtItsOwnStep) {
  const uint64_t index = 321;
  const Hash leaf = HashLeaf(AsBytes(entries_[index]));

  std::string changed_entry = entries_[index];
  changed_entry[0] ^= 1;
  absl::Status s = VerifyTlogProof(ProofFor(index),
                                   HashLeaf(AsBytes(changed_entry)), Policy())
                       .status();
  EXPECT_THAT(std::string(s.message()), StartsWith("step 4 (inclusion)"));

  TlogProof bad_hash = ProofFor(index);
  bad_hash.inclusion[2][7] ^= 0x10;
  s = VerifyTlogProof(bad_hash, leaf, Policy()).status();
  EXPECT_THAT(std::string(s.message()), StartsWith("step 4 (inclusion)"));

  TlogProof bad_index = ProofFor(index);
  bad_index.index = index + 1;
  s = VerifyTlogProof(bad_index, leaf, Policy()).status();
  EXPECT_THAT(std::string(s.message()), StartsWith("step 4 (inclusion)"));

  TlogProof bad_signature = ProofFor(index);
  const size_t sig =
      bad_signature.checkpoint.find("— example.org/reference-log ");
  ASSERT_NE(sig, std::string::npos);
  bad_signature.checkpoint[sig + 40] ^= 1;  // Inside the base64 signature.
  s = VerifyTlogProof(bad_signature, leaf, Policy()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()), StartsWith("step 2 (log signature)"));

  TlogProof bad_root = ProofFor(index);
  bad_root.checkpoint.replace(bad_root.checkpoint.find("\n1000\n"), 6,
                              "\n1001\n");
  s = VerifyTlogProof(bad_root, leaf, Policy()).status();
  EXPECT_THAT(std::string(s.message()), StartsWith("step 2 (log signature)"));

  absl::StatusOr<Ed25519Signer> other_log = Ed25519Signer::Generate(kOrigin);
  ASSERT_TRUE(other_log.ok());
  const Ed25519Verifier& wrong_key = other_log->verifier();
  TlogProofPolicy wrong_log = Policy();
  wrong_log.log = &wrong_key;
  s = VerifyTlogProof(ProofFor(index), leaf, wrong_log).status();
  EXPECT_THAT(std::string(s.message()), StartsWith("step 2 (log signature)"));

  TlogProofPolicy wrong_origin = Policy();
  wrong_origin.origin = "example.org/other-log";
  s = VerifyTlogProof(ProofFor(index), leaf, wrong_origin).status();
  EXPECT_THAT(std::string(s.message()), StartsWith("step 2 (log signature)"));
}

TEST_F(TlogProofTest, MissingWitnessQuorumFailsAtStepThree) {
  absl::StatusOr<Cosigner> absent = Cosigner::Generate("example.org/absent");
  ASSERT_TRUE(absent.ok());
  std::vector<const CosignatureVerifier*> two = {&*witness_,
                                                 &absent->verifier()};
  TlogProofPolicy policy{std::string(kOrigin), &*log_, two, 2};
  const absl::Status s =
      VerifyTlogProof(ProofFor(7), HashLeaf(AsBytes(entries_[7])), policy)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(s.message()),
              StartsWith("step 3 (witness cosignatures)"));
  policy.quorum = 1;
  EXPECT_TRUE(
      VerifyTlogProof(ProofFor(7), HashLeaf(AsBytes(entries_[7])), policy)
          .ok());
}

TEST_F(TlogProofTest, PolicyErrorsAreReported) {
  TlogProofPolicy no_log = Policy();
  no_log.log = nullptr;
  EXPECT_EQ(VerifyTlogProof(ProofFor(0), EmptyRoot(), no_log).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      VerifyTlogProof(ProofFor(0), EmptyRoot(), Policy(2)).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(TlogProofTest, HostileBundlesAreRejectedWithClearErrors) {
  const std::string good = *MarshalTlogProof(ProofFor(9));
  const std::string proof_line = Base64Encode(ProofFor(9).inclusion[0]) + "\n";
  struct Case {
    std::string bundle;
    std::string error;
  };
  std::vector<Case> cases = {
      {"", "first line"},
      {"c2sp.org/tlog-proof@v2\nindex 1\n\n" + checkpoint_, "first line"},
      {"c2sp.org/tlog-proof@v1", "first line"},
      {"c2sp.org/tlog-proof@v1\n", "no index line"},
      {"c2sp.org/tlog-proof@v1\nindex 01\n\n" + checkpoint_, "leading zeros"},
      {"c2sp.org/tlog-proof@v1\nindex -1\n\n" + checkpoint_, "decimal"},
      {"c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\n" + checkpoint_,
       "decimal"},
      {"c2sp.org/tlog-proof@v1\nindex 1 \n\n" + checkpoint_, "decimal"},
      {"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\n" + checkpoint_,
       "extra line"},
      {"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n" + checkpoint_,
       "proof hash 0"},
      {"c2sp.org/tlog-proof@v1\nindex 1\n" + proof_line, "no empty line"},
      {"c2sp.org/tlog-proof@v1\nindex 1\n\n", "checkpoint"},
      {"c2sp.org/tlog-proof@v1\nindex 1\n\nnot a note\n", "checkpoint"},
      {good.substr(0, good.size() - 1), "checkpoint"},
      {good + "trailing\n", "checkpoint"},
  };
  std::string too_many = "c2sp.org/tlog-proof@v1\nindex 1\n";
  for (int i = 0; i < 65; ++i) too_many += proof_line;
  cases.push_back({too_many + "\n" + checkpoint_, "more than 64"});
  for (const Case& c : cases) {
    absl::StatusOr<TlogProof> parsed = ParseTlogProof(c.bundle);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << c.bundle;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.error))
        << c.bundle;
  }
}

TEST_F(TlogProofTest, EveryTruncationIsRejectedOrReparsesExactly) {
  const std::string good = *MarshalTlogProof(ProofFor(500));
  for (size_t n = 0; n < good.size(); ++n) {
    absl::StatusOr<TlogProof> parsed = ParseTlogProof(good.substr(0, n));
    if (parsed.ok()) {
      // A prefix can only parse if it is itself a complete bundle.
      EXPECT_EQ(*MarshalTlogProof(*parsed), good.substr(0, n));
    }
  }
}

}  // namespace
}  // namespace vigil::merkle
