// DO NOT CHANGE the encodings in this file: they are Vigil's on-disk format.
// Every byte written by RocksDBStorage is defined here and documented in
// docs/storage_format.md; a log written by one build must open in the next.
// A new layout needs a new state version and a migration, not an edit.
//
// One RocksDB column family (the default) holds five kinds of record, told
// apart by a one-byte key prefix. Integers are big-endian, so byte order is
// numeric order and entries iterate by index:
//
//   key                               value
//   "e" || be64(index)                entry bytes (at most 65,535)
//   "h" || leaf_hash(32)              be64(index of the entry)
//   "r" || public_key(32)             registry record bytes (opaque)
//   "s"                               LogState, see EncodeLogState
//   "t" || u8(level) || be64(index)   hash tile bytes (32 x width, <= 8 KiB)
//
// Prefix order: e < h < r < s < t.
//
// Thread-safety: every function here is pure and safe from any thread.

#ifndef VIGIL_SERVER_STORAGE_KEYS_H_
#define VIGIL_SERVER_STORAGE_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "merkle/compact_range.h"
#include "merkle/hash.h"
#include "merkle/tiles.h"
#include "server/storage.h"

namespace vigil::server::storage_keys {

// Key prefixes, one per kind of record.
inline constexpr char kEntryPrefix = 'e';
inline constexpr char kLeafPrefix = 'h';
inline constexpr char kRegistryPrefix = 'r';
inline constexpr char kStatePrefix = 's';
inline constexpr char kTilePrefix = 't';

// Version byte that starts the state value.
inline constexpr uint8_t kStateVersion = 0x01;
// Bytes of an entry key ("e" || be64) and of a tile key ("t" || u8 || be64).
inline constexpr size_t kEntryKeySize = 1 + 8;
inline constexpr size_t kTileKeySize = 1 + 1 + 8;
inline constexpr size_t kLeafKeySize = 1 + merkle::kHashSize;
// Bytes of a registry key after its prefix: an Ed25519 public key.
inline constexpr size_t kPublicKeySize = 32;
// Largest entry (the uint16 length of a c2sp.org/tlog-tiles entry bundle).
inline constexpr size_t kMaxEntrySize = merkle::kMaxEntrySize;
// Largest hash tile: 256 hashes of 32 bytes.
inline constexpr size_t kMaxTileSize = merkle::kTileWidth * merkle::kHashSize;

// Bytes of the fixed part of a state value: version, size, frontier count.
inline constexpr size_t kStateHeaderSize = 1 + 8 + 1;

// Appends the 8 big-endian bytes of `v` to `out`.
inline void AppendBE64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// The integer in the first 8 bytes of `in`, big-endian. Requires
// in.size() >= 8.
inline uint64_t ReadBE64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  }
  return v;
}

// "e" || be64(index).
inline std::string EntryKey(uint64_t index) {
  std::string key(1, kEntryPrefix);
  AppendBE64(key, index);
  return key;
}

// The index named by an entry key. DATA_LOSS unless `key` is exactly
// "e" followed by 8 bytes.
inline absl::StatusOr<uint64_t> ParseEntryKey(std::string_view key) {
  if (key.size() != kEntryKeySize || key[0] != kEntryPrefix) {
    return absl::DataLossError(
        absl::StrFormat("malformed entry key of %d bytes", key.size()));
  }
  return ReadBE64(key.substr(1));
}

// "h" || leaf_hash.
inline std::string LeafKey(const merkle::Hash& leaf_hash) {
  std::string key(1, kLeafPrefix);
  key.append(reinterpret_cast<const char*>(leaf_hash.data()), leaf_hash.size());
  return key;
}

// The value stored under a leaf key: be64(index).
inline std::string EncodeLeafIndex(uint64_t index) {
  std::string value;
  AppendBE64(value, index);
  return value;
}

// The index in a leaf-key value. DATA_LOSS unless it is exactly 8 bytes.
inline absl::StatusOr<uint64_t> DecodeLeafIndex(std::string_view value) {
  if (value.size() != 8) {
    return absl::DataLossError(
        absl::StrFormat("leaf index value has %d bytes, want 8", value.size()));
  }
  return ReadBE64(value);
}

// "r" || public_key. Requires public_key.size() == kPublicKeySize (callers
// check with ValidateWriteSet).
inline std::string RegistryKey(std::string_view public_key) {
  std::string key(1, kRegistryPrefix);
  key.append(public_key);
  return key;
}

// The public key named by a registry key. DATA_LOSS unless `key` is "r"
// followed by exactly kPublicKeySize bytes.
inline absl::StatusOr<std::string> ParseRegistryKey(std::string_view key) {
  if (key.size() != 1 + kPublicKeySize || key[0] != kRegistryPrefix) {
    return absl::DataLossError(
        absl::StrFormat("malformed registry key of %d bytes", key.size()));
  }
  return std::string(key.substr(1));
}

// "s": the single key of the log state.
inline std::string StateKey() {
  std::string key;
  key.push_back(kStatePrefix);
  return key;
}

// "t" || u8(level) || be64(index).
inline std::string TileKey(uint8_t level, uint64_t index) {
  std::string key(1, kTilePrefix);
  key.push_back(static_cast<char>(level));
  AppendBE64(key, index);
  return key;
}

// The number of frontier hashes a state of `size` entries holds: one per
// node of the compact range [0, size).
inline size_t FrontierSize(uint64_t size) {
  return merkle::DecomposeRange(0, size).size();
}

