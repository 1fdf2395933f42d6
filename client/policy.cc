#include "client/policy.h"

#include <google/protobuf/descriptor.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "merkle/encoding.h"

namespace vigil::client {
namespace {

using ::google::protobuf::EnumDescriptor;
using ::google::protobuf::EnumValueDescriptor;
using ::vigil::merkle::QuoteForError;
using Json = nlohmann::json;

constexpr std::string_view kFormat = "vigil-policy/v1";
constexpr int kMaxDepth = 32;
constexpr size_t kMaxRuleNameBytes = 128;
constexpr size_t kMaxFileBytes = size_t{16} << 20;

// Enum values outside [0, kUnknownBit) all map to this bit, which no name
// in a rules file can produce: an unknown value is in no list.
constexpr int kUnknownBit = 63;

enum class FieldType : uint8_t { kString, kEnum, kEnumSet, kBool, kInt };

enum class FieldId : uint8_t {
  kRecordId,
  kSubmitterRole,
  kCorrelationId,
  kEventTimeCentis,
  kRequestingOri,
  kSourceSystem,
  kSourceState,
  kDestination,
  kMessageKey,
  kDataCategories,
  kPurposeCode,
  kDeclaredPurpose,
  kLegalProcess,
  kOutcome,
  kImageRequested,
  kHasLegalDoc,
  kHasCaseRef,
  kSignerOri,
  kSignerAgencyClass,
  kSignerState,
  kSignerRegistered,
  kRequesterAgencyClass,
  kRequesterState,
  kRequesterRegistered,
  kCount,
};
constexpr size_t kFieldCount = static_cast<size_t>(FieldId::kCount);

struct FieldSpec {
  std::string_view name;
  FieldType type;
  const EnumDescriptor* (*descriptor)();  // Enum and enum-set fields only.
};

// Indexed by FieldId.
constexpr std::array<FieldSpec, kFieldCount> kFields = {{
    {"record_id", FieldType::kString, nullptr},
    {"submitter_role", FieldType::kEnum, &vigil::v1::SubmitterRole_descriptor},
    {"correlation_id", FieldType::kString, nullptr},
    {"event_time_centis", FieldType::kInt, nullptr},
    {"requesting_ori", FieldType::kString, nullptr},
    {"source_system", FieldType::kEnum, &vigil::v1::SourceSystem_descriptor},
    {"source_state", FieldType::kString, nullptr},
    {"destination", FieldType::kString, nullptr},
    {"message_key", FieldType::kString, nullptr},
    {"data_categories", FieldType::kEnumSet,
     &vigil::v1::DataCategory_descriptor},
    {"purpose_code", FieldType::kString, nullptr},
    {"declared_purpose", FieldType::kEnum,
     &vigil::v1::DeclaredPurpose_descriptor},
    {"legal_process", FieldType::kEnum, &vigil::v1::LegalProcess_descriptor},
    {"outcome", FieldType::kEnum, &vigil::v1::Outcome_descriptor},
    {"image_requested", FieldType::kBool, nullptr},
    {"has_legal_doc", FieldType::kBool, nullptr},
    {"has_case_ref", FieldType::kBool, nullptr},
    {"signer.ori", FieldType::kString, nullptr},
    {"signer.agency_class", FieldType::kEnum,
     &vigil::v1::AgencyClass_descriptor},
    {"signer.state", FieldType::kString, nullptr},
    {"signer.registered", FieldType::kBool, nullptr},
    {"requester.agency_class", FieldType::kEnum,
     &vigil::v1::AgencyClass_descriptor},
    {"requester.state", FieldType::kString, nullptr},
    {"requester.registered", FieldType::kBool, nullptr},
}};

const FieldSpec& Spec(FieldId id) { return kFields[static_cast<size_t>(id)]; }

std::optional<FieldId> FieldByName(std::string_view name) {
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (kFields[i].name == name) return static_cast<FieldId>(i);
  }
  return std::nullopt;
}

bool IsSignerField(FieldId id) {
  return id >= FieldId::kSignerOri && id <= FieldId::kSignerRegistered;
}
bool IsRequesterField(FieldId id) {
  return id >= FieldId::kRequesterAgencyClass &&
         id <= FieldId::kRequesterRegistered;
}

std::string_view TypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "a string";
    case FieldType::kEnum:
      return "an enum";
    case FieldType::kEnumSet:
      return "a set of enums";
    case FieldType::kBool:
      return "a boolean";
    case FieldType::kInt:
      return "an integer";
  }
  return "?";
}

