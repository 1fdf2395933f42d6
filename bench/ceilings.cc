#include "bench/ceilings.h"

#include <grpcpp/generic/generic_stub.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sodium.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/load.h"

namespace vigil::bench {

double VerifyCeiling(std::span<const SignatureToCheck> signatures,
                     size_t threads, absl::Duration duration) {
  std::atomic<uint64_t> verified{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  const absl::Time began = absl::Now();
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      uint64_t n = 0;
      size_t i = t * signatures.size() / threads;
      while (!stop.load(std::memory_order_relaxed)) {
        const SignatureToCheck& s = signatures[i];
        n += s.signature.size() == crypto_sign_BYTES &&
             s.public_key.size() == crypto_sign_PUBLICKEYBYTES &&
             crypto_sign_verify_detached(
                 reinterpret_cast<const unsigned char*>(s.signature.data()),
                 reinterpret_cast<const unsigned char*>(s.message.data()),
                 s.message.size(),
                 reinterpret_cast<const unsigned char*>(s.public_key.data())) ==
                 0;
        if (++i == signatures.size()) i = 0;
      }
      verified += n;
    });
  }
  absl::SleepFor(duration);
  stop = true;
  for (std::thread& w : workers) w.join();
  return static_cast<double>(verified) /
         absl::ToDoubleSeconds(absl::Now() - began);
}

absl::StatusOr<double> SyncedWriteCeiling(const std::string& dir,
                                          absl::Duration duration) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrFormat("cannot open %s: %s", dir, s.ToString()));
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions synced;
  synced.sync = true;
  uint64_t writes = 0;
  const absl::Time began = absl::Now();
  const absl::Time end = began + duration;
  while (absl::Now() < end) {
    rocksdb::WriteBatch batch;
    batch.Put(absl::StrFormat("key %d", writes), std::string(100, 'v'));
    s = db->Write(synced, &batch);
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrFormat("write to %s: %s", dir, s.ToString()));
    }
    ++writes;
  }
  return static_cast<double>(writes) /
         absl::ToDoubleSeconds(absl::Now() - began);
}

double NoopUnaryCeiling(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    size_t concurrency, absl::Duration duration) {
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (const std::shared_ptr<grpc::Channel>& channel : channels) {
    stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
  }
  // HealthCheckRequest{service: ""}: a message of no bytes.
  grpc::Slice no_bytes("", 0);
  const grpc::ByteBuffer empty(&no_bytes, 1);
  const LoadResult result = RunClosedLoop(
      concurrency, UINT64_MAX, duration, [&](uint64_t n, Completion done) {
        struct Call {
          grpc::ClientContext context;
          grpc::ByteBuffer response;
        };
        auto* call = new Call;
        call->context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
        stubs[n % stubs.size()]->UnaryCall(
            &call->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
            &empty, &call->response, [call, done](grpc::Status status) {
              delete call;
              done(status.ok());
            });
      });
  return result.Rate();
}

}  // namespace vigil::bench
