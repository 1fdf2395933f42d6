// Policy rules: named conditions over an access record and what the agency
// registry says about who signed it and who asked, which a monitor applies
// to every record it replays from a log ("which laws does this lookup
// break?").
//
// Rules come from JSON rules files (format in docs/policy.md; packs for
// specific laws in client/policy/). In short:
//
//   {"format": "vigil-policy/v1",
//    "description": "...",                       (optional)
//    "rules": [{"name": "ca-sb54/clets-non-chri",
//               "description": "...", "law": "Cal. Gov. Code 7284.6",
//               "severity": "violation",           ("violation" | "warning")
//               "when": CONDITION}]}
//
//   CONDITION = {"all": [CONDITION, ...]} | {"any": [CONDITION, ...]}
//             | {"not": CONDITION} | {"field": NAME, OPERATOR: VALUE}
//
// with OPERATOR one of equals, in, any_of, all_in, none_of, empty,
// starts_with, matches, at_least, below, each defined on some field types.
// Enum values are record.proto's enumerator names and are checked when the
// file is loaded, as are field names, operators, key names and JSON types:
// a rules file either loads whole or is refused with INVALID_ARGUMENT
// naming the file, the rule and the key ("when.all[2].in[0]").
//
// Loading compiles each condition into a flat array of nodes with enum
// values as bit masks, so evaluating a record reads no JSON and, unless a
// rule matches, allocates nothing.
//
// Thread-safety: a Policy is immutable once loaded; Evaluate and Explain
// may be called from any number of threads at once.

#ifndef VIGIL_CLIENT_POLICY_H_
#define VIGIL_CLIENT_POLICY_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client {

// What the agency registry (replayed from the log) says about a record.
struct RegistryFacts {
  // One registered agency.
  struct Agency {
    std::string ori;  // [A-Z0-9]{9}.
    vigil::v1::AgencyClass agency_class = vigil::v1::AGENCY_CLASS_UNSPECIFIED;
    std::string state;  // Two-letter state code, or empty.
  };
  // The agency whose key signed the record; nullopt if the key is unknown.
  std::optional<Agency> signer;
  // The agency registered under the record's requesting_ori; nullopt if no
  // agency is registered under it. Rules then read requester.registered as
  // false, requester.agency_class as AGENCY_CLASS_UNSPECIFIED and
  // requester.state as empty (the same for signer.*).
  std::optional<Agency> requester;
};

// The compiled form of a rule's "when" (defined in policy.cc).
class CompiledCondition;

// One loaded rule.
struct Rule {
  std::string name;         // Unique within a Policy.
  std::string description;  // One line, for people.
  std::string law;          // The citation the rule implements.
  std::string severity;     // "violation" or "warning".
  std::string source;       // The source_name (file) it was loaded from.
  // Never null in a rule of a loaded Policy; shared by copies of the rule.
  std::shared_ptr<const CompiledCondition> when;
};

// A set of rules with unique names, in the order they were loaded.
class Policy {
 public:
  // An empty policy: no rule, nothing ever matches.
  Policy() = default;

  // Parses and compiles one rules file. `source_name` (e.g. the path)
  // prefixes every error message and is kept as Rule::source.
  // INVALID_ARGUMENT, naming the rule (by name, or by position "rule #3"
  // when it has no valid name) and the key, for: text that is not JSON,
  // a repeated key, an unknown or missing key, a value of the wrong JSON
  // type, a wrong format marker, an unknown field, operator, severity or
  // enum name, an operator not defined on the field's type, an empty
  // list, a condition nested deeper than 32, a repeated rule name.
  static absl::StatusOr<Policy> Load(std::string_view json_text,
                                     std::string_view source_name);

  // Loads each file with Load (the path as source_name) and merges them in
  // order. NOT_FOUND if a file cannot be read; Load's and Merge's errors.
  // An empty list gives an empty policy.
  static absl::StatusOr<Policy> LoadFiles(
      const std::vector<std::string>& paths);

  // The rules of all `policies`, in order. INVALID_ARGUMENT if two rules
  // share a name, naming both sources.
  static absl::StatusOr<Policy> Merge(std::vector<Policy> policies);

  // The rules that `record` breaks given `facts`, in the policy's order.
  // The pointers stay valid while this Policy, or one it is moved into,
  // lives.
  [[nodiscard]] std::vector<const Rule*> Evaluate(
      const vigil::v1::AccessRecord& record, const RegistryFacts& facts) const;

  // The number of rules.
  [[nodiscard]] size_t size() const { return rules_.size(); }

  // The rules, in order.
  [[nodiscard]] const std::vector<Rule>& rules() const { return rules_; }

 private:
  std::vector<Rule> rules_;
};

// Why `rule` matches `record` (or, if it does not, why not): the field
// values that decided its condition, e.g. "requester agency_class
// FEDERAL_IMMIGRATION; source_system CLETS; data_categories DMV_PII,ADDRESS
// (not only CHRI)". Reasons name record fields and registry facts only:
// never commitment bytes (has_legal_doc and has_case_ref are booleans).
// Requires rule.when != nullptr.
std::string Explain(const Rule& rule, const vigil::v1::AccessRecord& record,
                    const RegistryFacts& facts);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_POLICY_H_
