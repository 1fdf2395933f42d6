#include "tests/testing/e2e_fixture.h"

#include <gmock/gmock.h>

#include <iostream>
#include <utility>

#include "tests/testing/log_calls.h"
#include "tests/testing/test_records.h"

namespace vigil::testing {

void ServerE2EFixture::SetUp() {
  absl::StatusOr<CommandResult> keygen =
      RunCommand({VIGIL_SERVER_BINARY, "keygen", "--dir", dir_.Sub("keys"),
                  "--origin", origin_});
  ASSERT_TRUE(keygen.ok()) << keygen.status();
  ASSERT_EQ(keygen->exit_code, 0) << keygen->output;
  absl::StatusOr<merkle::Ed25519Verifier> verifier =
      merkle::Ed25519Verifier::FromVerifierKey(
          ReadText(dir_.Sub("keys/log.vkey")));
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  verifier_.emplace(*std::move(verifier));
  absl::StatusOr<merkle::Ed25519PrivateKey> registry_key =
      LoadPrivateKeyFile(dir_.Sub("keys/registry.skey"));
  ASSERT_TRUE(registry_key.ok()) << registry_key.status();
  registry_key_.emplace(*std::move(registry_key));
}

void ServerE2EFixture::TearDown() {
  server_.Kill();
  // Under -DVIGIL_SANITIZE=ON the server reports to its log.
  EXPECT_THAT(server_.Log(), ::testing::Not(::testing::HasSubstr("Sanitizer")));
  EXPECT_THAT(server_.Log(),
              ::testing::Not(::testing::HasSubstr("runtime error:")));
  if (HasFailure()) {
    std::cerr << "---- vigil-server log ----\n" << server_.Log() << "----\n";
  }
}

}  // namespace vigil::testing
