// The subcommands that read and verify a log: checkpoint, prove, verify
// (the court's offline check), audit-tiles and prove-tiles.

#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "client/cli.h"
#include "client/signing.h"
#include "client/tile_source.h"
#include "client/tree_audit.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/tlog_proof.h"
#include "server/files.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client::cli {
namespace {

Json WitnessesJson(const merkle::CosignatureQuorum& quorum) {
  Json out = Json::array();
  for (const merkle::WitnessCosignature& w : quorum.cosigned) {
    out.push_back({{"name", w.name}, {"timestamp", w.timestamp}});
  }
  return out;
}

std::string WitnessesText(const merkle::CosignatureQuorum& quorum) {
  std::string out;
  for (const merkle::WitnessCosignature& w : quorum.cosigned) {
    out += absl::StrFormat(
        "  cosigned by witness %s at %s\n", w.name,
        absl::FormatTime(
            absl::RFC3339_sec,
            absl::FromUnixSeconds(static_cast<int64_t>(w.timestamp)),
            absl::UTCTimeZone()));
  }
  return out;
}

// ---------------------------------------------------------------------------
// checkpoint

int Checkpoint(const LogFlags& log) {
  const Output& out = log.out;
  absl::StatusOr<std::unique_ptr<LogClient>> client = log.Connect();
  if (!client.ok()) return out.Fail(client.status());
  absl::StatusOr<VerifiedCheckpoint> latest = (*client)->LatestCheckpoint();
  if (!latest.ok()) return out.Fail(latest.status());
  const merkle::Checkpoint& c = latest->checkpoint;
  std::string text = absl::StrFormat(
      "checkpoint of %s: size %d, root %s\n  signed by the log key\n", c.origin,
      c.size, merkle::Base64Encode(c.root));
  text += WitnessesText(latest->quorum);
  Json json{{"origin", c.origin},
            {"size", c.size},
            {"root", merkle::Base64Encode(c.root)},
            {"witnesses", WitnessesJson(latest->quorum)},
            {"checkpoint", latest->note}};
  if (latest->previous.has_value()) {
    text += absl::StrFormat(
        "  consistent with the checkpoint of size %d trusted before\n",
        latest->previous->size);
    json["previous_size"] = latest->previous->size;
  } else {
    text += "  the first checkpoint trusted from this log\n";
  }
  text += "\n" + latest->note;
  return out.Done(text, std::move(json));
}

// ---------------------------------------------------------------------------
// prove

struct ProveFlags {
  uint64_t index = 0;
  std::string leaf_hash_hex;
  std::string record_file;
  std::string entry_file;
  std::string bundle_out;
  std::string entry_out;
};

int Prove(const ProveFlags& flags, const LogFlags& log, bool by_index) {
  const Output& out = log.out;
  absl::StatusOr<std::unique_ptr<LogClient>> client = log.Connect();
  if (!client.ok()) return out.Fail(client.status());
  absl::StatusOr<ProvenEntry> proven;
  if (by_index) {
    proven = (*client)->ProveIndex(flags.index);
  } else {
    merkle::Hash leaf{};
    if (!flags.leaf_hash_hex.empty()) {
      absl::StatusOr<std::vector<uint8_t>> bytes =
          merkle::HexDecode(flags.leaf_hash_hex, "--leaf-hash");
      if (!bytes.ok()) return out.Fail(bytes.status());
      if (bytes->size() != leaf.size()) {
        return out.Fail(absl::InvalidArgumentError(absl::StrFormat(
            "--leaf-hash is %d bytes, not %d", bytes->size(), leaf.size())));
      }
      std::copy(bytes->begin(), bytes->end(), leaf.begin());
    } else {
      absl::StatusOr<std::string> entry =
          LoadEntry(flags.entry_file, flags.record_file);
      if (!entry.ok()) return out.Fail(entry.status());
      leaf = merkle::HashLeaf(merkle::AsBytes(*entry));
    }
    proven = (*client)->ProveLeafHash(leaf);
  }
  if (!proven.ok()) return out.Fail(proven.status());
  if (absl::Status s = server::WriteFileAtomically(flags.bundle_out,
                                                   proven->tlog_proof, 0644);
      !s.ok()) {
    return out.Fail(s);
  }
  if (!flags.entry_out.empty()) {
    if (absl::Status s =
            server::WriteFileAtomically(flags.entry_out, proven->entry, 0644);
        !s.ok()) {
      return out.Fail(s);
    }
  }
  Json json{
      {"index", proven->index},
      {"tree_size", proven->checkpoint.size},
      {"root", merkle::Base64Encode(proven->checkpoint.root)},
      {"leaf_hash",
       merkle::HexEncode(merkle::HashLeaf(merkle::AsBytes(proven->entry)))},
      {"bundle_file", flags.bundle_out}};
  if (!flags.entry_out.empty()) json["entry_file"] = flags.entry_out;
  return out.Done(
      absl::StrFormat(
          "entry %d is in the tree of size %d (root %s), "
          "verified\n  wrote its tlog-proof bundle to %s%s\n",
          proven->index, proven->checkpoint.size,
          merkle::Base64Encode(proven->checkpoint.root), flags.bundle_out,
          flags.entry_out.empty() ? ""
                                  : " and its entry to " + flags.entry_out),
      std::move(json));
}

// ---------------------------------------------------------------------------
// verify

struct VerifyFlags {
  std::string bundle_file;
  std::string entry_file;
  std::string record_file;
  std::string agency_key_file;
  std::string openings_file;
  std::string field;
  std::string value;
  std::string opening_hex;
};

// `status` with the name of the failed check before its message.
absl::Status Check(std::string_view name, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrFormat("%s: %s", name, status.message()));
}

