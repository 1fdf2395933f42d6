// vigil-bench: the log server's throughput, latency and scale, each read
// against a ceiling measured in the same run on the same machine.
//
// It creates keys, starts the real vigil-server (RocksDB, fsync before every
// acknowledgement) on 127.0.0.1 in a temporary directory, registers an
// agency, and measures:
//   ceilings      Ed25519 verifications/s on every core; synced RocksDB
//                 writes/s; no-op gRPC unary calls/s (health check)
//   ingest        pre-signed distinct records through SubmitRecords
//                 (batch, concurrency), and SubmitRecord from 64 clients
//   latency       submission to inclusion in a signed checkpoint
//                 (wait_for_inclusion) at half the batch ingest rate
//   proofs        inclusion and consistency proofs/s at each tree size
//   monitor       a full monitor audit (every tile, entry and signature)
//   scale         restart time, resident memory and disk bytes per entry
//                 at the final size
// It prints a table and, with --json FILE, writes the figures as JSON.
// Benchmarks are not tests: nothing here fails on a slow figure.
//
//   build/bench/vigil-bench                       # 10^4 and 10^6 entries
//   build/bench/vigil-bench --scale               # ... and 10^7
//   build/bench/vigil-bench --quick --json b.json # seconds; a smoke run

#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/ceilings.h"
#include "bench/load.h"
#include "client/http_tile_source.h"
#include "client/log_client.h"
#include "client/monitor.h"
#include "client/signing.h"
#include "server/entry.h"
#include "server/files.h"
#include "server/mutex_mode.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_records.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil::bench {
namespace {

using Json = nlohmann::ordered_json;
using v1::LogService;

constexpr char kOrigin[] = "bench.vigil.example/log";
const absl::Duration kCallTimeout = absl::Seconds(60);

struct Flags {
  bool quick = false;
  bool scale = false;
  uint64_t records = 50000;
  uint64_t batch_size = 256;
  size_t concurrency = 8;
  uint64_t unary_records = 20000;
  size_t unary_clients = 64;
  double latency_seconds = 10;
  std::string proof_sizes = "10000,1000000";
  double proof_seconds = 3;
  double ceiling_seconds = 2;
  std::string checkpoint_interval = "100ms";
  std::string json_file;
  std::string server_binary = VIGIL_SERVER_BINARY;
};

// One figure of the report.
struct Figure {
  Figure(std::string name, double value, std::string unit)
      : name(std::move(name)), value(value), unit(std::move(unit)) {}
  // With a goal on the value: at most `limit` (e.g. a latency).
  Figure(std::string name, double value, std::string unit, double limit)
      : Figure(std::move(name), value, std::move(unit)) {
    goal = absl::StrFormat("<= %g %s", limit, this->unit);
    met = value <= limit;
  }

  std::string name;
  double value = 0;
  std::string unit;
  std::string ceiling;      // The ceiling's name, if read against one.
  double ceiling_rate = 0;  // The ceiling, measured just before the figure.
  double ratio = 0;
  std::string goal;  // e.g. ">= 0.75", empty if none.
  bool met = true;
};

class Report {
 public:
  void Add(Figure f) {
    std::cout << absl::StrFormat("%-44s %14.1f %-10s", f.name, f.value, f.unit);
    if (!f.ceiling.empty()) {
      std::cout << absl::StrFormat("  %5.2f x %s (%.0f/s)", f.ratio, f.ceiling,
                                   f.ceiling_rate);
    }
    if (!f.goal.empty()) {
      std::cout << absl::StrFormat("  goal %s: %s", f.goal,
                                   f.met ? "met" : "NOT MET");
    }
    std::cout << std::endl;
    figures_.push_back(std::move(f));
  }
  // The value of an earlier figure.
  double Value(const std::string& name) const {
    for (const Figure& f : figures_) {
      if (f.name == name) return f.value;
    }
    return 0;
  }
  Json ToJson() const {
    Json out = Json::array();
    for (const Figure& f : figures_) {
      Json j{{"name", f.name}, {"value", f.value}, {"unit", f.unit}};
      if (!f.ceiling.empty()) {
        j["ceiling"] = f.ceiling;
        j["ceiling_rate"] = f.ceiling_rate;
        j["ratio"] = f.ratio;
      }
      if (!f.goal.empty()) {
        j["goal"] = f.goal;
        j["met"] = f.met;
      }
      out.push_back(std::move(j));
    }
    return out;
  }

