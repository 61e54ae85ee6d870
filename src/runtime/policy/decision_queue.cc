#include "runtime/policy/decision_queue.h"

#include <algorithm>
#include <array>

#include "common/encoding.h"
#include "crypto/ed25519.h"

namespace elastos::runtime {

std::string_view DecisionStateName(DecisionState state) {
  switch (state) {
    case DecisionState::kPending:
      return "pending";
    case DecisionState::kGranted:
      return "granted";
    case DecisionState::kDenied:
      return "denied";
    case DecisionState::kExpired:
      return "expired";
    case DecisionState::kCancelled:
      return "cancelled";
  }
  return "pending";
}

DecisionQueue::DecisionQueue(std::function<std::int64_t()> now, DecisionQueueOptions options)
    : now_(std::move(now)), options_(options) {}

Result<PendingRequest> DecisionQueue::Submit(PendingRequest request) {
  std::array<std::uint8_t, 16> id;
  crypto::RandomBytes(id);
  request.id = "r-" + HexEncode(id);
  request.requested_at = now_();
  request.expires_at = request.requested_at + options_.ttl.count();
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Unavailable("runtime_stopping", "the runtime is shutting down");
  SweepLocked();
  std::size_t pending = 0, of_holder = 0;
  for (const auto& [_, e] : entries_) {
    if (e.outcome.state != DecisionState::kPending) continue;
    ++pending;
    if (e.request.holder == request.holder) ++of_holder;
  }
  if (of_holder >= options_.max_pending_per_holder) {
    return ResourceExhausted("too_many_pending",
                             request.holder + " already has " + std::to_string(of_holder) +
                                 " capability requests waiting for a decision; wait for them");
  }
  if (pending >= options_.max_pending) {
    return ResourceExhausted("too_many_pending", "too many capability requests are waiting for a "
                                                 "decision; try again later");
  }
  entries_.emplace(request.id, Entry{request, {}, false, 0});
  order_.push_back(request.id);
  changed_.notify_all();
  return request;
}

Result<DecisionOutcome> DecisionQueue::Wait(std::string_view id, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    SweepLocked();
    auto e = entries_.find(id);
    if (e == entries_.end()) {
      return NotFound("no_such_request", "no capability request " + std::string(id));
    }
    if (e->second.outcome.state != DecisionState::kPending || closed_) return e->second.outcome;
    // Wake at the request's expiry at the latest, so it is expired on time even when nothing
    // else happens.
    const auto expiry = std::chrono::steady_clock::now() +
                        std::chrono::seconds(std::max<std::int64_t>(
                            1, e->second.request.expires_at - now_() + 1));
    if (changed_.wait_until(lock, std::min(deadline, expiry)) == std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline) {
      SweepLocked();
      auto again = entries_.find(id);
      if (again == entries_.end()) {
        return NotFound("no_such_request", "no capability request " + std::string(id));
      }
      return again->second.outcome;
    }
  }
}

void DecisionQueue::WakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  changed_.notify_all();
}

std::optional<PendingRequest> DecisionQueue::Next(std::chrono::milliseconds timeout,
                                                  const std::atomic<bool>* cancelled) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (closed_ || (cancelled != nullptr && cancelled->load())) return std::nullopt;
    SweepLocked();
    for (const std::string& id : order_) {
      Entry& e = entries_.at(id);
      if (e.outcome.state == DecisionState::kPending && !e.handed_out) {
        e.handed_out = true;
        return e.request;
      }
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

void DecisionQueue::Redeliver() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [_, e] : entries_) {
    if (e.outcome.state == DecisionState::kPending) e.handed_out = false;
  }
  changed_.notify_all();
}

Status DecisionQueue::Resolve(std::string_view id, DecisionOutcome outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked();
  auto e = entries_.find(id);
  if (e == entries_.end()) {
    return NotFound("no_such_request", "no capability request " + std::string(id) +
                                           " (unknown, or decided long ago)");
  }
  if (e->second.outcome.state != DecisionState::kPending) {
    return FailedPrecondition("already_decided",
                              "capability request " + std::string(id) + " is already " +
                                  std::string(DecisionStateName(e->second.outcome.state)));
  }
  e->second.outcome = std::move(outcome);
  e->second.decided_at = now_();
  changed_.notify_all();
  return OkStatus();
}

std::optional<PendingRequest> DecisionQueue::Get(std::string_view id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = entries_.find(id);
  if (e == entries_.end()) return std::nullopt;
  return e->second.request;
}

std::optional<DecisionOutcome> DecisionQueue::Outcome(std::string_view id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = entries_.find(id);
  if (e == entries_.end()) return std::nullopt;
  DecisionOutcome out = e->second.outcome;
  if (out.state == DecisionState::kPending && e->second.request.expires_at <= now_()) {
    out.state = DecisionState::kExpired;
  }
  return out;
}

std::vector<PendingRequest> DecisionQueue::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PendingRequest> out;
  const std::int64_t now = now_();
  for (const std::string& id : order_) {
    const Entry& e = entries_.at(id);
    if (e.outcome.state == DecisionState::kPending && e.request.expires_at > now) {
      out.push_back(e.request);
    }
  }
  return out;
}

void DecisionQueue::CancelHolder(std::string_view holder, std::string_view why) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [_, e] : entries_) {
    if (e.request.holder == holder && e.outcome.state == DecisionState::kPending) {
      e.outcome.state = DecisionState::kCancelled;
      e.outcome.reason = std::string(why);
      e.decided_at = now_();
    }
  }
  changed_.notify_all();
}

void DecisionQueue::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [_, e] : entries_) {
    if (e.outcome.state == DecisionState::kPending) {
      e.outcome.state = DecisionState::kCancelled;
      e.outcome.reason = "the runtime is shutting down";
    }
  }
  changed_.notify_all();
}

void DecisionQueue::SweepLocked() {
  const std::int64_t now = now_();
  bool changed = false;
  for (auto& [_, e] : entries_) {
    if (e.outcome.state == DecisionState::kPending && e.request.expires_at <= now) {
      e.outcome.state = DecisionState::kExpired;
      e.outcome.reason = "nobody decided within " + std::to_string(options_.ttl.count()) + " s";
      e.decided_at = now;
      changed = true;
    }
  }
  while (!order_.empty()) {
    auto e = entries_.find(order_.front());
    if (e->second.outcome.state == DecisionState::kPending ||
        e->second.decided_at + options_.keep_decided.count() > now) {
      break;
    }
    entries_.erase(e);
    order_.pop_front();
  }
  if (changed) changed_.notify_all();
}

}  // namespace elastos::runtime
