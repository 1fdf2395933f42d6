#include "tests/testing/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdio>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "server/files.h"

namespace vigil::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

absl::Status OpenSslError(std::string_view what) {
  return absl::InternalError(absl::StrFormat("OpenSSL: %s failed", what));
}

// `text` with every character but letters and digits made '-'.
std::string FileStem(std::string_view text) {
  std::string stem(text);
  for (char& c : stem) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '-';
  }
  return stem;
}

// Adds the extension `nid` = `value` (OpenSSL's config syntax).
bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool added = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return added;
}

// A certificate for `key` named `common_name`, valid from a minute ago for
// a day, with no extensions yet; issuer and signature are set by the
// caller.
Cert NewCertificate(EVP_PKEY* key, const std::string& common_name,
                    long serial) {
  Cert cert(X509_new());
  if (cert == nullptr) return nullptr;
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1 ||
      X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
          0) != 1) {
    return nullptr;
  }
  return cert;
}

std::string ToPem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string ToPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return "";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

struct TestPki::Keys {
  Pkey key;
  Cert cert;
};

TestPki::TestPki(std::string dir, std::string stem, std::unique_ptr<Keys> keys)
    : dir_(std::move(dir)),
      stem_(std::move(stem)),
      ca_file_(absl::StrFormat("%s/%s-ca.pem", dir_, stem_)),
      keys_(std::move(keys)) {}

TestPki::TestPki(TestPki&&) noexcept = default;
TestPki& TestPki::operator=(TestPki&&) noexcept = default;
TestPki::~TestPki() = default;

absl::StatusOr<TestPki> TestPki::Create(const std::string& dir,
                                        const std::string& name) {
  auto keys = std::make_unique<Keys>();
  keys->key.reset(EVP_EC_gen("P-256"));
  if (keys->key == nullptr) return OpenSslError("EC key generation");
  keys->cert = NewCertificate(keys->key.get(), name, 1);
  if (keys->cert == nullptr ||
      X509_set_issuer_name(keys->cert.get(),
                           X509_get_subject_name(keys->cert.get())) != 1 ||
      !AddExtension(keys->cert.get(), keys->cert.get(), NID_basic_constraints,
                    "critical,CA:TRUE") ||
      !AddExtension(keys->cert.get(), keys->cert.get(), NID_key_usage,
                    "critical,keyCertSign,cRLSign") ||
      !AddExtension(keys->cert.get(), keys->cert.get(),
                    NID_subject_key_identifier, "hash") ||
      X509_sign(keys->cert.get(), keys->key.get(), EVP_sha256()) == 0) {
    return OpenSslError("making the CA certificate");
  }
  TestPki pki(dir, FileStem(name), std::move(keys));
  if (absl::Status s = server::WriteFileAtomically(
          pki.ca_file_, ToPem(pki.keys_->cert.get()));
      !s.ok()) {
    return s;
  }
  return pki;
}

absl::StatusOr<TestPki::Issued> TestPki::Issue(const std::string& common_name,
                                               bool server) {
  Pkey key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("EC key generation");
  X509* ca = keys_->cert.get();
  Cert cert = NewCertificate(key.get(), common_name, ++serial_);
  if (cert == nullptr ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)) != 1 ||
      !AddExtension(cert.get(), ca, NID_basic_constraints, "CA:FALSE") ||
      !AddExtension(cert.get(), ca, NID_authority_key_identifier,
                    "keyid:always") ||
      !AddExtension(cert.get(), ca, NID_ext_key_usage,
                    server ? "serverAuth" : "clientAuth") ||
      (server && !AddExtension(cert.get(), ca, NID_subject_alt_name,
                               "DNS:localhost,IP:127.0.0.1")) ||
      X509_sign(cert.get(), keys_->key.get(), EVP_sha256()) == 0) {
    return OpenSslError("issuing a certificate");
  }
  const std::string base =
      absl::StrFormat("%s/%s-%s", dir_, stem_, FileStem(common_name));
  Issued issued{base + ".pem", base + ".key"};
  if (absl::Status s =
          server::WriteFileAtomically(issued.cert_file, ToPem(cert.get()));
      !s.ok()) {
    return s;
  }
  // Written 0600 from the start: a TLS key file others may read is refused.
  std::remove(issued.key_file.c_str());
  if (absl::Status s =
          server::WriteNewFile(issued.key_file, ToPem(key.get()), 0600);
      !s.ok()) {
    return s;
  }
  return issued;
}

}  // namespace vigil::testing
