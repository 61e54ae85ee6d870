// DecisionQueue: capability requests waiting for the shell's decision (seed 003, step 3).
//
// A capsule's `request_capability` (or a client's POST /api/capability/request) becomes a
// PendingRequest here. The shell learns of it through Next(), which blocks until one arrives —
// push, not the reference's 100 ms poll — and answers with Resolve() (granted with a token, or
// denied). The requester blocks in Wait() until the answer or its deadline. A request not decided
// within `ttl` expires. Requests of an instance that stops are cancelled.
//
// Limits (a capsule must not be able to flood the person deciding): at most
// `max_pending_per_holder` undecided requests per holder and `max_pending` in all
// (resource_exhausted / `too_many_pending`).
//
// Decided requests are kept for `keep_decided` so their requester can still read the outcome
// (GET /api/capability/request/{id}); then they are forgotten. Nothing here is durable: a
// restarted runtime has no pending requests (their requesters are gone too).
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/manifest.h"
#include "common/status.h"

namespace elastos::runtime {

struct PendingRequest {
  std::string id;           // "r-" + 32 hex characters (set by Submit)
  std::string holder;       // who the token would bind to: a capsule instance id or a session id
  std::string holder_name;  // the capsule's manifest name, or the client's owner
  std::string session;      // the session a grant belongs to (dies with it)
  bool agent = false;
  std::string resource;  // canonical pattern
  Action action = Action::kRead;
  std::string reason;  // the requester's words, ≤ 256 bytes
  std::int64_t requested_at = 0;
  std::int64_t expires_at = 0;
};

enum class DecisionState { kPending, kGranted, kDenied, kExpired, kCancelled };
std::string_view DecisionStateName(DecisionState state);  // "pending", "granted", …

struct DecisionOutcome {
  DecisionState state = DecisionState::kPending;
  std::string token;     // kGranted: the token (wire form)
  std::string token_id;  // kGranted
  std::string reason;    // kDenied/kExpired/kCancelled: why, for the requester
  std::string decided_by;
};

struct DecisionQueueOptions {
  std::chrono::seconds ttl{60};
  std::chrono::seconds keep_decided{600};
  std::size_t max_pending = 1024;
  std::size_t max_pending_per_holder = 16;
};

class DecisionQueue {
 public:
  DecisionQueue(std::function<std::int64_t()> now, DecisionQueueOptions options = {});

  // Queues `request` (id, requested_at and expires_at are filled in) and wakes Next().
  Result<PendingRequest> Submit(PendingRequest request);
  // Blocks until the request is decided, expires or `timeout` passes; returns its state then
  // (kPending on timeout). not_found/`no_such_request` for an unknown id.
  Result<DecisionOutcome> Wait(std::string_view id, std::chrono::milliseconds timeout);
  // The oldest pending request not yet handed out, waiting up to `timeout` for one. Each request
  // is handed out once; Redeliver() hands the undecided ones out again (a restarted shell).
  // `cancelled` (optional) ends the wait early once set and WakeAll() is called: the shell's
  // instance exited while it waited.
  std::optional<PendingRequest> Next(std::chrono::milliseconds timeout,
                                     const std::atomic<bool>* cancelled = nullptr);
  // Wakes every waiter to re-check its cancellation flag.
  void WakeAll();
  void Redeliver();
  // Decides a pending request. not_found/`no_such_request` if unknown or forgotten,
  // failed_precondition/`already_decided` if no longer pending.
  [[nodiscard]] Status Resolve(std::string_view id, DecisionOutcome outcome);
  std::optional<PendingRequest> Get(std::string_view id) const;
  std::optional<DecisionOutcome> Outcome(std::string_view id) const;
  std::vector<PendingRequest> Pending() const;
  // Cancels every pending request of `holder` (its instance stopped or session ended).
  void CancelHolder(std::string_view holder, std::string_view why);
  // Cancels everything and wakes every waiter (shutdown).
  void Close();

 private:
  struct Entry {
    PendingRequest request;
    DecisionOutcome outcome;
    bool handed_out = false;
    std::int64_t decided_at = 0;
  };
  // Expires overdue requests and forgets old decided ones (mu_ held).
  void SweepLocked();

  std::function<std::int64_t()> now_;
  const DecisionQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;  // any state change: waiters and Next() re-check
  std::map<std::string, Entry, std::less<>> entries_;
  std::deque<std::string> order_;  // ids in submission order (pending and decided)
  bool closed_ = false;
};

}  // namespace elastos::runtime
