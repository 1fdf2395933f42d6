#include "client/record_input.h"

#include <csv.h>
#include <google/protobuf/descriptor.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "merkle/encoding.h"

namespace vigil::client {
namespace {

using ::vigil::merkle::QuoteForError;

// Bounds on what one record may hold, so that a hostile or broken input
// cannot make the reader buffer without limit.
constexpr size_t kMaxValueBytes = size_t{64} * 1024;  // One string or CSV cell.
constexpr size_t kMaxCsvRowBytes = 1 << 20;           // One CSV row, as text.
constexpr size_t kCsvChunkBytes =
    size_t{64} * 1024;  // Read from the stream at once.

constexpr int64_t kCentisPerSecond = 100;
constexpr int64_t kCentisPerDay = int64_t{24} * 60 * 60 * kCentisPerSecond;

// The fields of the header's table, in its order (which is also the order
// in which missing fields are reported).
enum class Field : uint8_t {
  kRecordId,
  kSubmitterRole,
  kCorrelationId,
  kEventTime,
  kEventTimeCentis,
  kRequestingOri,
  kOperator,
  kSourceSystem,
  kSourceState,
  kDestination,
  kMessageKey,
  kDataCategories,
  kPurposeCode,
  kDeclaredPurpose,
  kLegalProcess,
  kLegalDoc,
  kCaseRef,
  kSubject,
  kOutcome,
  kImageRequested,
};
constexpr size_t kFieldCount = 20;

// What a field's value is, as the format-specific readers must deliver it.
enum class Kind : uint8_t {
  kString,      // std::string; JSON string.
  kStringList,  // std::vector<std::string>; JSON array of strings.
  kInteger,     // int64_t; JSON integer.
  kBool,        // bool; JSON true/false.
};

struct FieldSpec {
  std::string_view name;
  Kind kind;
  // Required fields other than the event time, whose rule (exactly one of
  // two) is checked on its own.
  bool required;
};

constexpr std::array<FieldSpec, kFieldCount> kFields = {{
    {"record_id", Kind::kString, true},
    {"submitter_role", Kind::kString, true},
    {"correlation_id", Kind::kString, true},
    {"event_time", Kind::kString, false},
    {"event_time_centis", Kind::kInteger, false},
    {"requesting_ori", Kind::kString, true},
    {"operator", Kind::kString, true},
    {"source_system", Kind::kString, true},
    {"source_state", Kind::kString, false},
    {"destination", Kind::kString, true},
    {"message_key", Kind::kString, true},
    {"data_categories", Kind::kStringList, true},
    {"purpose_code", Kind::kString, false},
    {"declared_purpose", Kind::kString, true},
    {"legal_process", Kind::kString, true},
    {"legal_doc", Kind::kString, false},
    {"case_ref", Kind::kString, false},
    {"subject", Kind::kString, true},
    {"outcome", Kind::kString, true},
    {"image_requested", Kind::kBool, false},
}};

const FieldSpec& Spec(Field f) { return kFields[static_cast<size_t>(f)]; }

std::optional<Field> FieldByName(std::string_view name) {
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (kFields[i].name == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

// One field's value, of the type its Kind names.
using Value =
    std::variant<std::string, std::vector<std::string>, int64_t, bool>;
// Indexed by Field; nullopt for an absent field.
using Values = std::array<std::optional<Value>, kFieldCount>;

absl::Status CheckValueSize(std::string_view field, size_t size) {
  if (size > kMaxValueBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "field %s is %d bytes, more than %d", field, size, kMaxValueBytes));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// The field rules, shared by both formats.

// `name` as an enumerator of E, not *_UNSPECIFIED (number 0). The name is
// not personal data, so it is quoted.
template <typename E, typename ParseFn>
absl::StatusOr<E> ParseEnum(
    std::string_view field, const std::string& name, ParseFn parse,
    const google::protobuf::EnumDescriptor* descriptor) {
  E value{};
  if (parse(name, &value) && static_cast<int>(value) != 0) return value;
  std::string expected;
  for (int i = 0; i < descriptor->value_count(); ++i) {
    if (descriptor->value(i)->number() == 0) continue;
    if (!expected.empty()) expected += ", ";
    expected += descriptor->value(i)->name();
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "field %s: %s is not one of %s", field, QuoteForError(name), expected));
}

bool ParseDigits(std::string_view text, size_t pos, size_t count, int* out) {
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

// "YYYY-MM-DDTHH:MM:SS[.f|.ff]Z" ("+00:00" for "Z" allowed) as hundredths
// of a second since the Unix epoch. Exact: no floating point.
absl::StatusOr<int64_t> ParseEventTime(std::string_view text) {
  const auto malformed = [&] {
    return absl::InvalidArgumentError(
        absl::StrFormat("field event_time: %s is not an RFC 3339 UTC time like "
                        "2026-11-28T02:29:20.25Z",
                        QuoteForError(text)));
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || !ParseDigits(text, 0, 4, &year) || text[4] != '-' ||
      !ParseDigits(text, 5, 2, &month) || text[7] != '-' ||
      !ParseDigits(text, 8, 2, &day) || text[10] != 'T' ||
      !ParseDigits(text, 11, 2, &hour) || text[13] != ':' ||
      !ParseDigits(text, 14, 2, &minute) || text[16] != ':' ||
      !ParseDigits(text, 17, 2, &second)) {
    return malformed();
  }
  std::string_view rest = text.substr(19);
  int fraction_centis = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      ++digits;
    }
    --digits;  // Not counting the '.'.
    if (digits == 0) return malformed();
    if (digits > 2) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "field event_time: %s has more precision than hundredths of a "
          "second",
          QuoteForError(text)));
    }
    int fraction = 0;
    ParseDigits(rest, 1, digits, &fraction);
    fraction_centis = digits == 1 ? fraction * 10 : fraction;
    rest.remove_prefix(1 + digits);
  }
  if (rest != "Z" && rest != "+00:00") {
    const bool is_offset = rest.size() == 6 &&
                           (rest[0] == '+' || rest[0] == '-') && rest[3] == ':';
    if (!is_offset) return malformed();
    return absl::InvalidArgumentError(
        absl::StrFormat("field event_time: %s is not in UTC (end it in Z)",
                        QuoteForError(text)));
  }
  const std::chrono::year_month_day date{
      std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
      std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) {
    return absl::InvalidArgumentError(
        absl::StrFormat("field event_time: %s is not a valid date and time",
                        QuoteForError(text)));
  }
  if (year < 1970) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "field event_time: %s is before 1970", QuoteForError(text)));
  }
  const int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  return days * kCentisPerDay +
         ((hour * int64_t{60} + minute) * 60 + second) * kCentisPerSecond +
         fraction_centis;
}

