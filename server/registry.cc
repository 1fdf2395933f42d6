#include "server/registry.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/str_format.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "server/entry.h"
#include "server/record_checks.h"

namespace vigil::server {
namespace {

// A key for messages: hex of its first 8 bytes.
std::string KeyLabel(std::string_view key) {
  return merkle::HexEncode(merkle::AsBytes(key.substr(0, 8)));
}

// "key 0123456789abcdef (ORI WA0000000)" for a known key.
std::string KeyAndOri(const vigil::v1::AgencyKey& key) {
  return absl::StrFormat("key %s (ORI %s)", KeyLabel(key.public_key()),
                         merkle::QuoteForError(key.ori()));
}

std::string Serialize(const vigil::v1::AgencyKey& key) {
  return CanonicalPayload(key);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Registry>> Registry::Load(
    std::span<const std::pair<std::string, std::string>> records) {
  std::map<std::string, vigil::v1::AgencyKey, std::less<>> keys;
  for (const auto& [key, bytes] : records) {
    if (key.size() != kEntryPublicKeySize) {
      return absl::DataLossError(
          absl::StrFormat("registry record key %s is %d bytes, want %d",
                          KeyLabel(key), key.size(), kEntryPublicKeySize));
    }
    vigil::v1::AgencyKey agency;
    if (!agency.ParseFromString(bytes)) {
      return absl::DataLossError(absl::StrFormat(
          "registry record of key %s does not parse as vigil.v1.AgencyKey",
          KeyLabel(key)));
    }
    if (agency.public_key() != key) {
      return absl::DataLossError(absl::StrFormat(
          "registry record stored under key %s holds public_key %s",
          KeyLabel(key), KeyLabel(agency.public_key())));
    }
    if (!keys.emplace(key, std::move(agency)).second) {
      return absl::DataLossError(absl::StrFormat(
          "registry record of key %s appears twice", KeyLabel(key)));
    }
  }
  std::unique_ptr<Registry> registry(new Registry());
  {
    absl::MutexLock lock(&registry->mu_);
    registry->keys_ = std::move(keys);
  }
  return registry;
}

std::optional<vigil::v1::AgencyKey> Registry::Find(
    std::string_view public_key) const {
  absl::MutexLock lock(&mu_);
  const auto it = keys_.find(public_key);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

std::vector<vigil::v1::AgencyKey> Registry::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<vigil::v1::AgencyKey> out;
  out.reserve(keys_.size());
  for (const auto& [key, agency] : keys_) out.push_back(agency);
  return out;
}

Registry::Staging Registry::Stage() const { return Staging(this); }

void Registry::Commit(const Staging& staging) {
  assert(staging.registry_ == this);
  absl::MutexLock lock(&mu_);
  for (const auto& [key, agency] : staging.changed_) keys_[key] = agency;
}

std::optional<vigil::v1::AgencyKey> Registry::Staging::Find(
    std::string_view public_key) const {
  const auto it = changed_.find(public_key);
  if (it != changed_.end()) return it->second;
  return registry_->Find(public_key);
}

absl::Status Registry::Staging::Apply(const vigil::v1::RegistryChange& change,
                                      uint64_t index) {
  absl::Status s = CheckRegistryChange(change);
  if (!s.ok()) return s;
  switch (change.change_case()) {
    case vigil::v1::RegistryChange::kRegister: {
      const vigil::v1::RegisterAgencyKey& r = change.register_();
      if (const auto existing = Find(r.public_key())) {
        return absl::AlreadyExistsError(absl::StrFormat(
            "cannot register %s for ORI %s: the key is already registered "
            "to that agency%s; a key is never reused",
            KeyAndOri(*existing), merkle::QuoteForError(r.ori()),
            existing->revoked() ? " (revoked)" : ""));
      }
      vigil::v1::AgencyKey agency;
      agency.set_public_key(r.public_key());
      agency.set_ori(r.ori());
      agency.set_agency_class(r.agency_class());
      agency.set_agency_name(r.agency_name());
      agency.set_state(r.state());
      agency.set_registered_at(index);
      changed_[r.public_key()] = std::move(agency);
      return absl::OkStatus();
    }
    case vigil::v1::RegistryChange::kRotate: {
      const vigil::v1::RotateAgencyKey& r = change.rotate();
      std::optional<vigil::v1::AgencyKey> old = Find(r.old_public_key());
      if (!old) {
        return absl::NotFoundError(
            absl::StrFormat("cannot rotate key %s: it is not registered",
                            KeyLabel(r.old_public_key())));
      }
      if (old->revoked()) {
        return absl::FailedPreconditionError(
            absl::StrFormat("cannot rotate %s: it was revoked at index %d",
                            KeyAndOri(*old), old->revoked_at()));
      }
      if (const auto existing = Find(r.new_public_key())) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "cannot rotate %s to %s: the new key is already registered",
            KeyAndOri(*old), KeyAndOri(*existing)));
      }
      vigil::v1::AgencyKey replacement = *old;
      replacement.set_public_key(r.new_public_key());
      replacement.set_registered_at(index);
      replacement.set_revoked(false);
      replacement.set_revoked_at(0);
      old->set_revoked(true);
      old->set_revoked_at(index);
      changed_[r.old_public_key()] = *std::move(old);
      changed_[r.new_public_key()] = std::move(replacement);
      return absl::OkStatus();
    }
    case vigil::v1::RegistryChange::kRevoke: {
      const vigil::v1::RevokeAgencyKey& r = change.revoke();
      std::optional<vigil::v1::AgencyKey> key = Find(r.public_key());
      if (!key) {
        return absl::NotFoundError(
            absl::StrFormat("cannot revoke key %s: it is not registered",
                            KeyLabel(r.public_key())));
      }
      if (key->revoked()) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "cannot revoke %s: it was already revoked at index %d",
            KeyAndOri(*key), key->revoked_at()));
      }
      key->set_revoked(true);
      key->set_revoked_at(index);
      changed_[r.public_key()] = *std::move(key);
      return absl::OkStatus();
    }
    case vigil::v1::RegistryChange::CHANGE_NOT_SET:
      break;
  }
  // CheckRegistryChange refuses a change with nothing set.
  return absl::InvalidArgumentError(
      "change must set exactly one of register, rotate, revoke");
}

std::vector<std::pair<std::string, std::string>> Registry::Staging::Records()
    const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(changed_.size());
  for (const auto& [key, agency] : changed_) {
    out.emplace_back(key, Serialize(agency));
  }
  return out;
}

}  // namespace vigil::server
