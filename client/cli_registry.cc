// The registry operator's subcommands: register, rotate and revoke agency
// keys (each change an entry of the log, signed with the registry key), and
// list the registry.

#include <sodium.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/cli.h"
#include "client/signing.h"
#include "merkle/encoding.h"
#include "merkle/note.h"
#include "server/files.h"
#include "vigil/v1/record.pb.h"

namespace vigil::client::cli {
namespace {

absl::StatusOr<merkle::Ed25519PrivateKey> LoadRegistryKey(
    const std::string& path) {
  absl::StatusOr<merkle::SignerKey> parsed = LoadSignerKey(path);
  if (!parsed.ok()) return parsed.status();
  return merkle::Ed25519PrivateKey::FromSeed(parsed->seed);
}

// An agency's public key, from its verifier key file (keygen --kind
// agency): the key and its name, the agency's ORI.
absl::StatusOr<merkle::Ed25519Verifier> LoadAgencyVerifier(
    const std::string& path) {
  absl::StatusOr<std::string> vkey = server::ReadKeyFile(path, false);
  if (!vkey.ok()) return vkey.status();
  absl::StatusOr<merkle::Ed25519Verifier> verifier =
      merkle::Ed25519Verifier::FromVerifierKey(*vkey);
  if (!verifier.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %s", path, verifier.status().message()));
  }
  return verifier;
}

std::string KeyBytes(const merkle::Ed25519Verifier& v) {
  return std::string(v.public_key().begin(), v.public_key().end());
}

struct ChangeFlags {
  std::string registry_key;
  std::string agency_key;  // register, revoke
  std::string new_key;     // rotate
  std::string agency_class;
  std::string agency_name;
  std::string state;
  std::string ori;
  std::string reason;
};

int SubmitChange(const std::string& action, const ChangeFlags& flags,
                 const LogFlags& log) {
  const Output& out = log.out;
  absl::StatusOr<merkle::Ed25519PrivateKey> registry =
      LoadRegistryKey(flags.registry_key);
  if (!registry.ok()) return out.Fail(registry.status());
  absl::StatusOr<merkle::Ed25519Verifier> agency =
      LoadAgencyVerifier(flags.agency_key);
  if (!agency.ok()) return out.Fail(agency.status());
  vigil::v1::RegistryChange change;
  change.set_change_time_centis(absl::ToUnixMillis(absl::Now()) / 10);
  std::string what;
  if (action == "register") {
    vigil::v1::AgencyClass agency_class;
    if (!vigil::v1::AgencyClass_Parse(flags.agency_class, &agency_class) ||
        agency_class == vigil::v1::AGENCY_CLASS_UNSPECIFIED) {
      return out.Fail(absl::InvalidArgumentError(
          absl::StrFormat("--class %s is not an agency class",
                          merkle::QuoteForError(flags.agency_class))));
    }
    auto* reg = change.mutable_register_();
    reg->set_ori(flags.ori.empty() ? std::string(agency->name()) : flags.ori);
    reg->set_agency_class(agency_class);
    reg->set_agency_name(flags.agency_name);
    reg->set_state(flags.state);
    reg->set_public_key(KeyBytes(*agency));
    what = absl::StrFormat("registered %s (%s) with key %s", reg->ori(),
                           flags.agency_class,
                           merkle::HexEncode(agency->public_key()));
  } else if (action == "rotate") {
    absl::StatusOr<merkle::Ed25519Verifier> next =
        LoadAgencyVerifier(flags.new_key);
    if (!next.ok()) return out.Fail(next.status());
    auto* rotate = change.mutable_rotate();
    rotate->set_old_public_key(KeyBytes(*agency));
    rotate->set_new_public_key(KeyBytes(*next));
    what = absl::StrFormat("replaced key %s by %s",
                           merkle::HexEncode(agency->public_key()),
                           merkle::HexEncode(next->public_key()));
  } else {
    auto* revoke = change.mutable_revoke();
    revoke->set_public_key(KeyBytes(*agency));
    revoke->set_reason(flags.reason);
    what = absl::StrFormat("revoked key %s",
                           merkle::HexEncode(agency->public_key()));
  }
  absl::StatusOr<std::unique_ptr<LogClient>> client = log.Connect();
  if (!client.ok()) return out.Fail(client.status());
  const SubmitResult result =
      (*client)->SubmitRegistryChange(SignRegistryChange(change, *registry));
  if (!result.status.ok()) return out.Fail(result.status);
  return out.Done(
      absl::StrFormat("%s at log index %d%s\n", what, result.index,
                      result.duplicate ? " (already in the log)" : ""),
      Json{{"action", action},
           {"index", result.index},
           {"duplicate", result.duplicate},
           {"leaf_hash", merkle::HexEncode(result.leaf_hash)}});
}

int List(const LogFlags& log) {
  const Output& out = log.out;
  absl::StatusOr<std::unique_ptr<LogClient>> client = log.Connect();
  if (!client.ok()) return out.Fail(client.status());
  absl::StatusOr<std::vector<vigil::v1::AgencyKey>> keys =
      (*client)->ListAgencyKeys();
  if (!keys.ok()) return out.Fail(keys.status());
  std::string text;
  Json json = Json::array();
  for (const vigil::v1::AgencyKey& k : *keys) {
    const std::string class_name = vigil::v1::AgencyClass_Name(
        static_cast<vigil::v1::AgencyClass>(k.agency_class()));
    const std::string key_hex =
        merkle::HexEncode(merkle::AsBytes(k.public_key()));
    text += absl::StrFormat(
        "%s %-20s %s key %s registered at %d%s\n", k.ori(), class_name,
        merkle::QuoteForError(k.agency_name()), key_hex, k.registered_at(),
        k.revoked() ? absl::StrFormat(", revoked at %d", k.revoked_at()) : "");
    Json entry{{"ori", k.ori()},
               {"agency_class", class_name},
               {"agency_name", k.agency_name()},
               {"state", k.state()},
               {"public_key_hex", key_hex},
               {"registered_at", k.registered_at()},
               {"revoked", k.revoked()}};
    if (k.revoked()) entry["revoked_at"] = k.revoked_at();
    json.push_back(std::move(entry));
  }
  return out.Done(text, Json{{"keys", json}});
}

}  // namespace

void AddRegistryCommand(CLI::App& app, int* exit_code) {
  CLI::App* registry = app.add_subcommand(
      "registry",
      "The registry operator's changes to the agency registry, and a list "
      "of it");
  registry->require_subcommand(1);
  struct Flags {
    ChangeFlags change;
    LogFlags log;
  };
  for (const char* action : {"register", "rotate", "revoke"}) {
    auto flags = std::make_shared<Flags>();
    const std::string name = action;
    CLI::App* cmd = registry->add_subcommand(
        name, name == "register" ? "Register an agency's key"
              : name == "rotate" ? "Replace an agency's key by a new one"
                                 : "Revoke an agency's key");
    cmd->add_option("--registry-key", flags->change.registry_key,
                    "the registry operator's signer key file")
        ->required();
    cmd->add_option("--agency-key", flags->change.agency_key,
                    name == "rotate" ? "the agency's current verifier key file"
                                     : "the agency's verifier key file")
        ->required();
    if (name == "register") {
      cmd->add_option("--class", flags->change.agency_class,
                      "the agency class, e.g. LOCAL_POLICE")
          ->required();
      cmd->add_option("--agency-name", flags->change.agency_name,
                      "the agency's name")
          ->required();
      cmd->add_option("--agency-state", flags->change.state,
                      "the agency's two-letter state code");
      cmd->add_option("--ori", flags->change.ori,
                      "the agency's ORI (default: the key's name)");
    } else if (name == "rotate") {
      cmd->add_option("--new-key", flags->change.new_key,
                      "the agency's new verifier key file")
          ->required();
    } else {
      cmd->add_option("--reason", flags->change.reason, "why");
    }
    flags->log.AddTo(cmd);
    cmd->callback([flags, exit_code, name] {
      *exit_code = SubmitChange(name, flags->change, flags->log);
    });
  }
  auto flags = std::make_shared<Flags>();
  CLI::App* list =
      registry->add_subcommand("list", "List the agency keys the log holds");
  flags->log.AddTo(list);
  list->callback([flags, exit_code] { *exit_code = List(flags->log); });
}

}  // namespace vigil::client::cli
