// vigil-storage-bench: the sequencer's storage work alone, without RPCs or
// signatures, so that a change to RocksDBStorage or its options can be
// measured in a minute.
//
// It drives RocksDBStorage in a temporary directory the way the sequencer
// does: for each new entry a FindLeaf (the de-duplication lookup, a miss),
// then every --batch entries one synced Commit holding the entries, their
// leaf hashes, the tiles they complete, the partial tiles and the state.
// Entries are --entry-bytes random bytes. It reports, for the whole run and
// for its last tenth (to show whether the cost grows with the store):
//   entries/s, the calling thread's CPU per entry (the sequencer's share)
//   and the process's CPU per entry (RocksDB's flushes and compactions too);
// and commits/s against synced RocksDB writes/s measured in the same run.
// Benchmarks are not tests: nothing here fails on a slow figure.
//
//   build/bench/vigil-storage-bench                    # 10^6 entries
//   build/bench/vigil-storage-bench --entries 10000000 # the growth to 10^7

#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/ceilings.h"
#include "merkle/compact_range.h"
#include "merkle/hash.h"
#include "merkle/tiles.h"
#include "server/rocksdb_storage.h"
#include "server/storage.h"
#include "tests/testing/server_process.h"

namespace vigil::bench {
namespace {

struct Flags {
  uint64_t entries = 1000000;
  uint64_t batch = 1000;
  size_t entry_bytes = 240;
  double ceiling_seconds = 2;
};

// Wall time and CPU time (this thread's, the process's) at one moment.
struct Clocks {
  static Clocks Now() {
    return {absl::Now(), Seconds(CLOCK_THREAD_CPUTIME_ID),
            Seconds(CLOCK_PROCESS_CPUTIME_ID)};
  }
  static double Seconds(clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return static_cast<double>(t.tv_sec) +
           static_cast<double>(t.tv_nsec) * 1e-9;
  }

  absl::Time wall;
  double thread_cpu = 0;
  double process_cpu = 0;
};

void Print(const std::string& what, uint64_t entries, const Clocks& from,
           const Clocks& to) {
  const double n = static_cast<double>(entries);
  std::cout << absl::StrFormat(
      "%-28s %9.0f entries/s  %6.2f us/entry thread CPU  %6.2f us/entry "
      "process CPU\n",
      what, n / absl::ToDoubleSeconds(to.wall - from.wall),
      (to.thread_cpu - from.thread_cpu) / n * 1e6,
      (to.process_cpu - from.process_cpu) / n * 1e6);
}

absl::Status Run(const Flags& flags) {
  testing::TempDir dir;
  const absl::StatusOr<double> synced = SyncedWriteCeiling(
      dir.Sub("ceiling"), absl::Seconds(flags.ceiling_seconds));
  if (!synced.ok()) return synced.status();
  absl::StatusOr<std::unique_ptr<server::RocksDBStorage>> opened =
      server::RocksDBStorage::Open(dir.Sub("log"), server::RocksDBOptions());
  if (!opened.ok()) return opened.status();
  server::Storage& storage = **opened;

  merkle::CompactRange range;
  merkle::TileBuilder tiles;
  std::mt19937_64 random(1);
  const uint64_t last_tenth = flags.entries - flags.entries / 10;
  const Clocks start = Clocks::Now();
  // The last tenth starts with the first commit at or past `last_tenth`;
  // a run where no commit starts there reports none.
  Clocks tenth = start;
  std::optional<uint64_t> tenth_from;
  while (range.end() < flags.entries) {
    if (range.end() >= last_tenth && !tenth_from) {
      tenth = Clocks::Now();
      tenth_from = range.end();
    }
    server::WriteSet writes;
    writes.first_index = range.end();
    const merkle::TileSink collect = [&writes](
                                         const merkle::TileID& tile,
                                         std::span<const merkle::Hash> hashes) {
      writes.tiles.push_back(server::WriteSet::Tile{
          tile.level, tile.index, merkle::EncodeTile(hashes)});
      return absl::OkStatus();
    };
    const uint64_t n = std::min(flags.batch, flags.entries - range.end());
    for (uint64_t i = 0; i < n; ++i) {
      std::string entry(flags.entry_bytes, '\0');
      for (size_t at = 0; at < entry.size(); at += sizeof(uint64_t)) {
        const uint64_t word = random();
        std::memcpy(entry.data() + at, &word,
                    std::min(sizeof(word), entry.size() - at));
      }
      const merkle::Hash leaf_hash = merkle::HashLeaf(std::span(
          reinterpret_cast<const uint8_t*>(entry.data()), entry.size()));
      absl::StatusOr<std::optional<uint64_t>> found =
          storage.FindLeaf(leaf_hash);
      if (!found.ok()) return found.status();
      if (found->has_value()) {
        return absl::InternalError("a random entry was found stored");
      }
      range.Append(leaf_hash);
      if (absl::Status s = tiles.Append(leaf_hash, collect); !s.ok()) return s;
      writes.entries.push_back(std::move(entry));
      writes.leaf_hashes.push_back(leaf_hash);
    }
    if (absl::Status s = tiles.EmitPartialTiles(collect); !s.ok()) return s;
    writes.state = server::LogState{
        range.end(),
        std::vector<merkle::Hash>(range.hashes().begin(), range.hashes().end()),
        ""};
    if (absl::Status s = storage.Commit(writes); !s.ok()) return s;
  }
  const Clocks end = Clocks::Now();

  std::cout << absl::StrFormat(
      "vigil-storage-bench: %d entries of %d bytes, %d per synced commit\n\n",
      flags.entries, flags.entry_bytes, flags.batch);
  Print("all entries", flags.entries, start, end);
  if (tenth_from.has_value()) {
    Print("last tenth", flags.entries - *tenth_from, tenth, end);
  }
  const uint64_t commits = (flags.entries + flags.batch - 1) / flags.batch;
  const double commit_rate = static_cast<double>(commits) /
                             absl::ToDoubleSeconds(end.wall - start.wall);
  std::cout << absl::StrFormat(
      "%-28s %9.0f commits/s  %.2f x synced RocksDB writes (%.0f/s)\n",
      "commits", commit_rate, commit_rate / *synced, *synced);
  return absl::OkStatus();
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) {
  vigil::bench::Flags flags;
  CLI::App app(
      "vigil-storage-bench: the sequencer's storage work (lookups and synced "
      "commits) on RocksDB, without RPCs or signatures");
  app.add_option("--entries", flags.entries, "entries to append")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--batch", flags.batch, "entries per synced commit")
      ->check(CLI::Range(1, 100000));
  app.add_option("--entry-bytes", flags.entry_bytes, "bytes of each entry")
      ->check(CLI::Range(1, 65535));
  app.add_option("--ceiling-seconds", flags.ceiling_seconds,
                 "how long the synced-write ceiling runs")
      ->check(CLI::Range(0.1, 60.0));
  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = vigil::bench::Run(flags); !s.ok()) {
    std::cerr << "vigil-storage-bench: " << s << "\n";
    return 1;
  }
  return 0;
}
