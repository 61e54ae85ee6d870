// MessageBus: capsule-to-capsule messages on one runtime (send_message / receive_messages,
// docs/protocol.md §5.1). The reference had this only as an unwired library; here it is the
// carrier bridge's, with every limit enforced:
//   * a message is ≤ 256 KiB; an inbox holds ≤ 1,000 messages (the sender then gets
//     resource_exhausted/`inbox_full` — nothing is dropped silently);
//   * a sender may send ≤ 100 messages per second (token bucket; resource_exhausted/
//     `rate_limited`);
//   * `from` is the sender's instance as the runtime knows it, never a claim of the sender.
// Authority (the `message` token on `elastos://message/<recipient name>`) is checked by Runtime
// before Send; the bus only delivers.
//
// Inboxes exist for registered instances only and vanish with them (Unregister), so a message
// for a stopped capsule is refused rather than kept for a successor.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace elastos::runtime {

struct Message {
  std::uint64_t id = 0;
  std::string from;       // sender's instance id
  std::string from_name;  // sender's capsule name
  std::string to;         // recipient's instance id
  Bytes payload;
  std::int64_t timestamp = 0;
  std::optional<std::uint64_t> reply_to;
};

struct MessageBusOptions {
  std::size_t max_payload = 256 << 10;
  std::size_t max_inbox = 1000;
  double rate_per_second = 100;  // per sender, with a burst of the same size
};

class MessageBus {
 public:
  explicit MessageBus(MessageBusOptions options = {});

  void Register(const std::string& instance_id, const std::string& name);
  // Drops the inbox and wakes a receiver blocked on it.
  void Unregister(const std::string& instance_id);
  // The instance `to` names: an instance id, or a capsule name with exactly one running
  // instance. Errors: not_found/`no_such_capsule`, failed_precondition/`ambiguous_recipient`.
  Result<std::pair<std::string, std::string>> Resolve(std::string_view to) const;  // (id, name)

  Result<std::uint64_t> Send(const std::string& from, const std::string& from_name,
                             const std::string& to_id, Bytes payload,
                             std::optional<std::uint64_t> reply_to, std::int64_t now);
  // Takes up to `max` messages from `instance_id`'s inbox, oldest first, waiting up to `wait`
  // for the first. An unregistered inbox: failed_precondition/`not_running`.
  Result<std::vector<Message>> Receive(const std::string& instance_id, std::size_t max,
                                       std::chrono::milliseconds wait);

 private:
  struct Inbox {
    std::string name;
    std::deque<Message> messages;
    double tokens = 0;  // the owner's send budget
    std::chrono::steady_clock::time_point refilled;
  };
  MessageBusOptions options_;
  mutable std::mutex mu_;
  std::condition_variable arrived_;
  std::map<std::string, Inbox, std::less<>> inboxes_;
  std::uint64_t next_id_ = 1;
};

}  // namespace elastos::runtime
