// One typed suite runs against every Storage driver (MemoryStorage and
// RocksDBStorage), so that both keep the same contract; then the on-disk
// encodings, RocksDB-only behaviour (reopen, corruption, sticky write
// failures) and the fault-injecting wrapper the sequencer tests use.

#include "server/storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "merkle/compact_range.h"
#include "merkle/hash.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/options.h"
#include "rocksdb/table_properties.h"
#include "server/memory_storage.h"
#include "server/rocksdb_storage.h"
#include "server/storage_keys.h"
#include "tests/testing/fault_storage.h"

namespace vigil::server {
namespace {

namespace keys = storage_keys;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// A fresh directory under the system temp directory, removed with all its
// contents when the object goes.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "vigil-storage-XXXXXX")
            .string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern << " failed";
      return;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string EntryText(uint64_t index) {
  return absl::StrFormat("entry-%d", index);
}

merkle::Hash LeafHashOf(uint64_t index) {
  return merkle::HashLeaf(merkle::AsBytes(EntryText(index)));
}

// A hash whose bytes are all `b`.
merkle::Hash Filled(uint8_t b) {
  merkle::Hash h;
  h.fill(b);
  return h;
}

// A tile of `width` hashes, the i-th filled with byte seed + i.
std::string TileOf(int width, uint8_t seed) {
  std::string tile;
  for (int i = 0; i < width; ++i) {
    tile.append(merkle::kHashSize, static_cast<char>(seed + i));
  }
  return tile;
}

// A 32-byte registry key: `first`, then zeros.
std::string PublicKey(uint8_t first) {
  std::string key(keys::kPublicKeySize, '\0');
  key[0] = static_cast<char>(first);
  return key;
}

// Builds WriteSets as the sequencer does: entries EntryText(i) with their
// leaf hashes, and the state of the grown tree (a true compact range).
class LogBuilder {
 public:
  WriteSet Append(int n, std::string checkpoint = "") {
    WriteSet writes;
    writes.first_index = range_.end();
    for (int i = 0; i < n; ++i) {
      const uint64_t index = range_.end();
      writes.entries.push_back(EntryText(index));
      writes.leaf_hashes.push_back(LeafHashOf(index));
      range_.Append(writes.leaf_hashes.back());
    }
    writes.state = State(std::move(checkpoint));
    return writes;
  }

  LogState State(std::string checkpoint = "") const {
    return LogState{range_.end(),
                    {range_.hashes().begin(), range_.hashes().end()},
                    std::move(checkpoint)};
  }

  uint64_t size() const { return range_.end(); }

 private:
  merkle::CompactRange range_;
};

// --- Drivers for the typed suite. ---

class MemoryDriver {
 public:
  absl::Status Open() {
    storage_ = std::make_unique<MemoryStorage>();
    return absl::OkStatus();
  }
  Storage& storage() { return *storage_; }

 private:
  std::unique_ptr<MemoryStorage> storage_;
};

class RocksDBDriver {
 public:
  absl::Status Open() {
    absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage =
        RocksDBStorage::Open(dir_.path() + "/db", RocksDBOptions());
    if (!storage.ok()) return storage.status();
    storage_ = *std::move(storage);
    return absl::OkStatus();
  }
  Storage& storage() { return *storage_; }

 private:
  TempDir dir_;  // Declared first: removed after the database is closed.
  std::unique_ptr<RocksDBStorage> storage_;
};

template <typename Driver>
class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status s = driver_.Open();
    ASSERT_TRUE(s.ok()) << s;
  }
  Storage& storage() { return driver_.storage(); }

  Driver driver_;
};

class DriverNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, MemoryDriver>) return "Memory";
    return "RocksDB";
  }
};

using Drivers = ::testing::Types<MemoryDriver, RocksDBDriver>;
TYPED_TEST_SUITE(StorageTest, Drivers, DriverNames);