 private:
  std::vector<Figure> figures_;
};

// A figure read against a ceiling, with a goal on the ratio.
Figure Against(std::string name, double value, std::string unit,
               std::string ceiling_name, double ceiling, double goal = 0) {
  Figure f(std::move(name), value, std::move(unit));
  f.ceiling = std::move(ceiling_name);
  f.ceiling_rate = ceiling;
  f.ratio = ceiling > 0 ? value / ceiling : 0;
  if (goal > 0) {
    f.goal = absl::StrFormat(">= %.2f", goal);
    f.met = f.ratio >= goal;
  }
  return f;
}

[[noreturn]] void Die(const absl::Status& status) {
  std::cerr << "vigil-bench: " << status.message() << "\n";
  std::exit(2);
}

template <typename T>
T Check(absl::StatusOr<T> value) {
  if (!value.ok()) Die(value.status());
  return *std::move(value);
}

// A few channels with their own connections: one HTTP/2 connection would
// serialize the load on one server thread's reads.
class Channels {
 public:
  Channels(const std::string& address, int count) {
    for (int i = 0; i < count; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("vigil.bench.channel", i);  // Distinct subchannels.
      args.SetMaxReceiveMessageSize(64 << 20);
      auto channel = grpc::CreateCustomChannel(
          address, grpc::InsecureChannelCredentials(), args);
      stubs_.push_back(LogService::NewStub(channel));
      channels_.push_back(std::move(channel));
    }
  }
  LogService::Stub& Stub(uint64_t n) { return *stubs_[n % stubs_.size()]; }
  const std::shared_ptr<grpc::Channel>& Channel(uint64_t n) {
    return channels_[n % channels_.size()];
  }
  const std::vector<std::shared_ptr<grpc::Channel>>& All() const {
    return channels_;
  }

