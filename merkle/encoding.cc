#include "merkle/encoding.h"

#include <sodium.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace vigil::merkle {

std::string Base64Encode(std::span<const uint8_t> data) {
  const size_t encoded_len =
      sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(encoded_len, '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(encoded_len - 1);  // Drop the terminating NUL.
  return out;
}

absl::StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text,
                                                  std::string_view what) {
  // An empty vector's data() may be null, which libsodium must not get.
  if (text.empty()) return std::vector<uint8_t>{};
  if (text.size() % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: base64 length %d is not a multiple of 4", what, text.size()));
  }
  // libsodium 1.0.18 reads bytes 0x80..0xff as '/' (a signed char in
  // its lookup), so the alphabet is checked here: otherwise one encoding
  // would have many spellings, and a signed note could be changed byte-wise
  // without breaking its signatures.
  for (const char c : text) {
    const bool in_alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                             (c >= '0' && c <= '9') || c == '+' || c == '/' ||
                             c == '=';
    if (!in_alphabet) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: malformed base64 (a byte outside the alphabet)", what));
    }
  }
  std::vector<uint8_t> out(text.size() / 4 * 3);
  size_t out_len = 0;
  const char* end = nullptr;
  // libsodium's ORIGINAL variant requires padding and rejects non-zero
  // trailing bits; with no `ignore` set it also rejects whitespace.
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(),
                        nullptr, &out_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: malformed base64", what));
  }
  out.resize(out_len);
  return out;
}

absl::StatusOr<Hash> Base64DecodeHash(std::string_view text,
                                      std::string_view what) {
  absl::StatusOr<std::vector<uint8_t>> bytes = Base64Decode(text, what);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != kHashSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: hash is %d bytes, want %d", what, bytes->size(), kHashSize));
  }
  Hash h;
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

std::string HexEncode(std::span<const uint8_t> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> HexDecode(std::string_view text,
                                               std::string_view what) {
  if (text.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: hex length %d is odd", what, text.size()));
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: invalid hex digit at offset %d", what, 2 * i));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::optional<uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::string QuoteForError(std::string_view text) {
  constexpr size_t kMaxQuoted = 64;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxQuoted; ++i) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += absl::StrFormat("\\x%02x", c);
    }
  }
  if (text.size() > kMaxQuoted) out += "...";
  out += "\"";
  return out;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((b0 & 0xe0) == 0xc0) {
      len = 2, cp = b0 & 0x1f, min = 0x80;
    } else if ((b0 & 0xf0) == 0xe0) {
      len = 3, cp = b0 & 0x0f, min = 0x800;
    } else if ((b0 & 0xf8) == 0xf0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<uint8_t>(text[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace vigil::merkle
