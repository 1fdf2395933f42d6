// The agency's subcommands: keygen, record, submit, open.

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <istream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/cli.h"
#include "client/record_files.h"
#include "client/record_input.h"
#include "client/signing.h"
#include "merkle/encoding.h"
#include "merkle/note.h"
#include "server/entry.h"
#include "server/files.h"
#include "server/record_checks.h"

namespace vigil::client::cli {
namespace {

// ---------------------------------------------------------------------------
// Agency keys

// An agency's signing key, as loaded from its signer key file.
struct AgencyKey {
  std::string name;  // The key's name: the agency's ORI.
  merkle::Ed25519PrivateKey key;
  OpeningKey openings;
};

absl::StatusOr<AgencyKey> LoadAgencyKey(const std::string& path) {
  absl::StatusOr<merkle::SignerKey> parsed = LoadSignerKey(path);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<merkle::Ed25519PrivateKey> key =
      merkle::Ed25519PrivateKey::FromSeed(parsed->seed);
  if (!key.ok()) return key.status();
  return AgencyKey{parsed->name, *std::move(key),
                   OpeningKey::FromSeed(parsed->seed)};
}

bool IsOri(std::string_view name) {
  return name.size() == 9 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

int Keygen(const std::string& kind, const std::string& name,
           const std::string& prefix, const Output& out) {
  if (kind == "agency" && !IsOri(name)) {
    return out.Fail(absl::InvalidArgumentError(absl::StrFormat(
        "an agency key is named by the agency's ORI, 9 of [A-Z0-9]; %s is "
        "not one",
        merkle::QuoteForError(name))));
  }
  const uint8_t type = kind == "witness" ? merkle::kSignatureTypeCosignatureV1
                                         : merkle::kSignatureTypeEd25519;
  const std::string skey_file = prefix + ".skey";
  const std::string vkey_file = prefix + ".vkey";
  for (const std::string& file : {skey_file, vkey_file}) {
    if (access(file.c_str(), F_OK) == 0) {
      return out.Fail(absl::AlreadyExistsError(absl::StrFormat(
          "%s already exists; keygen never overwrites keys", file)));
    }
  }
  absl::StatusOr<merkle::NoteKeyPair> pair =
      merkle::GenerateNoteKey(name, type);
  if (!pair.ok()) return out.Fail(pair.status());
  absl::Status s =
      server::WriteNewFile(skey_file, pair->signer_key + "\n", 0600);
  sodium_memzero(pair->signer_key.data(), pair->signer_key.size());
  if (!s.ok()) return out.Fail(s);
  if (s = server::WriteNewFile(vkey_file, pair->verifier_key + "\n", 0644);
      !s.ok()) {
    return out.Fail(s);
  }
  absl::StatusOr<merkle::VerifierKey> vkey =
      merkle::ParseVerifierKey(pair->verifier_key);
  if (!vkey.ok()) return out.Fail(vkey.status());
  const std::string public_hex = merkle::HexEncode(vkey->public_key);
  Json json{{"kind", kind},
            {"name", name},
            {"signer_key_file", skey_file},
            {"verifier_key_file", vkey_file},
            {"verifier_key", pair->verifier_key},
            {"public_key_hex", public_hex}};
  return out.Done(
      absl::StrFormat("%s key %s\n  signer key (secret, mode 0600): %s\n"
                      "  verifier key: %s\n  %s\n  public key: %s\n",
                      kind, name, skey_file, vkey_file, pair->verifier_key,
                      public_hex),
      std::move(json));
}

// ---------------------------------------------------------------------------
// Building and signing records

// Accepts any event time: the log checks the window when it gets the
// record; checking the field rules here names a mistake before signing.
absl::Status CheckFields(const vigil::v1::AccessRecord& record) {
  server::RecordCheckOptions any_time;
  any_time.max_age = absl::InfiniteDuration();
  any_time.max_future_skew = absl::InfiniteDuration();
  return server::ParseAccessRecord(server::CanonicalPayload(record),
                                   absl::Now(), any_time)
      .status();
}

// A record built from `input`, checked, and signed by `key`.
struct SignedRecord {
  vigil::v1::SignedPayload payload;
  SignedRecordLine line;
  OpeningsLine openings;
};

absl::StatusOr<SignedRecord> SignInput(const RecordInput& input,
                                       const AgencyKey& key) {
  BuiltRecord built = BuildRecord(input, key.openings);
  if (absl::Status s = CheckFields(built.record); !s.ok()) return s;
  SignedRecord out;
  out.payload = SignAccessRecord(built.record, key.key);
  absl::StatusOr<std::string> entry =
      EntryOfSignedPayload(out.payload, server::EntryKind::kAccessRecord);
  if (!entry.ok()) return entry.status();
  out.line.record_id = built.record.record_id();
  out.line.entry = *std::move(entry);
  out.line.leaf_hash = merkle::HashLeaf(merkle::AsBytes(out.line.entry));
  out.openings.record_id = out.line.record_id;
  out.openings.leaf_hash = out.line.leaf_hash;
  out.openings.openings = std::move(built.openings);
  return out;
}

// The flags of `vigil record`, turned into a record description object.
struct RecordFlags {
  std::string record_id, role, correlation_id, event_time, requesting_ori,
      operator_id, source_system, source_state, destination, message_key,
      purpose_code, declared_purpose, legal_process, legal_doc, case_ref,
      subject, outcome;
  std::vector<std::string> categories;
  bool image_requested = false;

  void AddTo(CLI::App* cmd) {
    const struct {
      const char* flag;
      std::string* value;
      const char* help;
    } fields[] = {
        {"--record-id", &record_id, "your unique id of this record"},
        {"--role", &role, "REQUESTER, CUSTODIAN or SWITCH"},
        {"--correlation-id", &correlation_id,
         "the network's message control number"},
        {"--event-time", &event_time,
         "when the lookup happened, RFC 3339 UTC, or \"now\""},
        {"--requesting-ori", &requesting_ori, "ORI of the querying agency"},
        {"--operator", &operator_id, "the operator's id (committed)"},
        {"--source-system", &source_system,
         "NLETS, CLETS, NCIC, III or STATE_DMV"},
        {"--source-state", &source_state, "state code for STATE_DMV"},
        {"--destination", &destination, "ORI or state code queried"},
        {"--message-key", &message_key, "Nlets message key, e.g. DQ"},
        {"--purpose-code", &purpose_code, "III purpose code"},
        {"--declared-purpose", &declared_purpose,
         "e.g. CRIMINAL_INVESTIGATION"},
        {"--legal-process", &legal_process, "e.g. JUDICIAL_WARRANT or NONE"},
        {"--legal-doc", &legal_doc, "the legal document's id (committed)"},
        {"--case-ref", &case_ref, "the case reference (committed)"},
        {"--subject", &subject,
         "the normalised subject identifier (committed, never sent)"},
        {"--outcome", &outcome, "HIT, NO_HIT, DENIED or ERROR"},
    };
    for (const auto& f : fields) cmd->add_option(f.flag, *f.value, f.help);
    cmd->add_option("--category", categories,
                    "a data category, e.g. DMV_PII (repeatable)");
    cmd->add_flag("--image-requested", image_requested, "a photo was asked");
  }

  // The description as record_input.h's JSON object; only flags given.
  [[nodiscard]] std::string ToJson() const {
    Json json;
    const std::pair<const char*, const std::string*> fields[] = {
        {"record_id", &record_id},
        {"submitter_role", &role},
        {"correlation_id", &correlation_id},
        {"requesting_ori", &requesting_ori},
        {"operator", &operator_id},
        {"source_system", &source_system},
        {"source_state", &source_state},
        {"destination", &destination},
        {"message_key", &message_key},
        {"purpose_code", &purpose_code},
        {"declared_purpose", &declared_purpose},
        {"legal_process", &legal_process},
        {"legal_doc", &legal_doc},
        {"case_ref", &case_ref},
        {"subject", &subject},
        {"outcome", &outcome},
    };
    for (const auto& [key, value] : fields) {
      if (!value->empty()) json[key] = *value;
    }
    if (event_time == "now") {
      json["event_time_centis"] = absl::ToUnixMillis(absl::Now()) / 10;
    } else if (!event_time.empty()) {
      json["event_time"] = event_time;
    }
    if (!categories.empty()) json["data_categories"] = categories;
    if (image_requested) json["image_requested"] = true;
    return json.dump();
  }
};

int Record(const std::string& key_file, const std::string& input_file,
           const RecordFlags& flags, const std::string& openings_file,
           const std::string& out_file, const std::string& entry_out,
           const Output& out) {
  absl::StatusOr<AgencyKey> key = LoadAgencyKey(key_file);
  if (!key.ok()) return out.Fail(key.status());
  std::string description;
  if (!input_file.empty()) {
    absl::StatusOr<std::string> text = ReadInput(input_file);
    if (!text.ok()) return out.Fail(text.status());
    description = *std::move(text);
  } else {
    description = flags.ToJson();
  }
  absl::StatusOr<RecordInput> input = RecordInputFromJson(description);
  if (!input.ok()) return out.Fail(input.status());
  absl::StatusOr<SignedRecord> signed_record = SignInput(*input, *key);
  if (!signed_record.ok()) return out.Fail(signed_record.status());
  // The openings first: a record must never exist without them.
  if (absl::Status s = server::AppendDurably(
          openings_file, FormatOpeningsLine(signed_record->openings) + "\n",
          0600);
      !s.ok()) {
    return out.Fail(s);
  }
  const std::string line = FormatSignedRecordLine(signed_record->line);
  if (!out_file.empty()) {
    if (absl::Status s = server::AppendDurably(out_file, line + "\n", 0644);
        !s.ok()) {
      return out.Fail(s);
    }
  }
  if (!entry_out.empty()) {
    if (absl::Status s = server::WriteFileAtomically(
            entry_out, signed_record->line.entry, 0644);
        !s.ok()) {
      return out.Fail(s);
    }
  }
  Json json = Json::parse(line);
  json["openings_file"] = openings_file;
  std::string text = out_file.empty() ? line + "\n" : "";
  std::cerr << absl::StrFormat(
      "vigil: signed record %s (leaf hash %s) with the key of %s; its "
      "openings are in %s%s\n",
      merkle::QuoteForError(signed_record->line.record_id),
      merkle::HexEncode(signed_record->line.leaf_hash), key->name,
      openings_file, out_file.empty() ? "" : "; the record is in " + out_file);
  return out.Done(text, std::move(json));
}

// ---------------------------------------------------------------------------
// submit

// Reads input items one at a time: JSON Lines (signed records or record
// descriptions) or CSV (record descriptions).
class InputReader {
 public:
  struct Item {
    uint64_t line = 0;
    // One of: a signed record line, a description, or an error.
    std::optional<SignedRecordLine> signed_line;
    std::optional<RecordInput> description;
    absl::Status error;
  };

  static absl::StatusOr<std::unique_ptr<InputReader>> Open(std::istream& in,
                                                           bool csv) {
    auto reader = std::unique_ptr<InputReader>(new InputReader(in));
    if (csv) {
      absl::StatusOr<std::unique_ptr<CsvRecordReader>> csv_reader =
          CsvRecordReader::Create(in);
      if (!csv_reader.ok()) return csv_reader.status();
      reader->csv_ = *std::move(csv_reader);
    }
    return reader;
  }

  // The next item, or nullopt at the end.
  std::optional<Item> Next() {
    Item item;
    if (csv_ != nullptr) {
      absl::StatusOr<std::optional<RecordInput>> row = csv_->Next();
      item.line = csv_->line();
      if (!row.ok()) {
        // A bad row is reported and reading goes on; after malformed CSV
        // the reader ends the input (record_input.h).
        item.error = row.status();
        return item;
      }
      if (!row->has_value()) return std::nullopt;
      item.description = **std::move(row);
      return item;
    }
    std::string text;
    while (std::getline(in_, text)) {
      item.line = ++line_;
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (!text.empty() && text.back() == '\r') text.pop_back();
      Json probe = Json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (probe.is_object() && probe.contains("entry")) {
        absl::StatusOr<SignedRecordLine> line = ParseSignedRecordLine(text);
        if (line.ok()) {
          item.signed_line = *std::move(line);
        } else {
          item.error = line.status();
        }
        return item;
      }
      absl::StatusOr<RecordInput> description = RecordInputFromJson(text);
      if (description.ok()) {
        item.description = *std::move(description);
      } else {
        item.error = description.status();
      }
      return item;
    }
    return std::nullopt;
  }

 private:
  explicit InputReader(std::istream& in) : in_(in) {}

  std::istream& in_;
  uint64_t line_ = 0;
  std::unique_ptr<CsvRecordReader> csv_;
};

// A progress line on a terminal, redrawn at most ten times a second.
class ProgressBar {
 public:
  ProgressBar(bool enabled, uint64_t total)
      : enabled_(enabled), total_(total) {}

  void Update(uint64_t done, bool final = false) {
    if (!enabled_) return;
    const absl::Time now = absl::Now();
    if (!final && now - last_ < absl::Milliseconds(100)) return;
    last_ = now;
    const double seconds = absl::ToDoubleSeconds(now - start_);
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    std::string bar;
    if (total_ > 0) {
      const uint64_t shown = std::min(done, total_);
      const size_t filled = static_cast<size_t>(30 * shown / total_);
      bar = "[" + std::string(filled, '#') + std::string(30 - filled, '.') +
            absl::StrFormat("] %d/%d", shown, total_);
    } else {
      bar = absl::StrFormat("%d", done);
    }
    std::cerr << absl::StrFormat("\r%s records, %.0f/s ", bar, rate)
              << (final ? "\n" : "") << std::flush;
  }

 private:
  const bool enabled_;
  const uint64_t total_;
  const absl::Time start_ = absl::Now();
  absl::Time last_ = absl::InfinitePast();
};

struct SubmitFlags {
  std::string input = "-";
  std::string format = "auto";
  std::string key_file;
  std::string openings_file;
  std::string results_file;
  std::string progress = "auto";
  bool wait = false;
  size_t batch_size = 256;
  size_t concurrency = 4;
};

struct SubmitCounts {
  uint64_t read = 0;
  uint64_t appended = 0;
  uint64_t duplicates = 0;
  uint64_t refused = 0;
  // Not taken because the log could not be reached or kept pushing back,
  // even after retries: not a refusal of the record.
  uint64_t unsent = 0;
};

// True if `status` says the record did not get to the log, rather than
// that the log refused it.
bool Unsent(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsResourceExhausted(status);
}

Json ResultJson(uint64_t line, const std::string& record_id,
                const absl::Status& status) {
  Json json;
  json["line"] = line;
  if (!record_id.empty()) json["record_id"] = record_id;
  json["status"] = absl::StatusCodeToString(status.code());
  if (!status.ok()) json["error"] = std::string(status.message());
  return json;
}

int Submit(const SubmitFlags& flags, const LogFlags& log) {
  const Output& out = log.out;
  std::optional<AgencyKey> key;
  if (!flags.key_file.empty()) {
    if (flags.openings_file.empty()) {
      return out.Fail(absl::InvalidArgumentError(
          "--key needs --openings: the file that keeps the commitment "
          "openings of the records it signs"));
    }
    absl::StatusOr<AgencyKey> loaded = LoadAgencyKey(flags.key_file);
    if (!loaded.ok()) return out.Fail(loaded.status());
    key.emplace(*std::move(loaded));
  }
  absl::StatusOr<std::unique_ptr<LogClient>> client =
      log.Connect(flags.batch_size, flags.concurrency);
  if (!client.ok()) return out.Fail(client.status());

  std::ifstream file;
  std::istream* in = &std::cin;
  uint64_t total_lines = 0;
  if (flags.input != "-") {
    file.open(flags.input, std::ios::binary);
    if (!file) {
      return out.Fail(
          absl::NotFoundError(absl::StrFormat("cannot open %s", flags.input)));
    }
    total_lines = static_cast<uint64_t>(
        std::count(std::istreambuf_iterator<char>(file),
                   std::istreambuf_iterator<char>(), '\n'));
    file.clear();
    file.seekg(0);
    in = &file;
  }
  const bool csv = flags.format == "csv" ||
                   (flags.format == "auto" && flags.input.size() > 4 &&
                    flags.input.ends_with(".csv"));
  if (csv && total_lines > 0) --total_lines;  // The header.
  absl::StatusOr<std::unique_ptr<InputReader>> reader =
      InputReader::Open(*in, csv);
  if (!reader.ok()) return out.Fail(reader.status());

  std::ofstream results_file;
  std::ostream* results = &std::cout;
  if (!flags.results_file.empty()) {
    results_file.open(flags.results_file, std::ios::binary | std::ios::trunc);
    if (!results_file) {
      return out.Fail(absl::UnavailableError(
          absl::StrFormat("cannot write %s", flags.results_file)));
    }
    results = &results_file;
  }
  const bool show_progress =
      flags.progress == "always" ||
      (flags.progress == "auto" && isatty(STDERR_FILENO) != 0);
  ProgressBar bar(show_progress, total_lines);

  SubmitCounts counts;
  std::optional<absl::Status> misbehaviour;
  const absl::Time start = absl::Now();
  const size_t chunk = flags.batch_size * flags.concurrency * 4;
  for (bool more = true; more;) {
    // Read and sign one chunk, keeping each item's place in the input.
    struct Slot {
      uint64_t line;
      std::string record_id;
      absl::Status error;    // Refused before it was sent.
      size_t submitted = 0;  // Its position in `payloads` otherwise.
    };
    std::vector<Slot> slots;
    std::vector<vigil::v1::SignedPayload> payloads;
    std::string openings;
    while (payloads.size() < chunk) {
      std::optional<InputReader::Item> item = (*reader)->Next();
      if (!item.has_value()) {
        more = false;
        break;
      }
      Slot slot{item->line, "", item->error, 0};
      if (slot.error.ok() && item->signed_line.has_value()) {
        slot.record_id = item->signed_line->record_id;
        absl::StatusOr<vigil::v1::SignedPayload> payload =
            SignedPayloadOfEntry(item->signed_line->entry);
        if (payload.ok()) {
          slot.submitted = payloads.size();
          payloads.push_back(*std::move(payload));
        } else {
          slot.error = payload.status();
        }
      } else if (slot.error.ok()) {
        slot.record_id = item->description->record.record_id();
        if (!key.has_value()) {
          slot.error = absl::InvalidArgumentError(
              "a record description needs --key to be signed");
        } else if (absl::StatusOr<SignedRecord> signed_record =
                       SignInput(*item->description, *key);
                   signed_record.ok()) {
          openings += FormatOpeningsLine(signed_record->openings) + "\n";
          slot.submitted = payloads.size();
          payloads.push_back(std::move(signed_record->payload));
        } else {
          slot.error = signed_record.status();
        }
      }
      slots.push_back(std::move(slot));
    }
    // The openings are durable before their records can reach the log.
    if (!openings.empty()) {
      if (absl::Status s =
              server::AppendDurably(flags.openings_file, openings, 0600);
          !s.ok()) {
        return out.Fail(s);
      }
    }
    const uint64_t before = counts.read;
    std::vector<SubmitResult> submitted = (*client)->Submit(
        payloads, flags.wait, [&](size_t done) { bar.Update(before + done); });
    for (const Slot& slot : slots) {
      ++counts.read;
      if (!slot.error.ok()) {
        ++counts.refused;
        *results << ResultJson(slot.line, slot.record_id, slot.error).dump()
                 << "\n";
        continue;
      }
      const SubmitResult& r = submitted[slot.submitted];
      Json json = ResultJson(slot.line, slot.record_id, r.status);
      if (r.status.ok()) {
        json["index"] = r.index;
        json["duplicate"] = r.duplicate;
        json["leaf_hash"] = merkle::HexEncode(r.leaf_hash);
        if (flags.wait) json["tlog_proof"] = r.tlog_proof;
        ++(r.duplicate ? counts.duplicates : counts.appended);
      } else if (Unsent(r.status)) {
        ++counts.unsent;
      } else {
        ++counts.refused;
        if (EvidenceOf(r.status).has_value() && !misbehaviour.has_value()) {
          misbehaviour = r.status;
        }
      }
      *results << json.dump() << "\n";
    }
    results->flush();
    if (!*results) {
      return out.Fail(absl::UnavailableError("cannot write the results"));
    }
  }
  bar.Update(counts.read, /*final=*/true);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (misbehaviour.has_value()) return out.Fail(*misbehaviour);
  const Json summary{
      {"records", counts.read},          {"appended", counts.appended},
      {"duplicates", counts.duplicates}, {"refused", counts.refused},
      {"unsent", counts.unsent},         {"seconds", seconds}};
  if (out.json) {
    std::cerr << Json{{"summary", summary}}.dump() << "\n";
  } else {
    std::cerr << absl::StrFormat(
        "vigil: %d records: %d appended, %d already in the log, %d refused, "
        "%d not sent (%.1f s, %.0f records/s)\n",
        counts.read, counts.appended, counts.duplicates, counts.refused,
        counts.unsent, seconds,
        seconds > 0 ? static_cast<double>(counts.read) / seconds : 0);
  }
  if (counts.unsent > 0) return kExitError;
  return counts.refused > 0 ? kExitRefused : kExitOk;
}

// ---------------------------------------------------------------------------
// open

struct OpenFlags {
  std::string entry_file;
  std::string record_file;
  std::string openings_file;
  std::string field;
  std::string value;
  std::string opening_hex;
};

}  // namespace

absl::StatusOr<std::string> LoadEntry(const std::string& entry_file,
                                      const std::string& record_file) {
  if (!entry_file.empty()) return ReadInput(entry_file);
  absl::StatusOr<std::string> text = ReadInput(record_file);
  if (!text.ok()) return text.status();
  std::string_view line = *text;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  if (line.find('\n') != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s holds more than one record; give a file of one line", record_file));
  }
  absl::StatusOr<SignedRecordLine> parsed = ParseSignedRecordLine(line);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %s", record_file, parsed.status().message()));
  }
  return std::move(parsed->entry);
}

absl::StatusOr<std::vector<FieldOpening>> LoadOpenings(
    const std::string& openings_file, const std::string& field,
    const std::string& value, const std::string& opening_hex,
    const merkle::Hash& leaf_hash) {
  if (!openings_file.empty()) {
    absl::StatusOr<std::string> content = ReadInput(openings_file);
    if (!content.ok()) return content.status();
    absl::StatusOr<OpeningsLine> line = FindOpenings(*content, leaf_hash);
    if (!line.ok()) return line.status();
    return std::move(line->openings);
  }
  FieldOpening one;
  one.field = field;
  one.value = value;
  absl::StatusOr<std::vector<uint8_t>> bytes =
      merkle::HexDecode(opening_hex, "--opening");
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != kOpeningSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--opening is %d bytes, not %d", bytes->size(), kOpeningSize));
  }
  std::copy(bytes->begin(), bytes->end(), one.opening.begin());
  return std::vector<FieldOpening>{std::move(one)};
}