 private:
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<LogService::Stub>> stubs_;
};

// Signs `count` distinct records of `agency` on every core.
std::vector<v1::SignedPayload> SignRecords(const testing::TestAgency& agency,
                                           const std::string& prefix,
                                           uint64_t count) {
  std::vector<v1::SignedPayload> records(count);
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  const absl::Time now = absl::Now();
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (uint64_t i = t; i < count; i += threads) {
        records[i] = client::SignAccessRecord(
            testing::RequesterRecord(agency,
                                     absl::StrFormat("%s-%d", prefix, i), now),
            agency.key);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return records;
}

// The signatures of `records`, as the server checks them.
std::vector<SignatureToCheck> SignaturesOf(
    const std::vector<v1::SignedPayload>& records) {
  std::vector<SignatureToCheck> signatures;
  signatures.reserve(records.size());
  for (const v1::SignedPayload& record : records) {
    signatures.push_back(
        {server::SignedMessage(server::EntryKind::kAccessRecord,
                               record.payload()),
         record.signature(), record.public_key()});
  }
  return signatures;
}

// Submits `records` in batches, `concurrency` calls at once, and returns
// the load with one call per batch; a call counts as ok only if every
// record of its batch was appended (or already in the log).
LoadResult SubmitBatches(Channels& channels,
                         const std::vector<v1::SignedPayload>& records,
                         uint64_t batch_size, size_t concurrency,
                         bool wait_for_inclusion, double open_loop_rate = 0) {
  const uint64_t calls = (records.size() + batch_size - 1) / batch_size;
  const StartCall start = [&](uint64_t n, Completion done) {
    v1::SubmitRecordsRequest request;
    request.set_wait_for_inclusion(wait_for_inclusion);
    const uint64_t end =
        std::min<uint64_t>(records.size(), (n + 1) * batch_size);
    for (uint64_t i = n * batch_size; i < end; ++i) {
      *request.add_records() = records[i];
    }
    LogService::Stub& stub = channels.Stub(n);
    AsyncCall<v1::SubmitRecordsRequest, v1::SubmitRecordsResponse>(
        [&stub](auto* c, auto* q, auto* r, auto f) {
          stub.async()->SubmitRecords(c, q, r, std::move(f));
        },
        std::move(request), kCallTimeout,
        [done](const grpc::Status& status, v1::SubmitRecordsResponse& r) {
          bool ok = status.ok();
          for (const v1::RecordResult& result : r.results()) {
            ok = ok && result.code() == 0;
          }
          done(ok);
        });
  };
  return open_loop_rate > 0 ? RunOpenLoop(open_loop_rate, calls, start)
                            : RunClosedLoop(concurrency, calls,
                                            absl::InfiniteDuration(), start);
}

uint64_t LatestSize(Channels& channels) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
  v1::CheckpointResponse response;
  const grpc::Status s =
      channels.Stub(0).GetCheckpoint(&context, {}, &response);
  return s.ok() ? response.size() : 0;
}

// Grows the log to at least `size` entries with fresh records, signed and
// submitted in chunks, then waits for a checkpoint to cover them. Returns
// the ingest rate (records/s, submission only) over the chunks that make up
// the last tenth of the growth, or nullopt if the log was already that big.
std::optional<double> GrowTo(Channels& channels,
                             const testing::TestAgency& agency, uint64_t size,
                             const Flags& flags, uint64_t* serial) {
  constexpr uint64_t kChunk = 50000;
  const uint64_t start = LatestSize(channels);
  const uint64_t last_tenth = size - (size - std::min(start, size)) / 10;
  uint64_t timed_records = 0;
  absl::Duration timed;
  // Every record is new, so the log holds what it held plus what was sent.
  for (uint64_t appended = start; appended < size;) {
    const uint64_t count = std::min(size - appended, kChunk);
    const std::vector<v1::SignedPayload> chunk =
        SignRecords(agency, absl::StrFormat("grow-%d", (*serial)++), count);
    const LoadResult r = SubmitBatches(channels, chunk, flags.batch_size,
                                       flags.concurrency, false);
    if (r.failed > 0) {
      Die(absl::UnavailableError(absl::StrFormat(
          "%d batches failed while growing the log", r.failed)));
    }
    if (appended + count > last_tenth) {
      timed_records += count;
      timed += r.elapsed;
    }
    appended += count;
    std::cerr << absl::StrFormat("\rvigil-bench: log grown to %d entries",
                                 appended)
              << std::flush;
  }
  std::cerr << "\n";
  for (absl::Time until = absl::Now() + absl::Seconds(60);
       LatestSize(channels) < size;) {
    if (absl::Now() > until) {
      Die(absl::UnavailableError(
          absl::StrFormat("no checkpoint covers %d entries", size)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (timed_records == 0) return std::nullopt;
  return static_cast<double>(timed_records) / absl::ToDoubleSeconds(timed);
}

// CPU time (user + system) that process `pid` has used so far, from
// /proc/<pid>/stat; zero if it cannot be read.
absl::Duration ProcessCpu(pid_t pid) {
  std::ifstream in(absl::StrFormat("/proc/%d/stat", pid));
  const std::string stat{std::istreambuf_iterator<char>(in), {}};
  // The command name, in parentheses, may hold spaces; after it come the
  // state (field 3), ..., utime (field 14) and stime (field 15).
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) return absl::ZeroDuration();
  const std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat).substr(name_end + 1), ' ', absl::SkipEmpty());
  uint64_t utime = 0;
  uint64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::ZeroDuration();
  }
  return absl::Seconds(static_cast<double>(utime + stime) /
                       static_cast<double>(sysconf(_SC_CLK_TCK)));
}

// The server's CPU per call over one phase. Unlike a rate, it hardly moves
// when a shared host slows the machine down, so it shows what a change to
// the server saved even when the rates of two runs are too noisy to.
class ServerCpu {
 public:
  explicit ServerCpu(pid_t pid) : pid_(pid), start_(ProcessCpu(pid)) {}