TYPED_TEST(StorageTest, ANewStorageIsEmpty) {
  Storage& storage = this->storage();
  absl::StatusOr<LogState> state = storage.ReadState();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, LogState());
  absl::StatusOr<std::vector<std::string>> none = storage.ReadEntries(0, 0);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(storage.ReadEntries(0, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(storage.ReadTile(0, 0).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::optional<uint64_t>> leaf = storage.FindLeaf(Filled(1));
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(*leaf, std::nullopt);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> registry =
      storage.ReadRegistry();
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_TRUE(registry->empty());
}

TYPED_TEST(StorageTest, EverythingCommittedReadsBack) {
  Storage& storage = this->storage();
  LogBuilder log;
  WriteSet writes = log.Append(3, "checkpoint\n");
  writes.tiles.push_back({0, 0, TileOf(3, 10)});
  writes.tiles.push_back({1, 7, TileOf(1, 50)});
  writes.registry.emplace_back(PublicKey(2), "agency two");
  writes.registry.emplace_back(PublicKey(1), "agency one");
  ASSERT_TRUE(storage.Commit(writes).ok());

  EXPECT_EQ(*storage.ReadState(), log.State("checkpoint\n"));
  EXPECT_THAT(*storage.ReadEntries(0, 3),
              ElementsAre("entry-0", "entry-1", "entry-2"));
  EXPECT_EQ(*storage.ReadTile(0, 0), TileOf(3, 10));
  EXPECT_EQ(*storage.ReadTile(1, 7), TileOf(1, 50));
  EXPECT_EQ(storage.ReadTile(1, 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(*storage.ReadRegistry(),
              ElementsAre(Pair(PublicKey(1), "agency one"),
                          Pair(PublicKey(2), "agency two")));
}

TYPED_TEST(StorageTest, FindLeafFindsEveryEntryAcrossCommits) {
  Storage& storage = this->storage();
  LogBuilder log;
  ASSERT_TRUE(storage.Commit(log.Append(2)).ok());
  ASSERT_TRUE(storage.Commit(log.Append(3)).ok());
  for (uint64_t i = 0; i < 5; ++i) {
    absl::StatusOr<std::optional<uint64_t>> found =
        storage.FindLeaf(LeafHashOf(i));
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(*found, i);
  }
  EXPECT_EQ(*storage.FindLeaf(LeafHashOf(5)), std::nullopt);
}

TYPED_TEST(StorageTest, ReadEntriesServesRangesAndNamesTheFirstMissingIndex) {
  Storage& storage = this->storage();
  LogBuilder log;
  ASSERT_TRUE(storage.Commit(log.Append(4)).ok());
  ASSERT_TRUE(storage.Commit(log.Append(6)).ok());

  absl::StatusOr<std::vector<std::string>> all = storage.ReadEntries(0, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 10u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ((*all)[i], EntryText(i));
  EXPECT_THAT(*storage.ReadEntries(3, 6),
              ElementsAre("entry-3", "entry-4", "entry-5"));
  EXPECT_THAT(*storage.ReadEntries(9, 10), ElementsAre("entry-9"));
  EXPECT_TRUE(storage.ReadEntries(10, 10)->empty());
  EXPECT_TRUE(storage.ReadEntries(50, 50)->empty());

  const absl::Status past_end = storage.ReadEntries(8, 12).status();
  EXPECT_EQ(past_end.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(past_end.message()), HasSubstr("entry 10"));
  const absl::Status beyond = storage.ReadEntries(20, 25).status();
  EXPECT_EQ(beyond.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(beyond.message()), HasSubstr("entry 20"));
  EXPECT_EQ(storage.ReadEntries(5, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(StorageTest, AWiderTileReplacesTheStoredOne) {
  Storage& storage = this->storage();
  WriteSet narrow;
  narrow.tiles.push_back({0, 4, TileOf(1, 1)});
  narrow.tiles.push_back({0, 5, TileOf(256, 0)});
  ASSERT_TRUE(storage.Commit(narrow).ok());
  EXPECT_EQ(*storage.ReadTile(0, 4), TileOf(1, 1));

  WriteSet wider;
  wider.tiles.push_back({0, 4, TileOf(2, 7)});
  ASSERT_TRUE(storage.Commit(wider).ok());
  EXPECT_EQ(*storage.ReadTile(0, 4), TileOf(2, 7));
  EXPECT_EQ(*storage.ReadTile(0, 5), TileOf(256, 0));
}

TYPED_TEST(StorageTest, AFirstIndexThatDoesNotContinueTheLogWritesNothing) {
  Storage& storage = this->storage();
  LogBuilder log;
  ASSERT_TRUE(storage.Commit(log.Append(2, "two")).ok());

  for (uint64_t first_index : {uint64_t{0}, uint64_t{1}, uint64_t{3}}) {
    SCOPED_TRACE(absl::StrFormat("first_index %d", first_index));
    WriteSet bad;
    bad.first_index = first_index;
    bad.entries = {"x"};
    bad.leaf_hashes = {Filled(9)};
    bad.tiles.push_back({0, 0, TileOf(3, 1)});
    bad.registry.emplace_back(PublicKey(5), "five");
    bad.state = LogState{3, {Filled(1), Filled(2)}, "three"};
    const absl::Status s = storage.Commit(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr("first_index"));
  }

  EXPECT_EQ(*storage.ReadState(), log.State("two"));
  EXPECT_EQ(storage.ReadEntries(0, 3).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*storage.FindLeaf(Filled(9)), std::nullopt);
  EXPECT_EQ(storage.ReadTile(0, 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(storage.ReadRegistry()->empty());
  // The log still takes the right continuation.
  EXPECT_TRUE(storage.Commit(log.Append(1)).ok());
}

TYPED_TEST(StorageTest, EntriesAndLeafHashesOfDifferentLengthsAreRefused) {
  Storage& storage = this->storage();
  LogBuilder log;
  WriteSet writes = log.Append(2);
  writes.leaf_hashes.pop_back();
  const absl::Status s = storage.Commit(writes);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("2 entries but 1 leaf"));
  EXPECT_EQ(storage.ReadState()->size, 0u);
  EXPECT_EQ(storage.ReadEntries(0, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*storage.FindLeaf(LeafHashOf(0)), std::nullopt);
}

TYPED_TEST(StorageTest, EntriesWithoutAStateThatCoversThemAreRefused) {
  Storage& storage = this->storage();
  LogBuilder log;
  WriteSet no_state = log.Append(2);
  no_state.state.reset();
  EXPECT_EQ(storage.Commit(no_state).code(),
            absl::StatusCode::kInvalidArgument);

  WriteSet short_state = no_state;
  short_state.state = LogState{1, {LeafHashOf(0)}, ""};
  EXPECT_EQ(storage.Commit(short_state).code(),
            absl::StatusCode::kInvalidArgument);

  WriteSet wrong_frontier = no_state;
  wrong_frontier.state = LogState{2, {LeafHashOf(0), LeafHashOf(1)}, ""};
  const absl::Status s = storage.Commit(wrong_frontier);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("frontier"));

  EXPECT_EQ(*storage.ReadState(), LogState());
  EXPECT_EQ(storage.ReadEntries(0, 1).status().code(),
            absl::StatusCode::kNotFound);
}

TYPED_TEST(StorageTest, MalformedRecordsAreRefused) {
  Storage& storage = this->storage();
  std::vector<std::pair<std::string, WriteSet>> cases;
  {
    LogBuilder log;
    WriteSet w = log.Append(1);
    w.entries[0] = std::string(keys::kMaxEntrySize + 1, 'a');
    cases.emplace_back("entry of 65,536 bytes", w);
  }
  for (size_t size : {size_t{0}, size_t{33}, keys::kMaxTileSize + 32}) {
    WriteSet w;
    w.tiles.push_back({0, 0, std::string(size, 'a')});
    cases.emplace_back(absl::StrFormat("tile of %d bytes", size), w);
  }
  {
    WriteSet w;
    w.tiles.push_back({64, 0, TileOf(1, 0)});
    cases.emplace_back("tile level 64", w);
  }
  for (size_t size : {size_t{31}, size_t{33}}) {
    WriteSet w;
    w.registry.emplace_back(std::string(size, 'k'), "record");
    cases.emplace_back(absl::StrFormat("registry key of %d bytes", size), w);
  }
  for (const auto& [name, writes] : cases) {
    SCOPED_TRACE(name);
    EXPECT_EQ(storage.Commit(writes).code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(storage.ReadTile(0, 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(storage.ReadRegistry()->empty());

  // The limits themselves are fine.
  WriteSet largest;
  largest.first_index = 0;
  largest.entries.emplace_back(keys::kMaxEntrySize, 'z');
  largest.leaf_hashes.push_back(Filled(3));
  largest.state = LogState{1, {Filled(3)}, ""};
  largest.tiles.push_back({63, 0, std::string(keys::kMaxTileSize, 't')});
  ASSERT_TRUE(storage.Commit(largest).ok());
  EXPECT_EQ((*storage.ReadEntries(0, 1))[0].size(), keys::kMaxEntrySize);
  EXPECT_EQ(storage.ReadTile(63, 0)->size(), keys::kMaxTileSize);
}

TYPED_TEST(StorageTest, TheStateRoundTripsWithArbitraryCheckpointBytes) {
  Storage& storage = this->storage();
  std::string checkpoint;
  for (int b = 255; b >= 0; --b) checkpoint.push_back(static_cast<char>(b));
  checkpoint += std::string("\0\n\xff", 3);

  LogBuilder log;
  WriteSet writes = log.Append(7, checkpoint);
  ASSERT_TRUE(storage.Commit(writes).ok());
  EXPECT_EQ(*storage.ReadState(), log.State(checkpoint));
  EXPECT_EQ(storage.ReadState()->frontier.size(), 3u);  // 7 = 4 + 2 + 1.

  // A checkpoint publication: the state alone, same size.
  WriteSet publish;
  publish.first_index = log.size();
  publish.state = log.State("next checkpoint");
  ASSERT_TRUE(storage.Commit(publish).ok());
  EXPECT_EQ(*storage.ReadState(), log.State("next checkpoint"));

  WriteSet cleared;
  cleared.state = log.State("");
  ASSERT_TRUE(storage.Commit(cleared).ok());
  EXPECT_EQ(*storage.ReadState(), log.State(""));
}

TYPED_TEST(StorageTest, RegistryRecordsReadInKeyOrderAndTheLatestWins) {
  Storage& storage = this->storage();
  WriteSet first;
  first.registry = {{PublicKey(0xff), "ff"},
                    {PublicKey(0x00), "00"},
                    {PublicKey(0x80), "80"}};
  ASSERT_TRUE(storage.Commit(first).ok());
  WriteSet second;
  second.registry = {{PublicKey(0x80), "80 rotated"}};
  ASSERT_TRUE(storage.Commit(second).ok());
  EXPECT_THAT(*storage.ReadRegistry(),
              ElementsAre(Pair(PublicKey(0x00), "00"),
                          Pair(PublicKey(0x80), "80 rotated"),
                          Pair(PublicKey(0xff), "ff")));
}

// One writer commits batches of 2 entries, each with a registry record and a
// tile; readers never see a state ahead of the data committed with it.
TYPED_TEST(StorageTest, ConcurrentReadersSeeEachCommitWhole) {
  Storage& storage = this->storage();
  constexpr int kCommits = 150;
  std::atomic<bool> done = false;

  auto reader = [&storage, &done] {
    bool last_round = false;
    while (!last_round) {
      last_round = done.load();
      absl::StatusOr<LogState> state = storage.ReadState();
      ASSERT_TRUE(state.ok()) << state.status();
      ASSERT_EQ(state->size % 2, 0u);
      if (state->size == 0) continue;
      const uint64_t commits = state->size / 2;
      ASSERT_EQ(state->checkpoint, absl::StrFormat("cp-%d", commits));
      absl::StatusOr<std::vector<std::string>> entries =
          storage.ReadEntries(0, state->size);
      ASSERT_TRUE(entries.ok())
          << "state size " << state->size << ": " << entries.status();
      ASSERT_EQ(entries->back(), EntryText(state->size - 1));
      absl::StatusOr<std::optional<uint64_t>> leaf =
          storage.FindLeaf(LeafHashOf(state->size - 1));
      ASSERT_TRUE(leaf.ok()) << leaf.status();
      ASSERT_EQ(*leaf, state->size - 1);
      ASSERT_TRUE(storage.ReadTile(1, commits - 1).ok());
      absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
          registry = storage.ReadRegistry();
      ASSERT_TRUE(registry.ok()) << registry.status();
      ASSERT_GE(registry->size(), commits);
    }
  };
  constexpr int kReaders = 3;
  std::vector<std::thread> readers;
  readers.reserve(kReaders);
  for (int i = 0; i < kReaders; ++i) readers.emplace_back(reader);

  LogBuilder log;
  for (int k = 1; k <= kCommits; ++k) {
    WriteSet writes = log.Append(2, absl::StrFormat("cp-%d", k));
    writes.tiles.push_back({1, static_cast<uint64_t>(k - 1), TileOf(1, 0)});
    std::string key(keys::kPublicKeySize, '\0');
    key[0] = static_cast<char>(k >> 8);
    key[1] = static_cast<char>(k);
    writes.registry.emplace_back(key, "record");
    const absl::Status s = storage.Commit(writes);
    ASSERT_TRUE(s.ok()) << s;
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(storage.ReadState()->size, 2u * kCommits);
}

// --- The on-disk encodings (storage_keys.h, docs/storage_format.md). ---

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// The parts joined (GCC 12 warns falsely on `"literal" + std::string`).
std::string Concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out.append(part);
  return out;
}

std::string HashBytes(const merkle::Hash& h) {
  std::string bytes(reinterpret_cast<const char*>(h.data()), h.size());
  return bytes;
}

TEST(StorageKeysTest, KeysHaveTheDocumentedBytes) {
  EXPECT_EQ(keys::EntryKey(0x0102030405060708),
            Bytes({'e', 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(keys::LeafKey(Filled(0xab)),
            Concat({"h", HashBytes(Filled(0xab))}));
  EXPECT_EQ(keys::TileKey(2, 0x105), Bytes({'t', 2, 0, 0, 0, 0, 0, 0, 1, 5}));
  EXPECT_EQ(keys::RegistryKey(PublicKey(7)), Concat({"r", PublicKey(7)}));
  EXPECT_EQ(keys::StateKey(), "s");
  EXPECT_EQ(keys::EncodeLeafIndex(258), Bytes({0, 0, 0, 0, 0, 0, 1, 2}));
  EXPECT_EQ(*keys::DecodeLeafIndex(Bytes({0, 0, 0, 0, 0, 0, 1, 2})), 258u);
  EXPECT_EQ(keys::DecodeLeafIndex("1234567").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(*keys::ParseEntryKey(keys::EntryKey(99)), 99u);
  EXPECT_EQ(keys::ParseEntryKey("e123").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(*keys::ParseRegistryKey(Concat({"r", PublicKey(9)})), PublicKey(9));
  EXPECT_EQ(
      keys::ParseRegistryKey(Concat({"r", PublicKey(9), "x"})).status().code(),
      absl::StatusCode::kDataLoss);
}

TEST(StorageKeysTest, EntryKeysSortInIndexOrderBeforeEveryOtherKind) {
  const uint64_t indices[] = {
      0, 1, 255, 256, 65535, 65536, uint64_t{1} << 32, ~uint64_t{0}};
  for (size_t i = 1; i < std::size(indices); ++i) {
    EXPECT_LT(keys::EntryKey(indices[i - 1]), keys::EntryKey(indices[i]));
  }
  EXPECT_LT(keys::EntryKey(~uint64_t{0}), keys::LeafKey(Filled(0)));
  EXPECT_LT(keys::LeafKey(Filled(0xff)), keys::RegistryKey(PublicKey(0)));
  EXPECT_LT(keys::RegistryKey(std::string(32, '\xff')), keys::StateKey());
  EXPECT_LT(keys::StateKey(), keys::TileKey(0, 0));
}

TEST(StorageKeysTest, TheStateHasTheDocumentedBytes) {
  const LogState state{3, {Filled(1), Filled(2)}, "cp\n"};
  const std::string want = Bytes({1, 0, 0, 0, 0, 0, 0, 0, 3, 2}) +
                           HashBytes(Filled(1)) + HashBytes(Filled(2)) + "cp\n";
  absl::StatusOr<std::string> encoded = keys::EncodeLogState(state);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(*encoded, want);
  EXPECT_EQ(*keys::DecodeLogState(want), state);
  EXPECT_EQ(*keys::EncodeLogState(LogState()),
            Bytes({1, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(*keys::DecodeLogState(Bytes({1, 0, 0, 0, 0, 0, 0, 0, 0, 0})),
            LogState());
}

TEST(StorageKeysTest, EncodingRefusesAFrontierOfTheWrongCount) {
  EXPECT_EQ(keys::EncodeLogState(LogState{3, {Filled(1)}, ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keys::EncodeLogState(LogState{0, {Filled(1)}, ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StorageKeysTest, DecodingTheStateIsStrict) {
  const std::string good =
      *keys::EncodeLogState(LogState{3, {Filled(1), Filled(2)}, "checkpoint"});
  std::vector<std::pair<std::string, std::string>> bad = {
      {"empty", ""},
      {"header cut short", good.substr(0, 9)},
      {"unknown version", Concat({"\x02", good.substr(1)})},
      {"frontier cut short", good.substr(0, 10 + 32 + 31)},
      {"count below the size's",
       Concat({good.substr(0, 9), "\x01", good.substr(10)})},
      {"count above the size's",
       Concat({good.substr(0, 9), "\x03", good.substr(10)})},
      {"size off by one",
       Bytes({1, 0, 0, 0, 0, 0, 0, 0, 4, 2}) + good.substr(10)},
  };
  for (const auto& [name, value] : bad) {
    SCOPED_TRACE(name);
    EXPECT_EQ(keys::DecodeLogState(value).status().code(),
              absl::StatusCode::kDataLoss);
  }
}

// --- RocksDB only. ---

class RocksDBStorageTest : public ::testing::Test {
 protected:
  std::string db_path() const { return dir_.path() + "/db"; }

  absl::StatusOr<std::unique_ptr<RocksDBStorage>> OpenStorage(
      const RocksDBOptions& options = RocksDBOptions()) {
    return RocksDBStorage::Open(db_path(), options);
  }

  // Writes raw key/value pairs with RocksDB itself, bypassing the driver's
  // checks, as a damaged or foreign database would hold them. Requires the
  // storage to be closed.
  void RawPut(const std::vector<std::pair<std::string, std::string>>& kvs) {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, db_path(), &raw);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::unique_ptr<rocksdb::DB> db(raw);
    for (const auto& [key, value] : kvs) {
      s = db->Put(rocksdb::WriteOptions(), key, value);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    ASSERT_TRUE(db->Close().ok());
  }

  TempDir dir_;
};

TEST_F(RocksDBStorageTest, ReopeningKeepsEverything) {
  LogBuilder log;
  {
    absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
    ASSERT_TRUE(storage.ok()) << storage.status();
    WriteSet writes = log.Append(300, "cp 300");
    writes.tiles.push_back({0, 0, TileOf(256, 0)});
    writes.tiles.push_back({0, 1, TileOf(44, 0)});
    writes.registry.emplace_back(PublicKey(1), "one");
    ASSERT_TRUE((*storage)->Commit(writes).ok());
  }
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
  ASSERT_TRUE(storage.ok()) << storage.status();
  Storage& s = **storage;
  EXPECT_EQ(*s.ReadState(), log.State("cp 300"));
  absl::StatusOr<std::vector<std::string>> entries = s.ReadEntries(0, 300);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ((*entries)[299], EntryText(299));
  EXPECT_EQ(*s.FindLeaf(LeafHashOf(123)), 123u);
  EXPECT_EQ(*s.ReadTile(0, 1), TileOf(44, 0));
  EXPECT_THAT(*s.ReadRegistry(), ElementsAre(Pair(PublicKey(1), "one")));
  // The entry count was recovered: only index 300 continues the log.
  WriteSet stale = LogBuilder().Append(1);
  EXPECT_EQ(s.Commit(stale).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(s.Commit(log.Append(1)).ok());
}

// A clean close writes the memtables to table files: the next open has no
// write-ahead log to replay (restart time).
TEST_F(RocksDBStorageTest, ACleanCloseLeavesNoLogToReplay) {
  LogBuilder log;
  {
    absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
    ASSERT_TRUE(storage.ok()) << storage.status();
    ASSERT_TRUE((*storage)->Commit(log.Append(300, "cp 300")).ok());
  }
  uintmax_t wal_bytes = 0;
  int tables = 0;
  for (const auto& file : std::filesystem::directory_iterator(db_path())) {
    if (file.path().extension() == ".log") wal_bytes += file.file_size();
    if (file.path().extension() == ".sst") ++tables;
  }
  EXPECT_EQ(wal_bytes, 0u);
  EXPECT_GE(tables, 1);
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
  ASSERT_TRUE(storage.ok()) << storage.status();
  EXPECT_EQ(*(*storage)->ReadState(), log.State("cp 300"));
}

// The de-duplication lookup's filter and index must stay cacheable as the
// log grows: tables carry a Bloom filter and a two-level (partitioned)
// index, which partitioned filters require (docs/storage_format.md).
TEST_F(RocksDBStorageTest, TablesHavePartitionedIndexesAndBloomFilters) {
  LogBuilder log;
  {
    absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
    ASSERT_TRUE(storage.ok()) << storage.status();
    ASSERT_TRUE((*storage)->Commit(log.Append(300, "cp 300")).ok());
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(rocksdb::Options(), db_path(), &raw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::TablePropertiesCollection tables;
  s = db->GetPropertiesOfAllTables(&tables);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_FALSE(tables.empty());
  for (const auto& [file, properties] : tables) {
    SCOPED_TRACE(file);
    EXPECT_GE(properties->index_partitions, 1u);
    EXPECT_GT(properties->filter_size, 0u);
    EXPECT_EQ(properties->filter_policy_name, "bloomfilter");
  }
}

// The memtable carries a whole-key Bloom filter and inserts entry and tile
// keys from per-kind hints (docs/storage_format.md). Neither may change what
// reads see: many commits into one memtable, with tiles rewritten wider,
// tiles written in descending order and random leaf-hash keys, read back
// exactly; and the settings are the ones RocksDB recorded for the database.
TEST_F(RocksDBStorageTest, MemtableFiltersAndInsertHintsKeepReadsExact) {
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> opened = OpenStorage();
  ASSERT_TRUE(opened.ok()) << opened.status();
  Storage& storage = **opened;
  LogBuilder log;
  constexpr int kCommits = 60;
  constexpr int kPerCommit = 7;
  for (int c = 0; c < kCommits; ++c) {
    WriteSet writes = log.Append(kPerCommit);
    const auto seed = static_cast<uint8_t>(c);
    writes.tiles.push_back(
        {0, static_cast<uint64_t>(c / 4), TileOf(c % 4 + 1, seed)});
    writes.tiles.push_back({1, 0, TileOf(c + 1, seed)});
    writes.tiles.push_back(
        {2, static_cast<uint64_t>(1000 - c), TileOf(1, seed)});
    ASSERT_TRUE(storage.Commit(writes).ok());
  }
  constexpr uint64_t kEntries = kCommits * kPerCommit;
  for (uint64_t i = 0; i < kEntries; ++i) {
    EXPECT_EQ(*storage.FindLeaf(LeafHashOf(i)), i);
  }
  for (uint64_t i = kEntries; i < 2 * kEntries; ++i) {
    EXPECT_EQ(*storage.FindLeaf(LeafHashOf(i)), std::nullopt);
  }
  absl::StatusOr<std::vector<std::string>> entries =
      storage.ReadEntries(0, kEntries);
  ASSERT_TRUE(entries.ok()) << entries.status();
  for (uint64_t i = 0; i < kEntries; ++i) {
    EXPECT_EQ((*entries)[i], EntryText(i));
  }
  for (int c = 0; c < kCommits; ++c) {
    const auto seed = static_cast<uint8_t>(c);
    if (c % 4 == 3 || c == kCommits - 1) {
      EXPECT_EQ(*storage.ReadTile(0, c / 4), TileOf(c % 4 + 1, seed));
    }
    EXPECT_EQ(*storage.ReadTile(2, 1000 - c), TileOf(1, seed));
  }
  EXPECT_EQ(*storage.ReadTile(1, 0), TileOf(kCommits, kCommits - 1));

  std::string recorded;
  for (const auto& file : std::filesystem::directory_iterator(db_path())) {
    if (file.path().filename().string().starts_with("OPTIONS-")) {
      std::ifstream in(file.path());
      recorded.append(std::istreambuf_iterator<char>(in), {});
    }
  }
  EXPECT_THAT(recorded, HasSubstr("memtable_whole_key_filtering=true"));
  EXPECT_THAT(recorded, HasSubstr("memtable_prefix_bloom_size_ratio=0.02"));
  EXPECT_THAT(recorded, HasSubstr("memtable_insert_with_hint_prefix_extractor="
                                  "vigil.SequentialKeyPrefix"));
}

TEST_F(RocksDBStorageTest, ACorruptStateIsDataLossAtOpen) {
  const std::string good =
      *keys::EncodeLogState(LogState{3, {Filled(1), Filled(2)}, "cp"});
  const std::vector<std::pair<std::string, std::string>> garbage = {
      {"garbage", "garbage"},
      {"unknown version", Concat({"\x02", good.substr(1)})},
      {"wrong frontier count",
       Concat({good.substr(0, 9), "\x01", good.substr(10)})},
      {"truncated", good.substr(0, 20)},
  };
  for (const auto& [name, value] : garbage) {
    SCOPED_TRACE(name);
    RawPut({{keys::StateKey(), value}});
    absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
    EXPECT_EQ(storage.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(storage.status().message()), HasSubstr("state"));
  }
}

TEST_F(RocksDBStorageTest, AStateThatDisagreesWithTheEntriesIsDataLossAtOpen) {
  LogBuilder log;
  {
    absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
    ASSERT_TRUE(storage.ok()) << storage.status();
    ASSERT_TRUE((*storage)->Commit(log.Append(2)).ok());
  }
  // A state one entry ahead of the two stored entries.
  LogBuilder ahead;
  ahead.Append(3);
  RawPut({{keys::StateKey(), *keys::EncodeLogState(ahead.State())}});
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
  EXPECT_EQ(storage.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(storage.status().message()),
              HasSubstr("state has size 3 but entries [0, 2)"));

  // A state one entry behind them.
  LogBuilder behind;
  behind.Append(1);
  RawPut({{keys::StateKey(), *keys::EncodeLogState(behind.State())}});
  EXPECT_EQ(OpenStorage().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(RocksDBStorageTest, EntriesWithoutAStateOrNotFromZeroAreDataLoss) {
  RawPut({{keys::EntryKey(0), "orphan"}});
  EXPECT_EQ(OpenStorage().status().code(), absl::StatusCode::kDataLoss);

  TempDir other;
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, other.path(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  LogBuilder log;
  log.Append(2);
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), keys::EntryKey(1), "one").ok());
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), keys::EntryKey(2), "two").ok());
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), keys::StateKey(),
                      *keys::EncodeLogState(log.State()))
                  .ok());
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  const absl::Status s =
      RocksDBStorage::Open(other.path(), RocksDBOptions()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("index 1, not 0"));
}

TEST_F(RocksDBStorageTest, ASecondOpenOfTheSameDatabaseIsUnavailable) {
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> first = OpenStorage();
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> second = OpenStorage();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("rocksdb"));
}

TEST_F(RocksDBStorageTest, AMissingDatabaseIsRefusedWithoutCreateIfMissing) {
  RocksDBOptions options;
  options.create_if_missing = false;
  const absl::Status s = OpenStorage(options).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(db_path()));
}

// Fails every write to a write-ahead log file once armed, and counts them.
class FailingWalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FailingWalFileSystem()
      : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}

  static const char* kClassName() { return "FailingWalFileSystem"; }
  const char* Name() const override { return kClassName(); }

  void Arm() { armed_ = true; }
  int wal_writes() const { return wal_writes_.load(); }

  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* file,
      rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, file, dbg);
    if (s.ok() && name.ends_with(".log")) {
      *file = std::make_unique<WalFile>(std::move(*file), this);
    }
    return s;
  }

 private:
  class WalFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    WalFile(std::unique_ptr<rocksdb::FSWritableFile> file,
            FailingWalFileSystem* fs)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}

    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->Check(); !s.ok()) return s;
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->Check(); !s.ok()) return s;
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->Check(); !s.ok()) return s;
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->Check(); !s.ok()) return s;
      return FSWritableFileOwnerWrapper::Fsync(options, dbg);
    }

   private:
    FailingWalFileSystem* fs_;
  };

  rocksdb::IOStatus Check() {
    ++wal_writes_;
    if (armed_) return rocksdb::IOStatus::IOError("injected WAL failure");
    return rocksdb::IOStatus::OK();
  }

  std::atomic<bool> armed_ = false;
  std::atomic<int> wal_writes_ = 0;
};

TEST_F(RocksDBStorageTest, AFailedWriteIsStickyAndReadsStillWork) {
  auto fs = std::make_shared<FailingWalFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  RocksDBOptions options;
  options.env = env.get();
  LogBuilder log;
  {
    absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage =
        OpenStorage(options);
    ASSERT_TRUE(storage.ok()) << storage.status();
    Storage& s = **storage;
    ASSERT_TRUE(s.Commit(log.Append(2, "two")).ok());
    const LogState acknowledged = log.State("two");

    fs->Arm();
    const absl::Status failed = s.Commit(log.Append(1, "three"));
    EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(failed.message()), HasSubstr("injected"));

    // Later writes get the first error without reaching the disk, even a
    // state-only write that would otherwise be valid.
    const int writes_before = fs->wal_writes();
    WriteSet publish;
    publish.state = acknowledged;
    const absl::Status refused = s.Commit(publish);
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(refused.message()), HasSubstr("earlier failure"));
    EXPECT_THAT(std::string(refused.message()), HasSubstr("injected"));
    EXPECT_EQ(fs->wal_writes(), writes_before);

    // Reads still work and show only what was acknowledged.
    EXPECT_EQ(*s.ReadState(), acknowledged);
    EXPECT_THAT(*s.ReadEntries(0, 2), ElementsAre("entry-0", "entry-1"));
    EXPECT_EQ(s.ReadEntries(2, 3).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(*s.FindLeaf(LeafHashOf(2)), std::nullopt);
  }
  // After a restart (healthy disk) the log is as acknowledged and writable.
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage = OpenStorage();
  ASSERT_TRUE(storage.ok()) << storage.status();
  EXPECT_EQ((*storage)->ReadState()->size, 2u);
  WriteSet again;
  again.first_index = 2;
  again.entries = {EntryText(2)};
  again.leaf_hashes = {LeafHashOf(2)};
  again.state = log.State("three");
  EXPECT_TRUE((*storage)->Commit(again).ok());
}

// --- FaultInjectingStorage, the wrapper the sequencer tests rely on. ---

TEST(FaultInjectingStorageTest, FailsTheNthCommitAndWritesNothingOfIt) {
  MemoryStorage base;
  testing::FaultInjectingStorage storage(&base);
  LogBuilder log;
  storage.FailCommit(2, absl::UnavailableError("disk gone"));
  ASSERT_TRUE(storage.Commit(log.Append(1)).ok());
  const WriteSet second = log.Append(1);
  const absl::Status s = storage.Commit(second);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(base.ReadState()->size, 1u);
  // One-shot: the retry passes.
  EXPECT_TRUE(storage.Commit(second).ok());
  EXPECT_EQ(storage.commit_calls(), 3);
  EXPECT_EQ(storage.successful_commits(), 2);
  EXPECT_EQ(storage.injected_commit_failures(), 1);
}

TEST(FaultInjectingStorageTest, FailsEveryCommitFromNowUntilStopped) {
  MemoryStorage base;
  testing::FaultInjectingStorage storage(&base);
  LogBuilder log;
  storage.FailCommitsFromNow(absl::DataLossError("bad sector"));
  const WriteSet first = log.Append(1);
  EXPECT_EQ(storage.Commit(first).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(storage.Commit(first).code(), absl::StatusCode::kDataLoss);
  storage.StopFailing();
  EXPECT_TRUE(storage.Commit(first).ok());
  EXPECT_EQ(storage.injected_commit_failures(), 2);
}

TEST(FaultInjectingStorageTest, AnAfterWriteFailureAppliesTheWrite) {
  MemoryStorage base;
  testing::FaultInjectingStorage storage(&base);
  LogBuilder log;
  storage.FailCommit(1, absl::UnavailableError("fsync failed"),
                     testing::FaultInjectingStorage::FailureMode::kAfterWrite);
  EXPECT_EQ(storage.Commit(log.Append(2)).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(base.ReadState()->size, 2u);
}

TEST(FaultInjectingStorageTest, FailsReadsAndOverridesTheState) {
  MemoryStorage base;
  testing::FaultInjectingStorage storage(&base);
  LogBuilder log;
  ASSERT_TRUE(storage.Commit(log.Append(1)).ok());
  storage.FailReads(absl::UnavailableError("read error"));
  EXPECT_EQ(storage.ReadState().status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(storage.ReadEntries(0, 1).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(storage.ReadTile(0, 0).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(storage.FindLeaf(LeafHashOf(0)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(storage.ReadRegistry().status().code(),
            absl::StatusCode::kUnavailable);
  storage.FailReads(absl::OkStatus());
  EXPECT_THAT(*storage.ReadEntries(0, 1), ElementsAre("entry-0"));

  const LogState bogus{0, {Filled(1)}, ""};
  storage.OverrideState(bogus);
  EXPECT_EQ(*storage.ReadState(), bogus);
  storage.StopFailing();
  EXPECT_EQ(*storage.ReadState(), log.State());
}

TEST(FaultInjectingStorageTest, RunsTheHookBeforeEachCommit) {
  MemoryStorage base;
  testing::FaultInjectingStorage storage(&base);
  std::vector<uint64_t> seen;
  storage.SetCommitHook([&](const WriteSet& writes) {
    seen.push_back(writes.entries.size());
    // The hook runs before the write: nothing of it is stored yet.
    EXPECT_EQ(base.ReadState()->size, 0u);
  });
  storage.FailCommit(1, absl::UnavailableError("x"));
  LogBuilder log;
  const WriteSet writes = log.Append(3);
  EXPECT_FALSE(storage.Commit(writes).ok());
  storage.SetCommitHook(nullptr);
  EXPECT_TRUE(storage.Commit(writes).ok());
  EXPECT_THAT(seen, ElementsAre(3u));
}

}  // namespace
}  // namespace vigil::server