namespace {

int Open(const OpenFlags& flags, const Output& out) {
  absl::StatusOr<std::string> entry =
      LoadEntry(flags.entry_file, flags.record_file);
  if (!entry.ok()) return out.Fail(entry.status());
  absl::StatusOr<OpenedRecord> record = OpenRecordEntry(*entry);
  if (!record.ok()) return out.Fail(record.status(), /*verification=*/true);
  const merkle::Hash leaf = merkle::HashLeaf(merkle::AsBytes(*entry));
  absl::StatusOr<std::vector<FieldOpening>> openings = LoadOpenings(
      flags.openings_file, flags.field, flags.value, flags.opening_hex, leaf);
  if (!openings.ok()) return out.Fail(openings.status());
  std::string text =
      absl::StrFormat("record %s (leaf hash %s):\n",
                      merkle::QuoteForError(record->record.record_id()),
                      merkle::HexEncode(leaf));
  Json opened = Json::array();
  for (const FieldOpening& o : *openings) {
    if (absl::Status s = CheckFieldOpening(record->record, o); !s.ok()) {
      return out.Fail(s, /*verification=*/true);
    }
    text += absl::StrFormat("  %s commitment opens to %s\n", o.field,
                            merkle::QuoteForError(o.value));
    opened.push_back({{"field", o.field}, {"value", o.value}});
  }
  return out.Done(text, Json{{"record_id", record->record.record_id()},
                             {"leaf_hash", merkle::HexEncode(leaf)},
                             {"opened", opened}});
}

}  // namespace

void AddKeygenCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string kind = "agency";
    std::string name;
    std::string prefix;
    Output out;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "keygen",
      "Make a key pair: an agency's record-signing key (named by its ORI), "
      "or a log, registry or witness note key");
  cmd->add_option("--kind", flags->kind, "agency, log, registry or witness")
      ->check(CLI::IsMember({"agency", "log", "registry", "witness"}));
  cmd->add_option("--name", flags->name,
                  "the key's name: the ORI of an agency, the origin of a "
                  "log, the name of a witness")
      ->required();
  cmd->add_option("--out", flags->prefix,
                  "write PREFIX.skey (secret, mode 0600) and PREFIX.vkey")
      ->required();
  flags->out.AddTo(cmd);
  cmd->callback([flags, exit_code] {
    *exit_code = Keygen(flags->kind, flags->name, flags->prefix, flags->out);
  });
}

void AddRecordCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string key_file, input_file, openings_file, out_file, entry_out;
    RecordFlags fields;
    Output out;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "record",
      "Build and sign an access record from flags or a JSON description; "
      "commitments are computed here and the openings kept locally");
  cmd->add_option("--key", flags->key_file, "the agency's signer key file")
      ->required();
  cmd->add_option("--openings", flags->openings_file,
                  "append the commitment openings here (mode 0600)")
      ->required();
  cmd->add_option("--input", flags->input_file,
                  "a JSON record description (- for stdin) instead of the "
                  "field flags");
  cmd->add_option("--out", flags->out_file,
                  "append the signed record line here (default: stdout)");
  cmd->add_option("--entry-out", flags->entry_out,
                  "also write the entry's exact bytes here");
  flags->fields.AddTo(cmd);
  flags->out.AddTo(cmd);
  cmd->callback([flags, exit_code] {
    *exit_code = Record(flags->key_file, flags->input_file, flags->fields,
                        flags->openings_file, flags->out_file, flags->entry_out,
                        flags->out);
  });
}

void AddSubmitCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    SubmitFlags submit;
    LogFlags log;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "submit",
      "Submit records from JSON Lines (signed records, or descriptions "
      "signed with --key) or CSV descriptions; per-record results as JSON "
      "Lines");
  cmd->add_option("input", flags->submit.input, "the input file, - for stdin");
  cmd->add_option("--format", flags->submit.format,
                  "jsonl, csv, or auto (csv for a .csv file)")
      ->check(CLI::IsMember({"auto", "jsonl", "csv"}));
  cmd->add_option("--key", flags->submit.key_file,
                  "the agency's signer key, to sign record descriptions");
  cmd->add_option("--openings", flags->submit.openings_file,
                  "append the openings of records signed here (mode 0600)");
  cmd->add_option("--results", flags->submit.results_file,
                  "write the per-record results here (default: stdout)");
  cmd->add_flag("--wait", flags->submit.wait,
                "wait until a signed checkpoint covers each record, and "
                "verify its tlog-proof bundle");
  cmd->add_option("--batch-size", flags->submit.batch_size, "records per call")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--concurrency", flags->submit.concurrency, "calls in flight")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--progress", flags->submit.progress,
                  "auto (on a terminal), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  flags->log.AddTo(cmd);
  cmd->callback(
      [flags, exit_code] { *exit_code = Submit(flags->submit, flags->log); });
}

void AddOpenCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    OpenFlags open;
    Output out;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "open", "Check commitment openings against a signed record");
  auto* entry = cmd->add_option("--entry", flags->open.entry_file,
                                "the entry's exact bytes");
  auto* record = cmd->add_option("--record", flags->open.record_file,
                                 "a signed record line, as `vigil record` "
                                 "writes");
  entry->excludes(record);
  auto* openings = cmd->add_option("--openings", flags->open.openings_file,
                                   "the openings file (JSON Lines)");
  auto* field = cmd->add_option("--field", flags->open.field,
                                "operator, subject, legal_doc or case_ref");
  cmd->add_option("--value", flags->open.value, "the committed value");
  cmd->add_option("--opening", flags->open.opening_hex,
                  "the 32-byte opening, hex");
  openings->excludes(field);
  flags->out.AddTo(cmd);
  cmd->callback([flags, exit_code] {
    if (flags->open.entry_file.empty() == flags->open.record_file.empty() ||
        (flags->open.openings_file.empty() && flags->open.field.empty())) {
      *exit_code = flags->out.Fail(absl::InvalidArgumentError(
          "give --entry or --record, and --openings or --field with --value "
          "and --opening"));
      return;
    }
    *exit_code = Open(flags->open, flags->out);
  });
}

}  // namespace vigil::client::cli