const std::string* GetString(const Values& values, Field f) {
  const std::optional<Value>& v = values[static_cast<size_t>(f)];
  return v.has_value() ? std::get_if<std::string>(&*v) : nullptr;
}

// Builds the record from values already typed by a format reader. Every
// field rule of the header lives here, once. An empty string is the same
// as an absent field (as an empty CSV cell is).
absl::StatusOr<RecordInput> BuildRecordInput(const Values& values) {
  const auto present = [&](Field f) {
    const std::optional<Value>& v = values[static_cast<size_t>(f)];
    if (!v.has_value()) return false;
    const std::string* s = std::get_if<std::string>(&*v);
    return s == nullptr || !s->empty();
  };
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (kFields[i].required && !present(static_cast<Field>(i))) {
      return absl::InvalidArgumentError(
          absl::StrFormat("missing field %s", kFields[i].name));
    }
  }
  const bool has_time = present(Field::kEventTime);
  const bool has_centis = present(Field::kEventTimeCentis);
  if (has_time == has_centis) {
    return absl::InvalidArgumentError(
        has_time ? "both event_time and event_time_centis given; give one"
                 : "missing field event_time (or event_time_centis)");
  }
  // Present required fields, and present optional ones, hold a value of
  // their kind from here on.
  const auto str = [&](Field f) -> std::string {
    const std::string* s = GetString(values, f);
    return s == nullptr ? std::string() : *s;
  };

  RecordInput out;
  vigil::v1::AccessRecord& r = out.record;
  r.set_record_id(str(Field::kRecordId));
  absl::StatusOr<vigil::v1::SubmitterRole> role =
      ParseEnum<vigil::v1::SubmitterRole>(
          Spec(Field::kSubmitterRole).name, str(Field::kSubmitterRole),
          vigil::v1::SubmitterRole_Parse,
          vigil::v1::SubmitterRole_descriptor());
  if (!role.ok()) return role.status();
  r.set_submitter_role(*role);
  r.set_correlation_id(str(Field::kCorrelationId));
  if (has_time) {
    absl::StatusOr<int64_t> centis = ParseEventTime(str(Field::kEventTime));
    if (!centis.ok()) return centis.status();
    r.set_event_time_centis(*centis);
  } else {
    const int64_t centis = std::get<int64_t>(
        *values[static_cast<size_t>(Field::kEventTimeCentis)]);
    if (centis < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "field event_time_centis: %d is before 1970", centis));
    }
    r.set_event_time_centis(centis);
  }
  r.set_requesting_ori(str(Field::kRequestingOri));
  out.operator_id = str(Field::kOperator);
  absl::StatusOr<vigil::v1::SourceSystem> system =
      ParseEnum<vigil::v1::SourceSystem>(
          Spec(Field::kSourceSystem).name, str(Field::kSourceSystem),
          vigil::v1::SourceSystem_Parse, vigil::v1::SourceSystem_descriptor());
  if (!system.ok()) return system.status();
  r.set_source_system(*system);
  r.set_source_state(str(Field::kSourceState));
  r.set_destination(str(Field::kDestination));
  r.set_message_key(str(Field::kMessageKey));
  const auto& categories = std::get<std::vector<std::string>>(
      *values[static_cast<size_t>(Field::kDataCategories)]);
  if (categories.empty()) {
    return absl::InvalidArgumentError(
        "field data_categories is empty: give at least one category");
  }
  // Repeats are kept, in order: ParseAccessRecord refuses them.
  for (const std::string& name : categories) {
    absl::StatusOr<vigil::v1::DataCategory> category =
        ParseEnum<vigil::v1::DataCategory>(
            Spec(Field::kDataCategories).name, name,
            vigil::v1::DataCategory_Parse,
            vigil::v1::DataCategory_descriptor());
    if (!category.ok()) return category.status();
    r.add_data_categories(*category);
  }
  r.set_purpose_code(str(Field::kPurposeCode));
  absl::StatusOr<vigil::v1::DeclaredPurpose> purpose =
      ParseEnum<vigil::v1::DeclaredPurpose>(
          Spec(Field::kDeclaredPurpose).name, str(Field::kDeclaredPurpose),
          vigil::v1::DeclaredPurpose_Parse,
          vigil::v1::DeclaredPurpose_descriptor());
  if (!purpose.ok()) return purpose.status();
  r.set_declared_purpose(*purpose);
  absl::StatusOr<vigil::v1::LegalProcess> process =
      ParseEnum<vigil::v1::LegalProcess>(
          Spec(Field::kLegalProcess).name, str(Field::kLegalProcess),
          vigil::v1::LegalProcess_Parse, vigil::v1::LegalProcess_descriptor());
  if (!process.ok()) return process.status();
  r.set_legal_process(*process);
  if (present(Field::kLegalDoc)) out.legal_doc = str(Field::kLegalDoc);
  if (present(Field::kCaseRef)) out.case_ref = str(Field::kCaseRef);
  out.subject = str(Field::kSubject);
  absl::StatusOr<vigil::v1::Outcome> outcome = ParseEnum<vigil::v1::Outcome>(
      Spec(Field::kOutcome).name, str(Field::kOutcome),
      vigil::v1::Outcome_Parse, vigil::v1::Outcome_descriptor());
  if (!outcome.ok()) return outcome.status();
  r.set_outcome(*outcome);
  const std::optional<Value>& image =
      values[static_cast<size_t>(Field::kImageRequested)];
  r.set_image_requested(image.has_value() && std::get<bool>(*image));
  return out;
}

