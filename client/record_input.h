// The record description an agency writes for `vigil record` and
// `vigil submit`: one lookup, with its personal values in clear, as a JSON
// object or a CSV row. Parsing only: commitments are computed from the
// clear values by BuildRecord (signing.h), and the field rules of
// record.proto are checked by vigil::server::ParseAccessRecord.
//
// Field names are the same in JSON keys and CSV header cells:
//
//   record_id          string                      required
//   submitter_role     REQUESTER | CUSTODIAN | SWITCH          required
//   correlation_id     string                      required
//   event_time         RFC 3339 UTC time, e.g. "2026-11-28T02:29:20.25Z",
//                      at most 2 fractional digits (hundredths)
//   event_time_centis  integer, hundredths of a second since the epoch
//                      (exactly one of event_time, event_time_centis)
//   requesting_ori     string                      required
//   operator           string, committed as operator_commit     required
//   source_system      NLETS | CLETS | NCIC | III | STATE_DMV  required
//   source_state       string                      optional
//   destination        string                      required
//   message_key        string                      required
//   data_categories    JSON: array of names; CSV: names joined by ';'
//                      (DMV_PII, PHOTO, ADDRESS, VEHICLE, CHRI, IMMIGRATION)
//                                                  required
//   purpose_code       string                      optional
//   declared_purpose   DeclaredPurpose name        required
//   legal_process      LegalProcess name           required
//   legal_doc          string, committed as legal_doc_commit    optional
//   case_ref           string, committed as case_ref_commit     optional
//   subject            string, committed as subject_commit      required
//   outcome            HIT | NO_HIT | DENIED | ERROR           required
//   image_requested    JSON: true/false; CSV: "true"/"false"   optional
//
// Enum names are record.proto's enumerator names; *_UNSPECIFIED is refused.
// Unknown keys or columns, wrong JSON types, duplicate keys or columns and
// missing required fields are INVALID_ARGUMENT naming the field (and, for
// CSV, the line). An empty CSV cell or JSON string is the same as an absent
// field. Error
// messages never quote the values of operator, subject, legal_doc or
// case_ref: they are personal data.
//
// Thread-safety: the functions are pure; a CsvRecordReader belongs to one
// thread.

#ifndef VIGIL_CLIENT_RECORD_INPUT_H_
#define VIGIL_CLIENT_RECORD_INPUT_H_

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client {

// One lookup as the agency describes it.
struct RecordInput {
  // Every field from the description except the four commitments, which
  // are left empty.
  vigil::v1::AccessRecord record;
  // The clear values behind the commitments. Personal data: never logged.
  std::string operator_id;
  std::string subject;
  std::optional<std::string> legal_doc;
  std::optional<std::string> case_ref;
};

// Parses one JSON object (the whole of `json_text`, surrounding white space
// allowed). INVALID_ARGUMENT naming the problem otherwise.
absl::StatusOr<RecordInput> RecordInputFromJson(std::string_view json_text);

// Reads RFC 4180 CSV (libcsv in strict mode): a header row of field names,
// then one record per row. Quoted cells may hold commas, quotes ("") and
// line breaks; CRLF, LF and lone CR line ends are accepted (and counted as
// lines in errors and line()); a UTF-8 byte order mark before the header is
// skipped.
class CsvRecordReader {
 public:
  // A reader over `in` (borrowed; must outlive the reader). Reads and
  // checks the header row: INVALID_ARGUMENT for an unknown or duplicate
  // column, a missing required column (of event_time and
  // event_time_centis, exactly one must be present), or empty input (no
  // header row).
  static absl::StatusOr<std::unique_ptr<CsvRecordReader>> Create(
      std::istream& in);

  ~CsvRecordReader();
  CsvRecordReader(const CsvRecordReader&) = delete;
  CsvRecordReader& operator=(const CsvRecordReader&) = delete;

  // The next record; std::nullopt at the end of input. INVALID_ARGUMENT
  // naming the line and field for a bad row (a row with another number of
  // cells than the header, a bad cell); the reader then goes on with the
  // next row. Malformed CSV (a stray quote, a quote left open) or a row of
  // more than 1 MiB is INVALID_ARGUMENT naming the line and stops the
  // reader: later calls return std::nullopt.
  absl::StatusOr<std::optional<RecordInput>> Next();

  // The 1-based line number where the last returned (or refused) row
  // started.
  [[nodiscard]] uint64_t line() const;

 private:
  CsvRecordReader() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_RECORD_INPUT_H_
