#include "bench/ceilings.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace vigil::bench {
namespace {

// `count` distinct messages signed by one new key.
std::vector<SignatureToCheck> Signed(size_t count) {
  EXPECT_GE(sodium_init(), 0);
  std::string public_key(crypto_sign_PUBLICKEYBYTES, '\0');
  std::string secret_key(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(public_key.data()),
                      reinterpret_cast<unsigned char*>(secret_key.data()));
  std::vector<SignatureToCheck> signatures;
  for (size_t i = 0; i < count; ++i) {
    SignatureToCheck s{"message " + std::to_string(i),
                       std::string(crypto_sign_BYTES, '\0'), public_key};
    crypto_sign_detached(
        reinterpret_cast<unsigned char*>(s.signature.data()), nullptr,
        reinterpret_cast<const unsigned char*>(s.message.data()),
        s.message.size(),
        reinterpret_cast<const unsigned char*>(secret_key.data()));
    signatures.push_back(std::move(s));
  }
  return signatures;
}

constexpr absl::Duration kBriefly = absl::Milliseconds(50);

TEST(VerifyCeilingTest, CountsSignaturesThatVerify) {
  EXPECT_GT(VerifyCeiling(Signed(3), 2, kBriefly), 0);
}

TEST(VerifyCeilingTest, CountsNoSignatureThatFails) {
  std::vector<SignatureToCheck> signatures = Signed(3);
  for (SignatureToCheck& s : signatures) s.message += "!";
  EXPECT_EQ(VerifyCeiling(signatures, 2, kBriefly), 0);
}

TEST(VerifyCeilingTest, CountsNoSignatureOrKeyOfTheWrongSize) {
  std::vector<SignatureToCheck> signatures = Signed(2);
  signatures[0].signature.pop_back();
  signatures[1].public_key += "x";
  EXPECT_EQ(VerifyCeiling(signatures, 1, kBriefly), 0);
}

}  // namespace
}  // namespace vigil::bench
