#include <benchmark/benchmark.h>

#include <vector>

#include "merkle/hash.h"

namespace vigil::merkle {
namespace {

// The ceiling every Merkle operation is measured against: one node hash.
void BM_HashChildren(benchmark::State& state) {
  Hash a = HashLeaf(AsBytes("a"));
  const Hash b = HashLeaf(AsBytes("b"));
  for (auto _ : state) {
    a = HashChildren(a, b);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashChildren);

}  // namespace
}  // namespace vigil::merkle

BENCHMARK_MAIN();