// ---------------------------------------------------------------------------
// JSON.

// "a number", "null", ...: the type of `v` for an error message. Never the
// value, which may be personal data.
std::string JsonTypeForError(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_number_float()) return "a floating-point number";
  const std::string name = v.type_name();
  const bool vowel = !name.empty() && std::string_view("aeiou").find(name[0]) !=
                                          std::string_view::npos;
  return absl::StrFormat("%s %s", vowel ? "an" : "a", name);
}

absl::Status JsonTypeError(std::string_view field, std::string_view want,
                           const nlohmann::json& v) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "field %s must be %s, not %s", field, want, JsonTypeForError(v)));
}

// `v` as the value of `spec`, checking only its JSON type and size.
absl::StatusOr<Value> ValueFromJson(const FieldSpec& spec,
                                    const nlohmann::json& v) {
  switch (spec.kind) {
    case Kind::kString: {
      const auto* s = v.get_ptr<const std::string*>();
      if (s == nullptr) return JsonTypeError(spec.name, "a string", v);
      if (absl::Status st = CheckValueSize(spec.name, s->size()); !st.ok()) {
        return st;
      }
      return Value(*s);
    }
    case Kind::kStringList: {
      if (!v.is_array()) {
        return JsonTypeError(spec.name, "an array of strings", v);
      }
      std::vector<std::string> list;
      for (size_t i = 0; i < v.size(); ++i) {
        const auto* s = v[i].get_ptr<const std::string*>();
        if (s == nullptr) {
          return JsonTypeError(absl::StrFormat("%s[%d]", spec.name, i),
                               "a string", v[i]);
        }
        if (absl::Status st = CheckValueSize(spec.name, s->size()); !st.ok()) {
          return st;
        }
        list.push_back(*s);
      }
      return Value(std::move(list));
    }
    case Kind::kInteger: {
      if (v.is_number_unsigned()) {
        const auto u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "field %s: %d does not fit in 64 bits", spec.name, u));
        }
        return Value(static_cast<int64_t>(u));
      }
      if (v.is_number_integer()) return Value(v.get<int64_t>());
      return JsonTypeError(spec.name, "an integer", v);
    }
    case Kind::kBool:
      if (!v.is_boolean()) return JsonTypeError(spec.name, "true or false", v);
      return Value(v.get<bool>());
  }
  return absl::InternalError("unreachable");
}

