// shell: the policy capsule. The runtime signs and enforces capability tokens; this capsule decides
// who gets them (DESIGN.md §1), following policy.json (docs/policy.md).
//
// Boot:
//   1. stdin → the policy document (read to end of file, at most 1 MiB). A policy that does not
//      parse is reported on stderr with the problem and its JSON path, and the shell runs with the
//      safe default: every request is asked, and denied when nobody can answer. Never grant-all.
//   2. /data/always.json → the "always" answers people gave earlier (policy.h, Remembered).
//   3. the carrier (ELASTOS_CARRIER_FDS) → RuntimeClient.
// Loop: `next_decision` with wait_ms 30000 — the runtime holds the call until a request is
// pending (push, not the reference's 100 ms poll); `no_decision` just asks again. Each decision:
//   allow → grant_capability {request_id, duration, constraints}
//   deny  → deny_capability {request_id, reason}
//   ask   → ask_user; allow → grant with the answered duration ("always" is also remembered in
//           /data/always.json and re-granted to later instances without asking, as duration
//           "session"); deny → deny "denied by the user"; no_one_to_ask / prompt_timeout → deny
//           saying nobody could be asked; no_such_request → nothing left to answer.
// Every decision is one line on stderr: "shell: decision request=… capsule=… actor=… action=…
// resource=… by=rule[N]|default|remembered|refused decision=… -> outcome".
//
// Exit: 0 when the runtime closes the carrier (it is shutting down); 1 when the carrier is
// unusable or the runtime keeps refusing next_decision (e.g. this capsule is not its shell).
//
// One question at a time: while a person is being asked, later requests wait (the carrier carries
// one request at a time, and ask_user holds it). The question's timeout is the request's own
// remaining lifetime, so a silent person cannot hold the queue longer than the request lives.
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include <elastos/sdk.h>

#include "policy.h"

namespace sdk = elastos::sdk;
namespace shell = elastos::shell;

namespace {

constexpr std::uint64_t kWaitMs = 30000;     // next_decision's longest hold (protocol maximum)
constexpr std::uint64_t kMaxAskMs = 120000;  // ask_user's longest timeout (protocol maximum)
constexpr std::size_t kMaxDenyReason = 256;  // deny_capability's reason cap
constexpr int kMaxUnavailableInARow = 3;
constexpr const char* kAlwaysPath = "/data/always.json";
constexpr const char* kAlwaysTemp = "/data/always.json.tmp";
constexpr const char* kSafeDefault =
    "running with the safe default: every request is asked, and denied when nobody can answer";

void Log(const std::string& line) { std::fprintf(stderr, "shell: %s\n", line.c_str()); }

std::string P(const std::string& s) { return shell::Printable(s); }

// ---- Boot ----------------------------------------------------------------------------------------

// Reads fd 0 to end of file, keeping at most `cap` + 1 bytes (one more says "too large").
bool ReadAll(int fd, std::size_t cap, std::string* out, int* err) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *err = errno;
      return false;
    }
    out->append(buf, static_cast<std::size_t>(n));
    if (out->size() > cap) return true;
  }
}

shell::Policy LoadPolicy() {
  std::string text;
  int err = 0;
  if (!ReadAll(0, shell::kMaxPolicyBytes, &text, &err)) {
    Log("error: cannot read the policy from stdin (" + std::string(std::strerror(err)) + "); " +
        kSafeDefault);
    return shell::Policy{};
  }
  if (text.size() > shell::kMaxPolicyBytes) {
    Log("error: policy $: the policy on stdin is larger than 1 MiB; " + std::string(kSafeDefault));
    return shell::Policy{};
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    Log("no policy on stdin; " + std::string(kSafeDefault));
    return shell::Policy{};
  }
  auto policy = shell::ParsePolicy(text);
  if (!policy.ok()) {
    Log("error: " + policy.error().message + "; " + kSafeDefault);
    return shell::Policy{};
  }
  for (const std::string& w : policy->warnings) Log("warning: policy " + w);
  Log("policy: " + std::to_string(policy->rules.size()) + " rule(s), default " +
      shell::VerdictName(policy->default_decision));
  return std::move(policy).value();
}

// The "always" answers, and whether new ones may be written back.
struct Memory {
  shell::Remembered set;
  bool writable = true;  // false when the file exists but could not be read: never clobber it
};

Memory LoadMemory() {
  Memory memory;
  FILE* f = std::fopen(kAlwaysPath, "rb");
  if (f == nullptr) {
    if (errno != ENOENT) {
      memory.writable = false;
      Log(std::string("warning: cannot open ") + kAlwaysPath + " (" + std::strerror(errno) +
          "): remembered answers are not used, and new ones are kept for this run only");
    }
    return memory;
  }
  std::string text;
  int err = 0;
  const bool read = ReadAll(fileno(f), shell::kMaxPolicyBytes, &text, &err);
  std::fclose(f);
  if (!read || text.size() > shell::kMaxPolicyBytes) {
    memory.writable = false;
    Log(std::string("warning: cannot read ") + kAlwaysPath +
        (read ? " (larger than 1 MiB)" : " (" + std::string(std::strerror(err)) + ")") +
        ": remembered answers are not used, and new ones are kept for this run only");
    return memory;
  }
  auto parsed = shell::Remembered::Parse(text);
  if (!parsed.ok()) {
    memory.writable = false;
    Log("warning: " + parsed.error().message +
        "; remembered answers are not used, the file is left as it is, and new answers are kept "
        "for this run only");
    return memory;
  }
  memory.set = std::move(parsed).value();
  return memory;
}

