#include "client/monitor.h"

#include <algorithm>
#include <functional>
#include <map>
#include <span>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "client/evidence.h"
#include "client/signing.h"
#include "client/witness.h"
#include "merkle/compact_range.h"
#include "merkle/encoding.h"
#include "merkle/hash.h"
#include "merkle/tlog_proof.h"
#include "server/entry.h"
#include "server/files.h"
#include "server/record_checks.h"
#include "server/registry.h"

namespace vigil::client {
namespace {

using Json = nlohmann::ordered_json;

// What reconciliation keeps of a lookup that not every expected role has
// logged yet: its first record, for the alert.
struct Lookup {
  uint64_t first_index = 0;
  int64_t event_centis = 0;
  std::string correlation_id;
  std::string first_ori;
  std::string record_id;
};

// Entries prepared per chunk: their decoding and signature checks run on
// every core.
constexpr size_t kRecordChunk = 4096;

// An entry decoded and its signature checked, ready to be judged.
struct Prepared {
  uint64_t index = 0;
  absl::StatusOr<server::Entry> entry;
  // Registry entries: the change, or why it is not the operator's.
  absl::StatusOr<vigil::v1::RegistryChange> change;
  // Access records: the record (signature checked from the reporting
  // position on), or why it is not valid.
  absl::StatusOr<vigil::v1::AccessRecord> record;
  // An access record whose signature verifies but whose fields break
  // record.proto's rules (a log written by other software): still judged
  // by the policy rules, which exist for exactly such records.
  std::optional<vigil::v1::AccessRecord> unchecked;
};

// Prepares chunks of entries on every core while the caller reads and
// hashes the next chunk, and hands each chunk back whole, so that the
// caller judges entries in log order.
class PreparePipeline {
 public:
  using Chunk = std::vector<std::pair<uint64_t, std::string>>;
  using Prepare = std::function<Prepared(uint64_t, std::string_view)>;

  explicit PreparePipeline(Prepare prepare) : prepare_(std::move(prepare)) {}
  ~PreparePipeline() { Join(); }
  PreparePipeline(const PreparePipeline&) = delete;
  PreparePipeline& operator=(const PreparePipeline&) = delete;

  // Starts preparing `chunk` and returns the chunk started before it,
  // prepared (nothing the first time).
  std::vector<Prepared> Swap(Chunk chunk) {
    std::vector<Prepared> done = Finish();
    input_ = std::move(chunk);
    output_.resize(input_.size());
    const size_t threads = std::clamp<size_t>(
        std::thread::hardware_concurrency(), 1, input_.size() / 64 + 1);
    for (size_t t = 0; t < threads; ++t) {
      workers_.emplace_back([this, t, threads] {
        for (size_t i = t; i < input_.size(); i += threads) {
          output_[i] = prepare_(input_[i].first, input_[i].second);
        }
      });
    }
    return done;
  }

  // The chunk in flight, prepared.
  std::vector<Prepared> Finish() {
    Join();
    input_.clear();
    return std::exchange(output_, {});
  }

