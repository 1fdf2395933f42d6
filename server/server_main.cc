// vigil-server: the Vigil log server and its maintenance commands.
//
//   vigil-server serve [--config F] [--<setting> VALUE]...
//   vigil-server keygen --dir D --origin O
//   vigil-server export-tiles [--config F] [--<setting> VALUE]... DIR
//
// `serve` runs the log: RocksDB storage, the agency registry, the
// sequencer, the gRPC API and the tlog-tiles HTTP read path. It prints one
// line per listener to stderr,
//
//   vigil-server: grpc listening on 127.0.0.1:7400
//   vigil-server: http listening on 127.0.0.1:7401
//
// (with the chosen port when the address gave port 0), and shuts down
// gracefully on SIGTERM or SIGINT: it stops accepting, completes the calls
// in progress, integrates what is queued and closes the database.
//
// `keygen` writes a log key pair (log.skey, log.vkey: Ed25519 note keys
// named after the origin) and a registry operator key pair (registry.skey,
// registry.vkey) into D; private files get mode 0600. It never overwrites.
//
// `export-tiles` writes the checkpoint, every hash tile and every entry
// bundle of the latest stored checkpoint under DIR, as static files any web
// server can serve. It opens the database, so the server must be stopped.
//
// Every setting of docs/server.md is also a flag (--grpc-address,
// --max-batch, ...) that overrides the config file.
//
// Exit codes: 0 success; 1 the command failed; 2 usage error.

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "merkle/checkpoint.h"
#include "merkle/note.h"
#include "merkle/tiles.h"
#include "server/config.h"
#include "server/files.h"
#include "server/http_listener.h"
#include "server/http_server.h"
#include "server/log_reader.h"
#include "server/log_service.h"
#include "server/mutex_mode.h"
#include "server/registry.h"
#include "server/rocksdb_storage.h"
#include "server/sequencer.h"
#include "server/tls.h"
#include "server/witness_quorum.h"

namespace vigil::server {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// How long graceful shutdown waits for calls in progress before cancelling
// them.
constexpr absl::Duration kShutdownGrace = absl::Seconds(5);

int Fail(const absl::Status& status) {
  std::cerr << "vigil-server: " << status.message() << "\n";
  return kExitFailed;
}

// The config file (if any) with the flags' overrides, validated.
struct ConfigFlags {
  std::string config_file;
  std::map<std::string, std::string> values;              // Key -> flag text.
  std::map<std::string, std::vector<std::string>> lists;  // Repeated flags.
  std::vector<std::pair<std::string, CLI::Option*>> options;

  void AddTo(CLI::App* cmd) {
    cmd->add_option("--config", config_file, "JSON config file")
        ->check(CLI::ExistingFile);
    for (const ConfigKey& key : ConfigKeys()) {
      std::string flag = "--" + std::string(key.name);
      std::replace(flag.begin(), flag.end(), '_', '-');
      const std::string name(key.name);
      CLI::Option* option =
          key.kind == ConfigValueKind::kList
              ? cmd->add_option(flag, lists[name], std::string(key.help))
              : cmd->add_option(flag, values[name], std::string(key.help));
      options.emplace_back(name, option);
    }
  }

  absl::StatusOr<ServerConfig> Load() const {
    ServerConfig config;
    if (!config_file.empty()) {
      absl::StatusOr<ServerConfig> loaded = LoadServerConfig(config_file);
      if (!loaded.ok()) return loaded.status();
      config = *std::move(loaded);
    }
    std::map<std::string, std::string> overrides;
    for (const auto& [name, option] : options) {
      if (option->count() == 0) continue;
      overrides[name] = lists.contains(name)
                            ? absl::StrJoin(lists.at(name), "\n")
                            : values.at(name);
    }
    if (absl::Status s = ApplyConfigOverrides(overrides, &config); !s.ok()) {
      return s;
    }
    if (absl::Status s = ValidateServerConfig(config); !s.ok()) return s;
    return config;
  }
};

// The log's signing key and the origin it signs for.
struct LogKey {
  std::optional<merkle::Ed25519Signer> signer;
  std::string origin;
};

absl::StatusOr<std::unique_ptr<LogKey>> LoadLogKey(const ServerConfig& config) {
  absl::StatusOr<std::string> text =
      ReadKeyFile(config.log_key_file, /*secret=*/true);
  if (!text.ok()) return text.status();
  absl::StatusOr<merkle::Ed25519Signer> signer =
      merkle::Ed25519Signer::FromSignerKey(*text);
  // Overwrite the copy of the private key text before it is freed.
  std::fill(text->begin(), text->end(), '\0');
  if (!signer.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "log key file %s: %s", config.log_key_file, signer.status().message()));
  }
  auto key = std::make_unique<LogKey>();
  key->signer.emplace(*std::move(signer));
  key->origin =
      config.origin.empty() ? std::string(key->signer->name()) : config.origin;
  if (key->signer->name() != key->origin) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the log key is named %s but the origin is %s: the log signs "
        "checkpoints with a key named after its origin",
        key->signer->name(), key->origin));
  }
  return key;
}

