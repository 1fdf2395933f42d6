#include "server/log_service.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "merkle/encoding.h"
#include "merkle/proof.h"
#include "merkle/tlog_proof.h"
#include "server/http_server.h"
#include "server/recycling_allocator.h"
#include "server/tls.h"
#include "vigil/v1/log.grpc.pb.h"

namespace vigil::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both number google.rpc.Code.
  return {static_cast<grpc::StatusCode>(status.code()),
          {status.message().data(), status.message().size()}};
}

namespace {

// Runs closures on a fixed set of threads, in FIFO order. Schedule never
// blocks.
//
// Thread-safety: safe for concurrent use.
class Executor {
 public:
  explicit Executor(size_t threads) {
    for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
      threads_.emplace_back([this] { Loop(); });
    }
  }

  // Runs everything queued, then joins the threads.
  ~Executor() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& t : threads_) t.join();
  }

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void Schedule(std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(fn));
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Executor* e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(e->mu_) {
              return e->stopping_ || !e->queue_.empty();
            },
            this));
        if (queue_.empty()) return;  // Stopping, and nothing left.
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Counts the calls in progress, so that shutdown can wait for them without
// waiting for idle connections (grpc::Server::Shutdown waits for both).
//
// Thread-safety: safe for concurrent use.
class CallCounter {
 public:
  void Enter() {
    absl::MutexLock lock(&mu_);
    ++active_;
  }
  void Exit() {
    absl::MutexLock lock(&mu_);
    --active_;
  }
  // True if no call is in progress by `deadline`.
  bool WaitForNone(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto none = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_ == 0; };
    return mu_.AwaitWithDeadline(absl::Condition(&none), deadline);
  }

 private:
  absl::Mutex mu_;
  int64_t active_ ABSL_GUARDED_BY(mu_) = 0;
};

// Finishes one unary call exactly once, from whichever thread gets there
// first: the code that completes the call, or gRPC cancelling it (client
// gone, deadline passed, server shutting down). Once finished, later
// completions do nothing, so callbacks may outlive the call safely: they
// hold this object, never the reactor.
//
// Thread-safety: safe for concurrent use.
template <typename Response>
class UnaryCall {
 public:
  // A call whose response message is `response` (owned by gRPC; valid until
  // the call finishes). Returns the call and its reactor, which the handler
  // returns to gRPC.
  // `calls` counts the call until gRPC is done with it; it must outlive
  // the call.
  static std::pair<std::shared_ptr<UnaryCall>, grpc::ServerUnaryReactor*> Start(
      Response* response, CallCounter* calls) {
    auto call = std::shared_ptr<UnaryCall>(new UnaryCall(response));
    auto* reactor = new Reactor(call, calls);
    absl::MutexLock lock(&call->mu_);
    call->reactor_ = reactor;
    return {call, reactor};
  }

  // Finishes the call with `status`, first calling fill(response) when the
  // status is OK. Does nothing if the call has finished already.
  void Finish(const grpc::Status& status,
              const std::function<void(Response*)>& fill = nullptr) {
    grpc::ServerUnaryReactor* reactor = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (reactor_ == nullptr) return;
      reactor = reactor_;
      reactor_ = nullptr;
      if (status.ok() && fill) fill(response_);
    }
    // Outside the lock: gRPC may run reactions before Finish returns.
    reactor->Finish(status);
  }

 private:
  class Reactor final : public grpc::ServerUnaryReactor {
   public:
    Reactor(std::shared_ptr<UnaryCall> call, CallCounter* calls)
        : call_(std::move(call)), calls_(calls) {
      calls_->Enter();
    }
    void OnCancel() override {
      call_->Finish(
          ToGrpcStatus(absl::CancelledError("the call was cancelled")));
    }
    void OnDone() override {
      calls_->Exit();
      delete this;
    }

   private:
    const std::shared_ptr<UnaryCall> call_;
    CallCounter* const calls_;
  };

  explicit UnaryCall(Response* response) : response_(response) {}

  absl::Mutex mu_;
  Response* const response_;
  // Null once the call is finished.
  grpc::ServerUnaryReactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// A unary call answered at once, on the handler's thread; the response
// must be filled already when `status` is OK.
template <typename Response>
grpc::ServerUnaryReactor* Answer(Response* response, CallCounter* calls,
                                 const absl::Status& status) {
  auto [call, reactor] = UnaryCall<Response>::Start(response, calls);
  call->Finish(ToGrpcStatus(status));
  return reactor;
}

std::string HashBytes(const merkle::Hash& hash) {
  return {hash.begin(), hash.end()};
}

