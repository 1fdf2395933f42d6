// Benchmarks of the pure Merkle core. Not tests: nothing here asserts a
// time. Every rate is read against BM_Sha256Node, the raw hash rate of the
// same build on the same machine in the same run: one node hash is the unit
// of work of every Merkle operation.
//
//   build/bench/merkle_bench --benchmark_min_time=1

#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstdint>
#include <random>
#include <vector>

#include "merkle/compact_range.h"
#include "merkle/hash.h"
#include "merkle/proof.h"

namespace vigil::merkle {
namespace {

// The leaf hashes of a tree and every perfect-subtree hash above them, held
// by level the way a log's store would serve them.
class NodeStore {
 public:
  explicit NodeStore(uint64_t size) {
    CompactRange range;
    for (uint64_t i = 0; i < size; ++i) {
      range.Append(HashLeaf(Entry(i)), [this](NodeID id, const Hash& h) {
        if (levels_.size() <= id.level) levels_.resize(id.level + 1);
        levels_[id.level].push_back(h);
      });
    }
    root_ = *range.RootHash();
  }

  static std::vector<uint8_t> Entry(uint64_t i) {
    std::vector<uint8_t> entry(300, static_cast<uint8_t>(i));
    for (int b = 0; b < 8; ++b) entry[b] = static_cast<uint8_t>(i >> (8 * b));
    return entry;
  }

  const Hash& Get(const NodeID& id) const {
    return levels_[id.level][id.index];
  }
  const Hash& root() const { return root_; }

  std::vector<Hash> Fetch(const ProofNodes& nodes) const {
    std::vector<Hash> hashes;
    hashes.reserve(nodes.ids.size());
    for (const NodeID& id : nodes.ids) hashes.push_back(Get(id));
    return hashes;
  }

 private:
  std::vector<std::vector<Hash>> levels_;
  Hash root_;
};

const NodeStore& Store() {
  static const NodeStore* store = new NodeStore(uint64_t{1} << 20);
  return *store;
}
constexpr uint64_t kStoreSize = uint64_t{1} << 20;

// Ceiling: OpenSSL SHA-256 of one 65-byte interior node (two blocks).
void BM_Sha256Node(benchmark::State& state) {
  Hash a = HashLeaf(AsBytes("a"));
  const Hash b = HashLeaf(AsBytes("b"));
  for (auto _ : state) {
    a = HashChildren(a, b);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Node);

// For comparison: libsodium's portable SHA-256 on the same 65 bytes.
void BM_LibsodiumSha256Node(benchmark::State& state) {
  uint8_t buf[65] = {1};
  uint8_t out[32];
  for (auto _ : state) {
    crypto_hash_sha256(out, buf, sizeof(buf));
    buf[1] = out[0];
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LibsodiumSha256Node);

// Appending a precomputed leaf hash: about one node hash per append.
void BM_AppendLeafHash(benchmark::State& state) {
  const Hash leaf = HashLeaf(AsBytes("leaf"));
  CompactRange range;
  for (auto _ : state) {
    range.Append(leaf);
  }
  benchmark::DoNotOptimize(range.hashes().data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendLeafHash);

// Appending a 300-byte entry: its leaf hash plus the node hashes it
// completes (what Go's tlog.StoredHashes does per record).
void BM_AppendEntry(benchmark::State& state) {
  const std::vector<uint8_t> entry = NodeStore::Entry(7);
  CompactRange range;
  for (auto _ : state) {
    range.Append(HashLeaf(entry));
  }
  benchmark::DoNotOptimize(range.hashes().data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendEntry);

// The root of a 2^20 + 2^19 - 1 leaf tree from its compact range (18
// subtree hashes folded).
void BM_RootFromCompactRange(benchmark::State& state) {
  CompactRange range;
  const uint64_t size = (uint64_t{1} << 20) + (uint64_t{1} << 19) - 1;
  std::vector<Hash> hashes(DecomposeRange(0, size).size(), EmptyRoot());
  range = *CompactRange::FromHashes(0, size, hashes);
  for (auto _ : state) {
    benchmark::DoNotOptimize(range.RootHash());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RootFromCompactRange);

// Inclusion proof generation for random leaves of a tree in memory: node
// IDs, fetch, assemble. Argument: how many leaves short of 2^20 the tree
// is. At 2^20 every proof hash is one stored node; at 2^20 - 3 the right
// border is 18 subtrees, and a proof for a leaf in the left half folds them
// into its one ephemeral hash (17 extra node hashes).
void BM_InclusionProofGenerate(benchmark::State& state) {
  const NodeStore& store = Store();
  std::mt19937_64 rng(1);
  const uint64_t size = kStoreSize - state.range(0);
  for (auto _ : state) {
    const uint64_t index = rng() % size;
    ProofNodes nodes = *InclusionNodes(index, size);
    benchmark::DoNotOptimize(*AssembleProof(nodes, store.Fetch(nodes)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InclusionProofGenerate)->Arg(0)->Arg(3);

void BM_InclusionProofVerify(benchmark::State& state) {
  const NodeStore& store = Store();
  const uint64_t size = kStoreSize;
  std::vector<std::pair<uint64_t, std::vector<Hash>>> proofs;
  std::mt19937_64 rng(2);
  for (int i = 0; i < 1024; ++i) {
    const uint64_t index = rng() % size;
    ProofNodes nodes = *InclusionNodes(index, size);
    proofs.emplace_back(index, *AssembleProof(nodes, store.Fetch(nodes)));
  }
  size_t i = 0;
  for (auto _ : state) {
    const auto& [index, proof] = proofs[i++ % proofs.size()];
    const Hash leaf = store.Get(NodeID{0, index});
    benchmark::DoNotOptimize(
        VerifyInclusion(index, size, leaf, proof, store.root()));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InclusionProofVerify);

void BM_ConsistencyProofGenerate(benchmark::State& state) {
  const NodeStore& store = Store();
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    const uint64_t new_size = 1 + rng() % kStoreSize;
    const uint64_t old_size = 1 + rng() % new_size;
    ProofNodes nodes = *ConsistencyNodes(old_size, new_size);
    benchmark::DoNotOptimize(*AssembleProof(nodes, store.Fetch(nodes)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConsistencyProofGenerate);

void BM_ConsistencyProofVerify(benchmark::State& state) {
  const NodeStore& store = Store();
  struct Case {
    uint64_t old_size, new_size;
    Hash old_root, new_root;
    std::vector<Hash> proof;
  };
  auto root_at = [&](uint64_t size) {
    std::vector<Hash> hashes;
    for (const NodeID& id : DecomposeRange(0, size)) {
      hashes.push_back(store.Get(id));
    }
    return *CompactRange::FromHashes(0, size, hashes)->RootHash();
  };
  std::vector<Case> cases;
  std::mt19937_64 rng(4);
  for (int i = 0; i < 256; ++i) {
    const uint64_t new_size = 2 + rng() % (kStoreSize - 1);
    const uint64_t old_size = 1 + rng() % (new_size - 1);
    ProofNodes nodes = *ConsistencyNodes(old_size, new_size);
    cases.push_back({old_size, new_size, root_at(old_size), root_at(new_size),
                     *AssembleProof(nodes, store.Fetch(nodes))});
  }
  size_t i = 0;
  for (auto _ : state) {
    const Case& c = cases[i++ % cases.size()];
    benchmark::DoNotOptimize(VerifyConsistency(
        c.old_size, c.new_size, c.old_root, c.new_root, c.proof));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ConsistencyProofVerify);

}  // namespace
}  // namespace vigil::merkle

BENCHMARK_MAIN();
