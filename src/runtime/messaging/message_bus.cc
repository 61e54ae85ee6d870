#include "runtime/messaging/message_bus.h"

#include <algorithm>

namespace elastos::runtime {

MessageBus::MessageBus(MessageBusOptions options) : options_(options) {}

void MessageBus::Register(const std::string& instance_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Inbox& in = inboxes_[instance_id];
  in.name = name;
  in.tokens = options_.rate_per_second;
  in.refilled = std::chrono::steady_clock::now();
}

void MessageBus::Unregister(const std::string& instance_id) {
  std::lock_guard<std::mutex> lock(mu_);
  inboxes_.erase(instance_id);
  arrived_.notify_all();
}

Result<std::pair<std::string, std::string>> MessageBus::Resolve(std::string_view to) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = inboxes_.find(to); it != inboxes_.end()) return std::pair(it->first, it->second.name);
  std::optional<std::pair<std::string, std::string>> found;
  for (const auto& [id, in] : inboxes_) {
    if (in.name != to) continue;
    if (found) {
      return FailedPrecondition("ambiguous_recipient",
                                "several instances of '" + std::string(to) +
                                    "' are running; name one by its instance id");
    }
    found.emplace(id, in.name);
  }
  if (!found) return NotFound("no_such_capsule", "no running capsule '" + std::string(to) + "'");
  return *found;
}

Result<std::uint64_t> MessageBus::Send(const std::string& from, const std::string& from_name,
                                       const std::string& to_id, Bytes payload,
                                       std::optional<std::uint64_t> reply_to, std::int64_t now) {
  if (payload.size() > options_.max_payload) {
    return ResourceExhausted("payload_too_large", "a message may carry at most " +
                                                      std::to_string(options_.max_payload) + " bytes");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto sender = inboxes_.find(from);
  if (sender != inboxes_.end()) {
    // Token bucket: refill by elapsed time, at most one second's worth.
    const auto t = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(t - sender->second.refilled).count();
    sender->second.tokens = std::min(options_.rate_per_second,
                                     sender->second.tokens + elapsed * options_.rate_per_second);
    sender->second.refilled = t;
    if (sender->second.tokens < 1) {
      return ResourceExhausted("rate_limited", "more than " +
                                                   std::to_string(static_cast<int>(options_.rate_per_second)) +
                                                   " messages per second");
    }
    sender->second.tokens -= 1;
  }
  auto inbox = inboxes_.find(to_id);
  if (inbox == inboxes_.end()) {
    return FailedPrecondition("not_running", "capsule instance " + to_id + " is not running");
  }
  if (inbox->second.messages.size() >= options_.max_inbox) {
    return ResourceExhausted("inbox_full", "the inbox of " + to_id + " holds " +
                                               std::to_string(options_.max_inbox) +
                                               " unread messages");
  }
  Message m;
  m.id = next_id_++;
  m.from = from;
  m.from_name = from_name;
  m.to = to_id;
  m.payload = std::move(payload);
  m.timestamp = now;
  m.reply_to = reply_to;
  inbox->second.messages.push_back(std::move(m));
  arrived_.notify_all();
  return next_id_ - 1;
}

Result<std::vector<Message>> MessageBus::Receive(const std::string& instance_id, std::size_t max,
                                                 std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto inbox = inboxes_.find(instance_id);
    if (inbox == inboxes_.end()) {
      return FailedPrecondition("not_running", "capsule instance " + instance_id + " has no inbox");
    }
    if (!inbox->second.messages.empty() || arrived_.wait_until(lock, deadline) == std::cv_status::timeout) {
      auto again = inboxes_.find(instance_id);
      if (again == inboxes_.end()) {
        return FailedPrecondition("not_running", "capsule instance " + instance_id + " has no inbox");
      }
      std::vector<Message> out;
      auto& q = again->second.messages;
      while (!q.empty() && out.size() < max) {
        out.push_back(std::move(q.front()));
        q.pop_front();
      }
      return out;
    }
  }
}

}  // namespace elastos::runtime