// Appends `proof` to a response's repeated bytes field, writing into the
// strings a recycled response kept (RecyclingMessageAllocator) rather than
// moving new ones in, which would free their buffers.
void AppendHashes(const std::vector<merkle::Hash>& proof,
                  google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const merkle::Hash& h : proof) {
    out->Add()->assign(reinterpret_cast<const char*>(h.data()), h.size());
  }
}

void SetError(const absl::Status& status, v1::RecordResult* result) {
  result->Clear();
  result->set_code(static_cast<int32_t>(status.code()));
  result->set_message(status.message().data(), status.message().size());
}

}  // namespace

// What the handlers share. An implementation detail of LogService.
struct LogService::Core {
  Core(Sequencer* sequencer, const Registry* registry, LogReader* reader,
       const merkle::NoteVerifier* log_verifier, std::string origin,
       LogServiceOptions options)
      : sequencer(sequencer),
        registry(registry),
        reader(reader),
        log_verifier(log_verifier),
        origin(std::move(origin)),
        options(std::move(options)),
        limits(this->options.agency_limits),
        executor(this->options.proof_threads) {}

  [[nodiscard]] absl::Time Now() const {
    return options.clock ? options.clock() : absl::Now();
  }

  // The size of the latest published checkpoint; 0 before the first.
  static uint64_t SizeOf(
      const std::shared_ptr<const SignedCheckpoint>& checkpoint) {
    return checkpoint == nullptr ? 0 : checkpoint->checkpoint.size;
  }

  // The tlog-proof bundle of entry `index` (leaf hash `leaf_hash`) in the
  // tree of `checkpoint`. With `verify`, the bytes returned are parsed
  // back and their inclusion proof verified against the checkpoint's root;
  // the checkpoint's signatures are the caller's to check (once, not once
  // per bundle: VerifyCheckpoint).
  absl::StatusOr<std::string> TlogProof(uint64_t index,
                                        const merkle::Hash& leaf_hash,
                                        const SignedCheckpoint& checkpoint,
                                        bool verify) const {
    absl::StatusOr<std::vector<merkle::Hash>> proof =
        reader->InclusionProof(index, checkpoint.checkpoint.size);
    if (!proof.ok()) return proof.status();
    absl::StatusOr<std::string> bundle =
        merkle::MarshalTlogProof(merkle::TlogProof{
            std::nullopt, index, *std::move(proof), checkpoint.note});
    if (!bundle.ok() || !verify) return bundle;
    absl::StatusOr<merkle::TlogProof> parsed = merkle::ParseTlogProof(*bundle);
    if (!parsed.ok()) return parsed.status();
    if (parsed->index != index || parsed->checkpoint != checkpoint.note) {
      return absl::InternalError(
          "the bundle does not hold the entry's index and checkpoint");
    }
    if (absl::Status s = merkle::VerifyInclusion(
            index, checkpoint.checkpoint.size, leaf_hash, parsed->inclusion,
            checkpoint.checkpoint.root);
        !s.ok()) {
      return s;
    }
    return bundle;
  }

  // Checks `checkpoint` as a court would: the log's signature over a
  // checkpoint of this origin whose body is the one published.
  absl::Status VerifyCheckpoint(const SignedCheckpoint& checkpoint) const {
    absl::StatusOr<merkle::OpenedCheckpoint> opened =
        merkle::OpenCheckpoint(checkpoint.note, *log_verifier, origin);
    if (!opened.ok()) return opened.status();
    if (opened->checkpoint != checkpoint.checkpoint) {
      return absl::InternalError("the checkpoint note and its body differ");
    }
    return absl::OkStatus();
  }

  Sequencer* const sequencer;
  const Registry* const registry;
  LogReader* const reader;
  const merkle::NoteVerifier* const log_verifier;
  const std::string origin;
  const LogServiceOptions options;
  AgencyLimits limits;
  std::atomic<bool> shutting_down{false};

  // Calls in progress (unary calls and watches).
  CallCounter calls;

  // Active WatchCheckpoints streams, so that Shutdown can end them.
  absl::Mutex watches_mu;
  std::map<const void*, std::function<void()>> watches
      ABSL_GUARDED_BY(watches_mu);

  // Declared last: destroyed (joined) first, while the rest is valid.
  Executor executor;
};

namespace {

using Core = LogService::Core;

// One submission call (SubmitRecords, SubmitRecord, SubmitRegistryChange):
// checks every record on the calling RPC thread, submits the valid ones,
// collects the sequencer's answers and, when the last is in, hands the
// results to `deliver` (with wait_for_inclusion, after attaching verified
// tlog-proof bundles on the executor).
//
// Thread-safety: safe for concurrent use; kept alive by the sequencer's
// callbacks that refer to it.
class Submission : public std::enable_shared_from_this<Submission> {
 public:
  using Check =
      std::function<absl::StatusOr<PendingEntry>(const v1::SignedPayload&)>;
  using Deliverer = std::function<void(std::vector<v1::RecordResult>)>;

