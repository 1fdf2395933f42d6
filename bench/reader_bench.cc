// Proofs as the log server computes them, without gRPC: LogReader over a
// MemoryStorage holding a log of 10^4 or 10^6 entries, with the default
// tile cache warmed by a proof in every leaf tile. Not tests: nothing here
// asserts a time. vigil-bench measures proofs through the server; this
// isolates the server's own proof work, which at 10^6 is reads at random
// places in 61 MiB of tile trees.
//
//   build/bench/reader_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "merkle/compact_range.h"
#include "merkle/tiles.h"
#include "server/log_reader.h"
#include "server/memory_storage.h"

namespace vigil::server {
namespace {

// A log of `size` entries in memory, stored the way the sequencer stores
// it, and a reader whose tile cache holds every tile a proof needs.
class Log {
 public:
  explicit Log(uint64_t size) : size_(size) {
    WriteSet writes;
    merkle::TileBuilder tiles;
    merkle::CompactRange range;
    const merkle::TileSink collect = [&](const merkle::TileID& t,
                                         std::span<const merkle::Hash> hashes) {
      writes.tiles.push_back({t.level, t.index, merkle::EncodeTile(hashes)});
      return absl::OkStatus();
    };
    for (uint64_t i = 0; i < size; ++i) {
      std::string entry = "entry " + std::to_string(i);
      const merkle::Hash leaf = merkle::HashLeaf(merkle::AsBytes(entry));
      if (!tiles.Append(leaf, collect).ok()) std::abort();
      range.Append(leaf);
      writes.entries.push_back(std::move(entry));
      writes.leaf_hashes.push_back(leaf);
    }
    if (!tiles.EmitPartialTiles(collect).ok()) std::abort();
    writes.state =
        LogState{size, {range.hashes().begin(), range.hashes().end()}, ""};
    if (!storage_.Commit(writes).ok()) std::abort();
    reader_ = std::make_unique<LogReader>(&storage_);
    for (uint64_t i = 0; i < size; i += merkle::kTileWidth) {
      if (!reader_->InclusionProof(i, size).ok()) std::abort();
    }
  }

  [[nodiscard]] uint64_t size() const { return size_; }
  [[nodiscard]] LogReader& reader() { return *reader_; }

 private:
  const uint64_t size_;
  MemoryStorage storage_;
  std::unique_ptr<LogReader> reader_;
};

Log& LogOf(uint64_t size) {
  static std::map<uint64_t, std::unique_ptr<Log>> logs;
  std::unique_ptr<Log>& log = logs[size];
  if (log == nullptr) log = std::make_unique<Log>(size);
  return *log;
}

// Indices in the order vigil-bench asks for them: a large prime stride.
constexpr uint64_t kStride = 7919;

void BM_InclusionProof(benchmark::State& state) {
  Log& log = LogOf(static_cast<uint64_t>(state.range(0)));
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        log.reader().InclusionProof(n++ * kStride % log.size(), log.size()));
  }
  state.counters["proofs/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_InclusionProof)->Arg(10'000)->Arg(1'000'000);

void BM_ConsistencyProof(benchmark::State& state) {
  Log& log = LogOf(static_cast<uint64_t>(state.range(0)));
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(log.reader().ConsistencyProof(
        1 + n++ * kStride % (log.size() - 1), log.size()));
  }
  state.counters["proofs/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ConsistencyProof)->Arg(10'000)->Arg(1'000'000);

}  // namespace
}  // namespace vigil::server

BENCHMARK_MAIN();
