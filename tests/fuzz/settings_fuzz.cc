// Server settings: the JSON config file (server/config.h) and a witness
// setting (server/witness_quorum.h), both read from operators' files and
// command lines.
//
// Properties: ParseServerConfig never crashes and is deterministic; a
// witness setting that parses is exactly its verifier key, one space and
// its URL, and the URL starts http:// or https://.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/config.h"
#include "server/witness_quorum.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

void Run(std::string_view input) {
  absl::StatusOr<server::ServerConfig> config =
      server::ParseServerConfig(input);
  absl::StatusOr<server::ServerConfig> again = server::ParseServerConfig(input);
  VIGIL_FUZZ_CHECK(config.ok() == again.ok());
  if (config.ok()) VIGIL_FUZZ_CHECK(*config == *again);

  absl::StatusOr<server::WitnessEndpoint> witness =
      server::ParseWitnessSetting(input);
  if (witness.ok()) {
    VIGIL_FUZZ_CHECK(witness->key.vkey() + " " + witness->url == input);
    VIGIL_FUZZ_CHECK(witness->url.starts_with("http://") ||
                     witness->url.starts_with("https://"));
  }
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
