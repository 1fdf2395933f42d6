// What this machine can do at best, measured in the same run as the figures
// read against them: Ed25519 verifications on every core, synced RocksDB
// writes, and no-op gRPC calls to the server under test.
//
// Thread-safety: each function uses its own threads and state.

#ifndef VIGIL_BENCH_CEILINGS_H_
#define VIGIL_BENCH_CEILINGS_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vigil::bench {

// One Ed25519 signature as a verifier checks it.
struct SignatureToCheck {
  std::string message;     // The bytes signed.
  std::string signature;   // 64 bytes.
  std::string public_key;  // 32 bytes.
};

// libsodium Ed25519 verifications per second of `signatures`, each thread
// going through them in turn from its own starting place, on `threads`
// threads at once, for `duration`. Only signatures that verify count (a
// signature or key of the wrong size does not).
//
// A log checks distinct signatures, so the ceiling must too: one signature
// checked again and again runs 3 to 6 % faster on this project's machines
// (the branches of libsodium's variable-time scalar multiplication follow
// the signature, and the CPU learns a repeated one). Requires
// !signatures.empty().
double VerifyCeiling(std::span<const SignatureToCheck> signatures,
                     size_t threads, absl::Duration duration);

// RocksDB writes per second, each a WriteBatch of one small key synced to
// disk (WriteOptions::sync), one after another for `duration`, in a new
// database under `dir`: the rate of group commits a log can make.
absl::StatusOr<double> SyncedWriteCeiling(const std::string& dir,
                                          absl::Duration duration);

// grpc.health.v1.Health/Check calls per second to the server behind
// `channels`, `concurrency` at once, for `duration`: the cost of a gRPC
// unary call that does no work. Call n goes to channels[n % size], the way
// the figures read against it spread theirs: one connection carries more
// calls per write than several, so the ceiling must use the same ones.
// Requires !channels.empty().
double NoopUnaryCeiling(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    size_t concurrency, absl::Duration duration);

}  // namespace vigil::bench

#endif  // VIGIL_BENCH_CEILINGS_H_