uint64_t Bit(int64_t value) {
  return value >= 0 && value < kUnknownBit ? uint64_t{1} << value
                                           : uint64_t{1} << kUnknownBit;
}

}  // namespace

// The compiled "when" of one rule: its condition tree in pre-order. Node i's
// subtree is nodes [i, nodes[i].end); the children of an all/any node are
// at i + 1, then at each child's end, up to the parent's end.
class CompiledCondition {
 public:
  enum class Op : uint8_t {
    kAll,
    kAny,
    kNot,
    kStringIn,      // equals / in: strings.
    kStringEmpty,   // flag: wanted emptiness.
    kStringPrefix,  // starts_with: strings.
    kStringGlob,    // matches: strings[0].
    kEnumIn,        // equals / in: mask.
    kEnumEmpty,     // flag: wanted (value == 0).
    kSetEquals,     // mask.
    kSetAnyOf,      // mask.
    kSetAllIn,      // mask.
    kSetNoneOf,     // mask.
    kSetEmpty,      // flag.
    kBoolEquals,    // flag.
    kIntEquals,     // number.
    kIntAtLeast,    // number.
    kIntBelow,      // number.
  };

  struct Node {
    Op op = Op::kAll;
    FieldId field = FieldId::kRecordId;
    bool flag = false;
    uint32_t end = 0;
    uint64_t mask = 0;
    int64_t number = 0;
    std::vector<std::string> strings;
  };

  std::vector<Node> nodes;
};

namespace {

using Op = CompiledCondition::Op;
using Node = CompiledCondition::Node;

// One record and its facts, read once per Evaluate into fixed slots so that
// predicates index them by FieldId.
struct View {
  std::array<std::string_view, kFieldCount> text{};
  std::array<int64_t, kFieldCount> number{};  // Enum value, bool, integer.
  std::array<uint64_t, kFieldCount> bits{};   // Enum bit, or set mask.
  bool signer = false;
  bool requester = false;
};

View MakeView(const vigil::v1::AccessRecord& r, const RegistryFacts& facts) {
  View v;
  auto text = [&v](FieldId id, std::string_view s) {
    v.text[static_cast<size_t>(id)] = s;
  };
  auto number = [&v](FieldId id, int64_t n) {
    v.number[static_cast<size_t>(id)] = n;
    v.bits[static_cast<size_t>(id)] = Bit(n);
  };
  text(FieldId::kRecordId, r.record_id());
  number(FieldId::kSubmitterRole, r.submitter_role());
  text(FieldId::kCorrelationId, r.correlation_id());
  number(FieldId::kEventTimeCentis, r.event_time_centis());
  text(FieldId::kRequestingOri, r.requesting_ori());
  number(FieldId::kSourceSystem, r.source_system());
  text(FieldId::kSourceState, r.source_state());
  text(FieldId::kDestination, r.destination());
  text(FieldId::kMessageKey, r.message_key());
  uint64_t categories = 0;
  for (int c : r.data_categories()) categories |= Bit(c);
  v.bits[static_cast<size_t>(FieldId::kDataCategories)] = categories;
  text(FieldId::kPurposeCode, r.purpose_code());
  number(FieldId::kDeclaredPurpose, r.declared_purpose());
  number(FieldId::kLegalProcess, r.legal_process());
  number(FieldId::kOutcome, r.outcome());
  number(FieldId::kImageRequested, r.image_requested() ? 1 : 0);
  number(FieldId::kHasLegalDoc, r.legal_doc_commit().empty() ? 0 : 1);
  number(FieldId::kHasCaseRef, r.case_ref_commit().empty() ? 0 : 1);
  v.signer = facts.signer.has_value();
  if (v.signer) {
    text(FieldId::kSignerOri, facts.signer->ori);
    number(FieldId::kSignerAgencyClass, facts.signer->agency_class);
    text(FieldId::kSignerState, facts.signer->state);
  } else {
    number(FieldId::kSignerAgencyClass, vigil::v1::AGENCY_CLASS_UNSPECIFIED);
  }
  number(FieldId::kSignerRegistered, v.signer ? 1 : 0);
  v.requester = facts.requester.has_value();
  if (v.requester) {
    number(FieldId::kRequesterAgencyClass, facts.requester->agency_class);
    text(FieldId::kRequesterState, facts.requester->state);
  } else {
    number(FieldId::kRequesterAgencyClass, vigil::v1::AGENCY_CLASS_UNSPECIFIED);
  }
  number(FieldId::kRequesterRegistered, v.requester ? 1 : 0);
  return v;
}

// `pattern` over all of `text`: '?' is any one byte, '*' any run of bytes.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool Eval(const std::vector<Node>& nodes, uint32_t i, const View& v) {
  const Node& n = nodes[i];
  const size_t f = static_cast<size_t>(n.field);
  switch (n.op) {
    case Op::kAll:
      for (uint32_t c = i + 1; c < n.end; c = nodes[c].end) {
        if (!Eval(nodes, c, v)) return false;
      }
      return true;
    case Op::kAny:
      for (uint32_t c = i + 1; c < n.end; c = nodes[c].end) {
        if (Eval(nodes, c, v)) return true;
      }
      return false;
    case Op::kNot:
      return !Eval(nodes, i + 1, v);
    case Op::kStringIn:
      for (const std::string& s : n.strings) {
        if (v.text[f] == s) return true;
      }
      return false;
    case Op::kStringEmpty:
      return v.text[f].empty() == n.flag;
    case Op::kStringPrefix:
      for (const std::string& s : n.strings) {
        if (v.text[f].starts_with(s)) return true;
      }
      return false;
    case Op::kStringGlob:
      return GlobMatch(n.strings[0], v.text[f]);
    case Op::kEnumIn:
      return (v.bits[f] & n.mask) != 0;
    case Op::kEnumEmpty:
      return (v.number[f] == 0) == n.flag;
    case Op::kSetEquals:
      return v.bits[f] == n.mask;
    case Op::kSetAnyOf:
      return (v.bits[f] & n.mask) != 0;
    case Op::kSetAllIn:
      return (v.bits[f] & ~n.mask) == 0;
    case Op::kSetNoneOf:
      return (v.bits[f] & n.mask) == 0;
    case Op::kSetEmpty:
      return (v.bits[f] == 0) == n.flag;
    case Op::kBoolEquals:
      return (v.number[f] != 0) == n.flag;
    case Op::kIntEquals:
      return v.number[f] == n.number;
    case Op::kIntAtLeast:
      return v.number[f] >= n.number;
    case Op::kIntBelow:
      return v.number[f] < n.number;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Loading.

std::string_view JsonTypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an unknown JSON value";
  }
}

