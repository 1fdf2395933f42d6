#include "merkle/tiles.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "merkle/encoding.h"

namespace vigil::merkle {
namespace {

constexpr std::string_view kTilePrefix = "tile/";
constexpr std::string_view kEntriesPrefix = "tile/entries/";
constexpr std::string_view kPartialSuffix = ".p";

// The longest valid path is about 52 bytes
// ("tile/entries/x018/x446/x744/x073/x709/x551/615.p/255"); anything far
// longer is rejected before parsing so error messages stay short.
constexpr size_t kMaxPathLength = 128;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsThreeDigits(std::string_view s) {
  return s.size() == 3 && IsDigit(s[0]) && IsDigit(s[1]) && IsDigit(s[2]);
}

uint32_t ThreeDigitValue(std::string_view s) {
  return static_cast<uint32_t>((s[0] - '0') * 100 + (s[1] - '0') * 10 +
                               (s[2] - '0'));
}

// value * 1000 + group, or false on uint64 overflow.
bool AccumulateGroup(uint32_t group, uint64_t* value) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (*value > (kMax - group) / 1000) return false;
  *value = *value * 1000 + group;
  return true;
}

std::vector<std::string_view> SplitSegments(std::string_view text) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    const size_t slash = text.find('/', start);
    if (slash == std::string_view::npos) {
      segments.push_back(text.substr(start));
      return segments;
    }
    segments.push_back(text.substr(start, slash - start));
    start = slash + 1;
  }
}

struct IndexAndWidth {
  uint64_t index = 0;
  uint16_t width = kTileWidth;
};

// Parses "<N>[.p/<W>]" (the part of a path after the level or "entries/").
// `path` is the whole path, for messages.
absl::StatusOr<IndexAndWidth> ParseIndexAndWidth(std::string_view rest,
                                                 std::string_view path) {
  const std::vector<std::string_view> segments = SplitSegments(rest);
  for (std::string_view segment : segments) {
    if (segment.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tile path %s has an empty segment", QuoteForError(path)));
    }
    if (segment == "." || segment == "..") {
      return absl::InvalidArgumentError(
          absl::StrFormat("tile path %s has a %s segment", QuoteForError(path),
                          QuoteForError(segment)));
    }
  }

  IndexAndWidth result;
  bool partial = false;
  size_t i = 0;
  for (;; ++i) {
    if (i == segments.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tile path %s: index has no final group without \"x\"",
          QuoteForError(path)));
    }
    std::string_view segment = segments[i];
    if (segment.front() == 'x') {
      const std::string_view digits = segment.substr(1);
      if (!IsThreeDigits(digits)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "tile path %s: index group %s is not \"x\" and 3 digits",
            QuoteForError(path), QuoteForError(segment)));
      }
      if (i == 0 && digits == "000") {
        return absl::InvalidArgumentError(absl::StrFormat(
            "tile path %s: index starts with \"x000\" (not canonical)",
            QuoteForError(path)));
      }
      if (!AccumulateGroup(ThreeDigitValue(digits), &result.index)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "tile path %s: index overflows 64 bits", QuoteForError(path)));
      }
      continue;
    }
    if (segment.ends_with(kPartialSuffix)) {
      partial = true;
      segment.remove_suffix(kPartialSuffix.size());
    }
    if (!IsThreeDigits(segment)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("tile path %s: final index group %s is not 3 digits",
                          QuoteForError(path), QuoteForError(segments[i])));
    }
    if (!AccumulateGroup(ThreeDigitValue(segment), &result.index)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tile path %s: index overflows 64 bits", QuoteForError(path)));
    }
    ++i;
    break;
  }

  if (partial) {
    if (i == segments.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tile path %s: \".p\" without a width", QuoteForError(path)));
    }
    const std::string_view width_text = segments[i++];
    const std::optional<uint64_t> width = ParseDecimal(width_text);
    if (!width.has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tile path %s: width %s is not a decimal integer without leading "
          "zeros",
          QuoteForError(path), QuoteForError(width_text)));
    }
    if (*width == kTileWidth) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "tile path %s: width 256 is a full tile, which has no \".p\" suffix",
          QuoteForError(path)));
    }
    if (*width < 1 || *width >= kTileWidth) {
      return absl::InvalidArgumentError(
          absl::StrFormat("tile path %s: partial width %d out of range 1..255",
                          QuoteForError(path), *width));
    }
    result.width = static_cast<uint16_t>(*width);
  }

  if (i != segments.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tile path %s has trailing segments after the %s",
                        QuoteForError(path), partial ? "width" : "index"));
  }
  return result;
}

