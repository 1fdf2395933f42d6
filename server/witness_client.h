// What a log calls to have a checkpoint cosigned: the client side of
// c2sp.org/tlog-witness add-checkpoint.
//
//   absl::StatusOr<WitnessReply> reply = AddCheckpointToWitness(
//       "http://witness.example:8080", old_size, proof, note,
//       absl::Seconds(10));
//   reply->conflict_size: the witness has another size; retry from it
//   reply->signatures:    check them with a merkle::CosignatureVerifier,
//                         then merkle::AddSignatureLines
//
// Nothing the witness returns is verified here: the caller, who knows
// which witness keys it trusts, checks the cosignatures.
//
// Thread-safety: AddCheckpointToWitness is safe from any thread (each call
// uses its own connection).

#ifndef VIGIL_SERVER_WITNESS_CLIENT_H_
#define VIGIL_SERVER_WITNESS_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "merkle/hash.h"
#include "merkle/note.h"

namespace vigil::server {

// Largest witness reply read; a longer one is an error.
inline constexpr size_t kMaxWitnessReply = size_t{64} * 1024;

// A witness's answer to add-checkpoint: exactly one of the two is set.
struct WitnessReply {
  // 200: the signature lines the witness returned, parsed
  // (merkle::ParseSignatureLine), in order; at least one. Unverified.
  std::vector<merkle::NoteSignature> signatures;
  // 409: the size of the latest checkpoint the witness cosigned for the
  // log; it differs from the old size sent.
  std::optional<uint64_t> conflict_size;
};

// POSTs to `url` + "/add-checkpoint" (`url` is the witness's submission
// prefix, "http://host:port[/path]") the request for `checkpoint_note` (a
// signed checkpoint note) with the consistency proof `proof` from
// `old_size`. `timeout` bounds connecting, and each read and write. An
// https:// witness's certificate must chain to the PEM CA certificates in
// `ca_file` (empty: the system's trusted roots) and name its host.
//
// Errors, each naming the witness's URL: INVALID_ARGUMENT for a malformed
// URL, more than 63 proof hashes, or a reply that breaks the protocol (a
// 200 body that is not one or more signature lines, a 409 body that is not
// a strict decimal and '\n' or repeats `old_size`, a reply over
// kMaxWitnessReply); UNAVAILABLE if the witness cannot be reached, or
// answers 5xx or 429; and for the protocol's refusals, with the witness's
// message: 400 INVALID_ARGUMENT, 403 PERMISSION_DENIED, 404 NOT_FOUND, 422
// FAILED_PRECONDITION (the checkpoint is not consistent with what the
// witness cosigned: a proof that does not verify, or a fork); any other
// status UNKNOWN.
absl::StatusOr<WitnessReply> AddCheckpointToWitness(
    const std::string& url, uint64_t old_size,
    std::span<const merkle::Hash> proof, std::string_view checkpoint_note,
    absl::Duration timeout, const std::string& ca_file = "");

}  // namespace vigil::server

#endif  // VIGIL_SERVER_WITNESS_CLIENT_H_