std::string Expected(std::string_view what, const Json& value) {
  return absl::StrFormat("expected %s, not %s", what, JsonTypeName(value));
}

bool IsValidRuleName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRuleNameBytes) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
}

constexpr std::string_view kOperators[] = {
    "equals", "in",          "any_of",  "all_in",   "none_of",
    "empty",  "starts_with", "matches", "at_least", "below",
};

bool IsOperator(std::string_view key) {
  for (std::string_view op : kOperators) {
    if (op == key) return true;
  }
  return false;
}

std::string_view OperatorsFor(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "equals, in, empty, starts_with, matches";
    case FieldType::kEnum:
      return "equals, in, empty";
    case FieldType::kEnumSet:
      return "equals, any_of, all_in, none_of, empty";
    case FieldType::kBool:
      return "equals";
    case FieldType::kInt:
      return "equals, at_least, below";
  }
  return "";
}

// Compiles the conditions of one rule; every error names the source, the
// rule and the key path.
class RuleCompiler {
 public:
  RuleCompiler(std::string_view source, std::string rule_label)
      : source_(source), rule_label_(std::move(rule_label)) {}

  absl::Status Error(std::string_view path, std::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %s: key %s: %s", source_, rule_label_,
                        QuoteForError(path), message));
  }

  absl::Status Condition(const Json& cond, const std::string& path, int depth,
                         std::vector<Node>* nodes) const {
    if (depth > kMaxDepth) {
      return Error(
          path, absl::StrFormat("conditions nested deeper than %d", kMaxDepth));
    }
    if (!cond.is_object()) {
      return Error(path, Expected("a condition object", cond));
    }
    if (cond.contains("field")) return Predicate(cond, path, nodes);
    if (cond.empty()) {
      return Error(path,
                   "empty condition: expected one key of all, any, not "
                   "or field");
    }
    std::string kind;
    for (const auto& [key, value] : cond.items()) {
      if (key != "all" && key != "any" && key != "not") {
        return Error(absl::StrCat(path, ".", key),
                     IsOperator(key)
                         ? "operator without a \"field\""
                         : "unknown key: a condition is one of all, any, "
                           "not or a predicate with field");
      }
      if (!kind.empty()) {
        return Error(absl::StrCat(path, ".", key),
                     absl::StrFormat("a condition holds one of all, any and "
                                     "not, and this one also has %s",
                                     kind));
      }
      kind = key;
    }
    const Json& body = cond.at(kind);
    const std::string body_path = absl::StrCat(path, ".", kind);
    const uint32_t self = static_cast<uint32_t>(nodes->size());
    nodes->emplace_back();
    nodes->back().op = kind == "all"   ? Op::kAll
                       : kind == "any" ? Op::kAny
                                       : Op::kNot;
    if (kind == "not") {
      if (absl::Status s = Condition(body, body_path, depth + 1, nodes);
          !s.ok()) {
        return s;
      }
    } else {
      if (!body.is_array()) {
        return Error(body_path, Expected("an array of conditions", body));
      }
      if (body.empty()) {
        return Error(body_path, "empty list of conditions");
      }
      for (size_t i = 0; i < body.size(); ++i) {
        if (absl::Status s =
                Condition(body[i], absl::StrCat(body_path, "[", i, "]"),
                          depth + 1, nodes);
            !s.ok()) {
          return s;
        }
      }
    }
    (*nodes)[self].end = static_cast<uint32_t>(nodes->size());
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<int> EnumValue(const FieldSpec& spec, const Json& value,
                                const std::string& path) const {
    if (!value.is_string()) {
      return Error(path, Expected(absl::StrCat("a ", spec.descriptor()->name(),
                                               " name (a string)"),
                                  value));
    }
    const std::string& name = value.get_ref<const std::string&>();
    const EnumValueDescriptor* found = spec.descriptor()->FindValueByName(name);
    if (found == nullptr) {
      return Error(path, absl::StrFormat("unknown %s name %s for field %s",
                                         spec.descriptor()->name(),
                                         QuoteForError(name), spec.name));
    }
    if (found->number() < 0 || found->number() >= kUnknownBit) {
      return Error(path,
                   absl::StrFormat("%s value %d is out of range",
                                   spec.descriptor()->name(), found->number()));
    }
    return found->number();
  }

  // The bit mask of a non-empty array of enum names.
  absl::StatusOr<uint64_t> EnumMask(const FieldSpec& spec, const Json& value,
                                    const std::string& path) const {
    if (!value.is_array()) {
      return Error(
          path, Expected(absl::StrCat("an array of ", spec.descriptor()->name(),
                                      " names"),
                         value));
    }
    if (value.empty()) return Error(path, "empty list");
    uint64_t mask = 0;
    for (size_t i = 0; i < value.size(); ++i) {
      absl::StatusOr<int> v =
          EnumValue(spec, value[i], absl::StrCat(path, "[", i, "]"));
      if (!v.ok()) return v.status();
      mask |= Bit(*v);
    }
    return mask;
  }

  // A non-empty array of strings, or (if `allow_single`) one string.
  absl::StatusOr<std::vector<std::string>> Strings(const Json& value,
                                                   const std::string& path,
                                                   bool allow_single) const {
    if (allow_single && value.is_string()) {
      return std::vector<std::string>{value.get<std::string>()};
    }
    if (!value.is_array()) {
      return Error(path,
                   Expected(allow_single ? "a string or an array of strings"
                                         : "an array of strings",
                            value));
    }
    if (value.empty()) return Error(path, "empty list");
    std::vector<std::string> out;
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string()) {
        return Error(absl::StrCat(path, "[", i, "]"),
                     Expected("a string", value[i]));
      }
      out.push_back(value[i].get<std::string>());
    }
    return out;
  }

  absl::Status Predicate(const Json& cond, const std::string& path,
                         std::vector<Node>* nodes) const {
    const Json& field_value = cond.at("field");
    const std::string field_path = absl::StrCat(path, ".field");
    if (!field_value.is_string()) {
      return Error(field_path,
                   Expected("a field name (a string)", field_value));
    }
    const std::string& field_name = field_value.get_ref<const std::string&>();
    const std::optional<FieldId> field = FieldByName(field_name);
    if (!field.has_value()) {
      return Error(field_path,
                   absl::StrFormat("unknown field %s (see docs/policy.md)",
                                   QuoteForError(field_name)));
    }
    const FieldSpec& spec = Spec(*field);
    std::string op_name;
    for (const auto& [key, unused] : cond.items()) {
      if (key == "field") continue;
      const std::string key_path = absl::StrCat(path, ".", key);
      if (!IsOperator(key)) {
        return Error(
            key_path,
            key == "all" || key == "any" || key == "not"
                ? "a predicate (with field) cannot also be " + key
                : absl::StrFormat("unknown operator; expected one of %s",
                                  OperatorsFor(spec.type)));
      }
      if (!op_name.empty()) {
        return Error(key_path,
                     absl::StrFormat("a predicate has one operator, and this "
                                     "one also has %s",
                                     op_name));
      }
      op_name = key;
    }
    if (op_name.empty()) {
      return Error(path,
                   absl::StrFormat("predicate on %s has no operator; expected "
                                   "one of %s",
                                   spec.name, OperatorsFor(spec.type)));
    }
    const Json& value = cond.at(op_name);
    const std::string op_path = absl::StrCat(path, ".", op_name);
    Node node;
    node.field = *field;
    const auto not_defined = [&] {
      return Error(op_path,
                   absl::StrFormat("operator %s is not defined on field %s "
                                   "(%s); use one of %s",
                                   op_name, spec.name, TypeName(spec.type),
                                   OperatorsFor(spec.type)));
    };
    const auto want_bool = [&]() -> absl::Status {
      if (!value.is_boolean())
        return Error(op_path, Expected("true or false", value));
      node.flag = value.get<bool>();
      return absl::OkStatus();
    };
    const auto want_int = [&]() -> absl::Status {
      if (!value.is_number_integer()) {
        return Error(op_path, Expected("an integer", value));
      }
      if (value.is_number_unsigned() &&
          value.get<uint64_t>() >
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Error(op_path, "integer out of range");
      }
      node.number = value.get<int64_t>();
      return absl::OkStatus();
    };
    absl::Status status;
    switch (spec.type) {
      case FieldType::kString:
        if (op_name == "equals") {
          if (!value.is_string()) {
            return Error(op_path, Expected("a string", value));
          }
          node.op = Op::kStringIn;
          node.strings.push_back(value.get<std::string>());
        } else if (op_name == "in") {
          absl::StatusOr<std::vector<std::string>> s =
              Strings(value, op_path, /*allow_single=*/false);
          if (!s.ok()) return s.status();
          node.op = Op::kStringIn;
          node.strings = *std::move(s);
        } else if (op_name == "empty") {
          node.op = Op::kStringEmpty;
          status = want_bool();
        } else if (op_name == "starts_with") {
          absl::StatusOr<std::vector<std::string>> s =
              Strings(value, op_path, /*allow_single=*/true);
          if (!s.ok()) return s.status();
          for (const std::string& prefix : *s) {
            if (prefix.empty()) return Error(op_path, "empty prefix");
          }
          node.op = Op::kStringPrefix;
          node.strings = *std::move(s);
        } else if (op_name == "matches") {
          if (!value.is_string()) {
            return Error(op_path, Expected("a pattern (a string)", value));
          }
          if (value.get_ref<const std::string&>().empty()) {
            return Error(op_path, "empty pattern");
          }
          node.op = Op::kStringGlob;
          node.strings.push_back(value.get<std::string>());
        } else {
          return not_defined();
        }
        break;
      case FieldType::kEnum:
        if (op_name == "equals") {
          absl::StatusOr<int> v = EnumValue(spec, value, op_path);
          if (!v.ok()) return v.status();
          node.op = Op::kEnumIn;
          node.mask = Bit(*v);
        } else if (op_name == "in") {
          absl::StatusOr<uint64_t> mask = EnumMask(spec, value, op_path);
          if (!mask.ok()) return mask.status();
          node.op = Op::kEnumIn;
          node.mask = *mask;
        } else if (op_name == "empty") {
          node.op = Op::kEnumEmpty;
          status = want_bool();
        } else {
          return not_defined();
        }
        break;
      case FieldType::kEnumSet:
        if (op_name == "empty") {
          node.op = Op::kSetEmpty;
          status = want_bool();
          break;
        }
        if (op_name == "equals") {
          node.op = Op::kSetEquals;
        } else if (op_name == "any_of") {
          node.op = Op::kSetAnyOf;
        } else if (op_name == "all_in") {
          node.op = Op::kSetAllIn;
        } else if (op_name == "none_of") {
          node.op = Op::kSetNoneOf;
        } else {
          return not_defined();
        }
        {
          absl::StatusOr<uint64_t> mask = EnumMask(spec, value, op_path);
          if (!mask.ok()) return mask.status();
          node.mask = *mask;
        }
        break;
      case FieldType::kBool:
        if (op_name != "equals") return not_defined();
        node.op = Op::kBoolEquals;
        status = want_bool();
        break;
      case FieldType::kInt:
        if (op_name == "equals") {
          node.op = Op::kIntEquals;
        } else if (op_name == "at_least") {
          node.op = Op::kIntAtLeast;
        } else if (op_name == "below") {
          node.op = Op::kIntBelow;
        } else {
          return not_defined();
        }
        status = want_int();
        break;
    }
    if (!status.ok()) return status;
    node.end = static_cast<uint32_t>(nodes->size() + 1);
    nodes->push_back(std::move(node));
    return absl::OkStatus();
  }

  std::string_view source_;
  std::string rule_label_;
};

