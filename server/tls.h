// Transport security for Vigil's listeners and clients: PEM files read and
// checked up front (a wrong path, a key that does not match its
// certificate or a CA file without a certificate is a clear error at
// start-up, not a failed handshake later), gRPC credentials built from
// them, and the caller's identity taken from a verified client
// certificate.
//
//   absl::StatusOr<TlsMaterial> tls = LoadTls({cert, key, client_ca});
//   builder.AddListeningPort(address, GrpcServerCredentials(*tls), &port);
//   ...
//   std::optional<std::string> who = PeerCommonName(*context->auth_context());
//
// Identities: a client certificate names its holder in its subject's
// common name (CN). For an agency it is the agency's ORI as the registry
// holds it; for the registry operator, the name the server is configured
// with (docs/server.md, "Transport security").
//
// Thread-safety: the functions are safe from any thread.

#ifndef VIGIL_SERVER_TLS_H_
#define VIGIL_SERVER_TLS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace vigil::server {

// Paths of PEM files; an empty path means "none".
struct TlsFiles {
  // The certificate chain presented to peers, leaf first.
  std::string cert_file;
  // The private key of the chain's leaf; readable by its owner only (mode
  // 0600 or stricter), as every Vigil secret.
  std::string key_file;
  // The certificates trusted to issue the peer's certificate: for a
  // server, the CA of client certificates; for a client, the CA of the
  // server's (empty: the system's trusted roots).
  std::string ca_file;

  bool operator==(const TlsFiles&) const = default;
};

// The PEM texts of TlsFiles, checked.
struct TlsMaterial {
  std::string cert_chain;
  std::string private_key;
  std::string ca_certs;
};

// Reads the files `files` names. cert_file and key_file go together (both
// or neither). INVALID_ARGUMENT, naming the file, if a certificate file
// holds no PEM certificate, the key file no unencrypted PEM private key, or
// the key is not the leaf certificate's; the errors of ReadFile and
// ReadKeyFile (NOT_FOUND, FAILED_PRECONDITION for a key others may read,
// ...) otherwise. Never puts key material in a message.
absl::StatusOr<TlsMaterial> LoadTls(const TlsFiles& files);

// A server's gRPC credentials: TLS with `material`'s certificate chain and
// key (both required). With CA certificates, a client may present a
// certificate, which must then chain to them (the handshake fails
// otherwise); a client without one still connects, and each RPC decides
// what it needs (PeerCommonName).
std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(
    const TlsMaterial& material);

// A client's gRPC credentials: TLS trusting `material`'s CA certificates
// (none: the system's roots), presenting its certificate chain and key if
// it has them.
std::shared_ptr<grpc::ChannelCredentials> GrpcChannelCredentials(
    const TlsMaterial& material);

// The subject common name of the peer's certificate, if the peer
// presented one that the TLS handshake verified; std::nullopt otherwise
// (plaintext, or no client certificate).
std::optional<std::string> PeerCommonName(const grpc::AuthContext& context);

}  // namespace vigil::server

#endif  // VIGIL_SERVER_TLS_H_