absl::StatusOr<std::array<uint8_t, 32>> LoadRegistryKey(
    const ServerConfig& config) {
  absl::StatusOr<std::string> text =
      ReadKeyFile(config.registry_key_file, /*secret=*/false);
  if (!text.ok()) return text.status();
  absl::StatusOr<merkle::VerifierKey> key = merkle::ParseVerifierKey(*text);
  if (!key.ok() || key->type != merkle::kSignatureTypeEd25519) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "registry key file %s does not hold an Ed25519 verifier key%s",
        config.registry_key_file,
        key.ok() ? "" : absl::StrFormat(": %s", key.status().message())));
  }
  return key->public_key;
}

absl::StatusOr<std::unique_ptr<RocksDBStorage>> OpenStorage(
    const ServerConfig& config) {
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage =
      RocksDBStorage::Open(config.data_dir, RocksDBOptions{});
  if (!storage.ok()) {
    return absl::Status(
        storage.status().code(),
        absl::StrFormat("cannot open the database in %s: %s", config.data_dir,
                        storage.status().message()));
  }
  return storage;
}

// ---------------------------------------------------------------------------
// serve

int Serve(const ConfigFlags& flags) {
  // Signals are taken synchronously by the main thread (sigtimedwait): block
  // them before any thread starts, so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that disconnects mid-response must not kill the server.
  signal(SIGPIPE, SIG_IGN);
  // Nor a file size limit (ulimit -f): the write fails with EFBIG instead,
  // and the log refuses writes with UNAVAILABLE, as on a full disk.
  signal(SIGXFSZ, SIG_IGN);

  absl::StatusOr<ServerConfig> config = flags.Load();
  if (!config.ok()) return Fail(config.status());
  absl::StatusOr<std::unique_ptr<LogKey>> log_key = LoadLogKey(*config);
  if (!log_key.ok()) return Fail(log_key.status());
  absl::StatusOr<std::array<uint8_t, 32>> registry_key =
      LoadRegistryKey(*config);
  if (!registry_key.ok()) return Fail(registry_key.status());
  const TlsFiles tls_files{config->tls_cert_file, config->tls_key_file,
                           config->tls_client_ca_file};
  absl::StatusOr<TlsMaterial> tls = LoadTls(tls_files);
  if (!tls.ok()) return Fail(tls.status());

  absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage =
      OpenStorage(*config);
  if (!storage.ok()) return Fail(storage.status());
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> records =
      (*storage)->ReadRegistry();
  if (!records.ok()) return Fail(records.status());
  absl::StatusOr<std::unique_ptr<Registry>> registry = Registry::Load(*records);
  if (!registry.ok()) return Fail(registry.status());

  LogReader reader(storage->get());
  // Validated with the config: witnesses parse and the quorum fits.
  WitnessPolicy witness_policy = *ValidateWitnesses(*config);
  std::unique_ptr<WitnessQuorum> witnesses;
  SequencerOptions sequencer_options;
  if (!witness_policy.witnesses.empty()) {
    std::cerr << absl::StrFormat(
        "vigil-server: publishing checkpoints cosigned by %d of %d witnesses\n",
        witness_policy.quorum, witness_policy.witnesses.size());
    witnesses = std::make_unique<WitnessQuorum>(
        std::move(witness_policy), config->witness_timeout, &reader);
    sequencer_options.cosigner = witnesses.get();
  }
  sequencer_options.origin = (*log_key)->origin;
  sequencer_options.max_pending = config->max_pending;
  sequencer_options.max_batch = config->max_integration_batch;
  sequencer_options.checkpoint_interval = config->checkpoint_interval;
  absl::StatusOr<std::unique_ptr<Sequencer>> sequencer = Sequencer::Start(
      storage->get(), registry->get(), &*(*log_key)->signer, sequencer_options);
  if (!sequencer.ok()) return Fail(sequencer.status());

  LogServiceOptions service_options;
  service_options.max_batch = config->max_batch;
  service_options.max_entries_per_read = config->max_entries_per_read;
  service_options.submission.record.max_age = config->event_time_max_age;
  service_options.submission.record.max_future_skew =
      config->event_time_max_future_skew;
  service_options.submission.registry_public_key = *registry_key;
  service_options.agency_limits =
      AgencyLimitOptions{config->agency_rate_limit, config->agency_burst,
                         config->agency_daily_quota};
  service_options.client_auth.required = !config->tls_client_ca_file.empty();
  service_options.client_auth.operator_name = config->tls_operator_name;
  auto service = std::make_unique<LogService>(
      sequencer->get(), registry->get(), &reader,
      &(*log_key)->signer->verifier(), (*log_key)->origin, service_options);

  // HTTP first: it reads the log only, so if gRPC then fails to start,
  // stopping it is all the cleanup there is.
  std::unique_ptr<HttpServer> http_server;
  if (!config->http_address.empty()) {
    Sequencer* seq = sequencer->get();
    HttpServerOptions http_options;
    http_options.address = config->http_address;
    http_options.tls = tls_files;
    absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(
        http_options, [seq] { return seq->Latest(); }, &reader);
    if (!http.ok()) return Fail(http.status());
    http_server = *std::move(http);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(config->grpc_address,
                           tls->cert_chain.empty()
                               ? grpc::InsecureServerCredentials()
                               : GrpcServerCredentials(*tls),
                           &grpc_port);
  builder.RegisterService(service->log_service());
  builder.RegisterService(service->registry_service());
  builder.SetMaxReceiveMessageSize(static_cast<int>(config->max_request_bytes));
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    if (http_server != nullptr) http_server->Stop();
    return Fail(absl::UnavailableError(
        absl::StrFormat("cannot listen for gRPC on %s", config->grpc_address)));
  }
  const HostPort grpc_host = *ParseHostPort(config->grpc_address);
  std::cerr << absl::StrFormat(
      "vigil-server: grpc listening on %s\n",
      grpc_host.host.find(':') == std::string::npos
          ? absl::StrFormat("%s:%d", grpc_host.host, grpc_port)
          : absl::StrFormat("[%s]:%d", grpc_host.host, grpc_port));
  if (http_server != nullptr) {
    std::cerr << absl::StrFormat("vigil-server: http listening on %s\n",
                                 http_server->address());
  }
  std::cerr << absl::StrFormat("vigil-server: serving log %s from %s\n",
                               (*log_key)->origin, config->data_dir);
  if (tls->cert_chain.empty()) {
    std::cerr << "vigil-server: plaintext, on loopback only (no TLS "
                 "certificate configured)\n";
  } else if (service_options.client_auth.required) {
    std::cerr << absl::StrFormat(
        "vigil-server: TLS; writes need a client certificate (agencies: "
        "their ORI; the registry operator: %s)\n",
        config->tls_operator_name);
  } else {
    std::cerr << "vigil-server: TLS; writes need no client certificate\n";
  }

  // Wait for SIGTERM or SIGINT, reporting a write failure once: the log
  // then only serves reads, and health checks say so.
  grpc::HealthCheckServiceInterface* health =
      grpc_server->GetHealthCheckService();
  // Named, so that a prober asking for them gets SERVING, not NOT_FOUND.
  if (health != nullptr) {
    health->SetServingStatus("vigil.v1.LogService", true);
    health->SetServingStatus("vigil.v1.RegistryService", true);
  }
  bool reported_failure = false;
  absl::Status reported_cosigning;
  while (true) {
    const timespec one_second{1, 0};
    const int signal = sigtimedwait(&stop_signals, nullptr, &one_second);
    if (signal == SIGTERM || signal == SIGINT) {
      std::cerr << absl::StrFormat("vigil-server: %s, shutting down\n",
                                   strsignal(signal));
      break;
    }
    // Cosigning problems are reported when they start, change kind or end.
    if (absl::Status s = (*sequencer)->cosigning();
        s.code() != reported_cosigning.code()) {
      std::cerr << "vigil-server: "
                << (s.ok() ? "witnesses cosign checkpoints again"
                           : std::string(s.message()))
                << "\n";
      reported_cosigning = s;
    }
    if (absl::Status s = (*sequencer)->health(); !s.ok() && !reported_failure) {
      reported_failure = true;
      std::cerr << "vigil-server: the log stopped accepting writes: "
                << s.message() << "\n";
      if (health != nullptr) {
        health->SetServingStatus("vigil.v1.LogService", false);
        health->SetServingStatus("vigil.v1.RegistryService", false);
      }
    }
  }

  // Order matters: the sequencer keeps running until every call has ended
  // (wait_for_inclusion calls need its checkpoints), and the service
  // outlives the sequencer (its callbacks refer to the service). HTTP
  // requests in progress finish meanwhile, on another thread.
  if (health != nullptr) health->SetServingStatus(false);
  std::thread http_stop([&http_server] {
    if (http_server != nullptr) http_server->Stop();
  });
  service->Shutdown();
  if (!service->WaitForCalls(absl::Now() + kShutdownGrace)) {
    std::cerr << absl::StrFormat(
        "vigil-server: calls still in progress after %s are cancelled\n",
        absl::FormatDuration(kShutdownGrace));
  }
  // No call of ours is left: stop at once rather than wait for idle
  // client connections to go away.
  grpc_server->Shutdown(absl::ToChronoTime(absl::Now()));
  grpc_server->Wait();
  http_stop.join();
  sequencer->reset();
  witnesses.reset();
  service.reset();
  http_server.reset();
  grpc_server.reset();
  storage->reset();
  std::cerr << "vigil-server: stopped\n";
  return kExitOk;
}

