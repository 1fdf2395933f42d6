#include "client/record_input.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigil::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// 2026-11-28T02:29:20.25Z in hundredths of a second since the epoch
// (Python: calendar.timegm((2026, 11, 28, 2, 29, 20)) * 100 + 25).
constexpr int64_t kFullEventCentis = 179'583'296'025;

// Every field, as the header's table describes them.
nlohmann::json FullJson() {
  return nlohmann::json{
      {"record_id", "rec-0001"},
      {"submitter_role", "REQUESTER"},
      {"correlation_id", "NLETS-20261128-000123"},
      {"event_time", "2026-11-28T02:29:20.25Z"},
      {"requesting_ori", "WA0340000"},
      {"operator", "Officer Jane Roe #4411"},
      {"source_system", "STATE_DMV"},
      {"source_state", "WA"},
      {"destination", "WA"},
      {"message_key", "DQ"},
      {"data_categories", {"DMV_PII", "PHOTO"}},
      {"purpose_code", "C"},
      {"declared_purpose", "CRIMINAL_INVESTIGATION"},
      {"legal_process", "JUDICIAL_WARRANT"},
      {"legal_doc", "Warrant 26-SW-0192"},
      {"case_ref", "Case 2026-004512"},
      {"subject", "DL:WA:SMITHJ123"},
      {"outcome", "HIT"},
      {"image_requested", true},
  };
}

// Only the required fields.
nlohmann::json MinimalJson() {
  nlohmann::json j = FullJson();
  for (const char* optional : {"source_state", "purpose_code", "legal_doc",
                               "case_ref", "image_requested"}) {
    j.erase(optional);
  }
  return j;
}

const std::vector<std::string>& RequiredFields() {
  static const auto* const fields = new std::vector<std::string>{
      "record_id",       "submitter_role",   "correlation_id", "requesting_ori",
      "operator",        "source_system",    "destination",    "message_key",
      "data_categories", "declared_purpose", "legal_process",  "subject",
      "outcome"};
  return *fields;
}

absl::StatusOr<RecordInput> FromJson(const nlohmann::json& j) {
  return RecordInputFromJson(j.dump());
}

std::string ErrorOf(const absl::StatusOr<RecordInput>& r) {
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(r.status().message());
  return message;
}

// ---------------------------------------------------------------------------
// JSON

TEST(RecordInputJsonTest, ParsesEveryFieldOfAFullRecord) {
  absl::StatusOr<RecordInput> in = FromJson(FullJson());
  ASSERT_TRUE(in.ok()) << in.status();
  const vigil::v1::AccessRecord& r = in->record;
  EXPECT_EQ(r.record_id(), "rec-0001");
  EXPECT_EQ(r.submitter_role(), vigil::v1::REQUESTER);
  EXPECT_EQ(r.correlation_id(), "NLETS-20261128-000123");
  EXPECT_EQ(r.event_time_centis(), kFullEventCentis);
  EXPECT_EQ(r.requesting_ori(), "WA0340000");
  EXPECT_EQ(r.source_system(), vigil::v1::STATE_DMV);
  EXPECT_EQ(r.source_state(), "WA");
  EXPECT_EQ(r.destination(), "WA");
  EXPECT_EQ(r.message_key(), "DQ");
  EXPECT_THAT(r.data_categories(),
              ElementsAre(vigil::v1::DMV_PII, vigil::v1::PHOTO));
  EXPECT_EQ(r.purpose_code(), "C");
  EXPECT_EQ(r.declared_purpose(), vigil::v1::CRIMINAL_INVESTIGATION);
  EXPECT_EQ(r.legal_process(), vigil::v1::JUDICIAL_WARRANT);
  EXPECT_EQ(r.outcome(), vigil::v1::HIT);
  EXPECT_TRUE(r.image_requested());
  // Commitments are BuildRecord's job.
  EXPECT_TRUE(r.operator_commit().empty());
  EXPECT_TRUE(r.subject_commit().empty());
  EXPECT_TRUE(r.legal_doc_commit().empty());
  EXPECT_TRUE(r.case_ref_commit().empty());
  EXPECT_EQ(in->operator_id, "Officer Jane Roe #4411");
  EXPECT_EQ(in->subject, "DL:WA:SMITHJ123");
  EXPECT_EQ(in->legal_doc, "Warrant 26-SW-0192");
  EXPECT_EQ(in->case_ref, "Case 2026-004512");
}

TEST(RecordInputJsonTest, MinimalRecordLeavesOptionalFieldsAtDefaults) {
  absl::StatusOr<RecordInput> in = FromJson(MinimalJson());
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->record.source_state(), "");
  EXPECT_EQ(in->record.purpose_code(), "");
  EXPECT_FALSE(in->record.image_requested());
  EXPECT_EQ(in->legal_doc, std::nullopt);
  EXPECT_EQ(in->case_ref, std::nullopt);
  EXPECT_EQ(in->subject, "DL:WA:SMITHJ123");
}

TEST(RecordInputJsonTest, AcceptsSurroundingWhiteSpace) {
  EXPECT_TRUE(RecordInputFromJson("\n  " + FullJson().dump(2) + " \n\t").ok());
}

TEST(RecordInputJsonTest, RefusesEachMissingRequiredFieldNamingIt) {
  for (const std::string& field : RequiredFields()) {
    nlohmann::json j = FullJson();
    j.erase(field);
    EXPECT_EQ(ErrorOf(FromJson(j)), "missing field " + field);
  }
}