  Submission(Core* core, size_t records, bool wait_for_inclusion,
             Deliverer deliver)
      : core_(core),
        wait_(wait_for_inclusion),
        deliver_(std::move(deliver)),
        results_(records),
        remaining_(records + 1) {}

  // Checks `records` (the size given to the constructor), then submits
  // those that pass all at once, so that the sequencer writes them in one
  // synced commit rather than a few at a time as they are verified.
  void Run(const google::protobuf::RepeatedPtrField<v1::SignedPayload>& records,
           const Check& check) {
    std::vector<Sequencer::Item> items;
    std::vector<int> positions;  // The record each item came from.
    for (int i = 0; i < records.size(); ++i) {
      absl::StatusOr<PendingEntry> pending = check(records[i]);
      if (!pending.ok()) {
        Complete(i, pending.status());
        continue;
      }
      items.push_back(
          {*std::move(pending), [self = shared_from_this(),
                                 i](const absl::StatusOr<Appended>& appended) {
             self->Complete(i, appended);
           }});
      positions.push_back(i);
    }
    absl::Status refused;
    const size_t queued =
        items.empty() ? 0 : core_->sequencer->Submit(items, &refused);
    for (size_t k = queued; k < positions.size(); ++k) {
      Complete(positions[k], refused);
    }
    Release();
  }

 private:
  // Records the outcome of record `i`. Runs on the RPC thread or, for
  // appended records, on the sequencer thread: it must not block.
  void Complete(int i, const absl::StatusOr<Appended>& outcome) {
    {
      absl::MutexLock lock(&mu_);
      v1::RecordResult& result = results_[i];
      if (outcome.ok()) {
        result.set_code(0);
        result.set_index(outcome->index);
        result.set_duplicate(outcome->duplicate);
        result.set_leaf_hash(HashBytes(outcome->leaf_hash));
      } else {
        SetError(outcome.status(), &result);
      }
    }
    Release();
  }

  // Counts one outcome (or the end of Run) and finishes after the last.
  void Release() {
    uint64_t max_index = 0;
    bool any_appended = false;
    {
      absl::MutexLock lock(&mu_);
      if (--remaining_ > 0) return;
      for (const v1::RecordResult& r : results_) {
        if (r.code() != 0) continue;
        any_appended = true;
        max_index = std::max<uint64_t>(max_index, r.index());
      }
    }
    if (!wait_ || !any_appended) {
      DeliverNow();
      return;
    }
    // Called directly, also from the sequencer thread: it runs callbacks
    // without holding its lock. Going through the executor instead would
    // let a task outlive the sequencer at shutdown.
    auto self = shared_from_this();
    core_->sequencer->WhenCovered(
        max_index + 1,
        [self](std::shared_ptr<const SignedCheckpoint> checkpoint) {
          self->core_->executor.Schedule(
              [self, checkpoint = std::move(checkpoint)] {
                self->AttachProofs(checkpoint);
              });
        });
  }

  // Runs on the executor: one verified bundle per appended record.
  void AttachProofs(const std::shared_ptr<const SignedCheckpoint>& checkpoint) {
    std::vector<v1::RecordResult> results;
    {
      absl::MutexLock lock(&mu_);
      results = results_;
    }
    const absl::Status checkpoint_ok =
        checkpoint == nullptr ? absl::OkStatus()
                              : core_->VerifyCheckpoint(*checkpoint);
    for (v1::RecordResult& r : results) {
      if (r.code() != 0) continue;
      if (checkpoint == nullptr) {
        SetError(absl::UnavailableError(absl::StrFormat(
                     "the entry is durable at index %d, but the log stopped "
                     "before a checkpoint covered it; resubmit it for a proof",
                     r.index())),
                 &r);
        continue;
      }
      merkle::Hash leaf_hash{};
      std::copy(r.leaf_hash().begin(), r.leaf_hash().end(), leaf_hash.begin());
      absl::StatusOr<std::string> bundle =
          checkpoint_ok.ok()
              ? core_->TlogProof(r.index(), leaf_hash, *checkpoint,
                                 /*verify=*/true)
              : absl::StatusOr<std::string>(checkpoint_ok);
      if (!bundle.ok()) {
        std::cerr << absl::StrFormat(
            "vigil-server: the tlog-proof of index %d in checkpoint size %d "
            "failed: %s\n",
            r.index(), checkpoint->checkpoint.size, bundle.status().message());
        const uint64_t index = r.index();
        SetError(absl::InternalError(absl::StrFormat(
                     "the entry is durable at index %d, but its inclusion "
                     "proof did not verify: %s",
                     index, bundle.status().message())),
                 &r);
        r.set_index(index);
        continue;
      }
      r.set_tlog_proof(*std::move(bundle));
    }
    deliver_(std::move(results));
  }

