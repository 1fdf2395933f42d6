#include "server/rocksdb_storage.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/status.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "server/storage_keys.h"

namespace vigil::server {
namespace {

namespace keys = storage_keys;

// The one place RocksDB statuses become absl codes. `what` names the
// operation; RocksDB's own text follows it.
absl::Status FromRocksDB(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrFormat("rocksdb %s: %s", what, s.ToString());
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(msg);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(msg);
    case rocksdb::Status::kNotSupported:
      return absl::UnimplementedError(msg);
    case rocksdb::Status::kInvalidArgument:
      return absl::InvalidArgumentError(msg);
    case rocksdb::Status::kAborted:
      return absl::AbortedError(msg);
    // I/O errors (including a full disk and a database locked by another
    // opener) and the conditions RocksDB itself calls retryable.
    case rocksdb::Status::kIOError:
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kExpired:
    case rocksdb::Status::kTryAgain:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status WithContext(const absl::Status& s, std::string_view context) {
  return {s.code(), absl::StrFormat("%s: %s", context, s.message())};
}

std::string_view View(const rocksdb::Slice& s) { return s.ToStringView(); }

// RocksDB's own log, warnings and errors only, to stderr (the server's log)
// instead of the LOG file in the data directory. That file is on the disk
// that may fill up, and Debian's librocksdb, built with assertions, aborts
// the process (writable_file_writer.h, `sync_without_flush_called_`) on the
// next log line after a failed write to it: a full disk crashed the server
// rather than refusing writes with UNAVAILABLE.
//
// Thread-safety: safe for concurrent use (one fprintf per line).
class StderrLogger : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  using rocksdb::Logger::Logv;
  // Lines of WARN_LEVEL and above arrive here, prefixed with their level.
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    const int n = std::vsnprintf(line, sizeof(line), format, ap);
    // Some of RocksDB's lines end in a newline, most do not.
    size_t length = std::min<size_t>(n < 0 ? 0 : n, sizeof(line) - 1);
    while (length > 0 && line[length - 1] == '\n') --length;
    std::fprintf(stderr, "vigil-server: rocksdb: %.*s\n",
                 static_cast<int>(length), line);
  }
  // The options dump at open: not worth the server's log.
  void LogHeader(const char* /*format*/, va_list /*ap*/) override {}
};

// The memtable keeps, for each key prefix this names, where its last key
// went, so that the next key of the prefix is inserted from there instead of
// searched for from the top of the skip list. Entry keys ('e' + index) and
// each level's tile keys ('t' + level + index) arrive in increasing order.
// Leaf-hash keys ('h' + hash) are random, but Commit puts each commit's in
// key order, so each is found by climbing from the last one only as far up
// the skip list as the gap between them needs (about log4(memtable keys /
// commit keys) levels) instead of searching down from the top.
// RocksDB uses the hints only when one writer fills the memtable at a time,
// as Commit does. Not a prefix_extractor: a prefix it returns is not itself
// in its domain.
//
// Thread-safety: stateless; safe for concurrent use.
class SequentialKeyPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "vigil.SequentialKeyPrefix"; }

  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), key[0] == keys::kTilePrefix ? size_t{2} : size_t{1}};
  }

  bool InDomain(const rocksdb::Slice& key) const override {
    return (key.size() == keys::kEntryKeySize &&
            key[0] == keys::kEntryPrefix) ||
           (key.size() == keys::kTileKeySize && key[0] == keys::kTilePrefix) ||
           (key.size() == keys::kLeafKeySize && key[0] == keys::kLeafPrefix);
  }
};