TEST(RecordInputJsonTest, RefusesAnEmptyStringForARequiredField) {
  nlohmann::json j = FullJson();
  j["subject"] = "";
  EXPECT_THAT(ErrorOf(FromJson(j)), HasSubstr("subject"));
}

TEST(RecordInputJsonTest, TreatsAnEmptyOptionalStringAsAbsent) {
  nlohmann::json j = FullJson();
  j["legal_doc"] = "";
  absl::StatusOr<RecordInput> in = FromJson(j);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->legal_doc, std::nullopt);
}

TEST(RecordInputJsonTest, RefusesUnknownKeyNamingIt) {
  nlohmann::json j = FullJson();
  j["colour"] = "blue";
  EXPECT_EQ(ErrorOf(FromJson(j)), "unknown key \"colour\"");
}

TEST(RecordInputJsonTest, RefusesDuplicateTopLevelKeyNamingIt) {
  std::string text = FullJson().dump();
  text.insert(1, R"("outcome":"DENIED",)");
  EXPECT_EQ(ErrorOf(RecordInputFromJson(text)), "duplicate key \"outcome\"");
}

TEST(RecordInputJsonTest, RefusesAStringWhereAnArrayIsExpected) {
  nlohmann::json j = FullJson();
  j["data_categories"] = "DMV_PII";
  EXPECT_EQ(ErrorOf(FromJson(j)),
            "field data_categories must be an array of strings, not a string");
}

TEST(RecordInputJsonTest, RefusesANonStringInsideDataCategories) {
  nlohmann::json j = FullJson();
  j["data_categories"] = {"DMV_PII", 2};
  EXPECT_THAT(ErrorOf(FromJson(j)), HasSubstr("data_categories[1]"));
}

TEST(RecordInputJsonTest, RefusesANumberWhereAStringIsExpected) {
  nlohmann::json j = FullJson();
  j["record_id"] = 17;
  EXPECT_EQ(ErrorOf(FromJson(j)),
            "field record_id must be a string, not a number");
}

TEST(RecordInputJsonTest, RefusesAFloatForEventTimeCentis) {
  for (const char* number : {"179583296025.0", "1.79583296025e11"}) {
    nlohmann::json j = FullJson();
    j.erase("event_time");
    std::string text = j.dump();
    text.insert(1, std::string("\"event_time_centis\":") + number + ",");
    EXPECT_EQ(ErrorOf(RecordInputFromJson(text)),
              "field event_time_centis must be an integer, not a "
              "floating-point number")
        << number;
  }
}

TEST(RecordInputJsonTest, RefusesAStringForEventTimeCentis) {
  nlohmann::json j = FullJson();
  j.erase("event_time");
  j["event_time_centis"] = "179583296025";
  EXPECT_EQ(ErrorOf(FromJson(j)),
            "field event_time_centis must be an integer, not a string");
}

TEST(RecordInputJsonTest, RefusesEventTimeCentisBeyondInt64) {
  nlohmann::json j = FullJson();
  j.erase("event_time");
  j["event_time_centis"] = uint64_t{9'223'372'036'854'775'808u};
  EXPECT_THAT(ErrorOf(FromJson(j)), HasSubstr("event_time_centis"));
}

TEST(RecordInputJsonTest, RefusesNegativeEventTimeCentis) {
  nlohmann::json j = FullJson();
  j.erase("event_time");
  j["event_time_centis"] = -1;
  EXPECT_THAT(ErrorOf(FromJson(j)), HasSubstr("event_time_centis"));
}

TEST(RecordInputJsonTest, RefusesAStringForImageRequested) {
  nlohmann::json j = FullJson();
  j["image_requested"] = "true";
  EXPECT_EQ(ErrorOf(FromJson(j)),
            "field image_requested must be true or false, not a string");
}

TEST(RecordInputJsonTest, RefusesABoolWhereAStringIsExpected) {
  nlohmann::json j = FullJson();
  j["message_key"] = true;
  EXPECT_EQ(ErrorOf(FromJson(j)),
            "field message_key must be a string, not a boolean");
}

TEST(RecordInputJsonTest, RefusesNullNamingTheField) {
  nlohmann::json j = FullJson();
  j["case_ref"] = nullptr;
  EXPECT_EQ(ErrorOf(FromJson(j)), "field case_ref must be a string, not null");
}

TEST(RecordInputJsonTest, RefusesATopLevelThatIsNotAnObject) {
  EXPECT_EQ(ErrorOf(RecordInputFromJson("[]")),
            "record must be a JSON object, not an array");
  EXPECT_EQ(ErrorOf(RecordInputFromJson("\"x\"")),
            "record must be a JSON object, not a string");
  EXPECT_EQ(ErrorOf(RecordInputFromJson("null")),
            "record must be a JSON object, not null");
}

