#include "tests/testing/in_process_log.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/signing.h"

namespace vigil::testing {

InProcessLog::InProcessLog(server::Storage* storage) {
  if (storage == nullptr) {
    own_storage_ = std::make_unique<server::MemoryStorage>();
    storage = own_storage_.get();
  }
  storage_ = storage;
  log_signer_.emplace(*merkle::Ed25519Signer::Generate(kTestOrigin));
  registry_key_.emplace(
      *merkle::Ed25519PrivateKey::FromSeed(merkle::Sha256(merkle::AsBytes(
          absl::StrFormat("registry %d", absl::ToUnixNanos(absl::Now()))))));
}

InProcessLog::~InProcessLog() { Stop(); }

absl::Status InProcessLog::Start(Options options) {
  Stop();
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> records =
      storage_->ReadRegistry();
  if (!records.ok()) return records.status();
  absl::StatusOr<std::unique_ptr<server::Registry>> registry =
      server::Registry::Load(*records);
  if (!registry.ok()) return registry.status();
  registry_ = *std::move(registry);

  server::SequencerOptions sequencer_options;
  sequencer_options.origin = kTestOrigin;
  sequencer_options.checkpoint_interval = options.checkpoint_interval;
  sequencer_options.max_pending = options.max_pending;
  sequencer_options.cosigner = options.cosigner;
  sequencer_options.cosign_retry = absl::Milliseconds(20);
  sequencer_options.max_batch = std::min<size_t>(options.max_pending, 4096);
  absl::StatusOr<std::unique_ptr<server::Sequencer>> sequencer =
      server::Sequencer::Start(storage_, registry_.get(), &*log_signer_,
                               sequencer_options);
  if (!sequencer.ok()) return sequencer.status();
  sequencer_ = *std::move(sequencer);
  reader_ = std::make_unique<server::LogReader>(storage_);

  options.service.submission.registry_public_key = registry_key_->public_key();
  service_ = std::make_unique<server::LogService>(
      sequencer_.get(), registry_.get(), reader_.get(),
      &log_signer_->verifier(), kTestOrigin, options.service);
  grpc::ServerBuilder builder;
  builder.RegisterService(service_->log_service());
  builder.RegisterService(service_->registry_service());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) return absl::InternalError("grpc server failed");
  std::shared_ptr<grpc::Channel> channel =
      server_->InProcessChannel(grpc::ChannelArguments());
  log_stub_ = v1::LogService::NewStub(channel);
  registry_stub_ = v1::RegistryService::NewStub(channel);
  return absl::OkStatus();
}

void InProcessLog::Stop() {
  if (server_ == nullptr) return;
  service_->Shutdown();
  service_->WaitForCalls(absl::Now() + absl::Seconds(5));
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  sequencer_.reset();
  service_.reset();
  server_.reset();
  log_stub_.reset();
  registry_stub_.reset();
  reader_.reset();
  registry_.reset();
}

std::unique_ptr<grpc::ClientContext> InProcessLog::Context(
    absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

absl::StatusOr<uint64_t> InProcessLog::Change(
    const v1::RegistryChange& change) {
  v1::SubmitRegistryChangeRequest request;
  *request.mutable_change() =
      client::SignRegistryChange(change, *registry_key_);
  v1::RecordResult result;
  const grpc::Status status =
      registry_stub_->SubmitRegistryChange(Context().get(), request, &result);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return result.index();
}

absl::StatusOr<uint64_t> InProcessLog::Register(const TestAgency& agency,
                                                absl::Time when) {
  return Change(RegisterAgency(agency, when));
}

absl::StatusOr<uint64_t> InProcessLog::Revoke(const TestAgency& agency) {
  return Change(RevokeAgency(agency, absl::Now()));
}

absl::StatusOr<std::shared_ptr<const server::SignedCheckpoint>>
InProcessLog::WaitForSize(uint64_t size) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    std::shared_ptr<const server::SignedCheckpoint> latest =
        sequencer_->Latest();
    if (latest != nullptr && latest->checkpoint.size >= size) return latest;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return absl::DeadlineExceededError(
      absl::StrFormat("no checkpoint of size %d within 10 s", size));
}

}  // namespace vigil::testing