 private:
  void Join() {
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

  const Prepare prepare_;
  Chunk input_;
  std::vector<Prepared> output_;
  std::vector<std::thread> workers_;
};

std::optional<RegistryFacts::Agency> AgencyOf(
    const std::optional<vigil::v1::AgencyKey>& key) {
  if (!key.has_value()) return std::nullopt;
  return RegistryFacts::Agency{
      key->ori(), static_cast<vigil::v1::AgencyClass>(key->agency_class()),
      key->state()};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Monitor>> Monitor::Create(
    TileSource* source, LogTrust trust, MonitorOptions options) {
  if (options.state_file.empty()) {
    return absl::InvalidArgumentError("a monitor needs a state file");
  }
  std::optional<merkle::Ed25519Verifier> registry;
  if (options.vigil_records) {
    absl::StatusOr<merkle::Ed25519Verifier> parsed =
        merkle::Ed25519Verifier::FromVerifierKey(options.registry_vkey);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("registry key: %s", parsed.status().message()));
    }
    registry.emplace(*std::move(parsed));
  }
  std::unique_ptr<Monitor> monitor(new Monitor(
      source, std::move(trust), std::move(options), std::move(registry)));
  if (absl::Status s = monitor->LoadState(); !s.ok()) return s;
  return monitor;
}

absl::Status Monitor::LoadState() {
  absl::StatusOr<std::string> text =
      server::ReadFile(options_.state_file, size_t{1} << 20);
  if (absl::IsNotFound(text.status())) return absl::OkStatus();
  if (!text.ok()) return text.status();
  const Json json = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("checkpoint") ||
      !json["checkpoint"].is_string() || !json.contains("position") ||
      !json["position"].is_number_unsigned() ||
      !json.contains("latest_event_centis") ||
      !json["latest_event_centis"].is_number_integer()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "monitor state %s is not a monitor state file", options_.state_file));
  }
  State state;
  state.note = json["checkpoint"].get<std::string>();
  state.position = json["position"].get<uint64_t>();
  state.latest_event_centis = json["latest_event_centis"].get<int64_t>();
  absl::StatusOr<merkle::OpenedCheckpoint> opened =
      merkle::OpenCheckpoint(state.note, trust_.log(), trust_.origin());
  if (!opened.ok()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the checkpoint in monitor state %s does not verify: %s",
        options_.state_file, opened.status().message()));
  }
  state.checkpoint = opened->checkpoint;
  if (state.position > state.checkpoint.size) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "monitor state %s: position %d is past its checkpoint's size %d",
        options_.state_file, state.position, state.checkpoint.size));
  }
  state_ = std::move(state);
  return absl::OkStatus();
}

absl::Status Monitor::SaveState(const State& state) {
  Json json;
  json["checkpoint"] = state.note;
  json["position"] = state.position;
  json["latest_event_centis"] = state.latest_event_centis;
  return server::WriteFileAtomically(options_.state_file, json.dump(2) + "\n",
                                     0644);
}

absl::StatusOr<std::string> Monitor::BundleFor(uint64_t index,
                                               const std::string& note,
                                               uint64_t size) {
  absl::StatusOr<std::vector<merkle::Hash>> proof =
      InclusionProofFromTiles(*source_, index, size);
  if (!proof.ok()) return proof.status();
  merkle::TlogProof bundle;
  bundle.index = index;
  bundle.inclusion = *std::move(proof);
  bundle.checkpoint = note;
  return merkle::MarshalTlogProof(bundle);
}

std::vector<Monitor::Witnessed> Monitor::FetchWitnessed() const {
  std::vector<Witnessed> out;
  const std::string path = OriginHash(trust_.origin()) + "/checkpoint";
  for (const MonitorOptions::Witness& w : options_.witnesses) {
    Witnessed& seen = out.emplace_back();
    seen.view.name = w.name;
    absl::StatusOr<std::string> note = w.source->Fetch(path);
    if (absl::IsNotFound(note.status())) {
      seen.view.outcome = "none";
      continue;
    }
    if (!note.ok()) {
      seen.view.outcome =
          absl::StrFormat("unavailable: %s", note.status().message());
      continue;
    }
    // Only the log's signature matters here: a checkpoint the log signed
    // is the log's word, whoever serves it.
    absl::StatusOr<merkle::OpenedCheckpoint> opened =
        merkle::OpenCheckpoint(*note, trust_.log(), trust_.origin());
    if (!opened.ok()) {
      seen.view.outcome =
          absl::StrFormat("invalid: %s", opened.status().message());
      continue;
    }
    seen.note = *std::move(note);
    seen.checkpoint = opened->checkpoint;
    seen.view.size = opened->checkpoint.size;
  }
  return out;
}