// Options for an append-only log on a small (2-core) machine.
rocksdb::Options MakeOptions(const RocksDBOptions& opts) {
  rocksdb::Options options;
  options.create_if_missing = opts.create_if_missing;
  // Verify checksums and fail loudly on any inconsistency rather than
  // serving or extending a damaged log (on by default; stated on purpose).
  options.paranoid_checks = true;
  // Every acknowledged write was fsync'ed, so a torn last WAL record can only
  // be an unacknowledged write and may be dropped; corruption anywhere else
  // means acknowledged data is gone and must refuse to open, rather than
  // silently rolling back to an earlier point (the default) and later
  // signing a checkpoint that forks from a published one.
  options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // One flush and one compaction at a time: two cores, shared with the
  // sequencer and the RPC threads.
  options.max_background_jobs = 2;
  // A 32 MiB memtable (RocksDB's default is 64): the server's memory bound
  // counts two of them (one flushing), and `vigil-storage-bench` at 10^6
  // entries spent no more CPU per entry with it (16 MiB cost 15 % more, in
  // compactions).
  options.write_buffer_size = size_t{32} << 20;
  // Keys arrive mostly in order (entries, tiles) and nothing is deleted;
  // dynamic level sizes keep space amplification near 1.1 as the log grows.
  options.level_compaction_dynamic_level_bytes = true;
  // Sync SST and WAL files in 1 MiB steps instead of one large fsync stall.
  options.bytes_per_sync = 1 << 20;
  options.wal_bytes_per_sync = 1 << 20;
  options.info_log = std::make_shared<StderrLogger>();
  // The sequencer's own storage CPU is mostly the memtable's skip list
  // (docs/storage_format.md, "RocksDB settings"): a whole-key Bloom filter over
  // the memtable answers FindLeaf's misses without a search, and entry and tile
  // keys are inserted from where the last one of their kind went. Together
  // they cut the sequencer thread's storage CPU from about 21 to 13 µs an
  // entry (vigil-storage-bench, 10^6 entries).
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.02;
  options.memtable_insert_with_hint_prefix_extractor =
      std::make_shared<SequentialKeyPrefix>();
  // Hashes, signatures and commitments are incompressible, but entries carry
  // field tags, ORIs and enum values: LZ4 gains a little for almost no CPU
  // (RocksDB stores a block raw when it does not shrink). Fall back to none
  // if this build of RocksDB lacks LZ4.
  const std::vector<rocksdb::CompressionType> supported =
      rocksdb::GetSupportedCompressions();
  options.compression = std::find(supported.begin(), supported.end(),
                                  rocksdb::kLZ4Compression) != supported.end()
                            ? rocksdb::kLZ4Compression
                            : rocksdb::kNoCompression;
  options.bottommost_compression = options.compression;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(opts.block_cache_bytes);
  // FindLeaf runs for every submission (de-duplication) and almost always
  // misses: a whole-key Bloom filter (10 bits/key, ~1% false positives)
  // answers most misses without reading a data block.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks grow with the log (about 1.2 bytes a key for the
  // filter); keeping them in the block cache bounds memory. They are split
  // into 4 KiB partitions under a small top-level index that stays pinned:
  // the cache is sharded into 1 MiB pieces, and a whole filter block for a
  // table of leaf hashes (over 1 MiB past about 1.6 million entries) never
  // stayed cached, so every FindLeaf read and checksummed it again and
  // ingest fell from 34,000 to 2,700 entries/s (docs/benchmarks.md).
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.partition_filters = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.pin_top_level_index_and_filter = true;
  table.metadata_block_size = 4096;
  // A full tile is 8 KiB and entries are read in runs; 16 KiB blocks hold a
  // tile in one block and need a quarter of the index of 4 KiB blocks.
  table.block_size = size_t{16} * 1024;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  if (opts.env != nullptr) options.env = opts.env;
  return options;
}

// The number of stored entries, checking that they start at index 0.
absl::StatusOr<uint64_t> CountEntries(rocksdb::DB& db) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  it->Seek(keys::EntryKey(0));
  if (!it->Valid() || it->key()[0] != keys::kEntryPrefix) {
    if (absl::Status s = FromRocksDB(it->status(), "scan entries"); !s.ok()) {
      return s;
    }
    return 0;
  }
  absl::StatusOr<uint64_t> first = keys::ParseEntryKey(View(it->key()));
  if (!first.ok()) return first.status();
  if (*first != 0) {
    return absl::DataLossError(
        absl::StrFormat("first stored entry has index %d, not 0", *first));
  }
  it->SeekForPrev(keys::EntryKey(std::numeric_limits<uint64_t>::max()));
  if (!it->Valid()) {
    if (absl::Status s = FromRocksDB(it->status(), "scan entries"); !s.ok()) {
      return s;
    }
    return absl::DataLossError("entry 0 vanished during the entry scan");
  }
  absl::StatusOr<uint64_t> last = keys::ParseEntryKey(View(it->key()));
  if (!last.ok()) return last.status();
  if (*last == std::numeric_limits<uint64_t>::max()) {
    return absl::DataLossError("stored entry index 2^64-1 exceeds any log");
  }
  return *last + 1;
}

}  // namespace