// The public fields of `record`, for people.
std::string RecordText(const vigil::v1::AccessRecord& r) {
  std::string categories;
  for (int c : r.data_categories()) {
    if (!categories.empty()) categories += ",";
    categories +=
        vigil::v1::DataCategory_Name(static_cast<vigil::v1::DataCategory>(c));
  }
  return absl::StrFormat(
      "  record %s: %s %s at %s\n"
      "    by ORI %s via %s to %s, message key %s, data %s\n"
      "    purpose %s%s, legal process %s, outcome %s%s\n",
      merkle::QuoteForError(r.record_id()),
      vigil::v1::SubmitterRole_Name(r.submitter_role()),
      merkle::QuoteForError(r.correlation_id()),
      absl::FormatTime("%Y-%m-%dT%H:%M:%E2SZ",
                       absl::FromUnixMillis(r.event_time_centis() * 10),
                       absl::UTCTimeZone()),
      r.requesting_ori(), vigil::v1::SourceSystem_Name(r.source_system()),
      merkle::QuoteForError(r.destination()), r.message_key(), categories,
      vigil::v1::DeclaredPurpose_Name(r.declared_purpose()),
      r.purpose_code().empty() ? "" : " (III code " + r.purpose_code() + ")",
      vigil::v1::LegalProcess_Name(r.legal_process()),
      vigil::v1::Outcome_Name(r.outcome()),
      r.image_requested() ? ", image requested" : "");
}