absl::StatusOr<MonitorRun> Monitor::RunOnce(
    const std::function<void(uint64_t, uint64_t)>& progress) {
  // Witnesses first: an honest log has published what they cosigned by the
  // time the monitor reads its checkpoint.
  std::vector<Witnessed> witnessed = FetchWitnessed();
  absl::StatusOr<std::string> note = source_->Fetch("checkpoint");
  if (!note.ok()) return note.status();
  merkle::CosignatureQuorum quorum;
  absl::StatusOr<merkle::OpenedCheckpoint> opened = trust_.Open(*note, &quorum);
  if (!opened.ok()) {
    return Misbehaviour(
        opened.status().code(), "bad-checkpoint",
        absl::StrFormat("the log's checkpoint does not verify: %s",
                        opened.status().message()),
        trust_.origin(), {{"checkpoint", *note}});
  }
  MonitorRun run;
  run.checkpoint = opened->checkpoint;
  const merkle::Checkpoint& now = run.checkpoint;
  if (state_.has_value()) {
    const merkle::Checkpoint& old = state_->checkpoint;
    run.previous_size = old.size;
    if (now.size < old.size) {
      return Misbehaviour(
          absl::StatusCode::kFailedPrecondition, "rollback",
          absl::StrFormat("the log rolled back: its checkpoint has size %d, "
                          "smaller than the verified size %d",
                          now.size, old.size),
          trust_.origin(),
          {{"trusted_checkpoint", state_->note}, {"checkpoint", *note}});
    }
    if (now.size == old.size && now.root != old.root) {
      return Misbehaviour(
          absl::StatusCode::kFailedPrecondition, "fork",
          absl::StrFormat("the log signed two different trees of size %d",
                          now.size),
          trust_.origin(),
          {{"trusted_checkpoint", state_->note}, {"checkpoint", *note}});
    }
  }
  const uint64_t position = state_.has_value() ? state_->position : 0;

  // Each witnessed tree is checked where the pass below reaches its size.
  std::multimap<uint64_t, Witnessed*> witnessed_at;
  const auto split_view = [&](const Witnessed& w) {
    return Misbehaviour(
        absl::StatusCode::kFailedPrecondition, "fork",
        absl::StrFormat("the log showed witness %s a tree of size %d that "
                        "differs from the one it serves",
                        w.view.name, w.checkpoint.size),
        trust_.origin(),
        {{"checkpoint", *note}, {"witnessed_checkpoint", w.note}});
  };
  for (Witnessed& w : witnessed) {
    if (!w.view.size.has_value()) continue;
    if (w.checkpoint.size > now.size) {
      w.view.outcome = "ahead";
    } else if (w.checkpoint.size == now.size || w.checkpoint.size == 0) {
      const merkle::Hash& root =
          w.checkpoint.size == 0 ? merkle::EmptyRoot() : now.root;
      if (w.checkpoint.root != root) return split_view(w);
      w.view.outcome = "consistent";
    } else {
      witnessed_at.emplace(w.checkpoint.size, &w);
    }
  }

  // One pass over every entry: the tree, the registry, the records.
  absl::StatusOr<std::unique_ptr<server::Registry>> registry =
      server::Registry::Load({});
  if (!registry.ok()) return registry.status();
  merkle::CompactRange range;
  std::optional<absl::Status> fork;
  // What is kept of every record lives as long as the run, so it is kept
  // small, in fixed-size slots: a SHA-256 digest of the signer's key and
  // the record_id for the duplicate check, and, when roles are expected,
  // the roles that logged each lookup by the digest of its correlation_id;
  // only lookups still incomplete keep their first record's details.
  absl::flat_hash_set<merkle::Hash> record_ids;
  uint32_t expected_roles = 0;
  for (vigil::v1::SubmitterRole role : options_.expected_roles) {
    expected_roles |= 1u << role;
  }
  absl::flat_hash_map<merkle::Hash, uint32_t> roles_logged;
  absl::flat_hash_map<merkle::Hash, Lookup> incomplete;
  // The agency of each ORI, for the requester's facts: the key registered
  // last for that ORI.
  std::map<std::string, vigil::v1::AgencyKey> by_ori;
  int64_t latest_event = state_.has_value() ? state_->latest_event_centis : 0;
  const int64_t previous_latest_event = latest_event;
  std::vector<Alert> alerts;
  auto alert = [&](std::string rule, std::string severity, uint64_t index,
                   std::string agency, std::string reason,
                   const vigil::v1::AccessRecord* record) {
    if (index < position) return;
    Alert a;
    a.rule = std::move(rule);
    a.severity = std::move(severity);
    a.index = index;
    a.agency = std::move(agency);
    a.reason = std::move(reason);
    if (record != nullptr) {
      a.record_id = record->record_id();
      a.correlation_id = record->correlation_id();
    }
    alerts.push_back(std::move(a));
  };
  server::RecordCheckOptions any_time;
  any_time.max_age = absl::InfiniteDuration();
  any_time.max_future_skew = absl::InfiniteDuration();

  // Record-level work in chunks: each entry is decoded and its signature
  // checked on every core (independent per entry), then judged in log order
  // (the registry and reconciliation depend on the order).
  const auto prepare = [&](uint64_t index, std::string_view bytes) {
    Prepared p;
    p.index = index;
    p.entry = server::DecodeEntry(bytes);
    if (!p.entry.ok()) return p;
    if (p.entry->kind == server::EntryKind::kRegistryChange) {
      if (p.entry->public_key != registry_key_->public_key() ||
          !server::VerifyEntrySignature(*p.entry)) {
        p.change = absl::UnauthenticatedError(
            "not signed by the registry operator's key");
      } else {
        p.change = server::ParseRegistryChange(p.entry->payload);
      }
    } else if (index >= position) {
      absl::StatusOr<OpenedRecord> opened_record = OpenRecordEntry(bytes);
      if (opened_record.ok()) {
        p.record = std::move(opened_record->record);
      } else {
        p.record = opened_record.status();
        vigil::v1::AccessRecord raw;
        if (absl::IsInvalidArgument(p.record.status()) &&
            server::VerifyEntrySignature(*p.entry) &&
            raw.ParseFromString(p.entry->payload)) {
          p.unchecked = std::move(raw);
        }
      }
    } else {
      // Old records only feed reconciliation and the duplicate check, so
      // they are parsed but their signatures are not checked again.
      p.record =
          server::ParseAccessRecord(p.entry->payload, absl::Now(), any_time);
    }
    return p;
  };
  // The policy rules on one record of `key`'s agency.
  const auto apply_policy = [&](uint64_t index,
                                const std::optional<vigil::v1::AgencyKey>& key,
                                const vigil::v1::AccessRecord& record) {
    if (options_.policy == nullptr) return;
    RegistryFacts facts;
    facts.signer = AgencyOf(key);
    if (auto it = by_ori.find(record.requesting_ori()); it != by_ori.end()) {
      facts.requester = AgencyOf(it->second);
    }
    const std::string ori = key.has_value() ? key->ori() : "";
    for (const Rule* rule : options_.policy->Evaluate(record, facts)) {
      alert(rule->name, rule->severity, index, ori,
            Explain(*rule, record, facts), &record);
    }
  };
  // Judges one prepared entry, in log order.
  const auto judge = [&](Prepared& p) {
    const uint64_t index = p.index;
    const absl::StatusOr<server::Entry>& entry = p.entry;
    if (!entry.ok()) {
      alert(kRuleMalformedEntry, "integrity", index, "",
            std::string(entry.status().message()), nullptr);
      return;
    }
    const std::string signer(entry->public_key.begin(),
                             entry->public_key.end());
    if (entry->kind == server::EntryKind::kRegistryChange) {
      ++run.registry_changes;
      absl::Status s;
      const absl::StatusOr<vigil::v1::RegistryChange>& change = p.change;
      if (change.ok()) {
        server::Registry::Staging staging = (*registry)->Stage();
        s = staging.Apply(*change, index);
        if (s.ok()) {
          (*registry)->Commit(staging);
          for (vigil::v1::AgencyKey& k : (*registry)->List()) {
            auto [it, added] = by_ori.try_emplace(k.ori(), k);
            if (!added && k.registered_at() > it->second.registered_at()) {
              it->second = std::move(k);
            }
          }
        }
      } else {
        s = change.status();
      }
      if (!s.ok()) {
        alert(kRuleBadRegistryChange, "integrity", index, "",
              std::string(s.message()), nullptr);
      }
      return;
    }
    ++run.records;
    const bool report = index >= position;
    const absl::StatusOr<vigil::v1::AccessRecord>& record = p.record;
    if (!record.ok()) {
      const std::optional<vigil::v1::AgencyKey> key =
          p.unchecked.has_value() ? (*registry)->Find(signer) : std::nullopt;
      alert(absl::IsUnauthenticated(record.status()) ? kRuleBadSignature
                                                     : kRuleMalformedEntry,
            "integrity", index, key.has_value() ? key->ori() : "",
            std::string(record.status().message()),
            p.unchecked.has_value() ? &*p.unchecked : nullptr);
      if (p.unchecked.has_value()) apply_policy(index, key, *p.unchecked);
      return;
    }
    latest_event = std::max(latest_event, record->event_time_centis());
    const std::optional<vigil::v1::AgencyKey> key = (*registry)->Find(signer);
    const std::string ori = key.has_value() ? key->ori() : "";
    const std::span<const uint8_t> signer_and_id[] = {
        merkle::AsBytes(signer), merkle::AsBytes(record->record_id())};
    if (!record_ids.insert(merkle::Sha256Concat(signer_and_id)).second) {
      alert(kRuleDuplicateRecordId, "warning", index, ori,
            absl::StrFormat("record_id %s was already used by this key",
                            merkle::QuoteForError(record->record_id())),
            &*record);
    }
    if (expected_roles != 0) {
      const merkle::Hash lookup =
          merkle::Sha256(merkle::AsBytes(record->correlation_id()));
      uint32_t& roles = roles_logged[lookup];
      const bool first = roles == 0;
      roles |= 1u << record->submitter_role();
      if ((roles & expected_roles) == expected_roles) {
        incomplete.erase(lookup);
      } else if (first) {
        incomplete.emplace(
            lookup,
            Lookup{index, record->event_time_centis(), record->correlation_id(),
                   record->requesting_ori(), record->record_id()});
      }
    }
    if (!report) return;
    if (!key.has_value()) {
      alert(kRuleUnregisteredKey, "integrity", index, "",
            absl::StrFormat("signed by key %s, which the registry never held",
                            merkle::HexEncode(entry->public_key)),
            &*record);
      return;
    }
    if (key->revoked() && key->revoked_at() < index) {
      alert(kRuleRevokedKey, "integrity", index, ori,
            absl::StrFormat("signed by a key of %s revoked at index %d", ori,
                            key->revoked_at()),
            &*record);
    }
    if (absl::Status s = server::CheckSignerRole(*record, *key); !s.ok()) {
      alert(kRuleRoleMismatch, "integrity", index, ori,
            std::string(s.message()), &*record);
    }
    apply_policy(index, key, *record);
  };
  // Chunk k is judged while chunk k + 1 is being prepared and chunk k + 2
  // read: signature checks overlap the fetching and hashing.
  PreparePipeline pipeline(prepare);
  PreparePipeline::Chunk pending;
  const auto judge_all = [&](std::vector<Prepared> prepared) {
    for (Prepared& p : prepared) judge(p);
  };

  const EntryVisitor visit = [&](uint64_t index,
                                 std::string_view bytes) -> absl::Status {
    range.Append(merkle::HashLeaf(merkle::AsBytes(bytes)));
    const auto [first, last] = witnessed_at.equal_range(range.end());
    for (auto it = first; it != last; ++it) {
      Witnessed& w = *it->second;
      if (*range.RootHash() != w.checkpoint.root) {
        fork = split_view(w);
        return *fork;
      }
      w.view.outcome = "consistent";
    }
    if (state_.has_value() && range.end() == state_->checkpoint.size &&
        range.end() > 0) {
      absl::StatusOr<merkle::Hash> root = range.RootHash();
      if (root.ok() && *root != state_->checkpoint.root) {
        fork = Misbehaviour(
            absl::StatusCode::kFailedPrecondition, "inconsistent-checkpoints",
            absl::StrFormat("the log's entries give root %s at size %d, not "
                            "the root it signed then",
                            merkle::Base64Encode(*root), range.end()),
            trust_.origin(),
            {{"older_checkpoint", state_->note}, {"newer_checkpoint", *note}});
        return *fork;
      }
    }
    if (progress && (index % 4096 == 0 || index + 1 == now.size)) {
      progress(index + 1, now.size);
    }
    if (!options_.vigil_records) return absl::OkStatus();
    pending.emplace_back(index, std::string(bytes));
    if (pending.size() >= kRecordChunk) {
      judge_all(pipeline.Swap(std::exchange(pending, {})));
    }
    return absl::OkStatus();
  };
  absl::StatusOr<TreeAuditReport> tree = AuditTree(*source_, now, visit);
  if (tree.ok() && !fork.has_value()) {
    judge_all(pipeline.Swap(std::move(pending)));
    judge_all(pipeline.Finish());
  }
  if (fork.has_value()) return *fork;
  if (!tree.ok()) {
    if (!absl::IsDataLoss(tree.status())) return tree.status();
    return Misbehaviour(
        absl::StatusCode::kDataLoss, "corrupted-log",
        absl::StrFormat("the log's tiles do not match its entries and "
                        "checkpoint: %s",
                        tree.status().message()),
        trust_.origin(), {{"checkpoint", *note}});
  }
  run.tree = *tree;
  for (Witnessed& w : witnessed) run.witnesses.push_back(std::move(w.view));

  // Reconciliation: a lookup that stays incomplete once the log's event
  // times have moved past it by the grace period, reported once: in the
  // run where it first became overdue.
  if (expected_roles != 0) {
    const int64_t grace =
        absl::ToInt64Milliseconds(options_.reconcile_grace) / 10;
    for (const auto& [digest, lookup] : incomplete) {
      const uint32_t roles = roles_logged.at(digest);
      const bool overdue = latest_event - lookup.event_centis > grace;
      const bool was_overdue =
          state_.has_value() && lookup.first_index < position &&
          previous_latest_event - lookup.event_centis > grace;
      if (!overdue || was_overdue) continue;
      std::string missing;
      for (vigil::v1::SubmitterRole role : options_.expected_roles) {
        if ((roles & (1u << role)) == 0) {
          if (!missing.empty()) missing += ", ";
          missing += vigil::v1::SubmitterRole_Name(role);
        }
      }
      Alert a;
      a.rule = kRuleUnreconciled;
      a.severity = "violation";
      a.index = lookup.first_index;
      a.agency = lookup.first_ori;
      a.record_id = lookup.record_id;
      a.correlation_id = lookup.correlation_id;
      a.reason =
          absl::StrFormat("lookup %s of requesting ORI %s has no record by %s",
                          merkle::QuoteForError(lookup.correlation_id),
                          lookup.first_ori, missing);
      alerts.push_back(std::move(a));
    }
  }
  std::stable_sort(
      alerts.begin(), alerts.end(),
      [](const Alert& a, const Alert& b) { return a.index < b.index; });
  for (Alert& a : alerts) {
    absl::StatusOr<std::string> bundle = BundleFor(a.index, *note, now.size);
    if (!bundle.ok()) return bundle.status();
    a.tlog_proof = *std::move(bundle);
  }
  run.alerts = std::move(alerts);

  State next;
  next.note = *note;
  next.checkpoint = now;
  next.position = now.size;
  next.latest_event_centis = latest_event;
  if (absl::Status s = SaveState(next); !s.ok()) return s;
  state_ = std::move(next);
  return run;
}

}  // namespace vigil::client