// ---------------------------------------------------------------------------
// CSV cells.

// `cell` (not empty) as the value of `spec`.
absl::StatusOr<Value> ValueFromCell(const FieldSpec& spec, std::string cell) {
  if (absl::Status st = CheckValueSize(spec.name, cell.size()); !st.ok()) {
    return st;
  }
  // JSON text is checked by its parser; CSV bytes are not, and protobuf
  // strings must be UTF-8.
  if (!merkle::IsValidUtf8(cell)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("field %s is not valid UTF-8", spec.name));
  }
  switch (spec.kind) {
    case Kind::kString:
      return Value(std::move(cell));
    case Kind::kStringList: {
      std::vector<std::string> list;
      std::string_view rest = cell;
      while (true) {
        const size_t semicolon = rest.find(';');
        std::string_view item = rest.substr(0, semicolon);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
          item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
          item.remove_suffix(1);
        }
        if (item.empty()) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "field %s has an empty name between ';'", spec.name));
        }
        list.emplace_back(item);
        if (semicolon == std::string_view::npos) break;
        rest.remove_prefix(semicolon + 1);
      }
      return Value(std::move(list));
    }
    case Kind::kInteger: {
      int64_t n = 0;
      const char* end = cell.data() + cell.size();
      const auto [ptr, ec] = std::from_chars(cell.data(), end, n);
      if (ec != std::errc() || ptr != end) {
        return absl::InvalidArgumentError(
            absl::StrFormat("field %s: %s is not a 64-bit integer", spec.name,
                            QuoteForError(cell)));
      }
      return Value(n);
    }
    case Kind::kBool:
      if (cell == "true") return Value(true);
      if (cell == "false") return Value(false);
      return absl::InvalidArgumentError(absl::StrFormat(
          "field %s: %s is not true or false", spec.name, QuoteForError(cell)));
  }
  return absl::InternalError("unreachable");
}

