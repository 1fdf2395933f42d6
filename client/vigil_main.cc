// vigil: the command-line tool for agencies, watchdogs and courts.
//
//   vigil audit-tiles DIR --log-key F [--witness-key F]... [--quorum K]
//   vigil prove-tiles DIR --log-key F --index N [--out B] [--entry-out E]
//   vigil verify BUNDLE --entry F --log-key F [--witness-key F]... [--quorum K]
//
// Exit codes: 0 verified; 1 verification failed (the evidence does not hold);
// 2 usage or I/O error (nothing was verified).

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "client/tile_source.h"
#include "client/tree_audit.h"
#include "merkle/checkpoint.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/note.h"
#include "merkle/tlog_proof.h"

namespace vigil::client {
namespace {

constexpr int kExitVerified = 0;
constexpr int kExitFailed = 1;
constexpr int kExitError = 2;

absl::Status WriteFile(const std::string& path, std::string_view data) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(data.data(), static_cast<std::streamsize>(data.size()));
  file.close();
  if (!file) {
    return absl::UnavailableError(absl::StrFormat("cannot write %s", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrFormat("cannot open %s", path));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// A key file holds one key, optionally followed by a newline.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  if (!text->empty() && text->back() == '\n') text->pop_back();
  return text;
}

// The trust a verification starts from: the log's key and origin, and the
// witnesses with their quorum.
struct Trust {
  std::optional<merkle::Ed25519Verifier> log;
  std::string origin;
  std::vector<merkle::CosignatureVerifier> witnesses;
  std::vector<const merkle::CosignatureVerifier*> witness_ptrs;
  size_t quorum = 0;

  [[nodiscard]] merkle::TlogProofPolicy Policy() const {
    return merkle::TlogProofPolicy{origin, &*log, witness_ptrs, quorum};
  }
};

struct TrustFlags {
  std::string log_key;
  std::string origin;
  std::vector<std::string> witness_keys;
  size_t quorum = 0;

  void AddTo(CLI::App* cmd) {
    cmd->add_option("--log-key", log_key, "the log's verifier key file")
        ->required();
    cmd->add_option("--origin", origin,
                    "the log's checkpoint origin (default: the key's name)");
    cmd->add_option("--witness-key", witness_keys,
                    "a witness's cosignature verifier key file (repeatable)");
    cmd->add_option("--quorum", quorum,
                    "how many of the witnesses must cosign (default: all)");
  }

  absl::StatusOr<std::unique_ptr<Trust>> Load() const {
    auto trust = std::make_unique<Trust>();
    absl::StatusOr<std::string> vkey = ReadKeyFile(log_key);
    if (!vkey.ok()) return vkey.status();
    absl::StatusOr<merkle::Ed25519Verifier> log =
        merkle::Ed25519Verifier::FromVerifierKey(*vkey);
    if (!log.ok()) return log.status();
    trust->log.emplace(*std::move(log));
    trust->origin = origin.empty() ? std::string(trust->log->name()) : origin;
    for (const std::string& file : witness_keys) {
      absl::StatusOr<std::string> wkey = ReadKeyFile(file);
      if (!wkey.ok()) return wkey.status();
      absl::StatusOr<merkle::CosignatureVerifier> witness =
          merkle::CosignatureVerifier::FromVerifierKey(*wkey);
      if (!witness.ok()) return witness.status();
      trust->witnesses.push_back(*std::move(witness));
    }
    for (const auto& w : trust->witnesses) trust->witness_ptrs.push_back(&w);
    trust->quorum = quorum == 0 ? trust->witnesses.size() : quorum;
    if (trust->quorum > trust->witnesses.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--quorum %d is more than the %d witness keys given",
                          trust->quorum, trust->witnesses.size()));
    }
    return trust;
  }
};

int Fail(int code, const absl::Status& status) {
  std::cerr << "vigil: " << status.message() << "\n";
  return code;
}

// Fetches the log's checkpoint and verifies its signature and the witness
// quorum. Prints what it verified.
absl::StatusOr<merkle::OpenedCheckpoint> VerifiedCheckpoint(TileSource& source,
                                                            const Trust& trust,
                                                            std::string* note) {
  absl::StatusOr<std::string> fetched = source.Fetch("checkpoint");
  if (!fetched.ok()) return fetched.status();
  *note = *fetched;
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(*note, *trust.log, trust.origin);
  if (!opened.ok()) return opened.status();
  std::cout << absl::StrFormat(
      "checkpoint: origin %s, size %d, root %s\n  signed by the log key %s\n",
      opened->checkpoint.origin, opened->checkpoint.size,
      merkle::Base64Encode(opened->checkpoint.root), trust.log->name());
  if (trust.quorum > 0) {
    absl::StatusOr<merkle::CosignatureQuorum> quorum =
        merkle::VerifyCosignatureQuorum(*note, trust.witness_ptrs,
                                        trust.quorum);
    if (!quorum.ok()) return quorum.status();
    for (const merkle::WitnessCosignature& w : quorum->cosigned) {
      std::cout << absl::StrFormat("  cosigned by witness %s at time %d\n",
                                   w.name, w.timestamp);
    }
  }
  return opened;
}

int AuditTiles(const std::string& dir, const TrustFlags& flags) {
  absl::StatusOr<std::unique_ptr<Trust>> trust = flags.Load();
  if (!trust.ok()) return Fail(kExitError, trust.status());
  DirectoryTileSource source(dir);
  std::string note;
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      VerifiedCheckpoint(source, **trust, &note);
  if (!opened.ok()) return Fail(kExitFailed, opened.status());
  absl::StatusOr<TreeAuditReport> report =
      AuditTree(source, opened->checkpoint);
  if (!report.ok()) return Fail(kExitFailed, report.status());
  std::cout << absl::StrFormat(
      "tree: %d entries (%d bytes) in %d bundles hashed, %d tiles rebuilt "
      "and matched, root %s matches the checkpoint\n",
      report->entries, report->entry_bytes, report->bundles, report->tiles,
      merkle::Base64Encode(report->root));
  return kExitVerified;
}

int ProveTiles(const std::string& dir, const TrustFlags& flags, uint64_t index,
               const std::string& out, const std::string& entry_out) {
  absl::StatusOr<std::unique_ptr<Trust>> trust = flags.Load();
  if (!trust.ok()) return Fail(kExitError, trust.status());
  DirectoryTileSource source(dir);
  std::string note;
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      VerifiedCheckpoint(source, **trust, &note);
  if (!opened.ok()) return Fail(kExitFailed, opened.status());
  merkle::TlogProof proof;
  proof.index = index;
  proof.checkpoint = note;
  absl::StatusOr<std::vector<merkle::Hash>> path =
      InclusionProofFromTiles(source, index, opened->checkpoint.size);
  if (!path.ok()) return Fail(kExitError, path.status());
  proof.inclusion = *std::move(path);
  absl::StatusOr<std::string> bundle = merkle::MarshalTlogProof(proof);
  if (!bundle.ok()) return Fail(kExitError, bundle.status());
  if (!entry_out.empty()) {
    absl::StatusOr<std::string> entry =
        EntryFromTiles(source, index, opened->checkpoint.size);
    if (!entry.ok()) return Fail(kExitError, entry.status());
    if (absl::Status s = WriteFile(entry_out, *entry); !s.ok()) {
      return Fail(kExitError, s);
    }
    std::cout << absl::StrFormat("wrote entry %d (%d bytes) to %s\n", index,
                                 entry->size(), entry_out);
  }
  if (out.empty()) {
    std::cout << *bundle;
    return kExitVerified;
  }
  if (absl::Status s = WriteFile(out, *bundle); !s.ok()) {
    return Fail(kExitError, s);
  }
  std::cout << absl::StrFormat(
      "wrote the tlog-proof bundle of entry %d to %s\n", index, out);
  return kExitVerified;
}

int Verify(const std::string& bundle_file, const std::string& entry_file,
           const TrustFlags& flags) {
  absl::StatusOr<std::unique_ptr<Trust>> trust = flags.Load();
  if (!trust.ok()) return Fail(kExitError, trust.status());
  absl::StatusOr<std::string> bundle = ReadFile(bundle_file);
  if (!bundle.ok()) return Fail(kExitError, bundle.status());
  absl::StatusOr<std::string> entry = ReadFile(entry_file);
  if (!entry.ok()) return Fail(kExitError, entry.status());
  absl::StatusOr<merkle::TlogProof> proof = merkle::ParseTlogProof(*bundle);
  if (!proof.ok()) return Fail(kExitFailed, proof.status());
  const merkle::Hash leaf = merkle::HashLeaf(merkle::AsBytes(*entry));
  absl::StatusOr<merkle::VerifiedTlogProof> verified =
      merkle::VerifyTlogProof(*proof, leaf, (*trust)->Policy());
  if (!verified.ok()) return Fail(kExitFailed, verified.status());
  std::cout << absl::StrFormat(
      "verified: the entry (%d bytes, leaf hash %s) is entry %d of log %s\n"
      "  in the tree of size %d with root %s, signed by the log key %s\n",
      entry->size(), merkle::HexEncode(leaf), verified->index,
      verified->checkpoint.origin, verified->checkpoint.size,
      merkle::Base64Encode(verified->checkpoint.root), (*trust)->log->name());
  for (const merkle::WitnessCosignature& w : verified->quorum.cosigned) {
    std::cout << absl::StrFormat("  cosigned by witness %s at time %d\n",
                                 w.name, w.timestamp);
  }
  return kExitVerified;
}

int Main(int argc, char** argv) {
  CLI::App app{"vigil: a transparency log for inter-agency data lookups"};
  app.require_subcommand(1);

  std::string dir;
  TrustFlags audit_flags;
  CLI::App* audit = app.add_subcommand(
      "audit-tiles",
      "Audit a static tlog-tiles log: checkpoint signature, witness quorum, "
      "every entry, tile and the root recomputed");
  audit->add_option("dir", dir, "the log's directory")->required();
  audit_flags.AddTo(audit);

  TrustFlags prove_flags;
  uint64_t index = 0;
  std::string out;
  std::string entry_out;
  CLI::App* prove = app.add_subcommand(
      "prove-tiles",
      "Build the tlog-proof bundle of one entry from a static tlog-tiles log");
  prove->add_option("dir", dir, "the log's directory")->required();
  prove->add_option("--index", index, "the entry's index")->required();
  prove->add_option("--out", out, "write the bundle here (default: stdout)");
  prove->add_option("--entry-out", entry_out, "also write the entry's bytes");
  prove_flags.AddTo(prove);

  TrustFlags verify_flags;
  std::string bundle_file;
  std::string entry_file;
  CLI::App* verify = app.add_subcommand(
      "verify",
      "Verify a tlog-proof bundle offline: log signature, witness quorum, "
      "inclusion of the entry");
  verify->add_option("bundle", bundle_file, "the .tlog-proof file")->required();
  verify->add_option("--entry", entry_file, "the exact entry bytes")
      ->required();
  verify_flags.AddTo(verify);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitError;
  }
  if (*audit) return AuditTiles(dir, audit_flags);
  if (*prove) return ProveTiles(dir, prove_flags, index, out, entry_out);
  return Verify(bundle_file, entry_file, verify_flags);
}

}  // namespace
}  // namespace vigil::client

int main(int argc, char** argv) {
  try {
    return vigil::client::Main(argc, argv);
  } catch (const std::exception& e) {
    // CLI11 reports bad flags as exceptions; nothing else should throw.
    std::cerr << "vigil: " << e.what() << "\n";
    return 2;
  }
}