TEST(RecordInputJsonTest, RefusesTrailingGarbageAndEmptyText) {
  EXPECT_THAT(ErrorOf(RecordInputFromJson(FullJson().dump() + " x")),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(ErrorOf(RecordInputFromJson(FullJson().dump() + "{}")),
              HasSubstr("not valid JSON"));
  EXPECT_THAT(ErrorOf(RecordInputFromJson("")), HasSubstr("not valid JSON"));
  EXPECT_THAT(ErrorOf(RecordInputFromJson("  \n")),
              HasSubstr("not valid JSON"));
}

TEST(RecordInputJsonTest, RefusesInvalidUtf8AsAnError) {
  for (const char* bad : {"\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf"}) {
    std::string text = FullJson().dump();
    const std::string needle = "DL:WA:SMITHJ123";
    text.replace(text.find(needle), needle.size(), std::string("DL") + bad);
    EXPECT_THAT(ErrorOf(RecordInputFromJson(text)),
                HasSubstr("not valid JSON"));
  }
}

TEST(RecordInputJsonTest, RefusesStringsOverTheSizeLimitNamingTheSize) {
  nlohmann::json j = FullJson();
  j["subject"] = std::string(65536, 'a');
  EXPECT_TRUE(FromJson(j).ok());
  j["subject"] = std::string(65537, 'a');
  EXPECT_EQ(ErrorOf(FromJson(j)),
            "field subject is 65537 bytes, more than 65536");
}

TEST(RecordInputJsonTest, RefusesBadEnumNamesNamingFieldAndName) {
  const std::map<std::string, std::string> unspecified = {
      {"submitter_role", "SUBMITTER_ROLE_UNSPECIFIED"},
      {"source_system", "SOURCE_SYSTEM_UNSPECIFIED"},
      {"declared_purpose", "DECLARED_PURPOSE_UNSPECIFIED"},
      {"legal_process", "LEGAL_PROCESS_UNSPECIFIED"},
      {"outcome", "OUTCOME_UNSPECIFIED"},
  };
  for (const auto& [field, zero] : unspecified) {
    const std::string good = FullJson()[field].get<std::string>();
    std::string lower = good;
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    for (const std::string& bad : {std::string("BOGUS"), zero, lower}) {
      nlohmann::json j = FullJson();
      j[field] = bad;
      const std::string error = ErrorOf(FromJson(j));
      std::string want = "field ";
      want.append(field).append(": \"").append(bad).append("\"");
      EXPECT_THAT(error, HasSubstr(want));
      EXPECT_THAT(error, Not(HasSubstr("UNSPECIFIED,")));
    }
  }
}

TEST(RecordInputJsonTest, ListsTheAcceptedNamesForABadEnum) {
  nlohmann::json j = FullJson();
  j["outcome"] = "hit";
  EXPECT_EQ(ErrorOf(FromJson(j)),
            "field outcome: \"hit\" is not one of HIT, NO_HIT, DENIED, ERROR");
}

TEST(RecordInputJsonTest, RefusesBadDataCategoryNames) {
  for (const char* bad : {"DATA_CATEGORY_UNSPECIFIED", "photo", "FACE"}) {
    nlohmann::json j = FullJson();
    j["data_categories"] = {"DMV_PII", bad};
    EXPECT_THAT(ErrorOf(FromJson(j)),
                HasSubstr(std::string("field data_categories: \"") + bad));
  }
}

TEST(RecordInputJsonTest, QuotesBadEnumNamesEscapedAndCut) {
  nlohmann::json j = FullJson();
  j["outcome"] = "\x01" + std::string(100, 'Z');
  const std::string error = ErrorOf(FromJson(j));
  EXPECT_THAT(error, HasSubstr("\\x01"));
  EXPECT_THAT(error, Not(HasSubstr(std::string(100, 'Z'))));
}

TEST(RecordInputJsonTest, RefusesAnEmptyDataCategoriesList) {
  nlohmann::json j = FullJson();
  j["data_categories"] = nlohmann::json::array();
  EXPECT_THAT(ErrorOf(FromJson(j)), HasSubstr("field data_categories"));
}

TEST(RecordInputJsonTest, KeepsDataCategoriesInOrderWithRepeats) {
  nlohmann::json j = FullJson();
  j["data_categories"] = {"PHOTO", "DMV_PII", "PHOTO"};
  absl::StatusOr<RecordInput> in = FromJson(j);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_THAT(
      in->record.data_categories(),
      ElementsAre(vigil::v1::PHOTO, vigil::v1::DMV_PII, vigil::v1::PHOTO));
}

// ---------------------------------------------------------------------------
// Event time

absl::StatusOr<int64_t> CentisOf(const std::string& event_time) {
  nlohmann::json j = FullJson();
  j["event_time"] = event_time;
  absl::StatusOr<RecordInput> in = FromJson(j);
  if (!in.ok()) return in.status();
  return in->record.event_time_centis();
}

TEST(RecordInputEventTimeTest, AcceptsEventTimeCentisInstead) {
  nlohmann::json j = FullJson();
  j.erase("event_time");
  j["event_time_centis"] = kFullEventCentis;
  absl::StatusOr<RecordInput> in = FromJson(j);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->record.event_time_centis(), kFullEventCentis);
}

