// Hash tiles and entry bundles (c2sp.org/tlog-tiles contents).
//
// Properties: DecodeTile accepts exactly 32 * width bytes for widths
// 1..256, and the hashes encode back to the input; DecodeEntryBundle agrees
// with a separate, naive reading of the length prefixes: when the input is
// exactly n whole entries (1 <= n <= 256) it decodes with width n, to those
// entries, re-encodes to the input, and fails with widths n - 1 and n + 1;
// otherwise it fails for every width tried.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/tiles.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

// The entries of `bundle` read naively; `whole` is false if the bytes do
// not end exactly after an entry.
struct NaiveBundle {
  std::vector<std::string> entries;
  bool whole = true;
};

NaiveBundle ReadNaively(std::string_view bundle) {
  NaiveBundle out;
  size_t at = 0;
  while (at < bundle.size()) {
    if (bundle.size() - at < 2) {
      out.whole = false;
      break;
    }
    const size_t length =
        (static_cast<size_t>(static_cast<uint8_t>(bundle[at])) << 8) |
        static_cast<uint8_t>(bundle[at + 1]);
    if (bundle.size() - at - 2 < length) {
      out.whole = false;
      break;
    }
    out.entries.emplace_back(bundle.substr(at + 2, length));
    at += 2 + length;
  }
  return out;
}

void Run(std::string_view input) {
  const size_t hashes = input.size() / merkle::kTileHashSize;
  for (size_t width : {hashes, hashes + 1, size_t{1}, size_t{256}}) {
    absl::StatusOr<std::vector<merkle::Hash>> tile =
        merkle::DecodeTile(input, width);
    const bool expected = width >= 1 && width <= 256 &&
                          input.size() == width * merkle::kTileHashSize;
    VIGIL_FUZZ_CHECK(tile.ok() == expected);
    if (tile.ok()) {
      VIGIL_FUZZ_CHECK(tile->size() == width);
      VIGIL_FUZZ_CHECK(merkle::EncodeTile(*tile) == input);
    }
  }

  const NaiveBundle naive = ReadNaively(input);
  const size_t n = naive.entries.size();
  if (naive.whole && n >= 1 && n <= merkle::kTileWidth) {
    absl::StatusOr<std::vector<std::string>> bundle =
        merkle::DecodeEntryBundle(input, n);
    VIGIL_FUZZ_CHECK(bundle.ok() && *bundle == naive.entries);
    absl::StatusOr<std::string> encoded = merkle::EncodeEntryBundle(*bundle);
    VIGIL_FUZZ_CHECK(encoded.ok() && *encoded == input);
    VIGIL_FUZZ_CHECK(!merkle::DecodeEntryBundle(input, n - 1).ok());
    VIGIL_FUZZ_CHECK(!merkle::DecodeEntryBundle(input, n + 1).ok());
  } else {
    for (size_t width : {n, n + 1, size_t{1}, size_t{256}}) {
      VIGIL_FUZZ_CHECK(!merkle::DecodeEntryBundle(input, width).ok());
    }
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