// ---------------------------------------------------------------------------
// keygen

int Keygen(const std::string& dir, const std::string& origin) {
  const std::filesystem::path root(dir);
  const std::string registry_name = origin + "/registry";
  struct KeyFiles {
    std::string name;
    std::string stem;
  };
  const KeyFiles pairs[] = {{origin, "log"}, {registry_name, "registry"}};
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    return Fail(absl::UnavailableError(
        absl::StrFormat("cannot create %s: %s", dir, ec.message())));
  }
  // Check every file first, so that a refusal writes nothing.
  for (const KeyFiles& k : pairs) {
    for (const char* ext : {".skey", ".vkey"}) {
      const std::filesystem::path path = root / (k.stem + ext);
      if (std::filesystem::exists(path, ec) || ec) {
        return Fail(absl::AlreadyExistsError(absl::StrFormat(
            "%s already exists; keygen never overwrites keys", path.string())));
      }
    }
  }
  for (const KeyFiles& k : pairs) {
    absl::StatusOr<merkle::NoteKeyPair> pair =
        merkle::GenerateNoteKey(k.name, merkle::kSignatureTypeEd25519);
    if (!pair.ok()) {
      return Fail(absl::InvalidArgumentError(absl::StrFormat(
          "cannot make a key named %s: %s", k.name, pair.status().message())));
    }
    const std::filesystem::path skey = root / (k.stem + ".skey");
    const std::filesystem::path vkey = root / (k.stem + ".vkey");
    absl::Status s = WriteNewFile(skey.string(), pair->signer_key + "\n", 0600);
    std::fill(pair->signer_key.begin(), pair->signer_key.end(), '\0');
    if (!s.ok()) return Fail(s);
    if (s = WriteNewFile(vkey.string(), pair->verifier_key + "\n", 0644);
        !s.ok()) {
      return Fail(s);
    }
    std::cout << absl::StrFormat("%s: %s\n", vkey.string(), pair->verifier_key);
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// export-tiles

struct ExportCounts {
  uint64_t written = 0;
  uint64_t kept = 0;  // Immutable files already present.
};

// Writes one tile or bundle unless its file exists: every file is written
// atomically, so an existing one is complete, and a tile path names
// immutable bytes.
absl::Status ExportResource(
    const std::filesystem::path& root, const std::string& path,
    const std::function<absl::StatusOr<std::string>()>& read,
    ExportCounts* counts) {
  const std::filesystem::path file = root / path;
  std::error_code ec;
  if (std::filesystem::is_regular_file(file, ec)) {
    ++counts->kept;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> data = read();
  if (!data.ok()) {
    return {data.status().code(),
            absl::StrFormat("%s: %s", path, data.status().message())};
  }
  if (absl::Status s = WriteFileAtomically(file.string(), *data); !s.ok())
    return s;
  ++counts->written;
  return absl::OkStatus();
}

int ExportTiles(const ConfigFlags& flags, const std::string& dir) {
  absl::StatusOr<ServerConfig> config = flags.Load();
  if (!config.ok()) return Fail(config.status());
  absl::StatusOr<std::unique_ptr<LogKey>> log_key = LoadLogKey(*config);
  if (!log_key.ok()) return Fail(log_key.status());
  absl::StatusOr<std::unique_ptr<RocksDBStorage>> storage =
      OpenStorage(*config);
  if (!storage.ok()) return Fail(storage.status());
  absl::StatusOr<LogState> state = (*storage)->ReadState();
  if (!state.ok()) return Fail(state.status());
  if (state->checkpoint.empty()) {
    return Fail(absl::FailedPreconditionError(
        "the log has no checkpoint yet: nothing to export"));
  }
  absl::StatusOr<merkle::OpenedCheckpoint> opened = merkle::OpenCheckpoint(
      state->checkpoint, (*log_key)->signer->verifier(), (*log_key)->origin);
  if (!opened.ok()) {
    return Fail(absl::DataLossError(
        absl::StrFormat("the stored checkpoint does not verify: %s",
                        opened.status().message())));
  }
  const uint64_t size = opened->checkpoint.size;
  LogReader reader(storage->get());
  const std::filesystem::path root(dir);
  ExportCounts tiles;
  ExportCounts bundles;

  // Level by level, without listing every tile at once (TilesForTreeSize
  // holds size / 255 IDs).
  for (uint8_t level = 0; level <= merkle::kMaxTileLevel; ++level) {
    const uint64_t full = merkle::FullTileCount(level, size);
    const uint16_t partial = merkle::PartialTileWidth(level, size);
    if (full == 0 && partial == 0) break;
    for (uint64_t index = 0; index <= full; ++index) {
      const uint16_t width = index < full ? merkle::kTileWidth : partial;
      if (width == 0) continue;
      const merkle::TileID tile{level, index, width};
      absl::Status s = ExportResource(
          root, merkle::TilePath(tile), [&] { return reader.Tile(tile, size); },
          &tiles);
      if (!s.ok()) return Fail(s);
      if (level != 0) continue;
      const merkle::EntryBundleID bundle{index, width};
      s = ExportResource(
          root, merkle::EntryBundlePath(bundle),
          [&] { return reader.EntryBundle(bundle, size); }, &bundles);
      if (!s.ok()) return Fail(s);
    }
  }
  // The checkpoint last: a mirror never names tiles it does not hold yet.
  if (absl::Status s = WriteFileAtomically((root / "checkpoint").string(),
                                           state->checkpoint);
      !s.ok()) {
    return Fail(s);
  }
  std::cout << absl::StrFormat(
      "exported checkpoint of size %d to %s: %d tiles and %d entry bundles "
      "written, %d and %d already present\n",
      size, dir, tiles.written, bundles.written, tiles.kept, bundles.kept);
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app{"vigil-server: the Vigil transparency log server"};
  app.require_subcommand(1);

  ConfigFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "Run the log server");
  serve_flags.AddTo(serve);

  std::string key_dir;
  std::string origin;
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Create the log's and the registry operator's key pairs");
  keygen->add_option("--dir", key_dir, "directory for the key files")
      ->required();
  keygen
      ->add_option("--origin", origin,
                   "the log's origin, e.g. example.gov/vigil")
      ->required();

  ConfigFlags export_flags;
  std::string export_dir;
  CLI::App* export_tiles = app.add_subcommand(
      "export-tiles",
      "Write the latest checkpoint's tiles and entry bundles as static files "
      "(the server must be stopped)");
  export_flags.AddTo(export_tiles);
  export_tiles->add_option("dir", export_dir, "output directory")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*serve) return Serve(serve_flags);
  if (*keygen) return Keygen(key_dir, origin);
  return ExportTiles(export_flags, export_dir);
}

// glibc gives each thread that contends for the allocator its own arena,
// up to 8 per core, and memory freed into one arena serves no other. The
// server's gRPC, HTTP, sequencer and RocksDB threads take turns allocating
// cache blocks, memtables and replies, so freed memory piled up across a
// dozen arenas: 331 MiB resident after a benchmark run at 10^6 entries with
// glibc's default, 233 MiB with one arena per core (docs/benchmarks.md).
// One per core still leaves each running thread an arena to itself most of
// the time. An operator's MALLOC_ARENA_MAX still wins.
void LimitMallocArenas() {
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  mallopt(M_ARENA_MAX, static_cast<int>(cores));
}

}  // namespace
}  // namespace vigil::server

int main(int argc, char** argv) {
  vigil::SetMutexModeForBuild();
  vigil::server::LimitMallocArenas();
  try {
    return vigil::server::Main(argc, argv);
  } catch (const std::exception& e) {
    // CLI11 reports some flag errors as exceptions; nothing else throws.
    std::cerr << "vigil-server: " << e.what() << "\n";
    return 2;
  }
}