absl::StatusOr<Rule> CompileRule(const Json& json, size_t index,
                                 std::string_view source) {
  std::string label = absl::StrCat("rule #", index + 1);
  if (json.is_object()) {
    if (auto it = json.find("name");
        it != json.end() && it->is_string() &&
        IsValidRuleName(it->get_ref<const std::string&>())) {
      label = absl::StrCat("rule \"", it->get_ref<const std::string&>(), "\"");
    }
  }
  const RuleCompiler compiler(source, label);
  if (!json.is_object()) {
    return compiler.Error(absl::StrCat("rules[", index, "]"),
                          Expected("a rule object", json));
  }
  for (const auto& [key, unused] : json.items()) {
    if (key != "name" && key != "description" && key != "law" &&
        key != "severity" && key != "when") {
      return compiler.Error(key,
                            "unknown key; a rule has name, description, law, "
                            "severity and when");
    }
  }
  Rule rule;
  rule.source = std::string(source);
  for (const auto& [key, out] :
       {std::pair<std::string_view, std::string*>{"name", &rule.name},
        {"description", &rule.description},
        {"law", &rule.law},
        {"severity", &rule.severity}}) {
    auto it = json.find(std::string(key));
    if (it == json.end()) return compiler.Error(key, "missing");
    if (!it->is_string()) return compiler.Error(key, Expected("a string", *it));
    *out = it->get<std::string>();
    if (out->empty()) return compiler.Error(key, "empty");
  }
  if (!IsValidRuleName(rule.name)) {
    return compiler.Error(
        "name", absl::StrFormat("rule name %s must be 1..%d of [A-Za-z0-9._/-]",
                                QuoteForError(rule.name), kMaxRuleNameBytes));
  }
  if (rule.name.starts_with("vigil/")) {
    return compiler.Error("name",
                          "names starting with \"vigil/\" are reserved for "
                          "the monitor's own checks");
  }
  if (rule.severity != "violation" && rule.severity != "warning") {
    return compiler.Error("severity",
                          absl::StrFormat("severity %s is not \"violation\" or "
                                          "\"warning\"",
                                          QuoteForError(rule.severity)));
  }
  auto when = json.find("when");
  if (when == json.end()) return compiler.Error("when", "missing");
  auto compiled = std::make_shared<CompiledCondition>();
  if (absl::Status s = compiler.Condition(*when, "when", 1, &compiled->nodes);
      !s.ok()) {
    return s;
  }
  rule.when = std::move(compiled);
  return rule;
}

