// `vigil monitor`: audits a log's tiles (over HTTP, gRPC or from a
// directory), once or following it, and writes alerts as JSON Lines.

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/cli.h"
#include "client/http_tile_source.h"
#include "client/log_client.h"
#include "client/monitor.h"
#include "client/policy.h"
#include "merkle/encoding.h"
#include "server/files.h"

namespace vigil::client::cli {
namespace {

std::atomic<bool> stop_requested{false};

extern "C" void RequestStop(int) { stop_requested = true; }

struct MonitorFlags {
  std::string log_url;
  std::string server;
  std::string tiles_dir;
  std::string registry_key;
  bool tree_only = false;
  std::vector<std::string> policy_files;
  std::string expect_roles;
  std::string grace = "1h";
  std::string state_file;
  std::string alerts_file;
  bool follow = false;
  std::string interval = "10s";
  std::string progress = "auto";
  std::vector<std::string> witness_urls;
  // For --server, and the CA of https:// URLs.
  TlsFlags tls;
};

Json WitnessJson(const WitnessView& w) {
  Json json;
  json["witness"] = w.name;
  json["size"] = w.size.has_value() ? Json(*w.size) : Json(nullptr);
  json["outcome"] = w.outcome;
  return json;
}

Json AlertJson(const Alert& a) {
  Json json;
  json["rule"] = a.rule;
  json["severity"] = a.severity;
  json["index"] = a.index;
  json["agency"] = a.agency;
  json["record_id"] = a.record_id;
  json["correlation_id"] = a.correlation_id;
  json["reason"] = a.reason;
  json["tlog_proof"] = a.tlog_proof;
  return json;
}

absl::StatusOr<MonitorOptions> Options(const MonitorFlags& flags) {
  MonitorOptions options;
  options.state_file = flags.state_file;
  options.vigil_records = !flags.tree_only;
  if (options.vigil_records) {
    if (flags.registry_key.empty()) {
      return absl::InvalidArgumentError(
          "--registry-key is needed to audit a Vigil log's records (or "
          "--tree-only for any tlog-tiles log)");
    }
    absl::StatusOr<std::string> vkey =
        server::ReadKeyFile(flags.registry_key, /*secret=*/false);
    if (!vkey.ok()) return vkey.status();
    options.registry_vkey = *std::move(vkey);
  }
  const std::vector<std::string> names =
      absl::StrSplit(flags.expect_roles, ',', absl::SkipEmpty());
  for (const std::string& name : names) {
    vigil::v1::SubmitterRole role;
    if (!vigil::v1::SubmitterRole_Parse(name, &role) ||
        role == vigil::v1::SUBMITTER_ROLE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--expect-roles: %s is not REQUESTER, CUSTODIAN or SWITCH",
          merkle::QuoteForError(name)));
    }
    options.expected_roles.push_back(role);
  }
  if (!absl::ParseDuration(flags.grace, &options.reconcile_grace) ||
      options.reconcile_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--grace %s is not a duration such as 30m",
                        merkle::QuoteForError(flags.grace)));
  }
  return options;
}