  void DeliverNow() {
    std::vector<v1::RecordResult> results;
    {
      absl::MutexLock lock(&mu_);
      results = results_;
    }
    deliver_(std::move(results));
  }

  Core* const core_;
  const bool wait_;
  const Deliverer deliver_;
  absl::Mutex mu_;
  std::vector<v1::RecordResult> results_ ABSL_GUARDED_BY(mu_);
  // Outcomes still expected, plus one for Run itself.
  size_t remaining_ ABSL_GUARDED_BY(mu_);
};

// One WatchCheckpoints stream. Sends the latest checkpoint, then each newer
// one; a slow reader gets only the newest checkpoint published while its
// previous write was in flight. Every reaction is non-blocking: decisions
// are taken under the state's lock and the resulting gRPC operation is
// started outside it.
class CheckpointWatch final
    : public grpc::ServerWriteReactor<v1::CheckpointResponse> {
 public:
  explicit CheckpointWatch(Core* core)
      : core_(core), state_(std::make_shared<State>(this)) {
    core_->calls.Enter();
  }

  // Subscribes and sends the latest checkpoint. The reactor may be finished
  // and deleted as soon as this returns.
  void Start() {
    bool added = false;
    if (!core_->shutting_down) {
      absl::MutexLock lock(&core_->watches_mu);
      if (!core_->shutting_down) {
        std::weak_ptr<State> weak = state_;
        core_->watches.emplace(this, [weak] {
          if (auto state = weak.lock()) {
            state->RequestFinish(ToGrpcStatus(
                absl::UnavailableError("the server is shutting down")));
          }
        });
        added = true;
      }
    }
    if (!added) {
      state_->RequestFinish(
          ToGrpcStatus(absl::UnavailableError("the server is shutting down")));
    } else {
      subscription_ = core_->sequencer->Subscribe(
          [state = state_](const std::shared_ptr<const SignedCheckpoint>& cp) {
            state->Offer(cp, /*null_ends=*/true);
          });
      state_->Offer(core_->sequencer->Latest(), /*null_ends=*/false);
    }
    // Nothing may touch `this` after this call: the stream may finish.
    state_->MarkStarted();
  }

  void OnWriteDone(bool ok) override { state_->WriteDone(ok); }

  void OnCancel() override {
    state_->RequestFinish(
        ToGrpcStatus(absl::CancelledError("the call was cancelled")));
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&core_->watches_mu);
      core_->watches.erase(this);
    }
    // After Unsubscribe returns the sequencer no longer calls the state.
    if (subscription_ != 0) core_->sequencer->Unsubscribe(subscription_);
    core_->calls.Exit();
    delete this;
  }

 private:
  // Holds itself (shared_from_this) in every method, since a gRPC call
  // made with mu_ released may delete the reactor that owns it.
  class State : public std::enable_shared_from_this<State> {
   public:
    explicit State(CheckpointWatch* reactor) : reactor_(reactor) {}

    // A checkpoint to send if it is newer than any sent or pending; null
    // ends the stream if `null_ends` (the sequencer stopped).
    void Offer(const std::shared_ptr<const SignedCheckpoint>& checkpoint,
               bool null_ends) {
      const std::shared_ptr<State> self = shared_from_this();
      absl::MutexLock lock(&mu_);
      if (checkpoint == nullptr) {
        if (null_ends && !finish_) {
          finish_ =
              ToGrpcStatus(absl::UnavailableError("the log is shutting down"));
        }
      } else if (!newest_.has_value() ||
                 checkpoint->checkpoint.size > *newest_) {
        pending_ = checkpoint;
        newest_ = checkpoint->checkpoint.size;
      }
      PumpLocked();
    }

    void WriteDone(bool ok) {
      const std::shared_ptr<State> self = shared_from_this();
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok && !finish_) {
        finish_ = ToGrpcStatus(absl::CancelledError("the stream is broken"));
      }
      PumpLocked();
    }

    void RequestFinish(const grpc::Status& status) {
      const std::shared_ptr<State> self = shared_from_this();
      absl::MutexLock lock(&mu_);
      if (!finish_) finish_ = status;
      PumpLocked();
    }

    void MarkStarted() {
      const std::shared_ptr<State> self = shared_from_this();
      absl::MutexLock lock(&mu_);
      started_ = true;
      PumpLocked();
    }

   private:
    // Starts the next write, or the finish, if one is due and none is in
    // flight. gRPC calls are made with mu_ released: Finish may run
    // OnDone, which deletes the reactor, on another thread at once.
    void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (!started_ || writing_ || finished_) return;
      CheckpointWatch* reactor = reactor_;
      if (finish_.has_value()) {
        finished_ = true;
        const grpc::Status status = *finish_;
        mu_.Unlock();
        reactor->Finish(status);
        mu_.Lock();
        return;
      }
      if (pending_ == nullptr) return;
      message_.set_checkpoint(pending_->note);
      message_.set_size(pending_->checkpoint.size);
      pending_ = nullptr;
      writing_ = true;
      mu_.Unlock();
      reactor->StartWrite(&message_);
      mu_.Lock();
    }

    absl::Mutex mu_;
    CheckpointWatch* const reactor_;  // Valid until finished_.
    bool started_ ABSL_GUARDED_BY(mu_) = false;
    bool writing_ ABSL_GUARDED_BY(mu_) = false;
    bool finished_ ABSL_GUARDED_BY(mu_) = false;
    std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
    std::shared_ptr<const SignedCheckpoint> pending_ ABSL_GUARDED_BY(mu_);
    // Size of the newest checkpoint sent or pending.
    std::optional<uint64_t> newest_ ABSL_GUARDED_BY(mu_);
    // The message in flight; only changed while no write is.
    v1::CheckpointResponse message_;
  };

  Core* const core_;
  const std::shared_ptr<State> state_;
  uint64_t subscription_ = 0;
};

}  // namespace

