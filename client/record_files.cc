#include "client/record_files.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "absl/strings/str_format.h"
#include "merkle/encoding.h"

namespace vigil::client {
namespace {

using Json = nlohmann::ordered_json;

absl::StatusOr<Json> ParseObject(std::string_view text,
                                 std::initializer_list<std::string_view> keys) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  for (const auto& [key, value] : json.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown key %s", merkle::QuoteForError(key)));
    }
  }
  for (std::string_view key : keys) {
    if (!json.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("missing key \"%s\"", key));
    }
  }
  return json;
}

absl::StatusOr<std::string> StringAt(const Json& json, std::string_view key) {
  const Json& value = json[std::string(key)];
  if (!value.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" must be a string", key));
  }
  return value.get<std::string>();
}

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> HexArrayAt(const Json& json,
                                                  std::string_view key) {
  absl::StatusOr<std::string> text = StringAt(json, key);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<uint8_t>> bytes = merkle::HexDecode(*text, key);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != N) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is %d bytes, not %d", key, bytes->size(), N));
  }
  std::array<uint8_t, N> out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

// The "record_id" and "leaf_hash" that every line starts with.
absl::Status ParseRecordKeys(const Json& json, std::string* record_id,
                             merkle::Hash* leaf_hash) {
  absl::StatusOr<std::string> id = StringAt(json, "record_id");
  if (!id.ok()) return id.status();
  *record_id = *std::move(id);
  absl::StatusOr<merkle::Hash> leaf =
      HexArrayAt<merkle::kHashSize>(json, "leaf_hash");
  if (!leaf.ok()) return leaf.status();
  *leaf_hash = *leaf;
  return absl::OkStatus();
}

}  // namespace

std::string FormatSignedRecordLine(const SignedRecordLine& line) {
  Json json;
  json["record_id"] = line.record_id;
  json["leaf_hash"] = merkle::HexEncode(line.leaf_hash);
  json["entry"] = merkle::Base64Encode(merkle::AsBytes(line.entry));
  return json.dump();
}

absl::StatusOr<SignedRecordLine> ParseSignedRecordLine(std::string_view text) {
  absl::StatusOr<Json> json =
      ParseObject(text, {"record_id", "leaf_hash", "entry"});
  if (!json.ok()) return json.status();
  SignedRecordLine line;
  if (absl::Status s = ParseRecordKeys(*json, &line.record_id, &line.leaf_hash);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> entry_text = StringAt(*json, "entry");
  if (!entry_text.ok()) return entry_text.status();
  absl::StatusOr<std::vector<uint8_t>> entry =
      merkle::Base64Decode(*entry_text, "entry");
  if (!entry.ok()) return entry.status();
  line.entry.assign(entry->begin(), entry->end());
  if (merkle::HashLeaf(merkle::AsBytes(line.entry)) != line.leaf_hash) {
    return absl::InvalidArgumentError(
        "\"leaf_hash\" is not the leaf hash of \"entry\"");
  }
  return line;
}

std::string FormatOpeningsLine(const OpeningsLine& line) {
  Json json;
  json["record_id"] = line.record_id;
  json["leaf_hash"] = merkle::HexEncode(line.leaf_hash);
  Json openings = Json::array();
  for (const FieldOpening& o : line.openings) {
    openings.push_back({{"field", o.field},
                        {"value", o.value},
                        {"opening", merkle::HexEncode(o.opening)},
                        {"commitment", merkle::HexEncode(o.commitment)}});
  }
  json["openings"] = std::move(openings);
  return json.dump();
}

absl::StatusOr<OpeningsLine> ParseOpeningsLine(std::string_view text) {
  absl::StatusOr<Json> json =
      ParseObject(text, {"record_id", "leaf_hash", "openings"});
  if (!json.ok()) return json.status();
  OpeningsLine line;
  if (absl::Status s = ParseRecordKeys(*json, &line.record_id, &line.leaf_hash);
      !s.ok()) {
    return s;
  }
  const Json& openings = (*json)["openings"];
  if (!openings.is_array()) {
    return absl::InvalidArgumentError("\"openings\" must be an array");
  }
  std::set<std::string> seen;
  for (const Json& item : openings) {
    if (!item.is_object()) {
      return absl::InvalidArgumentError(
          "each of \"openings\" must be an object");
    }
    absl::StatusOr<Json> o =
        ParseObject(item.dump(), {"field", "value", "opening", "commitment"});
    if (!o.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("an opening: %s", o.status().message()));
    }
    FieldOpening opening;
    absl::StatusOr<std::string> field = StringAt(*o, "field");
    if (!field.ok()) return field.status();
    const bool known =
        std::any_of(std::begin(kCommittedFields), std::end(kCommittedFields),
                    [&](const CommittedField& f) { return f.name == *field; });
    if (!known || !seen.insert(*field).second) {
      return absl::InvalidArgumentError(
          absl::StrFormat("an opening's field %s is unknown or repeated",
                          merkle::QuoteForError(*field)));
    }
    opening.field = *std::move(field);
    absl::StatusOr<std::string> value = StringAt(*o, "value");
    if (!value.ok()) return value.status();
    opening.value = *std::move(value);
    absl::StatusOr<std::array<uint8_t, kOpeningSize>> bytes =
        HexArrayAt<kOpeningSize>(*o, "opening");
    if (!bytes.ok()) return bytes.status();
    opening.opening = *bytes;
    absl::StatusOr<std::array<uint8_t, kCommitmentSize>> commitment =
        HexArrayAt<kCommitmentSize>(*o, "commitment");
    if (!commitment.ok()) return commitment.status();
    opening.commitment = *commitment;
    line.openings.push_back(std::move(opening));
  }
  return line;
}

absl::StatusOr<OpeningsLine> FindOpenings(std::string_view content,
                                          const merkle::Hash& leaf_hash) {
  size_t number = 0;
  size_t malformed = 0;
  while (!content.empty()) {
    ++number;
    const size_t end = content.find('\n');
    const std::string_view text = content.substr(0, end);
    content = end == std::string_view::npos ? std::string_view()
                                            : content.substr(end + 1);
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    // A line torn by a crash must not hide the lines after it.
    absl::StatusOr<OpeningsLine> line = ParseOpeningsLine(text);
    if (!line.ok()) {
      ++malformed;
      continue;
    }
    if (line->leaf_hash == leaf_hash) return line;
  }
  return absl::NotFoundError(absl::StrFormat(
      "no openings for the entry with leaf hash %s (%d malformed lines "
      "skipped)",
      merkle::HexEncode(leaf_hash), malformed));
}

}  // namespace vigil::client
