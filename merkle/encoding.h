// Strict text encodings used by the C2SP formats: standard base64 (RFC 4648
// §4, padded) and lowercase hex.
//
// Thread-safety: all functions are pure and safe from any thread.

#ifndef VIGIL_MERKLE_ENCODING_H_
#define VIGIL_MERKLE_ENCODING_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "merkle/hash.h"

namespace vigil::merkle {

// Standard padded base64 of `data`.
std::string Base64Encode(std::span<const uint8_t> data);

// Decodes standard padded base64. Rejects (INVALID_ARGUMENT, naming `what`)
// whitespace, missing or extra padding, URL-safe characters and
// non-canonical trailing bits, so every byte string has exactly one
// accepted encoding.
absl::StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text,
                                                  std::string_view what);

// Decodes base64 that must hold exactly one 32-byte hash.
absl::StatusOr<Hash> Base64DecodeHash(std::string_view text,
                                      std::string_view what);

// Lowercase hex of `data`.
std::string HexEncode(std::span<const uint8_t> data);

// Decodes lowercase or uppercase hex of even length.
absl::StatusOr<std::vector<uint8_t>> HexDecode(std::string_view text,
                                               std::string_view what);

// Parses a decimal uint64 with no sign, no leading zeros (except "0" itself)
// and no overflow; nullopt otherwise.
std::optional<uint64_t> ParseDecimal(std::string_view text);

// `text` for an error message about untrusted input: in double quotes,
// bytes outside printable ASCII (and '"' and '\\') escaped as \xNN, cut
// after 64 bytes with "...". Never more than about 260 characters.
std::string QuoteForError(std::string_view text);

// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates, no
// code points above U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace vigil::merkle

#endif  // VIGIL_MERKLE_ENCODING_H_
