// PromptQueue: questions the shell puts to a person (`ask_user`, docs/protocol.md §5.2).
//
// The runtime has one way to reach people: clients of the HTTP API that watch the prompt queue
// (`GET /api/prompts?wait_ms=…`, answered with `POST /api/prompts/{id}`) — the dashboard, and
// `elastos run`, which shows each prompt on its terminal when it is interactive. A client that
// watches counts as an *answerer* for `presence` after its last look. When nobody is present, Ask
// fails at once with unavailable/`no_one_to_ask` and the shell denies: a request nobody can see
// must not hang for a minute, and must never be granted by default.
//
// The person sees what the *runtime* knows about the request (capsule, instance, actor, resource,
// action, the requester's reason) — never a description the shell made up.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/policy/decision_queue.h"

namespace elastos::runtime {

enum class GrantDuration { kOnce, kSession, kAlways };
std::string_view GrantDurationName(GrantDuration d);  // "once", "session", "always"
Result<GrantDuration> ParseGrantDuration(std::string_view name);

struct PromptAnswer {
  bool allow = false;
  GrantDuration duration = GrantDuration::kSession;
  std::string answered_by;  // the answering session
};

struct Prompt {
  std::string id;  // "p-" + 32 hex characters
  PendingRequest request;
  std::int64_t asked_at = 0;
  std::int64_t expires_at = 0;
};

class PromptQueue {
 public:
  PromptQueue(std::function<std::int64_t()> now,
              std::chrono::milliseconds presence = std::chrono::seconds(35));

  // Asks and waits for the first answer. Errors: unavailable/`no_one_to_ask`, unavailable/
  // `prompt_timeout`, unavailable/`runtime_stopping`.
  // `cancelled` (optional) ends the wait once set and WakeAll() is called (unavailable/
  // `cancelled`): the asking shell is gone.
  Result<PromptAnswer> Ask(const PendingRequest& request, std::chrono::milliseconds timeout,
                           const std::atomic<bool>* cancelled = nullptr);
  void WakeAll();
  // Open prompts, oldest first. `watcher` (a session id) is marked present; with a non-zero
  // `wait`, blocks until there is a prompt the watcher has not seen yet or `wait` passes.
  std::vector<Prompt> Watch(std::string_view watcher, std::chrono::milliseconds wait,
                            const std::vector<std::string>& seen = {});
  // Answers an open prompt. not_found/`no_such_prompt` if unknown, already answered or expired;
  // permission_denied/`own_request` when `answer.answered_by` is the requester's own session.
  [[nodiscard]] Status Answer(std::string_view prompt_id, PromptAnswer answer);
  bool AnyonePresent() const;
  void Close();

 private:
  struct Open {
    Prompt prompt;
    std::optional<PromptAnswer> answer;
  };
  bool AnyonePresentLocked() const;

  std::function<std::int64_t()> now_;
  const std::chrono::milliseconds presence_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Open, std::less<>> open_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> watchers_;
  int watching_now_ = 0;  // watchers blocked in Watch() right now
  bool closed_ = false;
};

}  // namespace elastos::runtime