class LogService::LogServiceImpl final
    : public vigil::v1::LogService::CallbackService {
 public:
  explicit LogServiceImpl(Core* core) : core_(core) {
    SetMessageAllocatorFor_GetInclusionProof(&inclusion_messages_);
    SetMessageAllocatorFor_GetConsistencyProof(&consistency_messages_);
  }

  grpc::ServerUnaryReactor* SubmitRecords(
      grpc::CallbackServerContext* context,
      const v1::SubmitRecordsRequest* request,
      v1::SubmitRecordsResponse* response) override {
    const auto n = static_cast<size_t>(request->records_size());
    if (n == 0 || n > core_->options.max_batch) {
      return Answer(response, &core_->calls,
                    absl::InvalidArgumentError(absl::StrFormat(
                        "records: a batch holds 1 to %d records, "
                        "not %d",
                        core_->options.max_batch, n)));
    }
    if (core_->shutting_down) {
      return Answer(response, &core_->calls, ShuttingDown());
    }
    absl::StatusOr<std::optional<std::string>> caller =
        Caller(core_, *context, "submitting access records");
    if (!caller.ok()) return Answer(response, &core_->calls, caller.status());
    auto [call, reactor] =
        UnaryCall<v1::SubmitRecordsResponse>::Start(response, &core_->calls);
    auto submission = std::make_shared<Submission>(
        core_, n, request->wait_for_inclusion(),
        [call = call](std::vector<v1::RecordResult> results) {
          call->Finish(grpc::Status::OK,
                       [&results](v1::SubmitRecordsResponse* r) {
                         for (v1::RecordResult& result : results) {
                           *r->add_results() = std::move(result);
                         }
                       });
        });
    submission->Run(request->records(), AccessRecordCheck(*std::move(caller)));
    return reactor;
  }

  grpc::ServerUnaryReactor* SubmitRecord(grpc::CallbackServerContext* context,
                                         const v1::SubmitRecordRequest* request,
                                         v1::RecordResult* response) override {
    if (core_->shutting_down) {
      return Answer(response, &core_->calls, ShuttingDown());
    }
    absl::StatusOr<std::optional<std::string>> caller =
        Caller(core_, *context, "submitting access records");
    if (!caller.ok()) return Answer(response, &core_->calls, caller.status());
    google::protobuf::RepeatedPtrField<v1::SignedPayload> records;
    *records.Add() = request->record();
    return SubmitOne(records, request->wait_for_inclusion(),
                     AccessRecordCheck(*std::move(caller)), core_, response);
  }

  grpc::ServerUnaryReactor* GetCheckpoint(
      grpc::CallbackServerContext* /*context*/,
      const v1::GetCheckpointRequest* /*request*/,
      v1::CheckpointResponse* response) override {
    std::shared_ptr<const SignedCheckpoint> latest = core_->sequencer->Latest();
    if (latest == nullptr) {
      return Answer(
          response, &core_->calls,
          absl::UnavailableError("the log has not published a checkpoint yet"));
    }
    response->set_checkpoint(latest->note);
    response->set_size(latest->checkpoint.size);
    return Answer(response, &core_->calls, absl::OkStatus());
  }

  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* /*context*/,
      const v1::GetInclusionProofRequest* request,
      v1::InclusionProofResponse* response) override {
    return Answer(response, &core_->calls, InclusionProof(*request, response));
  }

  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* /*context*/,
      const v1::GetConsistencyProofRequest* request,
      v1::ConsistencyProofResponse* response) override {
    return Answer(response, &core_->calls,
                  ConsistencyProof(*request, response));
  }

  grpc::ServerUnaryReactor* GetEntries(
      grpc::CallbackServerContext* /*context*/,
      const v1::GetEntriesRequest* request,
      v1::GetEntriesResponse* response) override {
    return Answer(response, &core_->calls, Entries(*request, response));
  }

  grpc::ServerUnaryReactor* GetTileResource(
      grpc::CallbackServerContext* /*context*/,
      const v1::GetTileResourceRequest* request,
      v1::TileResourceResponse* response) override {
    return Answer(response, &core_->calls, TileResource(*request, response));
  }

  grpc::ServerWriteReactor<v1::CheckpointResponse>* WatchCheckpoints(
      grpc::CallbackServerContext* /*context*/,
      const v1::WatchCheckpointsRequest* /*request*/) override {
    auto* watch = new CheckpointWatch(core_);
    watch->Start();
    return watch;
  }

  // SubmitRecord and SubmitRegistryChange: one record, whose result is the
  // call's status.
  static grpc::ServerUnaryReactor* SubmitOne(
      const google::protobuf::RepeatedPtrField<v1::SignedPayload>& records,
      bool wait_for_inclusion, const Submission::Check& check, Core* core,
      v1::RecordResult* response) {
    auto [call, reactor] =
        UnaryCall<v1::RecordResult>::Start(response, &core->calls);
    auto submission = std::make_shared<Submission>(
        core, 1, wait_for_inclusion,
        [call = call](std::vector<v1::RecordResult> results) {
          v1::RecordResult& result = results.front();
          if (result.code() != 0) {
            call->Finish(ToGrpcStatus(
                absl::Status(static_cast<absl::StatusCode>(result.code()),
                             result.message())));
            return;
          }
          call->Finish(grpc::Status::OK, [&result](v1::RecordResult* r) {
            *r = std::move(result);
          });
        });
    submission->Run(records, check);
    return reactor;
  }

  static absl::Status ShuttingDown() {
    return absl::UnavailableError("the server is shutting down");
  }

  // With client authentication on, the name in the caller's verified
  // certificate, or UNAUTHENTICATED naming `what` it was needed for;
  // without, std::nullopt: anyone may call.
  static absl::StatusOr<std::optional<std::string>> Caller(
      const Core* core, const grpc::CallbackServerContext& context,
      std::string_view what) {
    if (!core->options.client_auth.required) return std::nullopt;
    const std::shared_ptr<const grpc::AuthContext> auth =
        context.auth_context();
    std::optional<std::string> name =
        auth == nullptr ? std::nullopt : PeerCommonName(*auth);
    if (!name.has_value()) {
      return absl::UnauthenticatedError(absl::StrFormat(
          "%s needs a client certificate from the log's client CA", what));
    }
    return name;
  }

 private:
  // The checks of one access record from `caller` (the name in its client
  // certificate; std::nullopt without client authentication).
  [[nodiscard]] Submission::Check AccessRecordCheck(
      std::optional<std::string> caller) const {
    return [core = core_,
            caller = std::move(caller)](const v1::SignedPayload& payload)
               -> absl::StatusOr<PendingEntry> {
      const absl::Time now = core->Now();
      absl::StatusOr<PendingEntry> pending = CheckAccessRecordSubmission(
          payload, *core->registry, now, core->options.submission);
      if (!pending.ok() || (!caller && !core->limits.enabled())) {
        return pending;
      }
      // The signer is registered: CheckAccessRecordSubmission found it.
      const std::optional<v1::AgencyKey> key =
          core->registry->Find(pending->public_key);
      const std::string ori = key ? key->ori() : "";
      if (caller && *caller != ori) {
        return absl::PermissionDeniedError(absl::StrFormat(
            "the client certificate names %s, but the record is signed by a "
            "key of agency %s",
            merkle::QuoteForError(*caller), ori));
      }
      if (absl::Status s = core->limits.Admit(ori, now); !s.ok()) return s;
      return pending;
    };
  }

  // The tree size a read names, bounded by the latest checkpoint: `asked`,
  // or the latest size when `asked` is 0.
  static absl::StatusOr<uint64_t> ReadSize(uint64_t asked, uint64_t latest,
                                           std::string_view field) {
    if (asked > latest) {
      return absl::OutOfRangeError(
          absl::StrFormat("%s %d is beyond the latest checkpoint's size %d",
                          field, asked, latest));
    }
    return asked == 0 ? latest : asked;
  }

  absl::Status InclusionProof(const v1::GetInclusionProofRequest& request,
                              v1::InclusionProofResponse* response) {
    std::shared_ptr<const SignedCheckpoint> latest = core_->sequencer->Latest();
    absl::StatusOr<uint64_t> tree_size =
        ReadSize(request.tree_size(), Core::SizeOf(latest), "tree_size");
    if (!tree_size.ok()) return tree_size.status();
    uint64_t index = 0;
    switch (request.leaf_case()) {
      case v1::GetInclusionProofRequest::kIndex:
        index = request.index();
        break;
      case v1::GetInclusionProofRequest::kLeafHash: {
        if (request.leaf_hash().size() != merkle::kHashSize) {
          return absl::InvalidArgumentError(
              absl::StrFormat("leaf_hash is %d bytes, not %d",
                              request.leaf_hash().size(), merkle::kHashSize));
        }
        merkle::Hash leaf_hash{};
        std::copy(request.leaf_hash().begin(), request.leaf_hash().end(),
                  leaf_hash.begin());
        absl::StatusOr<uint64_t> found =
            core_->reader->FindLeaf(leaf_hash, *tree_size);
        if (!found.ok()) return found.status();
        index = *found;
        break;
      }
      case v1::GetInclusionProofRequest::LEAF_NOT_SET:
        return absl::InvalidArgumentError("leaf: set index or leaf_hash");
    }
    if (index >= *tree_size) {
      return absl::OutOfRangeError(absl::StrFormat(
          "index %d out of range for tree size %d", index, *tree_size));
    }
    absl::StatusOr<std::vector<merkle::Hash>> proof =
        core_->reader->InclusionProof(index, *tree_size);
    if (!proof.ok()) return proof.status();
    response->set_index(index);
    response->set_tree_size(*tree_size);
    AppendHashes(*proof, response->mutable_proof());
    if (request.tree_size() == 0) {
      response->set_checkpoint(latest->note);
      absl::StatusOr<std::string> bundle =
          merkle::MarshalTlogProof(merkle::TlogProof{
              std::nullopt, index, *std::move(proof), latest->note});
      if (!bundle.ok()) return bundle.status();
      response->set_tlog_proof(*std::move(bundle));
    }
    return absl::OkStatus();
  }

  absl::Status ConsistencyProof(const v1::GetConsistencyProofRequest& request,
                                v1::ConsistencyProofResponse* response) {
    absl::StatusOr<uint64_t> new_size =
        ReadSize(request.new_size(), Core::SizeOf(core_->sequencer->Latest()),
                 "new_size");
    if (!new_size.ok()) return new_size.status();
    if (request.old_size() > *new_size) {
      return absl::InvalidArgumentError(
          absl::StrFormat("old_size %d is larger than new_size %d",
                          request.old_size(), *new_size));
    }
    absl::StatusOr<std::vector<merkle::Hash>> proof =
        core_->reader->ConsistencyProof(request.old_size(), *new_size);
    if (!proof.ok()) return proof.status();
    response->set_old_size(request.old_size());
    response->set_new_size(*new_size);
    AppendHashes(*proof, response->mutable_proof());
    return absl::OkStatus();
  }

  // The HTTP read path's answer, as a gRPC status.
  absl::Status TileResource(const v1::GetTileResourceRequest& request,
                            v1::TileResourceResponse* response) {
    std::shared_ptr<const SignedCheckpoint> latest = core_->sequencer->Latest();
    const TlogResponse answer = ServeTlogResource(
        absl::StrCat("/", request.path()), latest.get(), *core_->reader);
    std::string message = answer.body;
    if (message.ends_with('\n')) message.pop_back();
    switch (answer.status) {
      case 200:
        response->set_data(answer.body);
        return absl::OkStatus();
      case 400:
        return absl::InvalidArgumentError(message);
      case 404:
        return absl::NotFoundError(absl::StrFormat(
            "%s: %s", merkle::QuoteForError(request.path()), message));
      default:
        return absl::InternalError(message);
    }
  }

  absl::Status Entries(const v1::GetEntriesRequest& request,
                       v1::GetEntriesResponse* response) {
    if (request.count() == 0) {
      return absl::InvalidArgumentError("count must be at least 1");
    }
    const uint64_t size = Core::SizeOf(core_->sequencer->Latest());
    if (request.start() >= size) {
      return absl::OutOfRangeError(absl::StrFormat(
          "start %d is not below the latest checkpoint's size %d",
          request.start(), size));
    }
    const auto count = std::min<uint64_t>({request.count(),
                                           core_->options.max_entries_per_read,
                                           size - request.start()});
    // Read in small chunks so that memory follows the byte budget, not the
    // requested count (an entry may be 64 KiB).
    constexpr uint64_t kChunk = 32;
    size_t bytes = 0;
    for (uint64_t at = request.start(); at < request.start() + count;) {
      const uint64_t end = std::min(at + kChunk, request.start() + count);
      absl::StatusOr<std::vector<std::string>> entries =
          core_->reader->Entries(at, end, size);
      if (!entries.ok()) return entries.status();
      for (std::string& entry : *entries) {
        bytes += entry.size();
        if (response->entries_size() > 0 &&
            bytes > core_->options.max_entries_bytes) {
          return absl::OkStatus();
        }
        response->add_entries(std::move(entry));
      }
      at = end;
    }
    return absl::OkStatus();
  }

  // Enough kept pairs for every proof call in flight on a busy server.
  static constexpr size_t kIdleProofMessages = 256;

  Core* const core_;
  RecyclingMessageAllocator<v1::GetInclusionProofRequest,
                            v1::InclusionProofResponse>
      inclusion_messages_{kIdleProofMessages};
  RecyclingMessageAllocator<v1::GetConsistencyProofRequest,
                            v1::ConsistencyProofResponse>
      consistency_messages_{kIdleProofMessages};
};