int Verify(const VerifyFlags& flags, const TrustFlags& trust_flags,
           const Output& out) {
  absl::StatusOr<LogTrust> trust = trust_flags.Load();
  if (!trust.ok()) return out.Fail(trust.status());
  absl::StatusOr<std::string> bundle = ReadInput(flags.bundle_file);
  if (!bundle.ok()) return out.Fail(bundle.status());
  absl::StatusOr<std::string> entry =
      LoadEntry(flags.entry_file, flags.record_file);
  if (!entry.ok()) return out.Fail(entry.status());
  std::optional<merkle::Ed25519Verifier> agency;
  if (!flags.agency_key_file.empty()) {
    absl::StatusOr<std::string> vkey =
        server::ReadKeyFile(flags.agency_key_file, /*secret=*/false);
    if (!vkey.ok()) return out.Fail(vkey.status());
    absl::StatusOr<merkle::Ed25519Verifier> parsed =
        merkle::Ed25519Verifier::FromVerifierKey(*vkey);
    if (!parsed.ok()) return out.Fail(parsed.status());
    agency.emplace(*std::move(parsed));
  }

  // The checks, in the order of docs/court-guide.md, each failure named
  // by its check. First the record itself: a genuine signed record?
  absl::StatusOr<OpenedRecord> record = OpenRecordEntry(*entry);
  if (!record.ok()) return out.Fail(Check("record", record.status()), true);
  if (agency.has_value() && agency->public_key() != record->entry.public_key) {
    return out.Fail(
        Check("agency key",
              absl::PermissionDeniedError(absl::StrFormat(
                  "the record was signed by key %s, not by the key of %s (%s)",
                  merkle::HexEncode(record->entry.public_key), agency->name(),
                  merkle::HexEncode(agency->public_key())))),
        true);
  }
  // Then the bundle, in the steps of c2sp.org/tlog-proof: is the record in
  // the tree the log signed and the witnesses cosigned?
  absl::StatusOr<merkle::TlogProof> proof = merkle::ParseTlogProof(*bundle);
  if (!proof.ok()) return out.Fail(Check("tlog-proof", proof.status()), true);
  const merkle::Hash leaf = merkle::HashLeaf(merkle::AsBytes(*entry));
  absl::StatusOr<merkle::VerifiedTlogProof> verified =
      merkle::VerifyTlogProof(*proof, leaf, trust->Policy());
  if (!verified.ok()) {
    return out.Fail(Check("tlog-proof", verified.status()), true);
  }
  // Last, the commitments opened to the court.
  std::vector<FieldOpening> openings;
  if (!flags.openings_file.empty() || !flags.field.empty()) {
    absl::StatusOr<std::vector<FieldOpening>> loaded = LoadOpenings(
        flags.openings_file, flags.field, flags.value, flags.opening_hex, leaf);
    if (!loaded.ok()) return out.Fail(loaded.status());
    openings = *std::move(loaded);
    for (const FieldOpening& o : openings) {
      if (absl::Status s = CheckFieldOpening(record->record, o); !s.ok()) {
        return out.Fail(Check("opening", s), true);
      }
    }
  }

  const merkle::Checkpoint& c = verified->checkpoint;
  std::string text = absl::StrFormat(
      "verified: entry %d of log %s (leaf hash %s)\n"
      "  is in the tree of size %d with root %s,\n"
      "  signed by the log key %s\n",
      verified->index, c.origin, merkle::HexEncode(leaf), c.size,
      merkle::Base64Encode(c.root), trust->log().name());
  text += WitnessesText(verified->quorum);
  text += absl::StrFormat(
      "  the entry is an access record signed by key %s%s\n",
      merkle::HexEncode(record->entry.public_key),
      agency.has_value() ? absl::StrFormat(", the key of %s", agency->name())
                         : std::string(" (no agency key was given)"));
  text += RecordText(record->record);
  Json opened = Json::array();
  for (const FieldOpening& o : openings) {
    text += absl::StrFormat("  its %s commitment opens to %s\n", o.field,
                            merkle::QuoteForError(o.value));
    opened.push_back({{"field", o.field}, {"value", o.value}});
  }
  Json json{{"index", verified->index},
            {"origin", c.origin},
            {"tree_size", c.size},
            {"root", merkle::Base64Encode(c.root)},
            {"leaf_hash", merkle::HexEncode(leaf)},
            {"witnesses", WitnessesJson(verified->quorum)},
            {"signer_public_key", merkle::HexEncode(record->entry.public_key)},
            {"record_id", record->record.record_id()},
            {"requesting_ori", record->record.requesting_ori()},
            {"opened", opened}};
  if (agency.has_value()) json["agency_key"] = std::string(agency->name());
  return out.Done(text, std::move(json));
}

// ---------------------------------------------------------------------------
// Static tile logs

// Fetches the log's checkpoint from `source` and opens it with `trust`.
absl::StatusOr<std::pair<merkle::OpenedCheckpoint, std::string>> TileCheckpoint(
    TileSource& source, const LogTrust& trust,
    merkle::CosignatureQuorum* quorum) {
  absl::StatusOr<std::string> note = source.Fetch("checkpoint");
  if (!note.ok()) return note.status();
  absl::StatusOr<merkle::OpenedCheckpoint> opened = trust.Open(*note, quorum);
  if (!opened.ok()) return opened.status();
  return std::make_pair(*std::move(opened), *std::move(note));
}