// Writes the set atomically: a temporary file, synced, renamed over the old one. A crash leaves
// the old file or the new one, never half of either.
bool SaveMemory(const shell::Remembered& set, std::string* why) {
  const std::string text = set.ToText();
  FILE* f = std::fopen(kAlwaysTemp, "wb");
  if (f == nullptr) {
    *why = std::string("create ") + kAlwaysTemp + ": " + std::strerror(errno);
    return false;
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
                       std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const int write_errno = errno;
  if (std::fclose(f) != 0 || !written) {
    *why = std::string("write ") + kAlwaysTemp + ": " + std::strerror(written ? errno : write_errno);
    std::remove(kAlwaysTemp);
    return false;
  }
  if (std::rename(kAlwaysTemp, kAlwaysPath) != 0) {
    *why = std::string("rename to ") + kAlwaysPath + ": " + std::strerror(errno);
    std::remove(kAlwaysTemp);
    return false;
  }
  return true;
}

std::int64_t NowMs() {
  struct timespec ts;
  if (::clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool RuntimeClosed(const sdk::Error& e) {
  return e.code == sdk::ErrorCode::kUnavailable && e.reason == "runtime_closed";
}

std::string ConstraintsText(const shell::GrantConstraints& c) {
  std::string out;
  if (c.max_uses) out += " max_uses=" + std::to_string(*c.max_uses);
  if (c.expires_in_s) out += " expires_in_s=" + std::to_string(*c.expires_in_s);
  if (c.delegatable) out += " delegatable";
  return out;
}

// ---- Deciding --------------------------------------------------------------------------------------

class Shell {
 public:
  Shell(sdk::RuntimeClient& client, const shell::Policy& policy, Memory& memory)
      : client_(client), policy_(policy), memory_(memory) {}

  // Runs until the runtime closes the carrier; returns the exit code.
  int Run() {
    int unavailable_in_a_row = 0;
    for (;;) {
      auto next = client_.NextDecision(kWaitMs);
      if (!next.ok()) {
        const sdk::Error& e = next.error();
        if (RuntimeClosed(e)) {
          Log("the runtime closed the carrier; exiting");
          return 0;
        }
        // A transient refusal may pass; anything else (not the shell, a broken carrier) will not.
        if (e.code == sdk::ErrorCode::kUnavailable && client_.usable() &&
            ++unavailable_in_a_row < kMaxUnavailableInARow) {
          Log("warning: next_decision: " + e.ToString() + "; trying again");
          continue;
        }
        Log("error: next_decision: " + e.ToString());
        return 1;
      }
      unavailable_in_a_row = 0;
      if (!next->has_value()) continue;  // no_decision: the runtime held the call; ask again
      if (!Decide(**next)) return exit_code_;
    }
  }

 private:
  // Answers one decision. False when the loop must end (exit_code_ says how).
  bool Decide(const sdk::Decision& d) {
    const shell::Evaluation e =
        shell::Evaluate(policy_, memory_.set, {d.capsule_name, d.actor, d.resource, d.action});
    const std::string head = "decision request=" + P(d.request_id) + " capsule=" +
                             P(d.capsule_name) + " actor=" + P(d.actor) + " action=" +
                             P(d.action) + " resource=" + P(d.resource) + " by=" + e.SourceName();
    switch (e.verdict) {
      case shell::Verdict::kAllow:
        return Grant(d, *e.duration, e.constraints, head + " decision=allow");
      case shell::Verdict::kDeny: {
        std::string reason;
        if (e.source == shell::Source::kRefused) {
          reason = "denied: the request is not acceptable: " + e.why;
        } else if (e.source == shell::Source::kRule) {
          reason = "denied by the shell's policy (rules[" + std::to_string(e.rule_index) + "])";
        } else {
          reason = "denied by the shell's policy (no rule matched; the default is deny)";
        }
        return Deny(d, reason, head + " decision=deny");
      }
      case shell::Verdict::kAsk:
        return Ask(d, e, head + " decision=ask");
    }
    return Deny(d, "denied", head + " decision=deny");
  }

  bool Ask(const sdk::Decision& d, const shell::Evaluation& e, const std::string& head) {
    std::optional<std::uint64_t> timeout_ms;
    if (d.expires_at != 0) {
      const std::int64_t remaining = static_cast<std::int64_t>(d.expires_at) * 1000 - NowMs();
      if (remaining <= 0) {
        // The runtime answers the requester itself (decision_timeout); nobody is asked.
        Log(head + " -> expired before anyone could be asked");
        return true;
      }
      timeout_ms = std::min<std::uint64_t>(static_cast<std::uint64_t>(remaining), kMaxAskMs);
    }
    auto answer = client_.AskUser(d.request_id, timeout_ms);
    if (!answer.ok()) {
      const sdk::Error& err = answer.error();
      if (RuntimeClosed(err) || !client_.usable()) return Stop(err, head + " -> ask_user");
      if (err.code == sdk::ErrorCode::kNotFound) {
        Log(head + " -> the request is gone (" + err.reason + "): already decided or expired");
        return true;
      }
      if (err.reason == "no_one_to_ask") {
        return Deny(d,
                    "denied: nobody could be asked (no terminal or prompt client is connected)",
                    head + " answer=no_one_to_ask");
      }
      if (err.reason == "prompt_timeout") {
        return Deny(d, "denied: nobody could be asked in time (the question timed out)",
                    head + " answer=prompt_timeout");
      }
      // Fail closed: a runtime that cannot ask (an older one without ask_user, a refusal) denies.
      return Deny(d,
                  "denied: nobody could be asked (" + std::string(sdk::ErrorCodeName(err.code)) +
                      "/" + err.reason + ")",
                  head + " answer=error(" + sdk::ErrorCodeName(err.code) + "/" + err.reason + ")");
    }
    if (!answer->allowed()) return Deny(d, "denied by the user", head + " answer=deny");

    const shell::Duration answered =
        shell::ParseDuration(answer->duration).value_or(shell::Duration::kOnce);
    const shell::Duration granted = shell::CapDuration(answered, e.duration);
    std::string note = " answer=allow(" + answer->duration + ")";
    if (granted == shell::Duration::kAlways) {
      note += Remember(d, e);
    } else if (granted != answered) {
      note += " capped-by-rule";
    }
    return Grant(d, granted, e.constraints, head + note);
  }

  // Remembers an "always" answer; returns a note for the log line.
  std::string Remember(const sdk::Decision& d, const shell::Evaluation& e) {
    shell::RememberedGrant grant{d.capsule_name, d.actor, e.resource, d.action, e.constraints};
    if (!memory_.set.Remember(std::move(grant))) {
      return " not-remembered(full or not a rememberable key)";
    }
    if (!memory_.writable) return " remembered(this run only)";
    std::string why;
    if (!SaveMemory(memory_.set, &why)) {
      Log("warning: cannot save the remembered answers: " + why);
      return " remembered(this run only: not saved)";
    }
    return " remembered";
  }

  bool Grant(const sdk::Decision& d, shell::Duration duration, shell::GrantConstraints c,
             const std::string& head) {
    // "once" already means one use; a max_uses beside it would contradict it.
    if (duration == shell::Duration::kOnce) c.max_uses.reset();
    sdk::GrantCapabilityRequest request;
    request.request_id = d.request_id;
    request.duration = shell::DurationName(duration);
    if (!c.empty()) {
      sdk::CapabilityConstraints wire;
      wire.max_uses = c.max_uses;
      wire.expires_in_s = c.expires_in_s;
      if (c.delegatable) wire.delegatable = true;
      request.constraints = wire;
    }
    const std::string line = head + " duration=" + shell::DurationName(duration) +
                             ConstraintsText(c);
    auto granted = client_.GrantCapability(request);
    if (!granted.ok()) return Failed(granted.error(), line + " -> grant_capability");
    Log(line + " -> granted token " + P(granted->token_id));
    return true;
  }

  bool Deny(const sdk::Decision& d, const std::string& reason, const std::string& head) {
    const std::string short_reason = shell::Printable(reason, kMaxDenyReason - 3);
    auto denied = client_.DenyCapability(d.request_id, short_reason);
    if (!denied.ok()) return Failed(denied.error(), head + " -> deny_capability");
    Log(head + " -> denied (" + short_reason + ")");
    return true;
  }

  // A grant or deny the runtime refused: logged; the loop goes on unless the carrier is gone.
  bool Failed(const sdk::Error& e, const std::string& what) {
    if (RuntimeClosed(e) || !client_.usable()) return Stop(e, what);
    Log(what + " failed: " + e.ToString());
    return true;
  }

  bool Stop(const sdk::Error& e, const std::string& what) {
    if (RuntimeClosed(e)) {
      Log(what + ": the runtime closed the carrier; exiting");
      exit_code_ = 0;
    } else {
      Log("error: " + what + ": " + e.ToString());
      exit_code_ = 1;
    }
    return false;
  }

  sdk::RuntimeClient& client_;
  const shell::Policy& policy_;
  Memory& memory_;
  int exit_code_ = 1;
};

}  // namespace

int main() {
  const shell::Policy policy = LoadPolicy();
  Memory memory = LoadMemory();
  if (!memory.set.grants().empty()) {
    Log(std::to_string(memory.set.size()) + " remembered \"always\" answer(s) from " +
        kAlwaysPath);
  }
  auto client = sdk::RuntimeClient::Connect();
  if (!client.ok()) {
    Log("error: " + client.error().ToString());
    return 1;
  }
  Shell shell_loop(*client, policy, memory);
  return shell_loop.Run();
}
