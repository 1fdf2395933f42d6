// The common ground of the tests that run the real vigil-server: a
// temporary directory holding the log's and the registry operator's keys
// (made by `vigil-server keygen`), the server process, and, after each
// test, the server stopped and its log checked for sanitizer reports (and
// printed if the test failed).
//
//   class MyE2ETest : public testing::ServerE2EFixture {
//    protected:
//     MyE2ETest() : ServerE2EFixture("vigil.example/mine") {}
//   };

#ifndef VIGIL_TESTS_TESTING_E2E_FIXTURE_H_
#define VIGIL_TESTS_TESTING_E2E_FIXTURE_H_

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "merkle/note.h"
#include "tests/testing/server_process.h"

namespace vigil::testing {

class ServerE2EFixture : public ::testing::Test {
 protected:
  explicit ServerE2EFixture(std::string origin) : origin_(std::move(origin)) {}

  // Makes the keys under dir_/keys and loads verifier_ and registry_key_.
  // A subclass that adds to it calls it under ASSERT_NO_FATAL_FAILURE.
  void SetUp() override;
  void TearDown() override;

  TempDir dir_;
  ServerProcess server_{dir_.Sub("server.log")};
  std::optional<merkle::Ed25519Verifier> verifier_;
  std::optional<merkle::Ed25519PrivateKey> registry_key_;

 private:
  const std::string origin_;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_E2E_FIXTURE_H_
