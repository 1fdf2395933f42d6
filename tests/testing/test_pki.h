// A throwaway certificate authority for TLS tests: a CA and the server and
// client certificates it issues, written as PEM files (keys mode 0600).
//
//   absl::StatusOr<TestPki> pki = TestPki::Create(dir, "Vigil test CA");
//   absl::StatusOr<TestPki::Issued> server = pki->Issue("log", true);
//   absl::StatusOr<TestPki::Issued> agency = pki->Issue("CA0340000");
//
// Keys are ECDSA P-256; certificates are valid from a minute ago for a
// day. A server certificate names localhost and 127.0.0.1.
//
// Thread-safety: not thread-safe; one test at a time.

#ifndef VIGIL_TESTS_TESTING_TEST_PKI_H_
#define VIGIL_TESTS_TESTING_TEST_PKI_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace vigil::testing {

class TestPki {
 public:
  // The files of one issued certificate.
  struct Issued {
    std::string cert_file;
    std::string key_file;
  };

  // Makes a CA named `name` and writes its certificate to
  // `dir`/<file stem of name>-ca.pem. `dir` must exist.
  static absl::StatusOr<TestPki> Create(const std::string& dir,
                                        const std::string& name);

  TestPki(TestPki&&) noexcept;
  TestPki& operator=(TestPki&&) noexcept;
  ~TestPki();

  // The CA certificate's PEM file.
  [[nodiscard]] const std::string& ca_file() const { return ca_file_; }

  // Issues a certificate whose subject common name is `common_name`, for a
  // server (names localhost and 127.0.0.1; serverAuth) or a client
  // (clientAuth), and writes it and its key to `dir`/<stem>.pem and .key.
  absl::StatusOr<Issued> Issue(const std::string& common_name,
                               bool server = false);

 private:
  struct Keys;
  TestPki(std::string dir, std::string stem, std::unique_ptr<Keys> keys);

  std::string dir_;
  std::string stem_;  // Prefix of every file this CA writes.
  std::string ca_file_;
  std::unique_ptr<Keys> keys_;
  long serial_ = 1;
};

}  // namespace vigil::testing

#endif  // VIGIL_TESTS_TESTING_TEST_PKI_H_
