// `vigil witness`: a c2sp.org/tlog-witness server (client/witness.h,
// client/witness_server.h) that cosigns the checkpoints of the logs it is
// given, until SIGTERM or SIGINT.

#include <pthread.h>

#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/cli.h"
#include "client/witness.h"
#include "client/witness_server.h"
#include "merkle/cosignature.h"
#include "merkle/encoding.h"
#include "merkle/note.h"
#include "server/files.h"
#include "server/http_listener.h"
#include "server/tls.h"

namespace vigil::client::cli {
namespace {

struct WitnessFlags {
  std::string key_file;
  std::vector<std::string> log_key_files;
  std::vector<std::string> origins;
  std::string state_dir;
  std::string listen = "127.0.0.1:0";
  size_t threads = 8;
  server::TlsFiles tls;
  Output out;
};

// The logs the flags name: --origin i (default: the key's name) is the
// origin of --log-key i; keys of one origin are grouped into one log.
absl::StatusOr<std::vector<WitnessLog>> LoadLogs(const WitnessFlags& flags) {
  if (!flags.origins.empty() &&
      flags.origins.size() != flags.log_key_files.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d --origin flags for %d --log-key flags: give none, or one per key",
        flags.origins.size(), flags.log_key_files.size()));
  }
  std::vector<WitnessLog> logs;
  std::map<std::string, size_t> index;  // origin -> position in `logs`.
  for (size_t i = 0; i < flags.log_key_files.size(); ++i) {
    const std::string& file = flags.log_key_files[i];
    absl::StatusOr<std::string> vkey =
        server::ReadKeyFile(file, /*secret=*/false);
    if (!vkey.ok()) return vkey.status();
    absl::StatusOr<merkle::Ed25519Verifier> key =
        merkle::Ed25519Verifier::FromVerifierKey(*vkey);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("log key file %s: %s", file, key.status().message()));
    }
    const std::string origin =
        flags.origins.empty() ? std::string(key->name()) : flags.origins[i];
    auto [it, inserted] = index.emplace(origin, logs.size());
    if (inserted) logs.push_back(WitnessLog{origin, {}});
    logs[it->second].keys.push_back(*std::move(key));
  }
  return logs;
}

int RunWitness(const WitnessFlags& flags) {
  const Output& out = flags.out;
  absl::StatusOr<std::string> skey =
      server::ReadKeyFile(flags.key_file, /*secret=*/true);
  if (!skey.ok()) return out.Fail(skey.status());
  absl::StatusOr<merkle::Cosigner> cosigner =
      merkle::Cosigner::FromSignerKey(*skey);
  if (!cosigner.ok()) {
    return out.Fail(absl::InvalidArgumentError(
        absl::StrFormat("witness key file %s: %s (make one with `vigil "
                        "keygen --kind witness`)",
                        flags.key_file, cosigner.status().message())));
  }
  absl::StatusOr<std::vector<WitnessLog>> logs = LoadLogs(flags);
  if (!logs.ok()) return out.Fail(logs.status());
  std::vector<std::string> origins;
  for (const WitnessLog& log : *logs) origins.push_back(log.origin);

  absl::StatusOr<std::unique_ptr<Witness>> witness =
      Witness::Create(*std::move(cosigner), *std::move(logs), flags.state_dir,
                      [] { return absl::Now(); });
  if (!witness.ok()) return out.Fail(witness.status());

  // The signals are taken synchronously by sigwait below; blocking them
  // before the server starts its threads keeps every thread from taking
  // them, so none needs an async-signal-safe handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
    return out.Fail(absl::InternalError("cannot block SIGTERM and SIGINT"));
  }
  absl::StatusOr<server::HostPort> listen = server::ParseHostPort(flags.listen);
  if (!listen.ok()) return out.Fail(listen.status());
  if (flags.tls.cert_file.empty() && !server::IsLoopbackHost(listen->host)) {
    return out.Fail(absl::InvalidArgumentError(absl::StrFormat(
        "--listen %s is not a loopback address, so it needs TLS (--tls-cert "
        "and --tls-key)",
        flags.listen)));
  }
  if (absl::StatusOr<server::TlsMaterial> tls = server::LoadTls(flags.tls);
      !tls.ok()) {
    return out.Fail(tls.status());
  }
  WitnessServerOptions options;
  options.address = flags.listen;
  options.threads = flags.threads;
  options.tls = flags.tls;
  absl::StatusOr<std::unique_ptr<WitnessServer>> server =
      WitnessServer::Start(options, witness->get());
  if (!server.ok()) return out.Fail(server.status());

  std::cerr << "vigil witness: " << (*witness)->verifier().vkey()
            << " cosigning for";
  for (const std::string& origin : origins) {
    std::cerr << " " << merkle::QuoteForError(origin);
  }
  std::cerr << "\n";
  std::cerr << "vigil witness: listening on " << (*server)->address()
            << std::endl;

  int received = 0;
  if (sigwait(&stop_signals, &received) != 0) received = 0;
  (*server)->Stop();
  std::cerr << absl::StrFormat("vigil witness: stopped (signal %d)\n",
                               received);
  return out.Done("", Json{{"address", (*server)->address()},
                           {"witness_key", (*witness)->verifier().vkey()},
                           {"stopped_by_signal", received}});
}

}  // namespace

void AddWitnessCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<WitnessFlags>();
  CLI::App* cmd = app.add_subcommand(
      "witness",
      "Run a c2sp.org/tlog-witness server: cosign the checkpoints of the "
      "given logs that extend the latest one cosigned, until SIGTERM or "
      "SIGINT");
  cmd->add_option("--key", flags->key_file,
                  "the witness's signer key file (vigil keygen --kind "
                  "witness; mode 0600)")
      ->required();
  cmd->add_option("--log-key", flags->log_key_files,
                  "a log's Ed25519 verifier key file (repeatable)")
      ->required();
  cmd->add_option("--origin", flags->origins,
                  "the origin of the log of each --log-key, in order "
                  "(default: the key's name); keys of one origin are one "
                  "log's keys");
  cmd->add_option("--state-dir", flags->state_dir,
                  "directory of the latest cosigned checkpoint of each log")
      ->required();
  cmd->add_option("--listen", flags->listen,
                  "host:port to serve HTTP on; port 0 picks one "
                  "(default 127.0.0.1:0)");
  cmd->add_option("--threads", flags->threads,
                  "requests served concurrently (default 8)")
      ->check(CLI::Range(1, 1024));
  CLI::Option* cert =
      cmd->add_option("--tls-cert", flags->tls.cert_file,
                      "serve HTTPS with this PEM certificate chain (needed "
                      "to listen beyond loopback)")
          ->check(CLI::ExistingFile);
  CLI::Option* key = cmd->add_option("--tls-key", flags->tls.key_file,
                                     "private key of --tls-cert (PEM, 0600)")
                         ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  cmd->add_flag("--json", flags->out.json,
                "on exit, print one JSON object instead of text");
  cmd->callback([flags, exit_code] { *exit_code = RunWitness(*flags); });
}

}  // namespace vigil::client::cli
