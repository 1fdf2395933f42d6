#include "server/tls.h"

#include <grpc/grpc_security_constants.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "server/files.h"

namespace vigil::server {
namespace {

// PEM files are small; anything larger is not one.
constexpr size_t kMaxPemFile = size_t{1} << 20;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Bio MemoryBio(std::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of `pem`, or null if it holds none.
Cert FirstCertificate(std::string_view pem) {
  Bio bio = MemoryBio(pem);
  if (bio == nullptr) return nullptr;
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

absl::Status Malformed(std::string_view setting, const std::string& path,
                       std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrFormat("%s %s %s", setting, path, what));
}

absl::StatusOr<std::string> ReadCertificates(const std::string& path,
                                             std::string_view setting) {
  absl::StatusOr<std::string> pem = ReadFile(path, kMaxPemFile);
  if (!pem.ok()) return pem.status();
  if (FirstCertificate(*pem) == nullptr) {
    return Malformed(setting, path, "holds no PEM certificate");
  }
  return pem;
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTls(const TlsFiles& files) {
  constexpr std::string_view cert_setting = "TLS certificate file";
  constexpr std::string_view key_setting = "TLS key file";
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a TLS certificate file and its key file go together: give both or "
        "neither");
  }
  TlsMaterial material;
  if (!files.ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadCertificates(files.ca_file, "TLS CA file");
    if (!ca.ok()) return ca.status();
    material.ca_certs = *std::move(ca);
  }
  if (files.cert_file.empty()) return material;

  absl::StatusOr<std::string> chain =
      ReadCertificates(files.cert_file, cert_setting);
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key =
      ReadKeyFile(files.key_file, /*secret=*/true);
  if (!key.ok()) return key.status();
  Bio key_bio = MemoryBio(*key);
  Pkey pkey(key_bio == nullptr ? nullptr
                               : PEM_read_bio_PrivateKey(key_bio.get(), nullptr,
                                                         nullptr, nullptr));
  if (pkey == nullptr) {
    OPENSSL_cleanse(key->data(), key->size());
    return Malformed(key_setting, files.key_file,
                     "holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(FirstCertificate(*chain).get(), pkey.get()) != 1) {
    OPENSSL_cleanse(key->data(), key->size());
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s %s is not the key of the first certificate in %s %s", key_setting,
        files.key_file, cert_setting, files.cert_file));
  }
  material.cert_chain = *std::move(chain);
  material.private_key = *std::move(key);
  return material;
}

std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(
    const TlsMaterial& material) {
  grpc::SslServerCredentialsOptions options(
      material.ca_certs.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = material.ca_certs;
  options.pem_key_cert_pairs.push_back(
      {material.private_key, material.cert_chain});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> GrpcChannelCredentials(
    const TlsMaterial& material) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = material.ca_certs;
  options.pem_private_key = material.private_key;
  options.pem_cert_chain = material.cert_chain;
  return grpc::SslCredentials(options);
}

std::optional<std::string> PeerCommonName(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) return std::nullopt;
  const std::vector<grpc::string_ref> names =
      context.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (names.size() != 1) return std::nullopt;
  return std::string(names.front().data(), names.front().size());
}

}  // namespace vigil::server