// The state value:
//
//   0x01 || be64(size) || u8(n) || n x 32-byte frontier hashes || checkpoint
//
// where n == FrontierSize(size) and the checkpoint (possibly empty) runs to
// the end of the value. INVALID_ARGUMENT if state.frontier does not hold
// exactly FrontierSize(state.size) hashes.
inline absl::StatusOr<std::string> EncodeLogState(const LogState& state) {
  const size_t n = FrontierSize(state.size);
  if (state.frontier.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrFormat("state of size %d needs %d frontier hashes, got %d",
                        state.size, n, state.frontier.size()));
  }
  std::string value;
  value.reserve(kStateHeaderSize + n * merkle::kHashSize +
                state.checkpoint.size());
  value.push_back(static_cast<char>(kStateVersion));
  AppendBE64(value, state.size);
  value.push_back(static_cast<char>(n));
  for (const merkle::Hash& h : state.frontier) {
    value.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  value.append(state.checkpoint);
  return value;
}

// Decodes a state value strictly: DATA_LOSS if the version is not 0x01, the
// value is shorter than its header and frontier, or the frontier count is
// not FrontierSize(size).
inline absl::StatusOr<LogState> DecodeLogState(std::string_view value) {
  if (value.size() < kStateHeaderSize) {
    return absl::DataLossError(absl::StrFormat(
        "state value has %d bytes, shorter than its %d-byte header",
        value.size(), kStateHeaderSize));
  }
  if (static_cast<uint8_t>(value[0]) != kStateVersion) {
    return absl::DataLossError(
        absl::StrFormat("state value has unknown version %d, want %d",
                        static_cast<uint8_t>(value[0]), kStateVersion));
  }
  LogState state;
  state.size = ReadBE64(value.substr(1));
  const size_t n = static_cast<uint8_t>(value[9]);
  const size_t want = FrontierSize(state.size);
  if (n != want) {
    return absl::DataLossError(
        absl::StrFormat("state of size %d holds %d frontier hashes, want %d",
                        state.size, n, want));
  }
  if (value.size() < kStateHeaderSize + n * merkle::kHashSize) {
    return absl::DataLossError(absl::StrFormat(
        "state value of %d bytes truncates its %d frontier hashes",
        value.size(), n));
  }
  value.remove_prefix(kStateHeaderSize);
  state.frontier.resize(n);
  for (merkle::Hash& h : state.frontier) {
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(value[i]);
    value.remove_prefix(h.size());
  }
  state.checkpoint = std::string(value);
  return state;
}

// Not part of the format: the checks every driver makes before it writes,
// so that all drivers refuse the same WriteSets. `stored_entries` is the
// number of entries stored before `writes`. INVALID_ARGUMENT (naming the
// values) if:
//   - entries is non-empty and first_index != stored_entries;
//   - entries and leaf_hashes differ in length;
//   - an entry exceeds kMaxEntrySize bytes;
//   - a tile's level exceeds merkle::kMaxTileLevel or its data is not
//     32 x width bytes with 1 <= width <= 256;
//   - a registry key is not kPublicKeySize bytes;
//   - entries are written without a state (a store whose state lags its
//     entries does not reopen), or a state's size differs from the entry
//     count after the write, or its frontier has the wrong hash count.
inline absl::Status ValidateWriteSet(const WriteSet& writes,
                                     uint64_t stored_entries) {
  if (!writes.entries.empty() && writes.first_index != stored_entries) {
    return absl::InvalidArgumentError(
        absl::StrFormat("first_index %d does not continue the log of %d "
                        "entries",
                        writes.first_index, stored_entries));
  }
  if (writes.entries.size() != writes.leaf_hashes.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d entries but %d leaf hashes", writes.entries.size(),
                        writes.leaf_hashes.size()));
  }
  for (size_t i = 0; i < writes.entries.size(); ++i) {
    if (writes.entries[i].size() > kMaxEntrySize) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "entry %d has %d bytes, more than %d", writes.first_index + i,
          writes.entries[i].size(), kMaxEntrySize));
    }
  }
  for (const WriteSet::Tile& tile : writes.tiles) {
    if (tile.level > merkle::kMaxTileLevel) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tile level %d exceeds %d", tile.level, merkle::kMaxTileLevel));
    }
    if (tile.data.empty() || tile.data.size() > kMaxTileSize ||
        tile.data.size() % merkle::kHashSize != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tile %d/%d has %d bytes, not 32 x width for width 1..256",
          tile.level, tile.index, tile.data.size()));
    }
  }
  for (const auto& [public_key, record] : writes.registry) {
    if (public_key.size() != kPublicKeySize) {
      return absl::InvalidArgumentError(
          absl::StrFormat("registry key has %d bytes, want %d",
                          public_key.size(), kPublicKeySize));
    }
  }
  const uint64_t entries_after = stored_entries + writes.entries.size();
  if (!writes.state.has_value()) {
    if (!writes.entries.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%d entries written without the state of size %d that covers them",
          writes.entries.size(), entries_after));
    }
    return absl::OkStatus();
  }
  if (writes.state->size != entries_after) {
    return absl::InvalidArgumentError(
        absl::StrFormat("state size %d differs from the %d entries stored "
                        "after this write",
                        writes.state->size, entries_after));
  }
  const size_t n = FrontierSize(writes.state->size);
  if (writes.state->frontier.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrFormat("state of size %d needs %d frontier hashes, got %d",
                        writes.state->size, n, writes.state->frontier.size()));
  }
  return absl::OkStatus();
}

}  // namespace vigil::server::storage_keys

#endif  // VIGIL_SERVER_STORAGE_KEYS_H_