// ---------------------------------------------------------------------------
// Explaining.

std::string Printable(std::string_view s) {
  if (s.empty()) return "(empty)";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x21 && c <= 0x7e) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  return out;
}

std::string EnumName(const EnumDescriptor* descriptor, int64_t value) {
  if (value >= std::numeric_limits<int>::min() &&
      value <= std::numeric_limits<int>::max()) {
    if (const EnumValueDescriptor* v =
            descriptor->FindValueByNumber(static_cast<int>(value));
        v != nullptr) {
      return v->name();
    }
  }
  return absl::StrCat(value);
}

// The names of the bits of `mask`, in enum order, joined by commas.
std::string MaskNames(const EnumDescriptor* descriptor, uint64_t mask) {
  if (mask == 0) return "(none)";
  std::vector<std::string> names;
  for (int b = 0; b < kUnknownBit; ++b) {
    if ((mask & (uint64_t{1} << b)) != 0) {
      names.push_back(EnumName(descriptor, b));
    }
  }
  if ((mask & (uint64_t{1} << kUnknownBit)) != 0) names.push_back("(unknown)");
  return absl::StrJoin(names, ",");
}

std::string DisplayName(FieldId id) {
  std::string name(Spec(id).name);
  for (char& c : name) {
    if (c == '.') c = ' ';
  }
  return name;
}