int Monitor(const MonitorFlags& flags, const TrustFlags& trust_flags,
            const Output& out) {
  absl::StatusOr<MonitorOptions> options = Options(flags);
  if (!options.ok()) return out.Fail(options.status());
  absl::Duration interval;
  if (!absl::ParseDuration(flags.interval, &interval) ||
      interval <= absl::ZeroDuration()) {
    return out.Fail(absl::InvalidArgumentError(
        absl::StrFormat("--interval %s is not a positive duration",
                        merkle::QuoteForError(flags.interval))));
  }
  std::optional<Policy> policy;
  if (!flags.policy_files.empty()) {
    absl::StatusOr<Policy> loaded = Policy::LoadFiles(flags.policy_files);
    if (!loaded.ok()) return out.Fail(loaded.status());
    policy.emplace(*std::move(loaded));
    options->policy = &*policy;
  }
  std::unique_ptr<TileSource> source;
  if (!flags.server.empty()) {
    // The client's own checks are not used: the monitor verifies what it
    // reads itself.
    absl::StatusOr<LogTrust> client_trust = trust_flags.Load();
    if (!client_trust.ok()) return out.Fail(client_trust.status());
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        flags.tls.Channel(flags.server);
    if (!channel.ok()) return out.Fail(channel.status());
    absl::StatusOr<std::unique_ptr<LogClient>> client = LogClient::Create(
        *std::move(channel), *std::move(client_trust), LogClientOptions{});
    if (!client.ok()) return out.Fail(client.status());
    source = *std::move(client);
  } else if (!flags.log_url.empty()) {
    absl::StatusOr<std::unique_ptr<HttpTileSource>> http =
        HttpTileSource::FromUrl(flags.log_url, flags.tls.files.ca_file);
    if (!http.ok()) return out.Fail(http.status());
    source = *std::move(http);
  } else {
    source = std::make_unique<DirectoryTileSource>(flags.tiles_dir);
  }
  std::vector<std::unique_ptr<HttpTileSource>> witnesses;
  for (const std::string& url : flags.witness_urls) {
    absl::StatusOr<std::unique_ptr<HttpTileSource>> witness =
        HttpTileSource::FromUrl(url, flags.tls.files.ca_file);
    if (!witness.ok()) return out.Fail(witness.status());
    options->witnesses.push_back({url, witness->get()});
    witnesses.push_back(*std::move(witness));
  }
  absl::StatusOr<LogTrust> trust = trust_flags.Load();
  if (!trust.ok()) return out.Fail(trust.status());
  absl::StatusOr<std::unique_ptr<client::Monitor>> monitor =
      client::Monitor::Create(source.get(), *std::move(trust),
                              *std::move(options));
  if (!monitor.ok()) return out.Fail(monitor.status());

  std::ofstream alerts_file;
  std::ostream* alerts = &std::cout;
  if (!flags.alerts_file.empty()) {
    alerts_file.open(flags.alerts_file, std::ios::binary | std::ios::app);
    if (!alerts_file) {
      return out.Fail(absl::UnavailableError(
          absl::StrFormat("cannot write %s", flags.alerts_file)));
    }
    alerts = &alerts_file;
  }
  const bool show_progress =
      flags.progress == "always" ||
      (flags.progress == "auto" && isatty(STDERR_FILENO) != 0);
  auto progress = [show_progress](uint64_t done, uint64_t total) {
    if (!show_progress) return;
    std::cerr << absl::StrFormat("\rvigil monitor: %d/%d entries audited ",
                                 done, total)
              << (done == total ? "\n" : "") << std::flush;
  };
  if (flags.follow) {
    std::signal(SIGINT, RequestStop);
    std::signal(SIGTERM, RequestStop);
  }

  std::map<std::string, uint64_t> by_rule;
  std::map<std::string, uint64_t> by_agency;
  uint64_t total_alerts = 0;
  Json last;
  do {
    absl::StatusOr<MonitorRun> run = (*monitor)->RunOnce(progress);
    if (!run.ok()) return out.Fail(run.status());
    for (const Alert& a : run->alerts) {
      *alerts << AlertJson(a).dump() << "\n";
      ++by_rule[a.rule];
      ++by_agency[a.agency.empty() ? "(unknown)" : a.agency];
    }
    alerts->flush();
    if (!*alerts) {
      return out.Fail(absl::UnavailableError("cannot write the alerts"));
    }
    total_alerts += run->alerts.size();
    std::cerr << absl::StrFormat(
        "vigil monitor: checkpoint of size %d verified (previous %d): %d "
        "entries, %d tiles, %d records, %d registry changes; %d new alerts\n",
        run->checkpoint.size, run->previous_size, run->tree.entries,
        run->tree.tiles, run->records, run->registry_changes,
        run->alerts.size());
    Json witness_views = Json::array();
    for (const WitnessView& w : run->witnesses) {
      std::cerr << absl::StrFormat(
          "vigil monitor: witness %s: %s%s\n", w.name,
          w.size.has_value() ? absl::StrFormat("size %d ", *w.size) : "",
          w.outcome);
      witness_views.push_back(WitnessJson(w));
    }
    last = Json{{"size", run->checkpoint.size},
                {"root", merkle::Base64Encode(run->checkpoint.root)},
                {"previous_size", run->previous_size},
                {"entries", run->tree.entries},
                {"records", run->records},
                {"registry_changes", run->registry_changes},
                {"witnesses", witness_views}};
    for (absl::Time until = absl::Now() + interval;
         flags.follow && !stop_requested && absl::Now() < until;) {
      absl::SleepFor(absl::Milliseconds(100));
    }
  } while (flags.follow && !stop_requested);

  std::string text = absl::StrFormat("alerts: %d\n", total_alerts);
  for (const auto& [rule, n] : by_rule) {
    text += absl::StrFormat("  rule %-40s %d\n", rule, n);
  }
  for (const auto& [agency, n] : by_agency) {
    text += absl::StrFormat("  agency %-38s %d\n", agency, n);
  }
  last["alerts"] = total_alerts;
  last["by_rule"] = by_rule;
  last["by_agency"] = by_agency;
  if (out.json) {
    last["ok"] = true;
    std::cerr << last.dump() << "\n";
  } else {
    std::cerr << text;
  }
  return total_alerts > 0 ? kExitRefused : kExitOk;
}

}  // namespace

void AddMonitorCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    MonitorFlags monitor;
    TrustFlags trust;
    Output out;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "monitor",
      "Audit a log through its tlog-tiles: checkpoints, consistency, every "
      "tile and entry, and (for Vigil logs) the registry, every record's "
      "signature and role, policy rules and reconciliation; alerts as JSON "
      "Lines");
  auto* group = cmd->add_option_group("log", "where the log's tiles are");
  group->add_option("--log-url", flags->monitor.log_url,
                    "the log's tiles over HTTP, http[s]://host:port[/prefix]");
  group->add_option("--tiles-dir", flags->monitor.tiles_dir,
                    "the log's tiles in a directory");
  group->add_option("--server", flags->monitor.server,
                    "the log's tiles over its gRPC API, host:port");
  group->require_option(1);
  cmd->add_option("--registry-key", flags->monitor.registry_key,
                  "the registry operator's verifier key file");
  cmd->add_flag("--tree-only", flags->monitor.tree_only,
                "audit the tree only (any tlog-tiles log)");
  cmd->add_option("--policy", flags->monitor.policy_files,
                  "a rules file (repeatable), e.g. client/policy/*.json");
  cmd->add_option("--expect-roles", flags->monitor.expect_roles,
                  "reconcile: roles every lookup needs, e.g. REQUESTER,SWITCH");
  cmd->add_option("--grace", flags->monitor.grace,
                  "how long a lookup may lack a party (default 1h)");
  cmd->add_option("--state", flags->monitor.state_file,
                  "the monitor's state file")
      ->required();
  cmd->add_option("--alerts", flags->monitor.alerts_file,
                  "append alerts here (default: stdout)");
  cmd->add_option("--witness-url", flags->monitor.witness_urls,
                  "a witness's monitoring prefix, http[s]://host:port[/path] "
                  "(repeatable): the checkpoint it last cosigned must name "
                  "the same tree as the log's");
  cmd->add_flag("--follow", flags->monitor.follow,
                "keep auditing each new checkpoint until stopped");
  cmd->add_option("--interval", flags->monitor.interval,
                  "with --follow, the time between runs (default 10s)");
  cmd->add_option("--progress", flags->monitor.progress,
                  "auto (on a terminal), always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  flags->monitor.tls.AddTo(cmd);
  flags->trust.AddTo(cmd);
  flags->out.AddTo(cmd);
  cmd->callback([flags, exit_code] {
    *exit_code = Monitor(flags->monitor, flags->trust, flags->out);
  });
}

}  // namespace vigil::client::cli