absl::Status CheckPathLength(std::string_view path) {
  if (path.size() > kMaxPathLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tile path of %d bytes is longer than any tile path", path.size()));
  }
  return absl::OkStatus();
}

std::string WidthSuffix(uint16_t width) {
  if (width == kTileWidth) return "";
  return absl::StrFormat(".p/%d", width);
}

}  // namespace

// ---------------------------------------------------------------------------
// Paths

std::string FormatTileIndex(uint64_t index) {
  // A uint64 has at most 20 digits: 7 groups.
  uint32_t groups[7];
  int count = 0;
  do {
    groups[count++] = static_cast<uint32_t>(index % 1000);
    index /= 1000;
  } while (index != 0);
  std::string out;
  out.reserve(static_cast<size_t>(count) * 5);
  for (int g = count - 1; g > 0; --g) {
    absl::StrAppendFormat(&out, "x%03d/", groups[g]);
  }
  absl::StrAppendFormat(&out, "%03d", groups[0]);
  return out;
}

std::string TilePath(const TileID& tile) {
  assert(tile.level <= kMaxTileLevel);
  assert(tile.width >= 1 && tile.width <= kTileWidth);
  return absl::StrFormat("tile/%d/%s%s", tile.level,
                         FormatTileIndex(tile.index), WidthSuffix(tile.width));
}

std::string EntryBundlePath(const EntryBundleID& bundle) {
  assert(bundle.width >= 1 && bundle.width <= kTileWidth);
  return absl::StrFormat("tile/entries/%s%s", FormatTileIndex(bundle.index),
                         WidthSuffix(bundle.width));
}

absl::StatusOr<TileID> ParseTilePath(std::string_view path) {
  if (absl::Status s = CheckPathLength(path); !s.ok()) return s;
  if (!path.starts_with(kTilePrefix)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tile path %s does not start with \"tile/\"", QuoteForError(path)));
  }
  std::string_view rest = path.substr(kTilePrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tile path %s has no index", QuoteForError(path)));
  }
  const std::string_view level_text = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);
  if (level_text == "entries") {
    return absl::InvalidArgumentError(
        absl::StrFormat("tile path %s names an entry bundle, not a hash tile",
                        QuoteForError(path)));
  }
  const std::optional<uint64_t> level = ParseDecimal(level_text);
  if (!level.has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tile path %s: level %s is not a decimal integer without leading "
        "zeros",
        QuoteForError(path), QuoteForError(level_text)));
  }
  if (*level > kMaxTileLevel) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tile path %s: level %d out of range 0..%d",
                        QuoteForError(path), *level, kMaxTileLevel));
  }
  absl::StatusOr<IndexAndWidth> parsed = ParseIndexAndWidth(rest, path);
  if (!parsed.ok()) return parsed.status();
  return TileID{.level = static_cast<uint8_t>(*level),
                .index = parsed->index,
                .width = parsed->width};
}

absl::StatusOr<EntryBundleID> ParseEntryBundlePath(std::string_view path) {
  if (absl::Status s = CheckPathLength(path); !s.ok()) return s;
  if (!path.starts_with(kEntriesPrefix)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entry bundle path %s does not start with \"tile/entries/\"",
        QuoteForError(path)));
  }
  absl::StatusOr<IndexAndWidth> parsed =
      ParseIndexAndWidth(path.substr(kEntriesPrefix.size()), path);
  if (!parsed.ok()) return parsed.status();
  return EntryBundleID{.index = parsed->index, .width = parsed->width};
}

// ---------------------------------------------------------------------------
// Which tiles a tree has

uint64_t FullTileCount(uint8_t level, uint64_t tree_size) {
  const int shift = kTileHeight * (level + 1);
  return shift >= 64 ? 0 : tree_size >> shift;
}

uint16_t PartialTileWidth(uint8_t level, uint64_t tree_size) {
  const int shift = kTileHeight * level;
  return shift >= 64 ? 0 : static_cast<uint16_t>((tree_size >> shift) & 0xff);
}

std::vector<TileID> TilesForTreeSize(uint64_t tree_size) {
  std::vector<TileID> tiles;
  for (int level = 0; level * kTileHeight < 64; ++level) {
    const auto l = static_cast<uint8_t>(level);
    const uint64_t full = FullTileCount(l, tree_size);
    const uint16_t partial = PartialTileWidth(l, tree_size);
    if (full == 0 && partial == 0) break;  // Higher levels are empty too.
    for (uint64_t index = 0; index < full; ++index) {
      tiles.push_back({.level = l, .index = index, .width = kTileWidth});
    }
    if (partial != 0) {
      tiles.push_back({.level = l, .index = full, .width = partial});
    }
  }
  return tiles;
}

