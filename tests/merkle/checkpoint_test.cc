#include "merkle/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/note.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/testdata.h"

namespace vigil::merkle {
namespace {

using ::vigil::testing::IsError;

constexpr std::string_view kReferenceOrigin = "example.org/reference-log";
constexpr std::string_view kReferenceRoot =
    "Pc/ho5pvuNRZpWIFj7LKiaHdKpUfufA4cAkEV6Uu/pg=";
// From c2sp.org/tlog-checkpoint.
constexpr std::string_view kSpecText =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

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

Ed25519Signer MakeSigner(std::string_view name) {
  absl::StatusOr<Ed25519Signer> signer =
      Ed25519Signer::Create(name, Sha256(AsBytes(name)));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

Checkpoint SampleCheckpoint() {
  Checkpoint c;
  c.origin = "example.org/log";
  c.size = 42;
  c.root = Sha256(AsBytes("root"));
  return c;
}

TEST(CheckpointTest, SpecExampleParses) {
  absl::StatusOr<Checkpoint> c = ParseCheckpoint(kSpecText);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(c->size, 20852163u);
  EXPECT_EQ(Base64Encode(c->root),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(c->extensions.empty());
  EXPECT_EQ(MarshalCheckpoint(*c).value(), kSpecText);
}

TEST(CheckpointTest, MarshalWritesThreeLinesAndExtensions) {
  Checkpoint c = SampleCheckpoint();
  const std::string root = Base64Encode(c.root);
  EXPECT_EQ(MarshalCheckpoint(c).value(),
            absl::StrFormat("example.org/log\n42\n%s\n", root));
  c.extensions = {"ext one", "— ü +"};
  EXPECT_EQ(MarshalCheckpoint(c).value(),
            absl::StrFormat("example.org/log\n42\n%s\next one\n— ü +\n", root));
}

TEST(CheckpointTest, CheckpointsRoundTrip) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, uint64_t{10},
                        std::numeric_limits<uint64_t>::max()}) {
    for (const std::vector<std::string>& ext :
         {std::vector<std::string>{}, std::vector<std::string>{"a"},
          std::vector<std::string>{"x y", "origin+like", "ünï"}}) {
      Checkpoint c = SampleCheckpoint();
      c.size = size;
      c.extensions = ext;
      absl::StatusOr<std::string> text = MarshalCheckpoint(c);
      ASSERT_TRUE(text.ok()) << text.status();
      absl::StatusOr<Checkpoint> parsed = ParseCheckpoint(*text);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(*parsed, c);
    }
  }
  Checkpoint empty = SampleCheckpoint();
  empty.size = 0;
  empty.root = EmptyRoot();
  EXPECT_EQ(
      MarshalCheckpoint(empty).value(),
      "example.org/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
}

TEST(CheckpointTest, OriginMayBeAnyNonEmptyLine) {
  // The spec only recommends a schema-less URL; clients must not assume it.
  const std::string root = std::string(kReferenceRoot);
  for (const char* origin : {"has space", "has+plus", "ünï", "—"}) {
    absl::StatusOr<Checkpoint> c =
        ParseCheckpoint(absl::StrFormat("%s\n1\n%s\n", origin, root));
    ASSERT_TRUE(c.ok()) << origin << ": " << c.status();
    EXPECT_EQ(c->origin, origin);
  }
}

TEST(CheckpointTest, MalformedTextsAreRejected) {
  const std::string root = std::string(kReferenceRoot);
  const std::string root31 = Base64Encode(std::vector<uint8_t>(31, 1));
  const std::string root33 = Base64Encode(std::vector<uint8_t>(33, 1));
  struct Case {
    std::string text;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", "checkpoint is empty"},
      {"\n", "has 1 lines, need at least 3"},
      {"o\n1\n", "has 2 lines, need at least 3"},
      {"o\n1\n" + root, "does not end with a newline"},
      {"o\n1\n" + root + "\n\n", "extension line 0 is empty"},
      {"o\n1\n" + root + "\next\n\nmore\n", "extension line 1 is empty"},
      {"\n1\n" + root + "\n", "origin is empty"},
      {"o\n\n" + root + "\n", "size is empty"},
      {"o\n1\n\n", "root is empty"},
      {"o\r\n1\n" + root + "\n", "origin contains control character 0x0d"},
      {"o\n1\r\n" + root + "\n", "size contains control character 0x0d"},
      {"o\n1\n" + root + "\r\n", "root contains control character 0x0d"},
      {"o\n1\n" + root + "\nx\ty\n", "control character 0x09"},
      {"o\xff\n1\n" + root + "\n", "origin is not valid UTF-8"},
      {"o\n1\n" + root + "\n\xc3\n", "extension line 0 is not valid UTF-8"},
      {"o\n01\n" + root + "\n", "size \"01\""},
      {"o\n00\n" + root + "\n", "size \"00\""},
      {"o\n+1\n" + root + "\n", "size \"+1\""},
      {"o\n-1\n" + root + "\n", "size \"-1\""},
      {"o\n 1\n" + root + "\n", "size \" 1\""},
      {"o\n1 \n" + root + "\n", "size \"1 \""},
      {"o\n0x10\n" + root + "\n", "size \"0x10\""},
      {"o\n1e3\n" + root + "\n", "size \"1e3\""},
      {"o\n18446744073709551616\n" + root + "\n", "not a decimal uint64"},
      {"o\n99999999999999999999999\n" + root + "\n", "not a decimal uint64"},
      {"o\n1\n" + root31 + "\n", "hash is 31 bytes, want 32"},
      {"o\n1\n" + root33 + "\n", "hash is 33 bytes, want 32"},
      {"o\n1\n" + root.substr(0, 43) + "\n", "base64"},
      {"o\n1\n" + root.substr(0, 42) + "h=\n", "base64"},  // Non-canonical.
      {"o\n1\n" + root + "=\n", "base64"},
      {"o\n1\n " + root + "\n", "base64"},
      {"o\n1\n" + std::string(kMaxNoteSize, 'x') + "\n", "limit"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseCheckpoint(c.text),
                IsError(absl::StatusCode::kInvalidArgument, c.want))
        << absl::StrFormat("%s", c.text);
  }
}

TEST(CheckpointTest, LargestSizeParses) {
  absl::StatusOr<Checkpoint> c = ParseCheckpoint(
      "o\n18446744073709551615\n" + std::string(kReferenceRoot) + "\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->size, std::numeric_limits<uint64_t>::max());
}

TEST(CheckpointTest, MarshalRejectsLinesThatWouldChangeTheText) {
  Checkpoint c = SampleCheckpoint();
  c.origin = "";
  EXPECT_THAT(MarshalCheckpoint(c),
              IsError(absl::StatusCode::kInvalidArgument, "origin is empty"));
  c.origin = "a\n5";
  EXPECT_THAT(MarshalCheckpoint(c),
              IsError(absl::StatusCode::kInvalidArgument, "control"));
  c = SampleCheckpoint();
  c.extensions = {"ok", ""};
  EXPECT_THAT(MarshalCheckpoint(c), IsError(absl::StatusCode::kInvalidArgument,
                                            "extension line 1 is empty"));
  c.extensions = {"two\nlines"};
  EXPECT_THAT(MarshalCheckpoint(c),
              IsError(absl::StatusCode::kInvalidArgument, "control"));
  c.extensions = {"\xff"};
  EXPECT_THAT(MarshalCheckpoint(c),
              IsError(absl::StatusCode::kInvalidArgument, "UTF-8"));
}

TEST(CheckpointTest, ReferenceLogCheckpointOpensWithTheLogKey) {
  const std::string note = Testdata("reference-log/log/checkpoint");
  absl::StatusOr<Ed25519Verifier> log =
      Ed25519Verifier::FromVerifierKey(KeyFile("reference-log/log.vkey"));
  ASSERT_TRUE(log.ok()) << log.status();
  absl::StatusOr<OpenedCheckpoint> opened =
      OpenCheckpoint(note, *log, kReferenceOrigin);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->checkpoint.origin, kReferenceOrigin);
  EXPECT_EQ(opened->checkpoint.size, 1000u);
  EXPECT_EQ(Base64Encode(opened->checkpoint.root), kReferenceRoot);
  EXPECT_TRUE(opened->checkpoint.extensions.empty());
  EXPECT_EQ(opened->text, note.substr(0, note.find("\n\n") + 1));
  EXPECT_EQ(opened->log_signature.name, kReferenceOrigin);
  EXPECT_EQ(opened->log_signature.key_id, 0x455e378cu);
  // The witness cosignature is left for the caller to check.
  ASSERT_EQ(opened->other_signatures.size(), 1u);
  EXPECT_EQ(opened->other_signatures[0].name, "example.org/reference-witness");
  EXPECT_EQ(opened->other_signatures[0].key_id, 0xddacfa79u);
}

TEST(CheckpointTest, ReferenceLogKeysCorrespond) {
  absl::StatusOr<Ed25519Signer> signer =
      Ed25519Signer::FromSignerKey(KeyFile("reference-log/log.skey"));
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->verifier().vkey(), KeyFile("reference-log/log.vkey"));
  EXPECT_EQ(signer->name(), kReferenceOrigin);
  EXPECT_EQ(signer->key_id(), 0x455e378cu);
}

TEST(CheckpointTest, ReferenceLogSignatureIsReproduced) {
  const std::string note = Testdata("reference-log/log/checkpoint");
  absl::StatusOr<Ed25519Signer> signer =
      Ed25519Signer::FromSignerKey(KeyFile("reference-log/log.skey"));
  ASSERT_TRUE(signer.ok()) << signer.status();
  Checkpoint c;
  c.origin = std::string(kReferenceOrigin);
  c.size = 1000;
  c.root = Base64DecodeHash(kReferenceRoot, "root").value();
  const std::string text = MarshalCheckpoint(c).value();
  const NoteSigner* signers[] = {&*signer};
  absl::StatusOr<std::string> signed_note = SignNote(text, signers);
  ASSERT_TRUE(signed_note.ok()) << signed_note.status();
  // The log's line is the first signature line of the published file.
  const size_t first_line_end = note.find('\n', note.find("\n\n") + 2);
  EXPECT_EQ(*signed_note, note.substr(0, first_line_end + 1));
}

TEST(CheckpointTest, WrongOriginIsUnauthenticated) {
  const std::string note = Testdata("reference-log/log/checkpoint");
  absl::StatusOr<Ed25519Verifier> log =
      Ed25519Verifier::FromVerifierKey(KeyFile("reference-log/log.vkey"));
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(OpenCheckpoint(note, *log, "example.org/other-log"),
              IsError(absl::StatusCode::kUnauthenticated,
                      "checkpoint origin \"example.org/reference-log\", want "
                      "\"example.org/other-log\""));
}

TEST(CheckpointTest, OtherLogKeyIsUnauthenticated) {
  const std::string note = Testdata("reference-log/log/checkpoint");
  const Ed25519Signer impostor = MakeSigner("example.org/reference-log");
  EXPECT_THAT(OpenCheckpoint(note, impostor.verifier(), kReferenceOrigin),
              IsError(absl::StatusCode::kUnauthenticated, "none by any"));
}

TEST(CheckpointTest, TamperedCheckpointIsRejected) {
  const std::string note = Testdata("reference-log/log/checkpoint");
  absl::StatusOr<Ed25519Verifier> log =
      Ed25519Verifier::FromVerifierKey(KeyFile("reference-log/log.vkey"));
  ASSERT_TRUE(log.ok());
  std::string bigger = note;
  bigger.replace(bigger.find("1000"), 4, "1001");
  EXPECT_THAT(OpenCheckpoint(bigger, *log, kReferenceOrigin),
              IsError(absl::StatusCode::kUnauthenticated, "does not verify"));
  EXPECT_THAT(
      OpenCheckpoint(note.substr(0, note.size() - 1), *log, kReferenceOrigin),
      IsError(absl::StatusCode::kInvalidArgument, "newline"));
  EXPECT_THAT(OpenCheckpoint("", *log, kReferenceOrigin),
              IsError(absl::StatusCode::kInvalidArgument, "empty"));
}

TEST(CheckpointTest, SignedNoteThatIsNotACheckpointIsRejected) {
  const Ed25519Signer log = MakeSigner("example.org/log");
  const NoteSigner* signers[] = {&log};
  const std::string note =
      SignNote("example.org/log\n01\nAAAA\n", signers).value();
  EXPECT_THAT(OpenCheckpoint(note, log.verifier(), "example.org/log"),
              IsError(absl::StatusCode::kInvalidArgument, "size \"01\""));
}

TEST(CheckpointTest, SignedCheckpointsRoundTrip) {
  const Ed25519Signer log = MakeSigner("example.org/log");
  Checkpoint c = SampleCheckpoint();
  c.extensions = {"extension"};
  const NoteSigner* signers[] = {&log};
  const std::string note =
      SignNote(MarshalCheckpoint(c).value(), signers).value();
  absl::StatusOr<OpenedCheckpoint> opened =
      OpenCheckpoint(note, log.verifier(), "example.org/log");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->checkpoint, c);
  EXPECT_TRUE(opened->other_signatures.empty());
}

}  // namespace
}  // namespace vigil::merkle