int AuditTiles(const std::string& dir, const TrustFlags& trust_flags,
               const Output& out) {
  absl::StatusOr<LogTrust> trust = trust_flags.Load();
  if (!trust.ok()) return out.Fail(trust.status());
  DirectoryTileSource source(dir);
  merkle::CosignatureQuorum quorum;
  auto checkpoint = TileCheckpoint(source, *trust, &quorum);
  if (!checkpoint.ok()) return out.Fail(checkpoint.status(), true);
  const merkle::Checkpoint& c = checkpoint->first.checkpoint;
  absl::StatusOr<TreeAuditReport> report = AuditTree(source, c);
  if (!report.ok()) return out.Fail(report.status(), true);
  std::string text = absl::StrFormat(
      "checkpoint: origin %s, size %d, root %s\n  signed by the log key %s\n",
      c.origin, c.size, merkle::Base64Encode(c.root), trust->log().name());
  text += WitnessesText(quorum);
  text += absl::StrFormat(
      "tree: %d entries (%d bytes) in %d bundles hashed, %d tiles rebuilt "
      "and matched, root %s matches the checkpoint\n",
      report->entries, report->entry_bytes, report->bundles, report->tiles,
      merkle::Base64Encode(report->root));
  return out.Done(text, Json{{"origin", c.origin},
                             {"size", c.size},
                             {"root", merkle::Base64Encode(c.root)},
                             {"entries", report->entries},
                             {"entry_bytes", report->entry_bytes},
                             {"bundles", report->bundles},
                             {"tiles", report->tiles},
                             {"witnesses", WitnessesJson(quorum)}});
}

int ProveTiles(const std::string& dir, const TrustFlags& trust_flags,
               uint64_t index, const std::string& bundle_out,
               const std::string& entry_out, const Output& out) {
  absl::StatusOr<LogTrust> trust = trust_flags.Load();
  if (!trust.ok()) return out.Fail(trust.status());
  DirectoryTileSource source(dir);
  merkle::CosignatureQuorum quorum;
  auto checkpoint = TileCheckpoint(source, *trust, &quorum);
  if (!checkpoint.ok()) return out.Fail(checkpoint.status(), true);
  const merkle::Checkpoint& c = checkpoint->first.checkpoint;
  merkle::TlogProof proof;
  proof.index = index;
  proof.checkpoint = checkpoint->second;
  absl::StatusOr<std::vector<merkle::Hash>> path =
      InclusionProofFromTiles(source, index, c.size);
  if (!path.ok()) return out.Fail(path.status());
  proof.inclusion = *std::move(path);
  absl::StatusOr<std::string> bundle = merkle::MarshalTlogProof(proof);
  if (!bundle.ok()) return out.Fail(bundle.status());
  absl::StatusOr<std::string> entry = EntryFromTiles(source, index, c.size);
  if (!entry.ok()) return out.Fail(entry.status());
  // The bundle is checked before it is handed out, as a court will.
  if (absl::StatusOr<merkle::VerifiedTlogProof> v = merkle::VerifyTlogProof(
          proof, merkle::HashLeaf(merkle::AsBytes(*entry)), trust->Policy());
      !v.ok()) {
    return out.Fail(v.status(), true);
  }
  if (absl::Status s = server::WriteFileAtomically(bundle_out, *bundle, 0644);
      !s.ok()) {
    return out.Fail(s);
  }
  if (!entry_out.empty()) {
    if (absl::Status s = server::WriteFileAtomically(entry_out, *entry, 0644);
        !s.ok()) {
      return out.Fail(s);
    }
  }
  Json json{{"index", index},
            {"tree_size", c.size},
            {"root", merkle::Base64Encode(c.root)},
            {"bundle_file", bundle_out}};
  if (!entry_out.empty()) json["entry_file"] = entry_out;
  return out.Done(
      absl::StrFormat("wrote the tlog-proof bundle of entry %d in the tree of "
                      "size %d to %s%s\n",
                      index, c.size, bundle_out,
                      entry_out.empty() ? "" : ", its entry to " + entry_out),
      std::move(json));
}

}  // namespace

void AddCheckpointCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LogFlags>();
  CLI::App* cmd = app.add_subcommand(
      "checkpoint",
      "Fetch the log's latest checkpoint, verify its signatures and its "
      "consistency with the last one trusted, and print it");
  flags->AddTo(cmd);
  cmd->callback([flags, exit_code] { *exit_code = Checkpoint(*flags); });
}

void AddProveCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    ProveFlags prove;
    LogFlags log;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "prove",
      "Fetch and verify the c2sp.org/tlog-proof bundle of an entry, by "
      "index or by record");
  auto* group = cmd->add_option_group("entry", "which entry to prove");
  auto* index =
      group->add_option("--index", flags->prove.index, "the entry's index");
  group->add_option("--leaf-hash", flags->prove.leaf_hash_hex,
                    "the entry's leaf hash, hex");
  group->add_option("--record", flags->prove.record_file,
                    "a signed record line, as `vigil record` writes");
  group->add_option("--entry", flags->prove.entry_file,
                    "the entry's exact bytes");
  group->require_option(1);
  cmd->add_option("--out", flags->prove.bundle_out, "write the bundle here")
      ->required();
  cmd->add_option("--entry-out", flags->prove.entry_out,
                  "also write the entry's exact bytes here");
  flags->log.AddTo(cmd);
  cmd->callback([flags, exit_code, index] {
    *exit_code = Prove(flags->prove, flags->log, index->count() > 0);
  });
}

void AddVerifyCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    VerifyFlags verify;
    TrustFlags trust;
    Output out;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "Verify an evidence bundle offline, as a court: the log's signature, "
      "the witness quorum, the entry's inclusion, the record's signature, "
      "and optionally the agency's key and commitment openings");
  cmd->add_option("bundle", flags->verify.bundle_file, "the .tlog-proof file")
      ->required();
  auto* group = cmd->add_option_group("entry", "the entry the bundle proves");
  group->add_option("--entry", flags->verify.entry_file,
                    "the entry's exact bytes");
  group->add_option("--record", flags->verify.record_file,
                    "a signed record line, as `vigil record` writes");
  group->require_option(1);
  cmd->add_option("--agency-key", flags->verify.agency_key_file,
                  "the verifier key file of the agency said to have signed");
  auto* openings = cmd->add_option("--openings", flags->verify.openings_file,
                                   "openings to check (JSON Lines)");
  auto* field = cmd->add_option("--field", flags->verify.field,
                                "a committed field to open: operator, "
                                "subject, legal_doc or case_ref");
  auto* value =
      cmd->add_option("--value", flags->verify.value, "its claimed value");
  auto* opening = cmd->add_option("--opening", flags->verify.opening_hex,
                                  "its opening, hex");
  openings->excludes(field);
  field->needs(value)->needs(opening);
  flags->trust.AddTo(cmd);
  flags->out.AddTo(cmd);
  cmd->callback([flags, exit_code] {
    *exit_code = Verify(flags->verify, flags->trust, flags->out);
  });
}

void AddTileCommands(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string dir;
    TrustFlags trust;
    Output out;
    uint64_t index = 0;
    std::string bundle_out;
    std::string entry_out;
  };
  auto audit_flags = std::make_shared<Flags>();
  CLI::App* audit = app.add_subcommand(
      "audit-tiles",
      "Audit a static tlog-tiles log: checkpoint signature, witness quorum, "
      "every entry, tile and the root recomputed");
  audit->add_option("dir", audit_flags->dir, "the log's directory")->required();
  audit_flags->trust.AddTo(audit);
  audit_flags->out.AddTo(audit);
  audit->callback([audit_flags, exit_code] {
    *exit_code =
        AuditTiles(audit_flags->dir, audit_flags->trust, audit_flags->out);
  });

  auto prove_flags = std::make_shared<Flags>();
  CLI::App* prove = app.add_subcommand(
      "prove-tiles",
      "Build and verify the tlog-proof bundle of one entry from a static "
      "tlog-tiles log");
  prove->add_option("dir", prove_flags->dir, "the log's directory")->required();
  prove->add_option("--index", prove_flags->index, "the entry's index")
      ->required();
  prove->add_option("--out", prove_flags->bundle_out, "write the bundle here")
      ->required();
  prove->add_option("--entry-out", prove_flags->entry_out,
                    "also write the entry's bytes");
  prove_flags->trust.AddTo(prove);
  prove_flags->out.AddTo(prove);
  prove->callback([prove_flags, exit_code] {
    *exit_code = ProveTiles(prove_flags->dir, prove_flags->trust,
                            prove_flags->index, prove_flags->bundle_out,
                            prove_flags->entry_out, prove_flags->out);
  });
}

}  // namespace vigil::client::cli
