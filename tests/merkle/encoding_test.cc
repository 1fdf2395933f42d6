#include "merkle/encoding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "merkle/note.h"
#include "merkle/tlog_proof.h"
#include "tests/testing/status_matchers.h"

namespace vigil::merkle {
namespace {

using ::vigil::testing::IsError;

std::vector<uint8_t> Bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

TEST(Base64Test, RoundTripsEveryLengthCanonically) {
  std::string data;
  for (int n = 0; n < 40; ++n) {
    const std::string encoded = Base64Encode(Bytes(data));
    absl::StatusOr<std::vector<uint8_t>> decoded = Base64Decode(encoded, "x");
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, Bytes(data));
    data.push_back(static_cast<char>(n * 37 + 250));
  }
}

TEST(Base64Test, RefusesEverySpellingButTheCanonicalOne) {
  // "//8=" is 0xff 0xff; each of these must be refused.
  for (const char* bad : {"//8", "//8==", " //8=", "//8=\n",
                          "__8=", "//9=", "/\t/8=", "////=", "//8=AAAA="}) {
    EXPECT_THAT(Base64Decode(bad, "thing"),
                IsError(absl::StatusCode::kInvalidArgument, "thing"))
        << bad;
  }
}

TEST(Base64Test, RefusesEveryByteOutsideTheAlphabet) {
  // libsodium 1.0.18 alone reads bytes 0x80..0xff as '/'.
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (alphabet || c == '=') continue;
    std::string text = "//8=";
    text[1] = c;
    EXPECT_FALSE(Base64Decode(text, "x").ok()) << "byte " << b;
  }
}

TEST(Base64Test, ABundleWithAHighByteInAHashIsRefused) {
  TlogProof proof;
  proof.index = 0;
  proof.inclusion = {Hash{}};
  proof.inclusion[0].fill(0xff);  // Encodes as "//////...".
  absl::StatusOr<Ed25519Signer> log =
      Ed25519Signer::Generate("example.org/log");
  ASSERT_TRUE(log.ok());
  const NoteSigner* const signers[] = {&*log};
  proof.checkpoint =
      *SignNote("example.org/log\n1\n" + Base64Encode(Hash{}) + "\n", signers);
  absl::StatusOr<std::string> bundle = MarshalTlogProof(proof);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  ASSERT_TRUE(ParseTlogProof(*bundle).ok());
  std::string changed = *bundle;
  changed[changed.find("//")] = static_cast<char>(0xc3);
  EXPECT_FALSE(ParseTlogProof(changed).ok());
}

}  // namespace
}  // namespace vigil::merkle
