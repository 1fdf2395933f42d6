// Tile and entry-bundle paths (c2sp.org/tlog-tiles).
//
// Properties: a path that parses as a hash tile or an entry bundle (never
// both) is exactly the path TilePath / EntryBundlePath writes for the
// result, within the documented ranges; and, read as numbers, the input's
// first bytes give a tile and a bundle whose paths parse back to them.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "merkle/tiles.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

void Run(const uint8_t* data, size_t size) {
  const std::string_view input = AsText(data, size);

  absl::StatusOr<merkle::TileID> tile = merkle::ParseTilePath(input);
  if (tile.ok()) {
    VIGIL_FUZZ_CHECK(tile->level <= merkle::kMaxTileLevel);
    VIGIL_FUZZ_CHECK(tile->width >= 1 && tile->width <= merkle::kTileWidth);
    VIGIL_FUZZ_CHECK(merkle::TilePath(*tile) == input);
  }
  absl::StatusOr<merkle::EntryBundleID> bundle =
      merkle::ParseEntryBundlePath(input);
  if (bundle.ok()) {
    VIGIL_FUZZ_CHECK(!tile.ok());
    VIGIL_FUZZ_CHECK(bundle->width >= 1 && bundle->width <= merkle::kTileWidth);
    VIGIL_FUZZ_CHECK(merkle::EntryBundlePath(*bundle) == input);
  }

  if (size >= 10) {
    uint64_t index = 0;
    for (size_t i = 0; i < 8; ++i) index = (index << 8) | data[i];
    const merkle::TileID id{
        .level = static_cast<uint8_t>(data[8] % (merkle::kMaxTileLevel + 1)),
        .index = index,
        .width = static_cast<uint16_t>(data[9] + 1)};
    absl::StatusOr<merkle::TileID> back =
        merkle::ParseTilePath(merkle::TilePath(id));
    VIGIL_FUZZ_CHECK(back.ok() && *back == id);
    const merkle::EntryBundleID bundle_id{.index = index, .width = id.width};
    absl::StatusOr<merkle::EntryBundleID> bundle_back =
        merkle::ParseEntryBundlePath(merkle::EntryBundlePath(bundle_id));
    VIGIL_FUZZ_CHECK(bundle_back.ok() && *bundle_back == bundle_id);
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(data, size);
  return 0;
}