TEST(RecordInputEventTimeTest, ConvertsFractionsExactly) {
  const int64_t whole = kFullEventCentis - 25;
  EXPECT_EQ(CentisOf("2026-11-28T02:29:20Z").value(), whole);
  EXPECT_EQ(CentisOf("2026-11-28T02:29:20.5Z").value(), whole + 50);
  EXPECT_EQ(CentisOf("2026-11-28T02:29:20.25Z").value(), whole + 25);
  EXPECT_EQ(CentisOf("2026-11-28T02:29:20.05Z").value(), whole + 5);
  EXPECT_EQ(CentisOf("2026-11-28T02:29:20.99Z").value(), whole + 99);
  EXPECT_EQ(CentisOf("1970-01-01T00:00:00Z").value(), 0);
  // Python: calendar.timegm((2024, 2, 29, 23, 59, 59)) * 100.
  EXPECT_EQ(CentisOf("2024-02-29T23:59:59Z").value(), 170'925'119'900);
}

TEST(RecordInputEventTimeTest, AcceptsPlusZeroOffsetAsUtc) {
  EXPECT_EQ(CentisOf("2026-11-28T02:29:20.25+00:00").value(), kFullEventCentis);
}

TEST(RecordInputEventTimeTest, RefusesMoreThanTwoFractionalDigits) {
  for (const char* t : {"2026-11-28T02:29:20.250Z", "2026-11-28T02:29:20.125Z",
                        "2026-11-28T02:29:20.123456789Z"}) {
    EXPECT_THAT(CentisOf(t).status().message(),
                HasSubstr("has more precision than hundredths of a second"))
        << t;
  }
}

TEST(RecordInputEventTimeTest, RefusesNonUtcOffsets) {
  for (const char* t :
       {"2026-11-28T02:29:20+01:00", "2026-11-28T02:29:20.25-08:00",
        "2026-11-28T02:29:20-00:00"}) {
    EXPECT_THAT(CentisOf(t).status().message(), HasSubstr("not in UTC")) << t;
  }
}

TEST(RecordInputEventTimeTest, RefusesInvalidDatesAndTimes) {
  for (const char* t :
       {"2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-28T24:00:00Z",
        "2026-11-28T23:60:00Z", "2026-11-28T23:59:60Z"}) {
    EXPECT_THAT(CentisOf(t).status().message(),
                HasSubstr("is not a valid date and time"))
        << t;
  }
}

TEST(RecordInputEventTimeTest, RefusesMalformedTimes) {
  for (const char* t :
       {"2026-11-28 02:29:20Z", "2026-11-28T02:29:20", "2026-11-28T02:29:20.Z",
        "2026-11-28t02:29:20z", "2026-11-28T02:29:20ZZ", "26-11-28T02:29:20Z",
        "2026-11-28T2:29:20Z", "+2026-11-28T02:29:20Z", "2026-11-28",
        "2026-11-28T02:29:20+0000", "1764296960"}) {
    EXPECT_THAT(CentisOf(t).status().message(),
                HasSubstr("is not an RFC 3339 UTC time"))
        << t;
  }
}

TEST(RecordInputEventTimeTest, RefusesTimesBefore1970) {
  EXPECT_THAT(CentisOf("1969-12-31T23:59:59.99Z").status().message(),
              HasSubstr("before 1970"));
}

TEST(RecordInputEventTimeTest, RefusesBothForms) {
  nlohmann::json j = FullJson();
  j["event_time_centis"] = kFullEventCentis;
  EXPECT_THAT(ErrorOf(FromJson(j)),
              HasSubstr("both event_time and event_time_centis"));
}

TEST(RecordInputEventTimeTest, RefusesNeitherForm) {
  nlohmann::json j = FullJson();
  j.erase("event_time");
  EXPECT_EQ(ErrorOf(FromJson(j)),
            "missing field event_time (or event_time_centis)");
}

// ---------------------------------------------------------------------------
// Personal data stays out of error messages.

TEST(RecordInputPersonalDataTest, WrongTypeErrorsDoNotQuoteTheValue) {
  for (const char* field : {"operator", "subject", "legal_doc", "case_ref"}) {
    nlohmann::json j = FullJson();
    j[field] = 424242;
    const std::string error = ErrorOf(FromJson(j));
    EXPECT_THAT(error, HasSubstr(field));
    EXPECT_THAT(error, Not(HasSubstr("424242")));
    j[field] = {"SECRETNAME"};
    EXPECT_THAT(ErrorOf(FromJson(j)), Not(HasSubstr("SECRETNAME")));
  }
}

TEST(RecordInputPersonalDataTest, OversizeErrorsDoNotQuoteTheValue) {
  for (const char* field : {"operator", "subject", "legal_doc", "case_ref"}) {
    nlohmann::json j = FullJson();
    j[field] = "SECRETNAME" + std::string(70000, 'x');
    EXPECT_THAT(ErrorOf(FromJson(j)), Not(HasSubstr("SECRETNAME")));
  }
}

TEST(RecordInputPersonalDataTest, SyntaxErrorsDoNotQuoteTheText) {
  const std::string text = R"({"subject": "SMITH, JOHN Q)";
  EXPECT_THAT(ErrorOf(RecordInputFromJson(text)), Not(HasSubstr("SMITH")));
  const std::string bad_value = R"({"subject": SMITH})";
  EXPECT_THAT(ErrorOf(RecordInputFromJson(bad_value)), Not(HasSubstr("SMITH")));
}

// ---------------------------------------------------------------------------
// CSV

const std::vector<std::string>& CsvColumns() {
  static const auto* const columns = new std::vector<std::string>{
      "record_id",        "submitter_role", "correlation_id",  "event_time",
      "requesting_ori",   "operator",       "source_system",   "source_state",
      "destination",      "message_key",    "data_categories", "purpose_code",
      "declared_purpose", "legal_process",  "legal_doc",       "case_ref",
      "subject",          "outcome",        "image_requested"};
  return *columns;
}

std::string Join(const std::vector<std::string>& cells) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out += ',';
    out += cells[i];
  }
  return out;
}

const std::string& CsvHeader() {
  static const auto* const header = new std::string(Join(CsvColumns()) + "\n");
  return *header;
}