absl::Status AtLine(uint64_t line, const absl::Status& status) {
  return {status.code(),
          absl::StrFormat("line %d: %s", line, status.message())};
}

}  // namespace

absl::StatusOr<RecordInput> RecordInputFromJson(std::string_view json_text) {
  // nlohmann keeps the last of repeated keys; find repeats with the parse
  // callback, one key set per open object or array.
  std::vector<std::set<std::string>> open;
  std::optional<std::string> duplicate;
  const nlohmann::json::parser_callback_t callback =
      [&](int /*depth*/, nlohmann::json::parse_event_t event,
          nlohmann::json& parsed) {
        using Event = nlohmann::json::parse_event_t;
        switch (event) {
          case Event::object_start:
          case Event::array_start:
            open.emplace_back();
            break;
          case Event::object_end:
          case Event::array_end:
            if (!open.empty()) open.pop_back();
            break;
          case Event::key:
            if (const auto* key = parsed.get_ptr<const std::string*>();
                key != nullptr && !open.empty() &&
                !open.back().insert(*key).second && !duplicate.has_value()) {
              duplicate = *key;
            }
            break;
          case Event::value:
            break;
        }
        return true;
      };
  const nlohmann::json doc = nlohmann::json::parse(
      json_text.begin(), json_text.end(), callback, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // nlohmann's own message quotes the input, which may be personal data.
    return absl::InvalidArgumentError(
        "record is not valid JSON (a syntax error or invalid UTF-8)");
  }
  if (duplicate.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("duplicate key %s", QuoteForError(*duplicate)));
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "record must be a JSON object, not %s", JsonTypeForError(doc)));
  }
  Values values;
  for (const auto& [key, value] : doc.items()) {
    const std::optional<Field> field = FieldByName(key);
    if (!field.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown key %s", QuoteForError(key)));
    }
    absl::StatusOr<Value> v = ValueFromJson(Spec(*field), value);
    if (!v.ok()) return v.status();
    values[static_cast<size_t>(*field)] = *std::move(v);
  }
  return BuildRecordInput(values);
}

// How the reader follows lines: libcsv reports cells and row ends but no
// positions. The reader feeds it one segment at a time, each ending just
// after a '\r' or '\n' (or at the end of a chunk), so a segment lies on
// one line and a row can only end at a segment's last byte. A row starts
// in the first segment after the previous row's end that holds a byte
// other than space, tab, CR or LF (libcsv skips those between rows). Lines
// end with LF, CRLF or a lone CR (libcsv ends rows at each). This stays
// exact for quoted cells holding line breaks.
//
// Errors: a bad row (wrong cell count, a bad cell) is reported by Next()
// and the reader goes on with the next row. Malformed CSV (a stray quote,
// a quoted cell left open at the end), a row of more than kMaxCsvRowBytes
// or a failed read stop the reader: libcsv cannot resume after a parse
// error, so Next() reports that error once and then returns std::nullopt
// (end of input), so that a caller that skips bad rows does not loop.
struct CsvRecordReader::State {
  // A row libcsv finished, or an error that stopped the reader.
  struct Row {
    uint64_t line = 0;
    std::vector<std::string> cells;  // At most cell_limit of them.
    size_t cell_count = 0;           // All the row had.
    absl::Status error;  // A cell too large, or what stopped the reader.
    bool fatal = false;
  };