  // A figure: microseconds of server CPU per call for `calls` calls since
  // construction.
  [[nodiscard]] Figure PerCall(std::string name, double calls) const {
    const double micros = absl::ToDoubleMicroseconds(ProcessCpu(pid_) - start_);
    return {std::move(name), calls > 0 ? micros / calls : 0, "us"};
  }

 private:
  const pid_t pid_;
  const absl::Duration start_;
};

// Inclusion and consistency proofs against the tree of `size` entries.
// Inclusion proofs run twice over the same indices: first while the
// server's tile cache fills (as after a restart or at a new size), then
// with what a long-running server holds; the goal is read on the second.
void MeasureProofs(Channels& channels, uint64_t size, const Flags& flags,
                   const std::function<double()>& noop_ceiling, pid_t server,
                   Report& report) {
  const absl::Duration duration = absl::Seconds(flags.proof_seconds);
  const ServerCpu noop_cpu(server);
  const double noop = noop_ceiling();
  // Calls made, from the rate: the ceiling runs for ceiling_seconds, plus
  // the milliseconds its last calls take to finish.
  const Figure noop_per_call =
      noop_cpu.PerCall(absl::StrFormat("server CPU per no-op call @ %d", size),
                       noop * flags.ceiling_seconds);
  std::mt19937_64 seed(size);
  const uint64_t base = seed();
  const auto inclusion_pass = [&] {
    return RunClosedLoop(
        flags.unary_clients, UINT64_MAX, duration,
        [&](uint64_t n, Completion done) {
          v1::GetInclusionProofRequest request;
          request.set_index((base + n * 7919) % size);
          request.set_tree_size(size);
          LogService::Stub& stub = channels.Stub(n);
          AsyncCall<v1::GetInclusionProofRequest, v1::InclusionProofResponse>(
              [&stub](auto* c, auto* q, auto* r, auto f) {
                stub.async()->GetInclusionProof(c, q, r, std::move(f));
              },
              std::move(request), kCallTimeout,
              [done](const grpc::Status& s, v1::InclusionProofResponse&) {
                done(s.ok());
              });
        });
  };
  const LoadResult cold = inclusion_pass();
  const ServerCpu inclusion_cpu(server);
  const LoadResult inclusion = inclusion_pass();
  const Figure inclusion_per_call = inclusion_cpu.PerCall(
      absl::StrFormat("server CPU per inclusion proof @ %d", size),
      static_cast<double>(inclusion.ok + inclusion.failed));
  const ServerCpu consistency_cpu(server);
  const LoadResult consistency = RunClosedLoop(
      flags.unary_clients, UINT64_MAX, duration,
      [&](uint64_t n, Completion done) {
        v1::GetConsistencyProofRequest request;
        request.set_old_size(1 + (base + n * 7919) % (size - 1));
        request.set_new_size(size);
        LogService::Stub& stub = channels.Stub(n);
        AsyncCall<v1::GetConsistencyProofRequest, v1::ConsistencyProofResponse>(
            [&stub](auto* c, auto* q, auto* r, auto f) {
              stub.async()->GetConsistencyProof(c, q, r, std::move(f));
            },
            std::move(request), kCallTimeout,
            [done](const grpc::Status& s, v1::ConsistencyProofResponse&) {
              done(s.ok());
            });
      });
  const Figure consistency_per_call = consistency_cpu.PerCall(
      absl::StrFormat("server CPU per consistency proof @ %d", size),
      static_cast<double>(consistency.ok + consistency.failed));
  if (cold.failed + inclusion.failed + consistency.failed > 0) {
    Die(absl::InternalError(absl::StrFormat(
        "%d proof calls failed at size %d",
        cold.failed + inclusion.failed + consistency.failed, size)));
  }
  report.Add(
      Against(absl::StrFormat("inclusion proofs @ %d, cache filling", size),
              cold.Rate(), "proofs/s", "no-op unary", noop));
  report.Add(Against(absl::StrFormat("inclusion proofs @ %d", size),
                     inclusion.Rate(), "proofs/s", "no-op unary", noop, 0.8));
  report.Add(Against(absl::StrFormat("consistency proofs @ %d", size),
                     consistency.Rate(), "proofs/s", "no-op unary", noop, 0.8));
  report.Add(noop_per_call);
  report.Add(inclusion_per_call);
  report.Add(consistency_per_call);
}

// Memory figures are in MB (10^6 bytes), the unit of issue 6's goal.
constexpr double kMB = 1e6;

// A memory figure of /proc/<pid>/status, e.g. "VmRSS:" (resident now) or
// "VmHWM:" (resident at the peak), in bytes; 0 if it is not there.
uint64_t StatusBytes(pid_t pid, std::string_view field) {
  std::ifstream status(absl::StrFormat("/proc/%d/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(field)) {
      return std::stoull(line.substr(field.size())) * 1024;  // " 1234 kB"
    }
  }
  return 0;
}

uint64_t ResidentBytes(pid_t pid) { return StatusBytes(pid, "VmRSS:"); }

// Hands this process's free heap back to the kernel and restarts its peak
// resident figure (VmHWM) from what is resident now, so that the peak read
// later is what the work in between needed.
void RestartPeakResident() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

uint64_t DiskBytes(const std::filesystem::path& dir) {
  uint64_t bytes = 0;
  for (const auto& file : std::filesystem::recursive_directory_iterator(dir)) {
    if (file.is_regular_file()) bytes += file.file_size();
  }
  return bytes;
}

int Run(const Flags& flags) {
  testing::TempDir dir;
  std::cout << absl::StrFormat(
      "vigil-bench: %d cores; server %s, checkpoint interval %s, work in "
      "%s\n\n",
      std::thread::hardware_concurrency(), flags.server_binary,
      flags.checkpoint_interval, dir.path().string());
  const absl::StatusOr<testing::CommandResult> keygen =
      testing::RunCommand({flags.server_binary, "keygen", "--dir",
                           dir.Sub("keys"), "--origin", kOrigin});
  if (!keygen.ok() || keygen->exit_code != 0) {
    Die(absl::UnavailableError(absl::StrFormat(
        "keygen failed: %s",
        keygen.ok() ? keygen->output : keygen.status().message())));
  }
  const std::vector<std::string> serve = {"serve",
                                          "--grpc-address",
                                          "127.0.0.1:0",
                                          "--http-address",
                                          "127.0.0.1:0",
                                          "--data-dir",
                                          dir.Sub("db"),
                                          "--log-key-file",
                                          dir.Sub("keys/log.skey"),
                                          "--registry-key-file",
                                          dir.Sub("keys/registry.vkey"),
                                          "--checkpoint-interval",
                                          flags.checkpoint_interval,
                                          "--max-batch",
                                          "1000"};
  testing::ServerProcess server(dir.Sub("server.log"));
  if (absl::Status s = server.Start(flags.server_binary, serve, true);
      !s.ok()) {
    Die(s);
  }
  Channels channels(server.grpc_address(), 4);

  // The agency whose records are submitted.
  const testing::TestAgency agency("CA0349400", v1::LOCAL_POLICE);
  {
    client::LogTrust trust = Check(
        client::LogTrust::FromKeyFiles(dir.Sub("keys/log.vkey"), "", {}, 0));
    std::unique_ptr<client::LogClient> client = Check(client::LogClient::Create(
        channels.Channel(0), std::move(trust), client::LogClientOptions{}));
    const merkle::Ed25519PrivateKey registry_key =
        Check(testing::LoadPrivateKeyFile(dir.Sub("keys/registry.skey")));
    const client::SubmitResult registered =
        client->SubmitRegistryChange(client::SignRegistryChange(
            testing::RegisterAgency(agency, absl::Now()), registry_key));
    if (!registered.status.ok()) Die(registered.status);
  }

  Report report;
  const absl::Duration ceiling_time = absl::Seconds(flags.ceiling_seconds);
  const std::vector<v1::SignedPayload> records =
      SignRecords(agency, "batch", flags.records);
  const size_t threads = std::max(1u, std::thread::hardware_concurrency());
  // The machine's speed drifts by tens of percent over minutes (shared
  // hosts), so each figure is read against its ceiling measured again just
  // before it; the report shows the one used.
  const std::vector<SignatureToCheck> signatures = SignaturesOf(records);
  const auto verify_ceiling = [&] {
    return VerifyCeiling(signatures, threads, ceiling_time);
  };
  const auto noop_ceiling = [&] {
    return NoopUnaryCeiling(channels.All(), flags.unary_clients, ceiling_time);
  };
  const double verify = verify_ceiling();
  report.Add({"ceiling: Ed25519 verifications, all cores", verify, "/s"});
  // Shown, not used: how far a ceiling of one signature would overstate it.
  report.Add(Against(
      "Ed25519, one signature over and over",
      VerifyCeiling(std::span(signatures).first(1), threads, ceiling_time),
      "/s", "verify", verify));
  const double synced =
      Check(SyncedWriteCeiling(dir.Sub("rocksdb-ceiling"), ceiling_time));
  report.Add({"ceiling: synced RocksDB writes", synced, "/s"});
  report.Add(
      {"ceiling: no-op gRPC unary calls (64 clients)", noop_ceiling(), "/s"});

  // Ingest.
  const ServerCpu batch_cpu(server.pid());
  const LoadResult batch = SubmitBatches(channels, records, flags.batch_size,
                                         flags.concurrency, false);
  const Figure batch_per_record =
      batch_cpu.PerCall("server CPU per record, batch ingest",
                        static_cast<double>(records.size()));
  const double batch_rate = static_cast<double>(records.size()) /
                            absl::ToDoubleSeconds(batch.elapsed);
  if (batch.failed > 0) {
    Die(absl::InternalError(
        absl::StrFormat("%d ingest batches failed", batch.failed)));
  }
  report.Add(Against(absl::StrFormat("batch ingest (%d x %d in flight)",
                                     flags.batch_size, flags.concurrency),
                     batch_rate, "records/s", "verify", verify, 0.75));
  report.Add(batch_per_record);

  const std::vector<v1::SignedPayload> singles =
      SignRecords(agency, "unary", flags.unary_records);
  const double noop = noop_ceiling();
  const ServerCpu unary_cpu(server.pid());
  const LoadResult unary = RunClosedLoop(
      flags.unary_clients, singles.size(), absl::InfiniteDuration(),
      [&](uint64_t n, Completion done) {
        v1::SubmitRecordRequest request;
        *request.mutable_record() = singles[n];
        LogService::Stub& stub = channels.Stub(n);
        AsyncCall<v1::SubmitRecordRequest, v1::RecordResult>(
            [&stub](auto* c, auto* q, auto* r, auto f) {
              stub.async()->SubmitRecord(c, q, r, std::move(f));
            },
            std::move(request), kCallTimeout,
            [done](const grpc::Status& s, v1::RecordResult&) { done(s.ok()); });
      });
  if (unary.failed > 0) {
    Die(absl::InternalError(
        absl::StrFormat("%d unary submissions failed", unary.failed)));
  }
  report.Add(Against("unary ingest (64 clients)", unary.Rate(), "records/s",
                     "no-op unary", noop, 0.6));
  report.Add(unary_cpu.PerCall("server CPU per record, unary ingest",
                               static_cast<double>(singles.size())));

  // Latency at half the batch ingest rate, batches as above.
  const uint64_t latency_records = static_cast<uint64_t>(
      std::max(1.0, batch_rate / 2 * flags.latency_seconds));
  const std::vector<v1::SignedPayload> timed =
      SignRecords(agency, "latency", latency_records);
  const LoadResult latency =
      SubmitBatches(channels, timed, flags.batch_size, flags.concurrency, true,
                    batch_rate / 2 / static_cast<double>(flags.batch_size));
  if (latency.failed > 0) {
    Die(absl::InternalError(
        absl::StrFormat("%d timed batches failed", latency.failed)));
  }
  report.Add({"submission to checkpoint p50 (half load)", latency.Quantile(0.5),
              "ms", 250});
  report.Add({"submission to checkpoint p99 (half load)",
              latency.Quantile(0.99), "ms", 1000});

  // Proofs at each size.
  std::vector<uint64_t> sizes;
  for (absl::string_view s : absl::StrSplit(flags.proof_sizes, ',')) {
    uint64_t size = 0;
    if (!absl::SimpleAtoi(s, &size) || size < 2) {
      Die(absl::InvalidArgumentError(absl::StrFormat(
          "--proof-sizes: %s is not a size >= 2", std::string(s))));
    }
    sizes.push_back(size);
  }
  if (flags.scale) sizes.push_back(10'000'000);
  std::sort(sizes.begin(), sizes.end());
  uint64_t serial = 0;
  for (uint64_t size : sizes) {
    if (const std::optional<double> rate =
            GrowTo(channels, agency, size, flags, &serial)) {
      // No goal: this shows whether ingest holds up as the log grows.
      report.Add(Against(
          absl::StrFormat("batch ingest growing to %d (last tenth)", size),
          *rate, "records/s", "verify", verify_ceiling()));
    }
    MeasureProofs(channels, size, flags, noop_ceiling, server.pid(), report);
  }

  // A full monitor audit: every entry bundle, tile and signature.
  {
    const uint64_t size = LatestSize(channels);
    std::unique_ptr<client::HttpTileSource> source = Check(
        client::HttpTileSource::FromUrl("http://" + server.http_address()));
    client::MonitorOptions options;
    options.state_file = dir.Sub("monitor.json");
    options.registry_vkey = Check(
        server::ReadKeyFile(dir.Sub("keys/registry.vkey"), /*secret=*/false));
    // Reconciliation on, as a watchdog runs it (it keeps a table of every
    // lookup); each lookup here is logged by its requester alone, so none
    // is incomplete.
    options.expected_roles = {v1::REQUESTER};
    std::unique_ptr<client::Monitor> monitor =
        Check(client::Monitor::Create(source.get(),
                                      Check(client::LogTrust::FromKeyFiles(
                                          dir.Sub("keys/log.vkey"), "", {}, 0)),
                                      options));
    const double monitor_verify = verify_ceiling();
    RestartPeakResident();
    const uint64_t resident_before = ResidentBytes(getpid());
    const absl::Time began = absl::Now();
    const client::MonitorRun run = Check(monitor->RunOnce());
    const double seconds = absl::ToDoubleSeconds(absl::Now() - began);
    const double monitor_memory = static_cast<double>(
        std::max(StatusBytes(getpid(), "VmHWM:"), resident_before) -
        resident_before);
    if (!run.alerts.empty()) {
      Die(absl::InternalError(
          absl::StrFormat("the monitor raised %d alerts on the benchmark's log",
                          run.alerts.size())));
    }
    report.Add(Against(absl::StrFormat("monitor audit @ %d", size),
                       static_cast<double>(run.tree.entries) / seconds,
                       "entries/s", "verify", monitor_verify, 0.8));
    report.Add({absl::StrFormat("monitor memory at its peak @ %d", size),
                monitor_memory / kMB, "MB"});
    report.Add({"monitor memory per entry",
                monitor_memory / static_cast<double>(run.tree.entries),
                "bytes"});

    // Scale, at the final size.
    const uint64_t rss = ResidentBytes(server.pid());
    if (server.Stop(SIGTERM) != 0) {
      Die(absl::InternalError("vigil-server did not stop cleanly"));
    }
    const double disk = static_cast<double>(DiskBytes(dir.Sub("db")));
    const double per_entry_overhead =
        (disk - static_cast<double>(run.tree.entry_bytes)) /
        static_cast<double>(run.tree.entries);
    const absl::Time restart = absl::Now();
    if (absl::Status s = server.Start(flags.server_binary, serve, true);
        !s.ok()) {
      Die(s);
    }
    const double restart_ms = absl::ToDoubleMilliseconds(absl::Now() - restart);
    const double restarted_rss =
        static_cast<double>(ResidentBytes(server.pid()));
    server.Stop(SIGTERM);
    // The goals are for 10^7 entries; smaller runs report the figures.
    const bool at_scale = size >= 10'000'000;
    const auto scale_figure = [&](std::string name, double value,
                                  std::string unit, double limit) {
      report.Add(at_scale
                     ? Figure(std::move(name), value, std::move(unit), limit)
                     : Figure(std::move(name), value, std::move(unit)));
    };
    scale_figure(absl::StrFormat("restart @ %d", size), restart_ms, "ms", 2000);
    scale_figure(absl::StrFormat("resident memory after the run @ %d", size),
                 static_cast<double>(rss) / kMB, "MB", 300);
    report.Add({absl::StrFormat("resident memory after restart @ %d", size),
                restarted_rss / kMB, "MB"});
    report.Add({"entry size (mean)",
                static_cast<double>(run.tree.entry_bytes) /
                    static_cast<double>(run.tree.entries),
                "bytes"});
    scale_figure(absl::StrFormat("disk beyond entry bytes @ %d", size),
                 per_entry_overhead, "bytes/entry", 100);
  }

  if (!flags.json_file.empty()) {
    Json json{{"tool", "vigil-bench"},
              {"time", absl::FormatTime(absl::RFC3339_sec, absl::Now(),
                                        absl::UTCTimeZone())},
              {"cores", std::thread::hardware_concurrency()},
              {"checkpoint_interval", flags.checkpoint_interval},
              {"batch_size", flags.batch_size},
              {"concurrency", flags.concurrency},
              {"figures", report.ToJson()}};
    std::ofstream(flags.json_file) << json.dump(2) << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) {
  vigil::SetMutexModeForBuild();
  vigil::bench::Flags flags;
  CLI::App app(
      "vigil-bench: the log server's throughput, latency and scale, against "
      "this machine's ceilings measured in the same run");
  app.add_flag("--quick", flags.quick,
               "a smoke run of seconds (small sizes, short ceilings)");
  app.add_flag("--scale", flags.scale,
               "also grow the log to 10^7 entries (hours on a small machine)");
  app.add_option("--records", flags.records, "records for batch ingest");
  app.add_option("--batch-size", flags.batch_size, "records per SubmitRecords")
      ->check(CLI::Range(1, 1000));
  app.add_option("--concurrency", flags.concurrency,
                 "SubmitRecords calls in flight")
      ->check(CLI::Range(1, 1024));
  app.add_option("--unary-records", flags.unary_records,
                 "records for unary ingest");
  app.add_option("--proof-sizes", flags.proof_sizes,
                 "tree sizes at which proofs are measured, comma-separated");
  app.add_option("--latency-seconds", flags.latency_seconds,
                 "how long the latency run lasts");
  app.add_option("--checkpoint-interval", flags.checkpoint_interval,
                 "the server's checkpoint interval");
  app.add_option("--server-binary", flags.server_binary,
                 "the vigil-server to measure");
  app.add_option("--json", flags.json_file, "write the figures here as JSON");
  CLI11_PARSE(app, argc, argv);
  if (flags.quick) {
    flags.records = std::min<uint64_t>(flags.records, 2000);
    flags.unary_records = std::min<uint64_t>(flags.unary_records, 500);
    flags.latency_seconds = std::min(flags.latency_seconds, 1.0);
    flags.proof_sizes = "3000,10000";  // The second grows the log.
    flags.proof_seconds = 0.3;
    flags.ceiling_seconds = 0.3;
  }
  if (flags.records < 1 || flags.unary_records < 1) {
    std::cerr << "vigil-bench: --records and --unary-records must be >= 1\n";
    return 2;
  }
  return vigil::bench::Run(flags);
}