// FullJson() as one CSV row (no line end), with `cells` (raw CSV text,
// quoted as needed) replacing columns by name.
std::string CsvRow(const std::map<std::string, std::string>& cells = {}) {
  std::map<std::string, std::string> row = {
      {"record_id", "rec-0001"},
      {"submitter_role", "REQUESTER"},
      {"correlation_id", "NLETS-20261128-000123"},
      {"event_time", "2026-11-28T02:29:20.25Z"},
      {"requesting_ori", "WA0340000"},
      {"operator", "Officer Jane Roe #4411"},
      {"source_system", "STATE_DMV"},
      {"source_state", "WA"},
      {"destination", "WA"},
      {"message_key", "DQ"},
      {"data_categories", "DMV_PII;PHOTO"},
      {"purpose_code", "C"},
      {"declared_purpose", "CRIMINAL_INVESTIGATION"},
      {"legal_process", "JUDICIAL_WARRANT"},
      {"legal_doc", "Warrant 26-SW-0192"},
      {"case_ref", "Case 2026-004512"},
      {"subject", "DL:WA:SMITHJ123"},
      {"outcome", "HIT"},
      {"image_requested", "true"},
  };
  for (const auto& [column, cell] : cells) row.at(column) = cell;
  std::vector<std::string> ordered;
  for (const std::string& column : CsvColumns()) ordered.push_back(row[column]);
  return Join(ordered);
}

// What Next() gave, with line() after it.
struct CsvResult {
  uint64_t line;
  absl::StatusOr<RecordInput> record;
};

// Calls Next() until the end of input (at most `limit` times).
std::vector<CsvResult> ReadAll(CsvRecordReader& reader, size_t limit = 1000) {
  std::vector<CsvResult> out;
  for (size_t i = 0; i < limit; ++i) {
    absl::StatusOr<std::optional<RecordInput>> next = reader.Next();
    if (next.ok() && !next->has_value()) return out;
    if (next.ok()) {
      out.push_back({reader.line(), **std::move(next)});
    } else {
      out.push_back({reader.line(), next.status()});
    }
  }
  ADD_FAILURE() << "no end of input after " << limit << " rows";
  return out;
}

// Reads all of `csv`; the reader must be created.
std::vector<CsvResult> ReadCsv(const std::string& csv) {
  std::istringstream in(csv);
  absl::StatusOr<std::unique_ptr<CsvRecordReader>> reader =
      CsvRecordReader::Create(in);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return {};
  return ReadAll(**reader);
}

std::string CreateError(const std::string& csv) {
  std::istringstream in(csv);
  absl::StatusOr<std::unique_ptr<CsvRecordReader>> reader =
      CsvRecordReader::Create(in);
  EXPECT_FALSE(reader.ok());
  if (reader.ok()) return "";
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(reader.status().message());
  return message;
}

TEST(RecordInputCsvTest, ReadsAHeaderAndThreeRows) {
  const std::string csv =
      CsvHeader() + CsvRow({{"record_id", "r1"}}) + "\n" +
      CsvRow({{"record_id", "r2"},
              {"outcome", "NO_HIT"},
              {"image_requested", "false"}}) +
      "\n" + CsvRow({{"record_id", "r3"}, {"legal_doc", ""}}) + "\n";
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 3u);
  for (const CsvResult& row : rows) {
    ASSERT_TRUE(row.record.ok()) << row.record.status();
  }
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[2].line, 4u);
  EXPECT_EQ(rows[0].record->record.record_id(), "r1");
  EXPECT_EQ(rows[1].record->record.record_id(), "r2");
  EXPECT_EQ(rows[2].record->record.record_id(), "r3");
  EXPECT_EQ(rows[0].record->record.outcome(), vigil::v1::HIT);
  EXPECT_EQ(rows[1].record->record.outcome(), vigil::v1::NO_HIT);
  EXPECT_TRUE(rows[0].record->record.image_requested());
  EXPECT_FALSE(rows[1].record->record.image_requested());
  EXPECT_EQ(rows[0].record->legal_doc, "Warrant 26-SW-0192");
  EXPECT_EQ(rows[2].record->legal_doc, std::nullopt);
}

TEST(RecordInputCsvTest, GivesTheSameRecordAsJson) {
  std::vector<CsvResult> rows = ReadCsv(CsvHeader() + CsvRow() + "\n");
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  absl::StatusOr<RecordInput> json = FromJson(FullJson());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(rows[0].record->record.SerializeAsString(),
            json->record.SerializeAsString());
  EXPECT_EQ(rows[0].record->operator_id, json->operator_id);
  EXPECT_EQ(rows[0].record->subject, json->subject);
  EXPECT_EQ(rows[0].record->legal_doc, json->legal_doc);
  EXPECT_EQ(rows[0].record->case_ref, json->case_ref);
}

TEST(RecordInputCsvTest, AcceptsColumnsInAnyOrderAndOnlyRequiredOnes) {
  const std::string csv =
      "subject,outcome,record_id,submitter_role,correlation_id,"
      "event_time_centis,requesting_ori,operator,source_system,destination,"
      "message_key,data_categories,declared_purpose,legal_process\n"
      "S1,DENIED,r1,CUSTODIAN,C1,179583296025,WA0340000,op,NCIC,WA,DQ,"
      "CHRI,TRAFFIC,NONE\n";
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  const RecordInput& in = *rows[0].record;
  EXPECT_EQ(in.subject, "S1");
  EXPECT_EQ(in.operator_id, "op");
  EXPECT_EQ(in.record.outcome(), vigil::v1::DENIED);
  EXPECT_EQ(in.record.submitter_role(), vigil::v1::CUSTODIAN);
  EXPECT_EQ(in.record.event_time_centis(), kFullEventCentis);
  EXPECT_EQ(in.record.legal_process(), vigil::v1::NONE);
  EXPECT_EQ(in.legal_doc, std::nullopt);
  EXPECT_FALSE(in.record.image_requested());
}