std::vector<EntryBundleID> EntryBundlesForTreeSize(uint64_t tree_size) {
  std::vector<EntryBundleID> bundles;
  const uint64_t full = FullTileCount(0, tree_size);
  const uint16_t partial = PartialTileWidth(0, tree_size);
  bundles.reserve(full + (partial != 0 ? 1 : 0));
  for (uint64_t index = 0; index < full; ++index) {
    bundles.push_back({.index = index, .width = kTileWidth});
  }
  if (partial != 0) bundles.push_back({.index = full, .width = partial});
  return bundles;
}

absl::StatusOr<NodeInTile> TileForNode(const NodeID& node, uint64_t tree_size) {
  if (node.level > 63) {
    return absl::InvalidArgumentError(
        absl::StrFormat("node level %d out of range 0..63", node.level));
  }
  // node.End() <= tree_size, written so it cannot overflow: the tree holds
  // floor(tree_size / 2^level) complete nodes of this level.
  if (node.index >= (tree_size >> node.level)) {
    return absl::OutOfRangeError(absl::StrFormat(
        "node (level %d, index %d) is not a complete subtree of tree size %d",
        node.level, node.index, tree_size));
  }
  const auto tile_level = static_cast<uint8_t>(node.level / kTileHeight);
  const int r = node.level % kTileHeight;
  // The node covers the tile-level hashes [index * 2^r, (index + 1) * 2^r);
  // 256 / 2^r nodes of this level share one tile.
  const int per_tile_bits = kTileHeight - r;
  const uint64_t tile_index = node.index >> per_tile_bits;
  const auto begin = static_cast<uint16_t>(
      (node.index & ((uint64_t{1} << per_tile_bits) - 1)) << r);
  const auto end = static_cast<uint16_t>(begin + (1u << r));
  const uint16_t width = tile_index < FullTileCount(tile_level, tree_size)
                             ? kTileWidth
                             : PartialTileWidth(tile_level, tree_size);
  return NodeInTile{
      .tile = {.level = tile_level, .index = tile_index, .width = width},
      .begin = begin,
      .end = end};
}

absl::StatusOr<Hash> NodeHashFromTile(const NodeInTile& where,
                                      std::span<const Hash> tile_hashes) {
  if (where.begin >= where.end || where.end > kTileWidth) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "hash range [%d, %d) is not inside a tile", where.begin, where.end));
  }
  if (tile_hashes.size() > kTileWidth) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tile of %d hashes is wider than %d", tile_hashes.size(), kTileWidth));
  }
  if (tile_hashes.size() < where.end) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tile %s has %d hashes, need %d", TilePath(where.tile),
                        tile_hashes.size(), where.end));
  }
  return MerkleRootOfHashes(
      tile_hashes.subspan(where.begin, where.end - where.begin));
}

absl::StatusOr<EntryInBundle> EntryBundleForEntry(uint64_t index,
                                                  uint64_t tree_size) {
  if (index >= tree_size) {
    return absl::OutOfRangeError(absl::StrFormat(
        "entry index %d out of range for tree size %d", index, tree_size));
  }
  const uint64_t bundle = index / kTileWidth;
  const uint16_t width = bundle < FullTileCount(0, tree_size)
                             ? kTileWidth
                             : PartialTileWidth(0, tree_size);
  return EntryInBundle{.bundle = {.index = bundle, .width = width},
                       .position = static_cast<uint16_t>(index % kTileWidth)};
}

// ---------------------------------------------------------------------------
// Encodings

std::string EncodeTile(std::span<const Hash> hashes) {
  assert(!hashes.empty() && hashes.size() <= kTileWidth);
  std::string out(hashes.size() * kTileHashSize, '\0');
  for (size_t i = 0; i < hashes.size(); ++i) {
    std::copy(hashes[i].begin(), hashes[i].end(),
              out.data() + i * kTileHashSize);
  }
  return out;
}

absl::StatusOr<std::vector<Hash>> DecodeTile(std::string_view data,
                                             size_t width) {
  if (width < 1 || width > kTileWidth) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tile width %d out of range 1..%d", width, kTileWidth));
  }
  if (data.size() != width * kTileHashSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "tile is %d bytes, want %d (%d hashes of %d bytes)", data.size(),
        width * kTileHashSize, width, kTileHashSize));
  }
  std::vector<Hash> hashes(width);
  for (size_t i = 0; i < width; ++i) {
    const std::string_view bytes =
        data.substr(i * kTileHashSize, kTileHashSize);
    std::copy(bytes.begin(), bytes.end(), hashes[i].begin());
  }
  return hashes;
}

