// Policy rules files (client/policy.h, docs/policy.md).
//
// Properties: a file that loads has at least one rule, each with a unique
// non-empty name, a severity of "violation" or "warning" and a compiled
// condition; evaluating and explaining every rule on a fixed record, with
// and without registry facts, is safe; merging a loaded policy with itself
// is refused (every name repeats).

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "client/policy.h"
#include "tests/fuzz/fuzz_support.h"

namespace vigil::fuzz {
namespace {

void Run(std::string_view input) {
  absl::StatusOr<client::Policy> policy = client::Policy::Load(input, "fuzz");
  if (!policy.ok()) return;
  VIGIL_FUZZ_CHECK(policy->size() >= 1);
  std::set<std::string> names;
  for (const client::Rule& rule : policy->rules()) {
    VIGIL_FUZZ_CHECK(!rule.name.empty() && names.insert(rule.name).second);
    VIGIL_FUZZ_CHECK(rule.severity == "violation" ||
                     rule.severity == "warning");
    VIGIL_FUZZ_CHECK(rule.when != nullptr);
  }

  const vigil::v1::AccessRecord& record = Known().record;
  client::RegistryFacts known_facts;
  known_facts.signer = client::RegistryFacts::Agency{
      "CA0123456", vigil::v1::FEDERAL_IMMIGRATION, "CA"};
  known_facts.requester = known_facts.signer;
  for (const client::RegistryFacts& facts :
       {client::RegistryFacts{}, known_facts}) {
    const std::vector<const client::Rule*> matched =
        policy->Evaluate(record, facts);
    VIGIL_FUZZ_CHECK(matched.size() <= policy->size());
    for (const client::Rule& rule : policy->rules()) {
      static_cast<void>(client::Explain(rule, record, facts));
    }
  }

  std::vector<client::Policy> twice{*policy, *policy};
  VIGIL_FUZZ_CHECK(!client::Policy::Merge(std::move(twice)).ok());
}

}  // namespace
}  // namespace vigil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vigil::fuzz::Run(vigil::fuzz::AsText(data, size));
  return 0;
}