TEST(RecordInputCsvTest, KeepsQuotedCommasQuotesAndLineBreaksAndCountsLines) {
  const std::string csv =
      CsvHeader() +                                                     // 1
      CsvRow({{"subject", "\"SMITH, \"\"JJ\"\"\nline two\""}}) +        // 2-3
      "\n" + CsvRow({{"record_id", "r2"}}) + "\n" +                     // 4
      CsvRow({{"record_id", "r3"}, {"case_ref", "\"a\n\nb\r\nc\""}}) +  // 5-8
      "\n" + CsvRow({{"record_id", "r4"}}) + "\n";                      // 9
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 4u);
  for (const CsvResult& row : rows) {
    ASSERT_TRUE(row.record.ok()) << row.record.status();
  }
  EXPECT_EQ(rows[0].record->subject, "SMITH, \"JJ\"\nline two");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].record->record.record_id(), "r2");
  EXPECT_EQ(rows[1].line, 4u);
  EXPECT_EQ(rows[2].record->case_ref, "a\n\nb\r\nc");
  EXPECT_EQ(rows[2].line, 5u);
  EXPECT_EQ(rows[3].line, 9u);
}

TEST(RecordInputCsvTest, AcceptsCrlfLineEnds) {
  const std::string csv = Join(CsvColumns()) + "\r\n" + CsvRow() + "\r\n" +
                          CsvRow({{"record_id", "\"r\r\n2\""}}) + "\r\n" +
                          CsvRow({{"record_id", "r3"}}) + "\r\n";
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 3u);
  for (const CsvResult& row : rows) {
    ASSERT_TRUE(row.record.ok()) << row.record.status();
  }
  EXPECT_EQ(rows[0].record->case_ref, "Case 2026-004512");
  EXPECT_EQ(rows[0].record->record.image_requested(), true);
  EXPECT_EQ(rows[1].record->record.record_id(), "r\r\n2");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[2].line, 5u);
}

// libcsv ends a row at a lone CR too; each must count as a line, or every
// row of a CR-only file is reported on line 2 (found by record_input_fuzz).
TEST(RecordInputCsvTest, CountsLoneCrLineEnds) {
  const std::string csv = Join(CsvColumns()) + "\r" + CsvRow() + "\r\r" +
                          CsvRow({{"record_id", "\"r\r2\""}}) + "\r" +
                          CsvRow({{"outcome", "MAYBE"}}) + "\r";
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  ASSERT_TRUE(rows[1].record.ok()) << rows[1].record.status();
  EXPECT_EQ(rows[1].record->record.record_id(), "r\r2");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].line, 4u);
  EXPECT_EQ(rows[2].line, 6u);
  EXPECT_THAT(rows[2].record.status().message(), HasSubstr("line 6"));
}

TEST(RecordInputCsvTest, SkipsAByteOrderMark) {
  std::vector<CsvResult> rows =
      ReadCsv("\xEF\xBB\xBF" + CsvHeader() + CsvRow() + "\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  EXPECT_EQ(rows[0].line, 2u);
}

TEST(RecordInputCsvTest, SkipsBlankLinesAndReadsALastLineWithoutLineEnd) {
  const std::string csv = "\n" + CsvHeader() + "\n" + CsvRow() + "\n \t\n\r\n" +
                          CsvRow({{"record_id", "r2"}});
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 2u);
  for (const CsvResult& row : rows) {
    ASSERT_TRUE(row.record.ok()) << row.record.status();
  }
  EXPECT_EQ(rows[0].line, 4u);
  EXPECT_EQ(rows[1].line, 7u);
  EXPECT_EQ(rows[1].record->record.record_id(), "r2");
}

TEST(RecordInputCsvTest, KeepsReturningEndOfInput) {
  std::istringstream in(CsvHeader() + CsvRow() + "\n");
  absl::StatusOr<std::unique_ptr<CsvRecordReader>> reader =
      CsvRecordReader::Create(in);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(ReadAll(**reader).size(), 1u);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::optional<RecordInput>> next = (*reader)->Next();
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_FALSE(next->has_value());
  }
}

TEST(RecordInputCsvTest, AHeaderAloneHasNoRecords) {
  EXPECT_TRUE(ReadCsv(CsvHeader()).empty());
}

TEST(RecordInputCsvTest, RefusesAnUnknownColumnAtCreate) {
  EXPECT_EQ(CreateError(Join(CsvColumns()) + ",colour\n"),
            "line 1: unknown column \"colour\"");
}

TEST(RecordInputCsvTest, RefusesADuplicateColumnAtCreate) {
  EXPECT_EQ(
      CreateError(Join(CsvColumns()) + ",outcome\n" + CsvRow() + ",HIT\n"),
      "line 1: duplicate column outcome");
}

TEST(RecordInputCsvTest, RefusesEachMissingRequiredColumnAtCreate) {
  for (const std::string& missing : RequiredFields()) {
    std::vector<std::string> columns;
    for (const std::string& c : CsvColumns()) {
      if (c != missing) columns.push_back(c);
    }
    EXPECT_EQ(CreateError(Join(columns) + "\n"),
              "line 1: missing column " + missing);
  }
}

TEST(RecordInputCsvTest, RefusesAHeaderWithoutExactlyOneTimeColumn) {
  std::vector<std::string> columns;
  for (const std::string& c : CsvColumns()) {
    if (c != "event_time") columns.push_back(c);
  }
  EXPECT_THAT(CreateError(Join(columns) + "\n"),
              HasSubstr("missing column event_time"));
  EXPECT_THAT(CreateError(Join(CsvColumns()) + ",event_time_centis\n"),
              HasSubstr("both event_time and event_time_centis"));
}