// "field value (why)", for a predicate that evaluated to `result`.
std::string Describe(const Node& n, const View& v, bool result) {
  const FieldSpec& spec = Spec(n.field);
  const size_t f = static_cast<size_t>(n.field);
  if ((IsSignerField(n.field) && !v.signer) ||
      (IsRequesterField(n.field) && !v.requester)) {
    return IsSignerField(n.field) ? "signer not registered"
                                  : "requester not registered";
  }
  if (n.field == FieldId::kSignerRegistered) return "signer registered";
  if (n.field == FieldId::kRequesterRegistered) return "requester registered";

  std::string out = absl::StrCat(DisplayName(n.field), " ");
  switch (spec.type) {
    case FieldType::kString:
      absl::StrAppend(&out, Printable(v.text[f]));
      break;
    case FieldType::kEnum:
      absl::StrAppend(&out, EnumName(spec.descriptor(), v.number[f]));
      break;
    case FieldType::kEnumSet:
      absl::StrAppend(&out, MaskNames(spec.descriptor(), v.bits[f]));
      break;
    case FieldType::kBool:
      absl::StrAppend(&out, v.number[f] != 0 ? "true" : "false");
      break;
    case FieldType::kInt:
      absl::StrAppend(&out, v.number[f]);
      break;
  }
  const auto names = [&](uint64_t mask) {
    return MaskNames(spec.descriptor(), mask);
  };
  const auto strings = [&](const char* sep) {
    std::vector<std::string> shown;
    for (const std::string& s : n.strings) shown.push_back(Printable(s));
    return absl::StrJoin(shown, sep);
  };
  switch (n.op) {
    case Op::kStringIn:
      if (!result) absl::StrAppend(&out, " (not ", strings(" or "), ")");
      break;
    case Op::kStringPrefix:
      absl::StrAppend(&out,
                      result ? " (starts with " : " (does not start with ",
                      strings(" or "), ")");
      break;
    case Op::kStringGlob:
      absl::StrAppend(&out, result ? " (matches " : " (does not match ",
                      Printable(n.strings[0]), ")");
      break;
    case Op::kEnumIn:
      if (!result) {
        std::string list = names(n.mask);
        for (char& c : list) {
          if (c == ',') c = '/';
        }
        absl::StrAppend(&out, " (not ", list, ")");
      }
      break;
    case Op::kSetEquals:
      if (!result) absl::StrAppend(&out, " (not exactly ", names(n.mask), ")");
      break;
    case Op::kSetAnyOf:
    case Op::kSetNoneOf: {
      const bool includes = (n.op == Op::kSetAnyOf) == result;
      absl::StrAppend(
          &out,
          includes ? absl::StrCat(" (includes ", names(v.bits[f] & n.mask), ")")
                   : absl::StrCat(" (none of ", names(n.mask), ")"));
      break;
    }
    case Op::kSetAllIn:
      absl::StrAppend(&out, result ? " (only " : " (not only ", names(n.mask),
                      ")");
      break;
    case Op::kIntEquals:
      if (!result) absl::StrAppend(&out, " (not ", n.number, ")");
      break;
    case Op::kIntAtLeast:
      absl::StrAppend(&out, result ? " (>= " : " (< ", n.number, ")");
      break;
    case Op::kIntBelow:
      absl::StrAppend(&out, result ? " (< " : " (>= ", n.number, ")");
      break;
    default:
      break;  // The value itself says it: empty, enum empty, booleans.
  }
  return out;
}

