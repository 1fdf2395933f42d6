// Load generators for vigil-bench: gRPC calls kept in flight with the
// callback API (no thread per call), closed loop (the next call starts when
// one completes) or open loop (calls start on a schedule, whatever the
// server does), with the latency of every call.
//
//   LoadResult r = RunClosedLoop(64, /*calls=*/100000, absl::Seconds(10),
//       [&](uint64_t n, Completion done) {
//         AsyncCall<Request, Response>(method, MakeRequest(n), timeout,
//             [done](const grpc::Status& s, Response&) { done(s.ok()); });
//       });
//
// Thread-safety: each Run* call blocks its caller until every call it
// started has completed; completions run on gRPC's threads.

#ifndef VIGIL_BENCH_LOAD_H_
#define VIGIL_BENCH_LOAD_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vigil::bench {

// Reports whether a call succeeded; callable from any thread, once.
using Completion = std::function<void(bool ok)>;
// Starts call number `n` (0, 1, ...) and arranges for `done` to be called
// when it completes. Must not block.
using StartCall = std::function<void(uint64_t n, Completion done)>;

struct LoadResult {
  uint64_t ok = 0;
  uint64_t failed = 0;
  absl::Duration elapsed;
  std::vector<double> latency_ms;  // One per completed call, unordered.

  // Successful calls per second.
  [[nodiscard]] double Rate() const {
    return static_cast<double>(ok) / absl::ToDoubleSeconds(elapsed);
  }
  // The q-quantile (0..1) of the latencies, in milliseconds.
  [[nodiscard]] double Quantile(double q) const;
};

// `concurrency` loops each start a call, and another when it completes,
// until `calls` were started or `max_time` has passed.
LoadResult RunClosedLoop(size_t concurrency, uint64_t calls,
                         absl::Duration max_time, const StartCall& start);

// Starts `calls` calls at `rate` per second, evenly spaced, whether or not
// earlier ones have completed.
LoadResult RunOpenLoop(double rate, uint64_t calls, const StartCall& start);

// One unary call through a stub's callback API, e.g.
//   [stub](auto* c, auto* q, auto* r, auto f) {
//     stub->async()->GetCheckpoint(c, q, r, std::move(f)); }
// `then` runs on a gRPC thread with the status and the response.
template <typename Request, typename Response>
using AsyncMethod =
    std::function<void(grpc::ClientContext*, const Request*, Response*,
                       std::function<void(grpc::Status)>)>;

template <typename Request, typename Response>
void AsyncCall(const AsyncMethod<Request, Response>& method, Request request,
               absl::Duration timeout,
               std::function<void(const grpc::Status&, Response&)> then) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto* call = new Call;
  call->request = std::move(request);
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  method(&call->context, &call->request, &call->response,
         [call, then = std::move(then)](grpc::Status status) {
           then(status, call->response);
           delete call;
         });
}

}  // namespace vigil::bench

#endif  // VIGIL_BENCH_LOAD_H_