absl::Status AppendBundleEntry(std::string_view entry, std::string* bundle) {
  if (entry.size() > kMaxEntrySize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entry is %d bytes, over the maximum %d", entry.size(), kMaxEntrySize));
  }
  bundle->push_back(static_cast<char>(entry.size() >> 8));
  bundle->push_back(static_cast<char>(entry.size() & 0xff));
  bundle->append(entry);
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeEntryBundle(
    std::span<const std::string> entries) {
  if (entries.empty() || entries.size() > kTileWidth) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entry bundle of %d entries; want 1..%d", entries.size(), kTileWidth));
  }
  size_t total = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].size() > kMaxEntrySize) {
      return absl::InvalidArgumentError(
          absl::StrFormat("entry %d is %d bytes, over the maximum %d", i,
                          entries[i].size(), kMaxEntrySize));
    }
    total += 2 + entries[i].size();
  }
  std::string bundle;
  bundle.reserve(total);
  for (const std::string& entry : entries) {
    // Cannot fail: every size was checked above.
    (void)AppendBundleEntry(entry, &bundle);
  }
  return bundle;
}

absl::StatusOr<std::vector<std::string>> DecodeEntryBundle(
    std::string_view bundle, size_t width) {
  if (width < 1 || width > kTileWidth) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entry bundle width %d out of range 1..%d", width, kTileWidth));
  }
  std::vector<std::string> entries;
  entries.reserve(width);
  size_t offset = 0;
  for (size_t i = 0; i < width; ++i) {
    const size_t left = bundle.size() - offset;
    if (left == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "entry bundle ends after %d entries, want %d", i, width));
    }
    if (left < 2) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "entry %d: length prefix truncated at offset %d (%d byte left)", i,
          offset, left));
    }
    const size_t length =
        static_cast<size_t>(static_cast<uint8_t>(bundle[offset])) << 8 |
        static_cast<uint8_t>(bundle[offset + 1]);
    if (length > left - 2) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "entry %d: length %d at offset %d runs past the end of the bundle "
          "(%d bytes left)",
          i, length, offset, left - 2));
    }
    entries.emplace_back(bundle.substr(offset + 2, length));
    offset += 2 + length;
  }
  if (offset != bundle.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("entry bundle has %d trailing bytes after %d entries",
                        bundle.size() - offset, width));
  }
  return entries;
}

// ---------------------------------------------------------------------------
// Computing tiles

TileTree::TileTree(std::span<const Hash> tile_hashes) {
  assert(!tile_hashes.empty() && tile_hashes.size() <= kTileWidth);
  heights_.emplace_back(tile_hashes.begin(), tile_hashes.end());
  while (heights_.back().size() >= 2) {
    const std::vector<Hash>& below = heights_.back();
    std::vector<Hash> above;
    above.reserve(below.size() / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2) {
      above.push_back(HashChildren(below[i], below[i + 1]));
    }
    heights_.push_back(std::move(above));
  }
}

size_t TileTree::bytes() const {
  size_t n = 0;
  for (const std::vector<Hash>& height : heights_) n += height.size();
  return n * kHashSize;
}

absl::StatusOr<Hash> TileTree::Node(const NodeInTile& where) const {
  const size_t length = where.end > where.begin ? where.end - where.begin : 0;
  if (length == 0 || where.end > width() || !std::has_single_bit(length) ||
      where.begin % length != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "hash range [%d, %d) is not an aligned subtree of a tile of width %d",
        where.begin, where.end, width()));
  }
  const int height = std::countr_zero(length);
  return heights_[height][where.begin >> height];
}

Hash MerkleRootOfHashes(std::span<const Hash> hashes) {
  assert(!hashes.empty());
  // Perfect subtree roots of the hashes seen so far, left to right, with
  // strictly decreasing heights: the binary decomposition of the count.
  struct Subtree {
    Hash hash;
    int height;
  };
  std::vector<Subtree> stack;
  stack.reserve(64);
  for (const Hash& h : hashes) {
    Subtree cur{h, 0};
    while (!stack.empty() && stack.back().height == cur.height) {
      cur = {HashChildren(stack.back().hash, cur.hash), cur.height + 1};
      stack.pop_back();
    }
    stack.push_back(cur);
  }
  // RFC 9162 splits at the largest power of two below the size, so the root
  // folds the decomposition from the right: H(p1, H(p2, ... H(pk-1, pk))).
  Hash root = stack.back().hash;
  for (size_t i = stack.size() - 1; i-- > 0;) {
    root = HashChildren(stack[i].hash, root);
  }
  return root;
}