RocksDBStorage::RocksDBStorage(std::unique_ptr<rocksdb::DB> db,
                               uint64_t entry_count)
    : db_(std::move(db)), entry_count_(entry_count) {}

RocksDBStorage::~RocksDBStorage() {
  // A clean stop writes the memtables out, so that the next start has no
  // WAL to replay (up to the write buffer's 64 MiB, about a second here).
  // Every acknowledged write is already in the synced WAL, so a failing
  // flush or close loses nothing and there is no one left to tell.
  rocksdb::FlushOptions flush;
  flush.wait = true;
  db_->Flush(flush).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::unique_ptr<RocksDBStorage>> RocksDBStorage::Open(
    const std::string& dir, const RocksDBOptions& options) {
  const rocksdb::Options rocksdb_options = MakeOptions(options);
  if (options.create_if_missing) {
    // RocksDB creates it too, but logs an error on the way.
    rocksdb_options.env->CreateDirIfMissing(dir).PermitUncheckedError();
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb_options, dir, &raw);
  if (!s.ok()) {
    return FromRocksDB(s, absl::StrFormat("open %s", dir));
  }
  std::unique_ptr<rocksdb::DB> db(raw);

  // Read the state through the same path readers use, then check it against
  // the entries: a Commit writes both in one batch, so they must agree.
  std::unique_ptr<RocksDBStorage> storage(new RocksDBStorage(std::move(db), 0));
  absl::StatusOr<LogState> state = storage->ReadState();
  if (!state.ok()) {
    return WithContext(state.status(), absl::StrFormat("open %s", dir));
  }
  absl::StatusOr<uint64_t> count = CountEntries(*storage->db_);
  if (!count.ok()) {
    return WithContext(count.status(), absl::StrFormat("open %s", dir));
  }
  if (*count != state->size) {
    return absl::DataLossError(absl::StrFormat(
        "open %s: stored state has size %d but entries [0, %d) are stored", dir,
        state->size, *count));
  }
  {
    absl::MutexLock lock(&storage->mu_);
    storage->entry_count_ = *count;
  }
  return storage;
}

absl::StatusOr<LogState> RocksDBStorage::ReadState() {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), keys::StateKey(), &value);
  if (s.IsNotFound()) return LogState();
  if (!s.ok()) return FromRocksDB(s, "read state");
  return keys::DecodeLogState(value);
}

absl::StatusOr<std::vector<std::string>> RocksDBStorage::ReadEntries(
    uint64_t begin, uint64_t end) {
  if (begin > end) {
    return absl::InvalidArgumentError(
        absl::StrFormat("entry range [%d, %d) has begin past end", begin, end));
  }
  std::vector<std::string> entries;
  if (begin == end) return entries;
  // Do not trust the range for the allocation: it may come from a client.
  entries.reserve(std::min<uint64_t>(end - begin, 1024));

  const std::string upper = keys::EntryKey(end);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
  it->Seek(keys::EntryKey(begin));
  for (uint64_t i = begin; i < end; ++i, it->Next()) {
    if (!it->Valid()) {
      if (absl::Status s = FromRocksDB(it->status(), "read entries"); !s.ok()) {
        return s;
      }
      return absl::NotFoundError(absl::StrFormat("entry %d not stored", i));
    }
    absl::StatusOr<uint64_t> index = keys::ParseEntryKey(View(it->key()));
    if (!index.ok()) return index.status();
    if (*index != i) {
      // Entries are written contiguously; a gap means lost data, but the
      // caller asked for an index, so name the one that is missing.
      return absl::NotFoundError(absl::StrFormat("entry %d not stored", i));
    }
    entries.emplace_back(View(it->value()));
  }
  return entries;
}