// Appends the reasons why node i evaluated to `result`.
void Reasons(const std::vector<Node>& nodes, uint32_t i, const View& v,
             bool result, std::vector<std::string>* out) {
  const Node& n = nodes[i];
  switch (n.op) {
    case Op::kAll:
    case Op::kAny: {
      // all=true and any=false: every child decided; otherwise the first
      // child with the deciding value did.
      const bool every = (n.op == Op::kAll) == result;
      for (uint32_t c = i + 1; c < n.end; c = nodes[c].end) {
        const bool child = Eval(nodes, c, v);
        if (every || child == result) Reasons(nodes, c, v, child, out);
        if (!every && child == result) return;
      }
      return;
    }
    case Op::kNot:
      Reasons(nodes, i + 1, v, !result, out);
      return;
    default: {
      std::string reason = Describe(n, v, result);
      for (const std::string& seen : *out) {
        if (seen == reason) return;
      }
      out->push_back(std::move(reason));
      return;
    }
  }
}

}  // namespace

absl::StatusOr<Policy> Policy::Load(std::string_view json_text,
                                    std::string_view source_name) {
  // nlohmann keeps the last of repeated keys; find repeats with the parse
  // callback, one key set per open object or array. Objects opened inside
  // the rules array (depth 2) count rules, to say where a repeat was.
  std::vector<std::set<std::string>> open;
  std::optional<std::string> duplicate;
  size_t objects_in_rules = 0;
  size_t duplicate_rule = 0;
  const Json::parser_callback_t callback =
      [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
        using Event = Json::parse_event_t;
        switch (event) {
          case Event::object_start:
            if (open.size() == 2) ++objects_in_rules;
            open.emplace_back();
            break;
          case Event::array_start:
            open.emplace_back();
            break;
          case Event::object_end:
          case Event::array_end:
            if (!open.empty()) open.pop_back();
            break;
          case Event::key:
            if (const auto* key = parsed.get_ptr<const std::string*>();
                key != nullptr && !open.empty() &&
                !open.back().insert(*key).second && !duplicate.has_value()) {
              duplicate = *key;
              duplicate_rule = open.size() >= 3 ? objects_in_rules : 0;
            }
            break;
          case Event::value:
            break;
        }
        return true;
      };
  const Json doc = Json::parse(json_text.begin(), json_text.end(), callback,
                               /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: not valid JSON (a syntax error or invalid UTF-8)", source_name));
  }
  if (duplicate.has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %skey %s: repeated", source_name,
        duplicate_rule > 0 ? absl::StrCat("rule #", duplicate_rule, ": ") : "",
        QuoteForError(*duplicate)));
  }
  const auto error = [&](std::string_view key, std::string_view message) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: key %s: %s", source_name, QuoteForError(key), message));
  };
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %s", source_name, Expected("a rules file object", doc)));
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "format" && key != "description" && key != "rules") {
      return error(key,
                   "unknown key; a rules file has format, description and "
                   "rules");
    }
    if (key == "description" && !value.is_string()) {
      return error(key, Expected("a string", value));
    }
  }
  auto format = doc.find("format");
  if (format == doc.end()) {
    return error("format",
                 absl::StrFormat("missing; expected \"%s\"", kFormat));
  }
  if (!format->is_string() ||
      format->get_ref<const std::string&>() != kFormat) {
    return error("format", absl::StrFormat("expected \"%s\"", kFormat));
  }
  auto rules = doc.find("rules");
  if (rules == doc.end()) return error("rules", "missing");
  if (!rules->is_array()) {
    return error("rules", Expected("an array of rules", *rules));
  }
  Policy policy;
  std::map<std::string, size_t, std::less<>> seen;
  for (size_t i = 0; i < rules->size(); ++i) {
    absl::StatusOr<Rule> rule = CompileRule((*rules)[i], i, source_name);
    if (!rule.ok()) return rule.status();
    if (auto [it, inserted] = seen.emplace(rule->name, i); !inserted) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: rule \"%s\": key \"name\": repeated rule name (also rule #%d)",
          source_name, rule->name, it->second + 1));
    }
    policy.rules_.push_back(*std::move(rule));
  }
  return policy;
}

