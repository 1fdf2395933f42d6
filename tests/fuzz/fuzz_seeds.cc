// Writes the seed corpora derived from ../shared/testdata and from the
// fixed test keys of fuzz_support.h into <dir>/<target>/ (docs/fuzzing.md):
//
//   fuzz_seeds tests/fuzz/corpus
//
// Deterministic: running it again rewrites the same bytes. The seeds of the
// policy target and the settings target's config file are copies of files
// in the repository (client/policy/*.json, server/vigil-server.example.json)
// and are not written here.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/record_files.h"
#include "client/signing.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/tiles.h"
#include "merkle/tlog_proof.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

std::filesystem::path out_dir;

void Write(std::string_view target, std::string_view name,
           std::string_view bytes) {
  const std::filesystem::path dir = out_dir / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz_seeds: cannot write %s/%s\n", dir.c_str(),
                 std::string(name).c_str());
    std::exit(1);
  }
}

std::string TlogProofBundle(uint64_t index, bool with_extra) {
  merkle::TlogProof proof;
  if (with_extra) proof.extra = std::vector<uint8_t>{'v', 'i', 'g', 'i', 'l'};
  proof.index = index;
  proof.inclusion = ReferenceInclusionProof(index);
  proof.checkpoint = Reference().checkpoint_note;
  absl::StatusOr<std::string> bytes = merkle::MarshalTlogProof(proof);
  VIGIL_FUZZ_CHECK(bytes.ok());
  return *bytes;
}

void WriteAll() {
  const ReferenceLog& ref = Reference();
  const KnownEntries& known = Known();

  Write("note", "checkpoint", ref.checkpoint_note);
  Write("note", "checkpoint500", ref.checkpoint500_note);
  const size_t line = ref.checkpoint_note.find("\n\n");
  Write("note", "signature_line", ref.checkpoint_note.substr(line + 2));

  Write("note_key", "log.vkey", ref.log->vkey());
  Write("note_key", "log.skey", ref.log_skey);
  Write("note_key", "witness.vkey", ref.witness->vkey());
  Write("note_key", "witness.skey", ref.witness_skey);
  Write("note_key", "name", "example.org/reference-log");

  Write("checkpoint", "note", ref.checkpoint_note);
  Write("checkpoint", "note500", ref.checkpoint500_note);
  Write("checkpoint", "text", ref.checkpoint_text);
  Write("checkpoint", "extensions", ref.checkpoint_text + "ext one\nx\n");

  Write("cosignature", "note", ref.checkpoint_note);
  Write("cosignature", "text", ref.checkpoint_text);
  absl::StatusOr<merkle::SignedNote> note =
      merkle::ParseSignedNote(ref.checkpoint_note);
  VIGIL_FUZZ_CHECK(note.ok());
  for (const merkle::NoteSignature& s : note->signatures) {
    if (s.signature.size() == merkle::kCosignatureSize) {
      Write("cosignature", "raw",
            std::string(s.signature.begin(), s.signature.end()));
    }
  }

  Write("tlog_proof", "index0", TlogProofBundle(0, false));
  Write("tlog_proof", "index1", TlogProofBundle(1, false));
  Write("tlog_proof", "index500_extra", TlogProofBundle(500, true));
  Write("tlog_proof", "index999", TlogProofBundle(999, false));

  Write("tile_path", "full", "tile/0/000");
  Write("tile_path", "partial", "tile/0/003.p/232");
  Write("tile_path", "level1", "tile/1/000.p/3");
  Write("tile_path", "groups", "tile/3/x001/x234/067");
  Write("tile_path", "bundle", "tile/entries/003.p/232");
  Write("tile_path", "bundle_groups", "tile/entries/x123/456.p/12");
  Write("tile_path", "numbers",
        std::string("\x00\x00\x00\x00\x00\x12\xd6\x87"
                    "\x01\xe7",
                    10));

  Write("tile", "tile_1_000.p_3",
        ReadTestdata("reference-log/log/tile/1/000.p/3"));
  const std::string bundle =
      ReadTestdata("reference-log/log/tile/entries/003.p/232");
  absl::StatusOr<std::vector<std::string>> entries =
      merkle::DecodeEntryBundle(bundle, 232);
  VIGIL_FUZZ_CHECK(entries.ok());
  entries->resize(5);
  absl::StatusOr<std::string> small = merkle::EncodeEntryBundle(*entries);
  VIGIL_FUZZ_CHECK(small.ok());
  Write("tile", "bundle_5", *small);
  Write("tile", "tile_4",
        ReadTestdata("reference-log/log/tile/0/000").substr(0, 4 * 32));

  Write("settings", "witness",
        ref.witness->vkey() + " http://127.0.0.1:7500/witness");

  Write("entry", "access_record", known.record_entry);
  Write("entry", "registry_change", known.change_entry);

  Write("record", "access_record", known.record_payload);
  Write("record", "registry_change", known.change_payload);

  Write("witness", "extend", [&] {
    std::string body = "old 500\n";
    for (const merkle::Hash& h : ref.consistency_500_1000) {
      body += merkle::Base64Encode(h) + "\n";
    }
    return body + "\n" + ref.checkpoint_note;
  }());
  Write("witness", "same", "old 500\n\n" + ref.checkpoint500_note);
  Write("witness", "conflict", "old 0\n\n" + ref.checkpoint_note);

  const merkle::Hash leaf =
      merkle::HashLeaf(merkle::AsBytes(known.record_entry));
  Write("record_files", "signed",
        client::FormatSignedRecordLine(client::SignedRecordLine{
            known.record.record_id(), known.record_entry, leaf}));
  client::OpeningsLine openings{known.record.record_id(), leaf, {}};
  client::FieldOpening opening{.field = "subject", .value = "D1234567"};
  opening.opening.fill(0x55);
  opening.commitment.fill(0x66);
  openings.openings.push_back(opening);
  Write("record_files", "openings", client::FormatOpeningsLine(openings));
}

}  // namespace
}  // namespace vigil::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds <corpus directory>\n");
    return 2;
  }
  vigil::fuzz::out_dir = argv[1];
  vigil::fuzz::WriteAll();
  return 0;
}
