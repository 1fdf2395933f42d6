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
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vigil::bench {

// libsodium Ed25519 signature verifications per second of a `message_size`
// byte message, on `threads` threads at once, for `duration`.
double VerifyCeiling(size_t threads, size_t message_size,
                     absl::Duration duration);

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