absl::StatusOr<Policy> Policy::LoadFiles(
    const std::vector<std::string>& paths) {
  std::vector<Policy> parts;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(absl::StrFormat(
          "cannot read rules file %s: %s", path, std::strerror(errno)));
    }
    std::string text;
    char buffer[64 * 1024];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      text.append(buffer, static_cast<size_t>(in.gcount()));
      if (text.size() > kMaxFileBytes) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: larger than %d bytes", path, kMaxFileBytes));
      }
    }
    if (in.bad()) {
      return absl::NotFoundError(
          absl::StrFormat("cannot read rules file %s", path));
    }
    absl::StatusOr<Policy> part = Load(text, path);
    if (!part.ok()) return part.status();
    parts.push_back(*std::move(part));
  }
  return Merge(std::move(parts));
}

absl::StatusOr<Policy> Policy::Merge(std::vector<Policy> policies) {
  Policy merged;
  std::map<std::string, std::string, std::less<>> sources;
  for (Policy& part : policies) {
    for (Rule& rule : part.rules_) {
      if (auto [it, inserted] = sources.emplace(rule.name, rule.source);
          !inserted) {
        return absl::InvalidArgumentError(
            absl::StrFormat("rule \"%s\" is defined in both %s and %s",
                            rule.name, it->second, rule.source));
      }
      merged.rules_.push_back(std::move(rule));
    }
  }
  return merged;
}

std::vector<const Rule*> Policy::Evaluate(const vigil::v1::AccessRecord& record,
                                          const RegistryFacts& facts) const {
  std::vector<const Rule*> matched;
  if (rules_.empty()) return matched;
  const View view = MakeView(record, facts);
  for (const Rule& rule : rules_) {
    if (Eval(rule.when->nodes, 0, view)) matched.push_back(&rule);
  }
  return matched;
}

std::string Explain(const Rule& rule, const vigil::v1::AccessRecord& record,
                    const RegistryFacts& facts) {
  const View view = MakeView(record, facts);
  const std::vector<Node>& nodes = rule.when->nodes;
  std::vector<std::string> reasons;
  Reasons(nodes, 0, view, Eval(nodes, 0, view), &reasons);
  return absl::StrJoin(reasons, "; ");
}

}  // namespace vigil::client