  explicit State(std::istream& input) : in(input), chunk(kCsvChunkBytes) {
    csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI);
  }
  ~State() { csv_free(&parser); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  static void OnCell(void* data, size_t size, void* self) {
    static_cast<State*>(self)->AddCell(static_cast<const char*>(data), size);
  }
  static void OnRowEnd(int /*terminator*/, void* self) {
    static_cast<State*>(self)->EndRow();
  }

  void AddCell(const char* data, size_t size) {
    const size_t index = current.cell_count++;
    if (!current.error.ok()) return;
    if (size > kMaxValueBytes) {
      current.error = index < columns.size()
                          ? CheckValueSize(Spec(columns[index]).name, size)
                          : absl::InvalidArgumentError(absl::StrFormat(
                                "cell %d is %d bytes, more than %d", index + 1,
                                size, kMaxValueBytes));
      return;
    }
    if (current.cells.size() < CellLimit()) {
      current.cells.emplace_back(size == 0 ? "" : std::string(data, size));
    }
  }

  // More cells than a good row has are counted, not kept.
  [[nodiscard]] size_t CellLimit() const {
    return (have_header ? columns.size() : kFieldCount) + 1;
  }

  void EndRow() {
    current.line = row_open ? row_line : line;
    ready.push_back(std::move(current));
    current = Row();
    row_open = false;
  }

  void Stop(uint64_t at_line, absl::Status error) {
    Row row;
    row.line = at_line;
    row.error = std::move(error);
    row.fatal = true;
    ready.push_back(std::move(row));
    done = true;
  }

  // Parses the next segment, reads the next chunk, or finishes: one step
  // towards the next row. Requires !done.
  void Step() {
    if (chunk_pos == chunk_len) {
      if (input_ended) {
        Finish();
      } else {
        ReadChunk();
      }
      return;
    }
    const std::string_view rest(chunk.data() + chunk_pos,
                                chunk_len - chunk_pos);
    size_t segment_size = 0;
    while (segment_size < rest.size() && rest[segment_size] != '\n' &&
           rest[segment_size] != '\r') {
      ++segment_size;
    }
    if (segment_size < rest.size()) ++segment_size;  // The line end.
    const std::string_view segment = rest.substr(0, segment_size);
    // A '\r' ends a line unless a '\n' follows (CRLF), which may be in the
    // next chunk: decide once the next segment is here.
    if (after_cr && segment.front() != '\n') ++line;
    after_cr = segment.back() == '\r';
    if (!row_open &&
        segment.find_first_not_of(" \t\r\n") != std::string_view::npos) {
      row_open = true;
      row_line = line;
      row_bytes = 0;
    }
    if (row_open) {
      row_bytes += segment.size();
      if (row_bytes > kMaxCsvRowBytes) {
        Stop(row_line, absl::InvalidArgumentError(
                           absl::StrFormat("line %d: row is more than %d bytes",
                                           row_line, kMaxCsvRowBytes)));
        return;
      }
    }
    const size_t parsed = csv_parse(&parser, segment.data(), segment.size(),
                                    OnCell, OnRowEnd, this);
    if (parsed != segment.size()) {
      const int error = csv_error(&parser);
      if (error == CSV_EPARSE) {
        // In strict mode the only parse error is a quote where none may be.
        const std::string where =
            line == row_line ? "" : absl::StrFormat(" (on line %d)", line);
        Stop(row_line,
             absl::InvalidArgumentError(absl::StrFormat(
                 "line %d: malformed CSV: a stray '\"'%s; quote whole cells "
                 "and double the quotes inside them",
                 row_line, where)));
      } else {
        Stop(row_line,
             absl::ResourceExhaustedError(absl::StrFormat(
                 "line %d: CSV parser: %s", row_line, csv_strerror(error))));
      }
      return;
    }
    if (segment.back() == '\n') ++line;
    chunk_pos += segment.size();
  }

  void ReadChunk() {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk_len = static_cast<size_t>(in.gcount());
    chunk_pos = 0;
    if (in.bad()) {
      Stop(line, absl::DataLossError(absl::StrFormat(
                     "error reading CSV input at line %d", line)));
      return;
    }
    // read() stops short only at the end of input.
    if (chunk_len < chunk.size()) input_ended = true;
    if (at_start) {
      at_start = false;
      if (std::string_view(chunk.data(), chunk_len)
              .starts_with("\xEF\xBB\xBF")) {
        chunk_pos = 3;
      }
    }
  }

  void Finish() {
    done = true;
    if (csv_fini(&parser, OnCell, OnRowEnd, this) != 0) {
      Stop(row_line,
           absl::InvalidArgumentError(absl::StrFormat(
               "line %d: malformed CSV: a quoted cell is not closed at the "
               "end of input",
               row_line)));
    }
  }

  std::istream& in;
  csv_parser parser{};
  std::vector<char> chunk;
  size_t chunk_pos = 0;
  size_t chunk_len = 0;
  bool at_start = true;
  bool input_ended = false;
  bool done = false;  // Nothing more will be parsed.

  uint64_t line = 1;      // Of the next byte to parse.
  bool after_cr = false;  // The last segment parsed ended with '\r'.
  bool row_open = false;
  uint64_t row_line = 0;  // Where the open row started.
  size_t row_bytes = 0;   // Of the open row so far.
  Row current;            // The open row's cells.
  std::deque<Row> ready;

  bool have_header = false;
  std::vector<Field> columns;  // The header, once read.
  uint64_t last_line = 0;
};

