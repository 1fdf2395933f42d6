// The tlog-witness add-checkpoint request (client/witness.h), handled by a
// witness of the reference log whose state is the size-500 checkpoint. Each
// input gets a fresh state directory on tmpfs (/dev/shm when present),
// removed afterwards.
//
// Properties: a 200 answer is one cosignature line by the witness's key,
// over the size-500 or the size-1000 reference checkpoint, and only for a
// request that starts "old 500", then, for size 1000, exactly the true
// consistency proof; any other answer is a 4xx (never 500: the state
// directory works).

#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/witness.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

constexpr std::string_view kWitnessName = "fuzz.example/witness";

merkle::Cosigner NewCosigner() {
  std::array<uint8_t, 32> seed{};
  seed.fill(0x44);
  absl::StatusOr<merkle::Cosigner> cosigner =
      merkle::Cosigner::Create(kWitnessName, seed);
  VIGIL_FUZZ_CHECK(cosigner.ok());
  return *std::move(cosigner);
}

std::unique_ptr<client::Witness> NewWitness(const std::string& dir) {
  const ReferenceLog& ref = Reference();
  std::vector<client::WitnessLog> logs(1);
  logs[0].origin = ref.origin;
  logs[0].keys.push_back(*ref.log);
  absl::StatusOr<std::unique_ptr<client::Witness>> witness =
      client::Witness::Create(NewCosigner(), std::move(logs), dir, [] {
        return absl::FromUnixSeconds(kFixedNowSeconds);
      });
  VIGIL_FUZZ_CHECK(witness.ok());
  return *std::move(witness);
}

std::string StateDirectory() {
  const std::filesystem::path base =
      std::filesystem::is_directory("/dev/shm")
          ? std::filesystem::path("/dev/shm")
          : std::filesystem::temp_directory_path();
  return (base / ("vigil-witness-fuzz-" + std::to_string(getpid()))).string();
}

struct Setup {
  std::string dir;
  std::string state_file;            // Name within `dir`.
  std::string state_bytes;           // The witness's state at size 500.
  std::string proof_request_prefix;  // "old 500\n" + the true proof + "\n".
};

Setup BuildSetup() {
  const ReferenceLog& ref = Reference();
  Setup setup;
  setup.dir = StateDirectory();
  std::filesystem::remove_all(setup.dir);
  {
    std::unique_ptr<client::Witness> witness = NewWitness(setup.dir);
    const client::Witness::Response response =
        witness->AddCheckpoint("old 0\n\n" + ref.checkpoint500_note);
    VIGIL_FUZZ_CHECK(response.http_status == 200);
  }
  setup.state_file = client::OriginHash(ref.origin);
  std::ifstream in(setup.dir + "/" + setup.state_file, std::ios::binary);
  setup.state_bytes.assign(std::istreambuf_iterator<char>(in), {});
  VIGIL_FUZZ_CHECK(!setup.state_bytes.empty());
  std::filesystem::remove_all(setup.dir);
  setup.proof_request_prefix = "old 500\n";
  for (const merkle::Hash& h : ref.consistency_500_1000) {
    setup.proof_request_prefix += merkle::Base64Encode(h) + "\n";
  }
  setup.proof_request_prefix += "\n";
  return setup;
}

void Run(std::string_view input) {
  static const Setup* const setup = new Setup(BuildSetup());
  static const merkle::Cosigner* const cosigner =
      new merkle::Cosigner(NewCosigner());
  const ReferenceLog& ref = Reference();

  std::filesystem::create_directories(setup->dir);
  {
    std::ofstream out(setup->dir + "/" + setup->state_file, std::ios::binary);
    out << setup->state_bytes;
  }
  client::Witness::Response response;
  {
    std::unique_ptr<client::Witness> witness = NewWitness(setup->dir);
    response = witness->AddCheckpoint(input);
  }
  std::error_code ignored;
  std::filesystem::remove_all(setup->dir, ignored);

  VIGIL_FUZZ_CHECK(response.http_status == 200 ||
                   (response.http_status >= 400 && response.http_status < 500));
  if (response.http_status != 200) return;
  absl::StatusOr<merkle::NoteSignature> line =
      merkle::ParseSignatureLine(response.body);
  VIGIL_FUZZ_CHECK(line.ok() && line->name == kWitnessName &&
                   line->key_id == cosigner->key_id());
  if (input.starts_with(setup->proof_request_prefix)) {
    VIGIL_FUZZ_CHECK(
        cosigner->verifier()
            .VerifyCosignature(ref.checkpoint_text, line->signature)
            .ok());
  } else {
    VIGIL_FUZZ_CHECK(input.starts_with("old 500\n\n"));
    VIGIL_FUZZ_CHECK(
        cosigner->verifier()
            .VerifyCosignature(ref.checkpoint500_text, line->signature)
            .ok());
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