class LogService::RegistryServiceImpl final
    : public vigil::v1::RegistryService::CallbackService {
 public:
  explicit RegistryServiceImpl(Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* SubmitRegistryChange(
      grpc::CallbackServerContext* context,
      const v1::SubmitRegistryChangeRequest* request,
      v1::RecordResult* response) override {
    if (core_->shutting_down) {
      return Answer(response, &core_->calls, LogServiceImpl::ShuttingDown());
    }
    absl::StatusOr<std::optional<std::string>> caller =
        LogServiceImpl::Caller(core_, *context, "changing the registry");
    if (!caller.ok()) return Answer(response, &core_->calls, caller.status());
    const std::string& operator_name = core_->options.client_auth.operator_name;
    if (caller->has_value() && **caller != operator_name) {
      return Answer(response, &core_->calls,
                    absl::PermissionDeniedError(absl::StrFormat(
                        "changing the registry needs the operator's client "
                        "certificate (%s), not %s",
                        merkle::QuoteForError(operator_name),
                        merkle::QuoteForError(**caller))));
    }
    google::protobuf::RepeatedPtrField<v1::SignedPayload> records;
    *records.Add() = request->change();
    return LogServiceImpl::SubmitOne(
        records, /*wait_for_inclusion=*/false,
        [core = core_](const v1::SignedPayload& payload) {
          return CheckRegistryChangeSubmission(payload, core->Now(),
                                               core->options.submission);
        },
        core_, response);
  }

  grpc::ServerUnaryReactor* ListAgencyKeys(
      grpc::CallbackServerContext* /*context*/,
      const v1::ListAgencyKeysRequest* /*request*/,
      v1::ListAgencyKeysResponse* response) override {
    for (v1::AgencyKey& key : core_->registry->List()) {
      *response->add_keys() = std::move(key);
    }
    return Answer(response, &core_->calls, absl::OkStatus());
  }

 private:
  Core* const core_;
};

LogService::LogService(Sequencer* sequencer, const Registry* registry,
                       LogReader* reader,
                       const merkle::NoteVerifier* log_verifier,
                       std::string origin, LogServiceOptions options)
    : core_(std::make_unique<Core>(sequencer, registry, reader, log_verifier,
                                   std::move(origin), std::move(options))),
      log_impl_(std::make_unique<LogServiceImpl>(core_.get())),
      registry_impl_(std::make_unique<RegistryServiceImpl>(core_.get())) {}

LogService::~LogService() { Shutdown(); }

grpc::Service* LogService::log_service() { return log_impl_.get(); }

grpc::Service* LogService::registry_service() { return registry_impl_.get(); }

bool LogService::WaitForCalls(absl::Time deadline) {
  return core_->calls.WaitForNone(deadline);
}

void LogService::Shutdown() {
  std::vector<std::function<void()>> enders;
  {
    absl::MutexLock lock(&core_->watches_mu);
    core_->shutting_down = true;
    for (const auto& [key, end] : core_->watches) enders.push_back(end);
  }
  // Outside the lock: ending a stream may run OnDone, which takes it.
  for (const auto& end : enders) end();
}

}  // namespace vigil::server