TileBuilder::TileBuilder() = default;

absl::StatusOr<TileBuilder> TileBuilder::Resume(
    uint64_t tree_size, std::span<const std::vector<Hash>> partial_tiles) {
  const size_t levels = std::max<size_t>(partial_tiles.size(), kLevels);
  for (size_t level = 0; level < levels; ++level) {
    const size_t have =
        level < partial_tiles.size() ? partial_tiles[level].size() : 0;
    const uint16_t want =
        level < kLevels
            ? PartialTileWidth(static_cast<uint8_t>(level), tree_size)
            : 0;
    if (have != want) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "level %d partial tile has %d hashes, want %d for tree size %d",
          level, have, want, tree_size));
    }
  }
  TileBuilder builder;
  builder.size_ = tree_size;
  for (size_t level = 0; level < partial_tiles.size() && level < kLevels;
       ++level) {
    builder.levels_[level] = partial_tiles[level];
  }
  return builder;
}

absl::Status TileBuilder::Append(const Hash& leaf_hash, const TileSink& sink) {
  if (!error_.ok()) return error_;
  if (size_ == std::numeric_limits<uint64_t>::max()) {
    return absl::OutOfRangeError(
        absl::StrFormat("tree size %d is the largest possible", size_));
  }
  levels_[0].push_back(leaf_hash);
  ++size_;
  // A full tile moves up as one hash of the level above. Once the sink has
  // failed, the cascade still finishes so the state stays a valid tree, but
  // no further tile is offered.
  for (int level = 0; level < kLevels && levels_[level].size() == kTileWidth;
       ++level) {
    const auto l = static_cast<uint8_t>(level);
    if (error_.ok()) {
      error_ = sink(TileID{.level = l,
                           .index = FullTileCount(l, size_) - 1,
                           .width = kTileWidth},
                    levels_[level]);
    }
    const Hash root = MerkleRootOfHashes(levels_[level]);
    levels_[level].clear();
    // Level 7 cannot fill: that would take 2^64 entries.
    if (level + 1 < kLevels) levels_[level + 1].push_back(root);
  }
  return error_;
}

absl::Status TileBuilder::AppendAll(std::span<const Hash> leaf_hashes,
                                    const TileSink& sink) {
  for (const Hash& h : leaf_hashes) {
    if (absl::Status s = Append(h, sink); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status TileBuilder::EmitPartialTiles(const TileSink& sink) const {
  if (!error_.ok()) return error_;
  for (int level = 0; level < kLevels; ++level) {
    if (levels_[level].empty()) continue;
    const auto l = static_cast<uint8_t>(level);
    const TileID id{.level = l,
                    .index = FullTileCount(l, size_),
                    .width = static_cast<uint16_t>(levels_[level].size())};
    if (absl::Status s = sink(id, levels_[level]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::span<const Hash> TileBuilder::PartialTile(uint8_t level) const {
  if (level >= kLevels) return {};
  return levels_[level];
}

Hash TileBuilder::Root() const {
  if (size_ == 0) return EmptyRoot();
  // The partial tiles, highest level first, cover the tree left to right.
  // Split each into perfect subtrees by the bits of its width, then fold
  // those roots from the right, as MerkleRootOfHashes does.
  std::vector<Hash> perfect;
  for (int level = kLevels - 1; level >= 0; --level) {
    std::span<const Hash> hashes = levels_[level];
    const size_t width = hashes.size();
    for (int bit = kTileHeight - 1; bit >= 0; --bit) {
      const size_t run = size_t{1} << bit;
      if ((width & run) == 0) continue;
      perfect.push_back(MerkleRootOfHashes(hashes.first(run)));
      hashes = hashes.subspan(run);
    }
  }
  Hash root = perfect.back();
  for (size_t i = perfect.size() - 1; i-- > 0;) {
    root = HashChildren(perfect[i], root);
  }
  return root;
}

absl::Status BuildTiles(std::span<const Hash> leaf_hashes,
                        const TileSink& sink) {
  TileBuilder builder;
  if (absl::Status s = builder.AppendAll(leaf_hashes, sink); !s.ok()) {
    return s;
  }
  return builder.EmitPartialTiles(sink);
}

}  // namespace vigil::merkle
