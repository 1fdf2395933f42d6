// LoadTls: the TLS files are checked when a server or client starts, with
// errors naming the file. Handshakes and client identities are exercised
// with the real server in tests/e2e/tls_e2e_test.cc.

#include "server/tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <optional>

#include "server/files.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_pki.h"

namespace vigil::server {
namespace {

using ::vigil::testing::IsError;
using ::vigil::testing::TestPki;

class LoadTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> ca = TestPki::Create(dir_.Sub(""), "Test CA");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_.emplace(*std::move(ca));
    absl::StatusOr<TestPki::Issued> server = ca_->Issue("log.example", true);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *server;
    absl::StatusOr<TestPki::Issued> other = ca_->Issue("CA0340000");
    ASSERT_TRUE(other.ok()) << other.status();
    other_ = *other;
  }

  testing::TempDir dir_;
  std::optional<TestPki> ca_;
  TestPki::Issued server_;
  TestPki::Issued other_;
};

TEST_F(LoadTlsTest, ReadsAMatchingCertificateKeyAndCa) {
  absl::StatusOr<TlsMaterial> material =
      LoadTls({server_.cert_file, server_.key_file, ca_->ca_file()});
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_THAT(material->cert_chain, ::testing::HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(material->private_key, ::testing::HasSubstr("PRIVATE KEY"));
  EXPECT_THAT(material->ca_certs, ::testing::HasSubstr("BEGIN CERTIFICATE"));
  // Nothing at all is valid too: plaintext, or a client with system roots.
  absl::StatusOr<TlsMaterial> none = LoadTls({});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->cert_chain.empty() && none->ca_certs.empty());
}

TEST_F(LoadTlsTest, RefusesIncompleteOrMismatchedFilesNamingThem) {
  EXPECT_THAT(LoadTls({server_.cert_file, "", ""}),
              IsError(absl::StatusCode::kInvalidArgument, "go together"));
  EXPECT_THAT(LoadTls({"", server_.key_file, ""}),
              IsError(absl::StatusCode::kInvalidArgument, "go together"));
  EXPECT_THAT(LoadTls({server_.cert_file, other_.key_file, ""}),
              IsError(absl::StatusCode::kInvalidArgument,
                      "is not the key of the first certificate"));
  EXPECT_THAT(LoadTls({dir_.Sub("missing.pem"), server_.key_file, ""}),
              IsError(absl::StatusCode::kNotFound, "missing.pem"));
  EXPECT_THAT(LoadTls({"", "", dir_.Sub("missing-ca.pem")}),
              IsError(absl::StatusCode::kNotFound, "missing-ca.pem"));

  // A key passed for a certificate, and a certificate for a key.
  EXPECT_THAT(
      LoadTls({server_.key_file, server_.key_file, ""}),
      IsError(absl::StatusCode::kInvalidArgument, "holds no PEM certificate"));
  EXPECT_THAT(LoadTls({"", "", server_.key_file}),
              IsError(absl::StatusCode::kInvalidArgument,
                      "TLS CA file " + server_.key_file));
  ASSERT_TRUE(
      WriteNewFile(dir_.Sub("cert-as-key"), *ReadFile(server_.cert_file), 0600)
          .ok());
  EXPECT_THAT(LoadTls({server_.cert_file, dir_.Sub("cert-as-key"), ""}),
              IsError(absl::StatusCode::kInvalidArgument,
                      "no unencrypted PEM private key"));
}

TEST_F(LoadTlsTest, RefusesAKeyOthersMayRead) {
  ASSERT_EQ(chmod(server_.key_file.c_str(), 0644), 0);
  EXPECT_THAT(LoadTls({server_.cert_file, server_.key_file, ""}),
              IsError(absl::StatusCode::kFailedPrecondition, server_.key_file));
}

}  // namespace
}  // namespace vigil::server