TEST(RecordInputCsvTest, RefusesEmptyInputAtCreate) {
  for (const char* csv : {"", "\n\n", "\xEF\xBB\xBF", " \r\n"}) {
    EXPECT_THAT(CreateError(csv), HasSubstr("no header row"));
  }
}

TEST(RecordInputCsvTest, RefusesAMalformedHeaderAtCreate) {
  EXPECT_THAT(CreateError("record_id,sub\"ject\n"),
              HasSubstr("line 1: malformed CSV"));
}

TEST(RecordInputCsvTest, RefusesRowsWithAnotherCellCountAndGoesOn) {
  const std::string csv = CsvHeader() + CsvRow() + ",extra\n" +  // 2
                          "r2,REQUESTER\n" +                     // 3
                          CsvRow({{"record_id", "r3"}}) + "\n";  // 4
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].record.status().message(),
            "line 2: row has 20 cells, the header has 19");
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[1].record.status().message(),
            "line 3: row has 2 cells, the header has 19");
  EXPECT_EQ(rows[1].line, 3u);
  ASSERT_TRUE(rows[2].record.ok()) << rows[2].record.status();
  EXPECT_EQ(rows[2].record->record.record_id(), "r3");
  EXPECT_EQ(rows[2].line, 4u);
}

TEST(RecordInputCsvTest, RefusesABadEnumCellNamingLineAndFieldAndGoesOn) {
  const std::string csv = CsvHeader() + CsvRow() + "\n" +
                          CsvRow({{"submitter_role", "requester"}}) + "\n" +
                          CsvRow({{"record_id", "r3"}}) + "\n";
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  EXPECT_THAT(rows[1].record.status().message(),
              HasSubstr("line 3: field submitter_role: \"requester\""));
  EXPECT_EQ(rows[1].line, 3u);
  ASSERT_TRUE(rows[2].record.ok()) << rows[2].record.status();
  EXPECT_EQ(rows[2].record->record.record_id(), "r3");
}

TEST(RecordInputCsvTest, RefusesAStrayQuoteNamingTheLineThenEnds) {
  const std::string csv = CsvHeader() + CsvRow() + "\n" +
                          CsvRow({{"record_id", "r\"2"}}) + "\n" +
                          CsvRow({{"record_id", "r3"}}) + "\n";
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  EXPECT_THAT(rows[1].record.status().message(),
              HasSubstr("line 3: malformed CSV"));
  EXPECT_EQ(rows[1].line, 3u);
}

TEST(RecordInputCsvTest, RefusesTextAfterAClosingQuoteNamingTheRowsLine) {
  const std::string csv =
      CsvHeader() + CsvRow({{"case_ref", "\"a\nb\"c"}}) + "\n";
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].record.status().message(),
              HasSubstr("line 2: malformed CSV"));
  EXPECT_THAT(rows[0].record.status().message(), HasSubstr("on line 3"));
}

TEST(RecordInputCsvTest, RefusesAQuoteLeftOpenAtTheEnd) {
  const std::string csv =
      CsvHeader() + CsvRow() + "\n" + CsvRow({{"case_ref", "\"open\n"}}) + "\n";
  std::vector<CsvResult> rows = ReadCsv(csv);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  EXPECT_THAT(rows[1].record.status().message(),
              HasSubstr("line 3: malformed CSV"));
}

TEST(RecordInputCsvTest, SplitsDataCategoriesOnSemicolons) {
  std::vector<CsvResult> rows = ReadCsv(
      CsvHeader() + CsvRow({{"data_categories", "DMV_PII; PHOTO ;CHRI"}}) +
      "\n" + CsvRow({{"data_categories", "VEHICLE"}}) + "\n" +
      CsvRow({{"data_categories", "DMV_PII;;PHOTO"}}) + "\n" +
      CsvRow({{"data_categories", "DMV_PII;PHOTO;"}}) + "\n");
  ASSERT_EQ(rows.size(), 4u);
  ASSERT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  EXPECT_THAT(
      rows[0].record->record.data_categories(),
      ElementsAre(vigil::v1::DMV_PII, vigil::v1::PHOTO, vigil::v1::CHRI));
  ASSERT_TRUE(rows[1].record.ok()) << rows[1].record.status();
  EXPECT_THAT(rows[1].record->record.data_categories(),
              ElementsAre(vigil::v1::VEHICLE));
  EXPECT_THAT(rows[2].record.status().message(),
              HasSubstr("line 4: field data_categories"));
  EXPECT_THAT(rows[3].record.status().message(),
              HasSubstr("line 5: field data_categories"));
}

TEST(RecordInputCsvTest, AcceptsOnlyLowercaseTrueAndFalseForImageRequested) {
  std::vector<CsvResult> rows =
      ReadCsv(CsvHeader() + CsvRow({{"image_requested", "false"}}) + "\n" +
              CsvRow({{"image_requested", "TRUE"}}) + "\n" +
              CsvRow({{"image_requested", "1"}}) + "\n" +
              CsvRow({{"image_requested", ""}}) + "\n");
  ASSERT_EQ(rows.size(), 4u);
  ASSERT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  EXPECT_FALSE(rows[0].record->record.image_requested());
  EXPECT_THAT(rows[1].record.status().message(),
              HasSubstr("line 3: field image_requested: \"TRUE\""));
  EXPECT_THAT(rows[2].record.status().message(),
              HasSubstr("line 4: field image_requested: \"1\""));
  ASSERT_TRUE(rows[3].record.ok()) << rows[3].record.status();
  EXPECT_FALSE(rows[3].record->record.image_requested());
}

