#include "runtime/policy/prompt_queue.h"

#include <algorithm>
#include <array>

#include "common/encoding.h"
#include "crypto/ed25519.h"

namespace elastos::runtime {

std::string_view GrantDurationName(GrantDuration d) {
  switch (d) {
    case GrantDuration::kOnce:
      return "once";
    case GrantDuration::kSession:
      return "session";
    case GrantDuration::kAlways:
      return "always";
  }
  return "session";
}

Result<GrantDuration> ParseGrantDuration(std::string_view name) {
  if (name == "once") return GrantDuration::kOnce;
  if (name == "session") return GrantDuration::kSession;
  if (name == "always") return GrantDuration::kAlways;
  return InvalidArgument("bad_duration", "duration must be once, session or always, not '" +
                                             std::string(name) + "'");
}

PromptQueue::PromptQueue(std::function<std::int64_t()> now, std::chrono::milliseconds presence)
    : now_(std::move(now)), presence_(presence) {}

bool PromptQueue::AnyonePresentLocked() const {
  if (watching_now_ > 0) return true;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [_, last] : watchers_) {
    if (now - last <= presence_) return true;
  }
  return false;
}

bool PromptQueue::AnyonePresent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return AnyonePresentLocked();
}

void PromptQueue::WakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  changed_.notify_all();
}

Result<PromptAnswer> PromptQueue::Ask(const PendingRequest& request,
                                      std::chrono::milliseconds timeout,
                                      const std::atomic<bool>* cancelled) {
  std::array<std::uint8_t, 16> raw;
  crypto::RandomBytes(raw);
  const std::string id = "p-" + HexEncode(raw);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return Unavailable("runtime_stopping", "the runtime is shutting down");
  if (!AnyonePresentLocked()) {
    return Unavailable("no_one_to_ask",
                       "nobody is watching for prompts (no interactive `elastos run` and no "
                       "dashboard), so nobody can answer");
  }
  Open entry;
  entry.prompt.id = id;
  entry.prompt.request = request;
  entry.prompt.asked_at = now_();
  entry.prompt.expires_at =
      entry.prompt.asked_at +
      std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  open_.emplace(id, std::move(entry));
  changed_.notify_all();
  for (;;) {
    auto it = open_.find(id);
    if (it->second.answer) {
      PromptAnswer a = *it->second.answer;
      open_.erase(it);
      return a;
    }
    if (closed_) {
      open_.erase(it);
      return Unavailable("runtime_stopping", "the runtime is shutting down");
    }
    if (cancelled != nullptr && cancelled->load()) {
      open_.erase(it);
      changed_.notify_all();
      return Unavailable("cancelled", "the question was withdrawn: the shell that asked is gone");
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      auto again = open_.find(id);
      if (again->second.answer) continue;
      open_.erase(again);
      changed_.notify_all();
      return Unavailable("prompt_timeout", "nobody answered the prompt within " +
                                               std::to_string(timeout.count()) + " ms");
    }
  }
}

std::vector<Prompt> PromptQueue::Watch(std::string_view watcher, std::chrono::milliseconds wait,
                                       const std::vector<std::string>& seen) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock<std::mutex> lock(mu_);
  ++watching_now_;
  auto collect = [&] {
    std::vector<Prompt> out;
    for (const auto& [_, o] : open_) {
      if (!o.answer) out.push_back(o.prompt);
    }
    std::sort(out.begin(), out.end(),
              [](const Prompt& a, const Prompt& b) { return a.asked_at < b.asked_at; });
    return out;
  };
  auto has_unseen = [&](const std::vector<Prompt>& prompts) {
    return std::any_of(prompts.begin(), prompts.end(), [&](const Prompt& p) {
      return std::find(seen.begin(), seen.end(), p.id) == seen.end();
    });
  };
  std::vector<Prompt> prompts = collect();
  while (!closed_ && !has_unseen(prompts) &&
         changed_.wait_until(lock, deadline) != std::cv_status::timeout) {
    prompts = collect();
  }
  prompts = collect();
  --watching_now_;
  watchers_[std::string(watcher)] = std::chrono::steady_clock::now();
  return prompts;
}

Status PromptQueue::Answer(std::string_view prompt_id, PromptAnswer answer) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(prompt_id);
  if (it == open_.end() || it->second.answer) {
    return NotFound("no_such_prompt", "no open prompt " + std::string(prompt_id) +
                                          " (unknown, already answered, or timed out)");
  }
  // Whoever asked for the capability does not get to approve it: a compromised client would
  // otherwise grant itself anything the policy merely asks about.
  if (answer.answered_by == it->second.prompt.request.session) {
    return PermissionDenied("own_request", "a session cannot answer the prompt about its own "
                                           "request; another person (or session) must");
  }
  it->second.answer = std::move(answer);
  changed_.notify_all();
  return OkStatus();
}

void PromptQueue::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  changed_.notify_all();
}

}  // namespace elastos::runtime