absl::StatusOr<std::unique_ptr<CsvRecordReader>> CsvRecordReader::Create(
    std::istream& in) {
  auto state = std::make_unique<State>(in);
  while (state->ready.empty() && !state->done) state->Step();
  if (state->ready.empty()) {
    return absl::InvalidArgumentError("empty CSV input: no header row");
  }
  State::Row header = std::move(state->ready.front());
  state->ready.pop_front();
  if (!header.error.ok()) {
    return header.fatal ? header.error : AtLine(header.line, header.error);
  }
  std::array<bool, kFieldCount> seen{};
  for (const std::string& name : header.cells) {
    const std::optional<Field> field = FieldByName(name);
    if (!field.has_value()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "line %d: unknown column %s", header.line, QuoteForError(name)));
    }
    if (seen[static_cast<size_t>(*field)]) {
      return absl::InvalidArgumentError(
          absl::StrFormat("line %d: duplicate column %s", header.line, name));
    }
    seen[static_cast<size_t>(*field)] = true;
    state->columns.push_back(*field);
  }
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (kFields[i].required && !seen[i]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "line %d: missing column %s", header.line, kFields[i].name));
    }
  }
  const bool time = seen[static_cast<size_t>(Field::kEventTime)];
  const bool centis = seen[static_cast<size_t>(Field::kEventTimeCentis)];
  if (time && centis) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "line %d: both event_time and event_time_centis columns; give one",
        header.line));
  }
  if (!time && !centis) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "line %d: missing column event_time (or event_time_centis)",
        header.line));
  }
  state->have_header = true;
  state->last_line = header.line;
  std::unique_ptr<CsvRecordReader> reader(new CsvRecordReader());
  reader->state_ = std::move(state);
  return reader;
}

CsvRecordReader::~CsvRecordReader() = default;

absl::StatusOr<std::optional<RecordInput>> CsvRecordReader::Next() {
  State& s = *state_;
  while (s.ready.empty() && !s.done) s.Step();
  if (s.ready.empty()) return std::nullopt;
  State::Row row = std::move(s.ready.front());
  s.ready.pop_front();
  s.last_line = row.line;
  if (row.fatal) return row.error;
  if (row.cell_count != s.columns.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("line %d: row has %d cells, the header has %d",
                        row.line, row.cell_count, s.columns.size()));
  }
  if (!row.error.ok()) return AtLine(row.line, row.error);
  Values values;
  for (size_t i = 0; i < s.columns.size(); ++i) {
    if (row.cells[i].empty()) continue;  // The same as an absent field.
    absl::StatusOr<Value> v =
        ValueFromCell(Spec(s.columns[i]), std::move(row.cells[i]));
    if (!v.ok()) return AtLine(row.line, v.status());
    values[static_cast<size_t>(s.columns[i])] = *std::move(v);
  }
  absl::StatusOr<RecordInput> record = BuildRecordInput(values);
  if (!record.ok()) return AtLine(row.line, record.status());
  return std::optional<RecordInput>(*std::move(record));
}

uint64_t CsvRecordReader::line() const { return state_->last_line; }

}  // namespace vigil::client