TEST(RecordInputCsvTest, TreatsAnEmptyCellAsAnAbsentField) {
  std::vector<CsvResult> rows = ReadCsv(
      CsvHeader() + CsvRow({{"case_ref", ""}}) + "\n" +
      CsvRow({{"subject", ""}}) + "\n" + CsvRow({{"subject", "\"\""}}) + "\n");
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  EXPECT_EQ(rows[0].record->case_ref, std::nullopt);
  EXPECT_EQ(rows[1].record.status().message(), "line 3: missing field subject");
  EXPECT_EQ(rows[2].record.status().message(), "line 4: missing field subject");
}

TEST(RecordInputCsvTest, ReadsEventTimeCentisCells) {
  std::vector<std::string> columns = CsvColumns();
  columns[3] = "event_time_centis";
  std::vector<CsvResult> rows =
      ReadCsv(Join(columns) + "\n" + CsvRow({{"event_time", "179583296025"}}) +
              "\n" + CsvRow({{"event_time", "1.5"}}) + "\n" +
              CsvRow({{"event_time", "99999999999999999999"}}) + "\n");
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows[0].record.ok()) << rows[0].record.status();
  EXPECT_EQ(rows[0].record->record.event_time_centis(), kFullEventCentis);
  EXPECT_THAT(rows[1].record.status().message(),
              HasSubstr("line 3: field event_time_centis"));
  EXPECT_THAT(rows[2].record.status().message(),
              HasSubstr("line 4: field event_time_centis"));
}

TEST(RecordInputCsvTest, RefusesAnOversizeCellNamingItAndGoesOn) {
  std::vector<CsvResult> rows =
      ReadCsv(CsvHeader() +
              CsvRow({{"subject", "SECRETNAME" + std::string(70000, 'x')}}) +
              "\n" + CsvRow({{"record_id", "r3"}}) + "\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].record.status().message(),
            "line 2: field subject is 70010 bytes, more than 65536");
  ASSERT_TRUE(rows[1].record.ok()) << rows[1].record.status();
  EXPECT_EQ(rows[1].line, 3u);
}

TEST(RecordInputCsvTest, RefusesARowOverOneMebibyteAndStops) {
  std::string huge = "\"";
  for (int i = 0; i < 20; ++i) huge += std::string(60000, 'y') + "\n";
  huge += "\"";
  std::vector<CsvResult> rows = ReadCsv(
      CsvHeader() + CsvRow({{"case_ref", huge}}) + "\n" + CsvRow() + "\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].record.status().message(),
              HasSubstr("line 2: row is more than 1048576 bytes"));
}

TEST(RecordInputCsvTest, RefusesInvalidUtf8WithoutQuotingPersonalData) {
  std::vector<CsvResult> rows =
      ReadCsv(CsvHeader() + CsvRow({{"subject", "SECRETNAME\xff"}}) + "\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].record.status().message(),
            "line 2: field subject is not valid UTF-8");
}

TEST(RecordInputCsvTest, RowErrorsDoNotQuotePersonalData) {
  std::vector<CsvResult> rows = ReadCsv(
      CsvHeader() + CsvRow({{"subject", "SECRETNAME"}, {"outcome", "BOGUS"}}) +
      "\n" + CsvRow({{"operator", "SECRETNAME"}}) + ",x\n");
  ASSERT_EQ(rows.size(), 2u);
  for (const CsvResult& row : rows) {
    EXPECT_FALSE(row.record.ok());
    EXPECT_THAT(row.record.status().message(), Not(HasSubstr("SECRETNAME")));
  }
}

TEST(RecordInputCsvTest, StreamsManyRowsAcrossReadChunks) {
  // Every subject holds a line break, so each row takes two lines and
  // quoted cells straddle the reader's 64 KiB chunks.
  constexpr int kRows = 100'000;
  const std::string row = CsvRow({{"record_id", "@"}, {"subject", "@"}});
  const size_t id_at = row.find('@');
  const size_t subject_at = row.find('@', id_at + 1);
  std::string csv = CsvHeader();
  csv.reserve(kRows * (row.size() + 20));
  for (int i = 0; i < kRows; ++i) {
    const std::string id = std::to_string(i);
    csv.append(row, 0, id_at).append("r").append(id);
    csv.append(row, id_at + 1, subject_at - id_at - 1);
    csv.append("\"S").append(id).append("\nx\"");
    csv.append(row, subject_at + 1);
    csv.append(i % 2 == 0 ? "\n" : "\r\n");
  }
  std::istringstream in(std::move(csv));
  absl::StatusOr<std::unique_ptr<CsvRecordReader>> reader =
      CsvRecordReader::Create(in);
  ASSERT_TRUE(reader.ok()) << reader.status();
  int count = 0;
  while (true) {
    absl::StatusOr<std::optional<RecordInput>> next = (*reader)->Next();
    ASSERT_TRUE(next.ok()) << next.status();
    if (!next->has_value()) break;
    const RecordInput& in_record = **next;
    ASSERT_EQ(in_record.record.record_id(), "r" + std::to_string(count));
    ASSERT_EQ(in_record.subject, "S" + std::to_string(count) + "\nx");
    ASSERT_EQ((*reader)->line(), 2u + 2u * static_cast<uint64_t>(count));
    ++count;
  }
  EXPECT_EQ(count, kRows);
}

}  // namespace
}  // namespace vigil::client