absl::StatusOr<std::string> RocksDBStorage::ReadTile(uint8_t level,
                                                     uint64_t index) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), keys::TileKey(level, index), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(
        absl::StrFormat("tile %d/%d not stored", level, index));
  }
  if (!s.ok()) {
    return FromRocksDB(s, absl::StrFormat("read tile %d/%d", level, index));
  }
  return value;
}

absl::StatusOr<std::optional<uint64_t>> RocksDBStorage::FindLeaf(
    const merkle::Hash& leaf_hash) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), keys::LeafKey(leaf_hash), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDB(s, "find leaf");
  absl::StatusOr<uint64_t> index = keys::DecodeLeafIndex(value);
  if (!index.ok()) return index.status();
  return *index;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
RocksDBStorage::ReadRegistry() {
  const std::string lower(1, keys::kRegistryPrefix);
  const std::string upper(1, keys::kRegistryPrefix + 1);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
  std::vector<std::pair<std::string, std::string>> records;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    absl::StatusOr<std::string> key = keys::ParseRegistryKey(View(it->key()));
    if (!key.ok()) return key.status();
    records.emplace_back(*std::move(key), std::string(View(it->value())));
  }
  if (absl::Status s = FromRocksDB(it->status(), "read registry"); !s.ok()) {
    return s;
  }
  return records;
}

absl::Status RocksDBStorage::Commit(const WriteSet& writes) {
  absl::MutexLock lock(&mu_);
  if (!write_error_.ok()) {
    return {
        write_error_.code(),
        absl::StrFormat("storage refuses writes after an earlier failure: %s",
                        write_error_.message())};
  }
  if (absl::Status s = keys::ValidateWriteSet(writes, entry_count_); !s.ok()) {
    return s;
  }

  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (size_t i = 0; i < writes.entries.size() && s.ok(); ++i) {
    s = batch.Put(keys::EntryKey(writes.first_index + i), writes.entries[i]);
  }
  // Leaf-hash keys are random; in key order, each is inserted from where the
  // one before it went (SequentialKeyPrefix). Stable, so that a hash given
  // twice still maps to its later entry, as in entry order.
  std::vector<size_t> by_leaf_hash(writes.leaf_hashes.size());
  std::iota(by_leaf_hash.begin(), by_leaf_hash.end(), size_t{0});
  std::stable_sort(by_leaf_hash.begin(), by_leaf_hash.end(),
                   [&writes](size_t a, size_t b) {
                     return writes.leaf_hashes[a] < writes.leaf_hashes[b];
                   });
  for (size_t i = 0; i < by_leaf_hash.size() && s.ok(); ++i) {
    const size_t offset = by_leaf_hash[i];
    s = batch.Put(keys::LeafKey(writes.leaf_hashes[offset]),
                  keys::EncodeLeafIndex(writes.first_index + offset));
  }
  for (const WriteSet::Tile& tile : writes.tiles) {
    if (s.ok()) s = batch.Put(keys::TileKey(tile.level, tile.index), tile.data);
  }
  for (const auto& [public_key, record] : writes.registry) {
    if (s.ok()) s = batch.Put(keys::RegistryKey(public_key), record);
  }
  if (writes.state.has_value() && s.ok()) {
    absl::StatusOr<std::string> state = keys::EncodeLogState(*writes.state);
    if (!state.ok()) return state.status();  // Validated above; unreachable.
    s = batch.Put(keys::StateKey(), *state);
  }
  if (!s.ok()) {
    // Building the batch touched nothing on disk: not a write failure.
    return FromRocksDB(s, "build write batch");
  }

  rocksdb::WriteOptions write_options;
  write_options.sync = true;  // fsync the WAL before acknowledging.
  s = db_->Write(write_options, &batch);
  if (!s.ok()) {
    absl::Status error = FromRocksDB(s, "commit");
    if (error.code() != absl::StatusCode::kDataLoss) {
      error = absl::UnavailableError(error.message());
    }
    write_error_ = error;
    return error;
  }
  entry_count_ += writes.entries.size();
  return absl::OkStatus();
}

}  // namespace vigil::server
