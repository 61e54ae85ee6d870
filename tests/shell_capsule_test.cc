// The shell capsule against the wire protocol: the REAL shell module (build/capsules/shell/) in the
// REAL sandboxed worker (build/bin/elastos-worker), with this test playing the runtime's side of
// the carrier exactly as docs/protocol.md §5.2 describes it. The test feeds `decision`s to the
// shell's `next_decision`s and checks that it answers with grant_capability, deny_capability or
// ask_user as its policy (docs/policy.md) says — a conformance test of the shell until the
// runtime's own decision handler exists.
//
// The worker is started as worker_protocol.h documents: --module, --data-dir (the shell's /data),
// the carrier as two pipes (worker fds 10/11, guest fds 4/5, ELASTOS_CARRIER_FDS=4,5), the report
// on fd 12, and the policy on stdin. Reads from the shell have a generous hang guard; nothing here
// asserts how fast anything is.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/temp_dir.h"

namespace elastos {
namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;

constexpr int kCarrierInFd = 10;   // worker side; the guest sees fd 4
constexpr int kCarrierOutFd = 11;  // worker side; the guest sees fd 5
constexpr int kReportFd = 12;
// How long to wait for the shell before declaring it hung: a guard, not a performance bound.
constexpr int kHangGuardMs = 120'000;

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void WriteAllFd(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the shell is gone; the test's next read reports it
    done += static_cast<std::size_t>(n);
  }
}

// One run of the shell under elastos-worker. The test is the runtime: it reads the shell's
// requests from the carrier and writes the responses.
class ShellProcess {
 public:
  ShellProcess(const fs::path& worker, const fs::path& module, const fs::path& data_dir,
               const fs::path& log_dir, const std::string& policy)
      : stderr_path_(log_dir / "shell.stderr"), report_path_(log_dir / "shell.report") {
    int to_shell[2], from_shell[2], stdin_pipe[2];
    if (::pipe2(to_shell, O_CLOEXEC) != 0 || ::pipe2(from_shell, O_CLOEXEC) != 0 ||
        ::pipe2(stdin_pipe, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2 failed";
      return;
    }
    std::vector<std::string> args = {
        worker.string(),
        "--module", module.string(),
        "--max-memory-pages", "1024",  // 64 MiB, as capsules/shell/capsule.json
        "--wall-ms", std::to_string(kHangGuardMs * 2),
        "--data-dir", data_dir.string(),
        "--env", "ELASTOS_CARRIER_FDS=4,5",
        "--env", "ELASTOS_CAPSULE_NAME=shell",
        "--env", "ELASTOS_CAPSULE_ID=shell-test-1",
        "--carrier-in-fd", std::to_string(kCarrierInFd),
        "--carrier-out-fd", std::to_string(kCarrierOutFd),
        "--report-fd", std::to_string(kReportFd),
        "--", "shell"};
    pid_ = ::fork();
    if (pid_ == 0) {
      // Move every source above the targets first, so no dup2 closes another source.
      auto high = [](int fd) { return fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 100); };
      const int in = high(to_shell[0]);
      const int out = high(from_shell[1]);
      const int policy_in = high(stdin_pipe[0]);
      const int err = high(::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      const int report = high(::open(report_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      const int null_out = high(::open("/dev/null", O_WRONLY | O_CLOEXEC));
      if (in < 0 || out < 0 || policy_in < 0 || err < 0 || report < 0 || null_out < 0) ::_exit(127);
      if (::dup2(policy_in, 0) < 0 || ::dup2(null_out, 1) < 0 || ::dup2(err, 2) < 0 ||
          ::dup2(in, kCarrierInFd) < 0 || ::dup2(out, kCarrierOutFd) < 0 ||
          ::dup2(report, kReportFd) < 0) {
        ::_exit(127);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(to_shell[0]);
    ::close(from_shell[1]);
    ::close(stdin_pipe[0]);
    to_shell_ = to_shell[1];
    from_shell_ = from_shell[0];
    // The policy is small (well under a pipe's buffer): write it and end stdin.
    WriteAllFd(stdin_pipe[1], policy);
    ::close(stdin_pipe[1]);
  }

  ~ShellProcess() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (to_shell_ >= 0) ::close(to_shell_);
    if (from_shell_ >= 0) ::close(from_shell_);
  }

  // The next request the shell sent: checks the envelope (exactly {id, request}, ids 1, 2, 3, …)
  // and returns the `request` object. nullopt (with a test failure) if the shell ended or hung.
  std::optional<bj::object> NextRequest() {
    const std::optional<std::string> line = ReadLine();
    if (!line) {
      ADD_FAILURE() << "the shell sent no request; stderr:\n" << Stderr() << "report: " << Report();
      return std::nullopt;
    }
    bj::error_code ec;
    bj::value v = bj::parse(*line, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << *line;
      return std::nullopt;
    }
    const bj::object& env = v.as_object();
    const bool well_formed = env.size() == 2 && env.contains("id") && env.at("id").is_int64() &&
                             env.contains("request") && env.at("request").is_object() &&
                             env.at("request").as_object().contains("type");
    if (!well_formed) {
      ADD_FAILURE() << "not a request envelope: " << *line;
      return std::nullopt;
    }
    const std::int64_t id = env.at("id").as_int64();
    EXPECT_EQ(id, last_id_ + 1) << *line;
    last_id_ = id;
    return env.at("request").as_object();
  }

  // Answers the request just read.
  void Respond(const std::string& response) {
    WriteAllFd(to_shell_, "{\"id\":" + std::to_string(last_id_) + ",\"response\":" + response + "}\n");
  }

  // The runtime goes away: the shell must exit 0. Returns its exit code.
  int CloseCarrierAndWait() {
    ::close(to_shell_);
    to_shell_ = -1;
    return Wait();
  }

  // Waits for the shell to exit on its own (hang guard: SIGKILL and -1).
  int Wait() {
    if (exit_code_) return *exit_code_;
    for (int waited_ms = 0;; waited_ms += 10) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return *exit_code_;
      }
      if (waited_ms > kHangGuardMs) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        exit_code_ = -1;
        ADD_FAILURE() << "the shell did not exit; stderr:\n" << Stderr();
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::string Stderr() const { return Slurp(stderr_path_); }
  std::string Report() const { return Slurp(report_path_); }

 private:
  std::optional<std::string> ReadLine() {
    for (;;) {
      const std::size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      pollfd p{from_shell_, POLLIN, 0};
      const int ready = ::poll(&p, 1, kHangGuardMs);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return std::nullopt;
      char chunk[4096];
      const ssize_t n = ::read(from_shell_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  fs::path stderr_path_, report_path_;
  pid_t pid_ = -1;
  int to_shell_ = -1, from_shell_ = -1;
  std::string buffer_;
  std::int64_t last_id_ = 0;
  std::optional<int> exit_code_;
};

struct Request {
  std::string id;
  std::string capsule = "notes";
  std::string actor = "human";
  std::string resource;
  std::string action = "read";
};

// A `decision` response (docs/protocol.md §5.2) for `r`, pending for another 30 s.
std::string DecisionJson(const Request& r) {
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  bj::object o;
  o["type"] = "decision";
  o["request_id"] = r.id;
  o["capsule_id"] = r.capsule + "-instance-7";
  o["capsule_name"] = r.capsule;
  o["actor"] = r.actor;
  o["resource"] = r.resource;
  o["action"] = r.action;
  o["reason"] = "a test asks";
  o["requested_at"] = now;
  o["expires_at"] = now + 30;
  return bj::serialize(o);
}

bj::object Obj(std::string_view text) { return bj::parse(text).as_object(); }

// The string member `key` of `o`, or "(missing)" / "(not a string)".
std::string Str(const bj::object& o, const char* key) {
  if (!o.contains(key)) return "(missing)";
  if (!o.at(key).is_string()) return "(not a string)";
  return std::string(o.at(key).as_string());
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class ShellCapsule : public ::testing::Test {
 protected:
  void SetUp() override {
    // Writing to a shell that already exited must fail the test, not kill it.
    ::signal(SIGPIPE, SIG_IGN);
    const char* bin = std::getenv("ELASTOS_BIN");
    ASSERT_NE(bin, nullptr) << "ELASTOS_BIN must point at build/bin (ctest sets it)";
    worker_ = fs::path(bin) / "elastos-worker";
    module_ = fs::path(bin).parent_path() / "capsules" / "shell" / "shell.wasm";
    ASSERT_TRUE(fs::exists(worker_)) << worker_;
    ASSERT_TRUE(fs::exists(module_)) << module_ << " (build the capsule_shell target)";
    data_ = tmp_.path() / "data";
    fs::create_directories(data_);
  }

  std::unique_ptr<ShellProcess> Start(const std::string& policy) {
    ++runs_;
    const fs::path logs = tmp_.path() / ("run" + std::to_string(runs_));
    fs::create_directories(logs);
    return std::make_unique<ShellProcess>(worker_, module_, data_, logs, policy);
  }

  // Expects a `next_decision` that long-polls (wait_ms 30000, nothing else) and answers it with
  // `response`.
  static void ExpectNextDecision(ShellProcess& shell, const std::string& response) {
    auto req = shell.NextRequest();
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(*req, Obj(R"({"type":"next_decision","wait_ms":30000})"));
    shell.Respond(response);
  }

  // Hands the shell one pending request and returns what it sends about it.
  static std::optional<bj::object> Decide(ShellProcess& shell, const Request& r) {
    ExpectNextDecision(shell, DecisionJson(r));
    return shell.NextRequest();
  }

  static std::string Granted(const std::string& request_id) {
    return R"({"type":"capability_granted","token_id":"00112233445566778899aabbccddeeff","token":"dG9rZW4","request_id":")" +
           request_id + "\"}";
  }

  // Checks an ask_user for `request_id`: exactly request_id and a timeout within the request's life.
  static void ExpectAskUser(const std::optional<bj::object>& req, const std::string& request_id) {
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(Str(*req, "type"), "ask_user") << bj::serialize(*req);
    EXPECT_EQ(Str(*req, "request_id"), request_id) << bj::serialize(*req);
    for (const auto& member : *req) {
      const std::string key(member.key());
      EXPECT_TRUE(key == "type" || key == "request_id" || key == "timeout_ms") << key;
    }
    if (req->contains("timeout_ms")) {
      ASSERT_TRUE(req->at("timeout_ms").is_int64()) << bj::serialize(*req);
      const std::int64_t t = req->at("timeout_ms").as_int64();
      EXPECT_GE(t, 1);
      EXPECT_LE(t, 30'000);  // never longer than the request stays pending
    }
  }

  static void ExpectDeny(const std::optional<bj::object>& req, const std::string& request_id,
                         const std::string& reason_part) {
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(Str(*req, "type"), "deny_capability") << bj::serialize(*req);
    EXPECT_EQ(Str(*req, "request_id"), request_id) << bj::serialize(*req);
    ASSERT_TRUE(req->contains("reason") && req->at("reason").is_string()) << bj::serialize(*req);
    const std::string reason(req->at("reason").as_string());
    EXPECT_TRUE(Contains(reason, reason_part)) << reason;
    EXPECT_LE(reason.size(), 256u);
    EXPECT_EQ(req->size(), 3u) << bj::serialize(*req);
  }

  testing::TempDir tmp_;
  fs::path worker_, module_, data_;
  int runs_ = 0;
};

TEST_F(ShellCapsule, LongPollsForDecisionsAndExitsCleanlyWhenTheRuntimeCloses) {
  auto shell = Start(R"({"default":"ask","rules":[]})");
  // The first thing the shell does is wait for work — push, not a 100 ms poll.
  ExpectNextDecision(*shell, R"({"type":"no_decision"})");
  ExpectNextDecision(*shell, R"({"type":"no_decision"})");
  auto third = shell->NextRequest();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(Str(*third, "type"), "next_decision");
  EXPECT_EQ(shell->CloseCarrierAndWait(), 0) << shell->Stderr();
  EXPECT_TRUE(Contains(shell->Stderr(), "policy: 0 rule(s), default ask")) << shell->Stderr();
  EXPECT_TRUE(Contains(shell->Report(), "\"outcome\":\"exited\"")) << shell->Report();
}

TEST_F(ShellCapsule, AllowRulesGrantWithTheirDurationAndConstraints) {
  auto shell = Start(R"({"schema":"elastos.policy/v1","default":"deny","rules":[
    {"resource":"localhost://Users/self/Notes/*","actions":["read","write"],"decision":"allow",
     "max_uses":5,"expires_in_s":60,"capsule":"notes","actor":"human"},
    {"resource":"localhost://Public/*","actions":["read"],"decision":"allow","duration":"once"},
    {"resource":"elastos://peer/*","actions":["message"],"decision":"allow","duration":"always"}]})");

  auto req = Decide(*shell, {"r-1", "notes", "human", "localhost://Users/self/Notes/a.txt", "write"});
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-1","duration":"session",
                          "constraints":{"max_uses":5,"expires_in_s":60}})"));
  shell->Respond(Granted("r-1"));

  req = Decide(*shell, {"r-2", "viewer", "agent", "localhost://Public/photos/*", "read"});
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-2","duration":"once"})"));
  shell->Respond(Granted("r-2"));

  // An allow rule's "always" goes on the wire as the runtime knows it; the shell does not need to
  // remember it (the policy itself says so every time).
  req = Decide(*shell, {"r-3", "chat", "human", "elastos://peer/alice", "message"});
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-3","duration":"always"})"));
  shell->Respond(Granted("r-3"));

  // The same capsule's rule does not apply to another capsule: the default (deny) does.
  req = Decide(*shell, {"r-4", "notes2", "human", "localhost://Users/self/Notes/a.txt", "read"});
  ExpectDeny(req, "r-4", "policy");
  shell->Respond(R"({"type":"ok"})");

  ExpectNextDecision(*shell, R"({"type":"no_decision"})");
  EXPECT_EQ(shell->CloseCarrierAndWait(), 0) << shell->Stderr();
  const std::string log = shell->Stderr();
  EXPECT_TRUE(Contains(log, "request=r-1 capsule=notes actor=human action=write "
                            "resource=localhost://Users/self/Notes/a.txt by=rule[0] decision=allow"))
      << log;
  EXPECT_TRUE(Contains(log, "request=r-2 capsule=viewer actor=agent action=read "
                            "resource=localhost://Public/photos/* by=rule[1] decision=allow"))
      << log;
  EXPECT_TRUE(Contains(log, "request=r-4 capsule=notes2 actor=human action=read "
                            "resource=localhost://Users/self/Notes/a.txt by=default decision=deny"))
      << log;
  EXPECT_FALSE(fs::exists(data_ / "always.json"));
}

TEST_F(ShellCapsule, DenyRulesDefaultDenyAndSecondSpellingsAreDeniedWithoutAsking) {
  auto shell = Start(R"({"default":"deny","rules":[
    {"resource":"localhost://Users/self/Secret/*","actions":["*"],"decision":"deny"},
    {"resource":"localhost://Users/self/*","actions":["read"],"decision":"allow"}]})");
  ExpectDeny(Decide(*shell, {"r-1", "notes", "human", "localhost://Users/self/Secret/key", "read"}),
             "r-1", "policy (rules[0])");
  shell->Respond(R"({"type":"ok"})");
  ExpectDeny(Decide(*shell, {"r-2", "notes", "human", "localhost://Elsewhere/x", "write"}), "r-2",
             "default is deny");
  shell->Respond(R"({"type":"ok"})");
  // Not the prefix itself: a rule for …/self/* does not cover …/self.
  ExpectDeny(Decide(*shell, {"r-3", "notes", "human", "localhost://Users/self", "read"}), "r-3",
             "default is deny");
  shell->Respond(R"({"type":"ok"})");
  // `..` never matches, whatever the rules say.
  ExpectDeny(Decide(*shell, {"r-4", "notes", "human", "localhost://Users/self/../other/x", "read"}),
             "r-4", "not acceptable");
  shell->Respond(R"({"type":"ok"})");
  // A runtime that refuses the deny (the request expired meanwhile) does not stop the shell.
  ExpectDeny(Decide(*shell, {"r-5", "notes", "human", "localhost://Elsewhere/y", "read"}), "r-5",
             "default is deny");
  shell->Respond(R"({"type":"error","code":"not_found","reason":"no_such_request","message":"expired"})");
  ExpectNextDecision(*shell, R"({"type":"no_decision"})");
  EXPECT_EQ(shell->CloseCarrierAndWait(), 0) << shell->Stderr();
  EXPECT_TRUE(Contains(shell->Stderr(), "by=refused decision=deny")) << shell->Stderr();
}

TEST_F(ShellCapsule, AskRulesPutTheQuestionAndFollowTheAnswer) {
  auto shell = Start(R"({"default":"deny","rules":[
    {"resource":"localhost://Users/*","actions":["read"],"decision":"ask","max_uses":3},
    {"resource":"localhost://Public/*","actions":["read"],"decision":"ask","duration":"session"}]})");

  auto req = Decide(*shell, {"r-1", "notes", "human", "localhost://Users/self/a.txt", "read"});
  ExpectAskUser(req, "r-1");
  shell->Respond(R"({"type":"user_answer","answer":"allow","duration":"session"})");
  req = shell->NextRequest();
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-1","duration":"session",
                          "constraints":{"max_uses":3}})"));
  shell->Respond(Granted("r-1"));

  // "once" is one use: the rule's max_uses would contradict it and is not sent.
  ExpectAskUser(Decide(*shell, {"r-2", "notes", "human", "localhost://Users/self/b.txt", "read"}), "r-2");
  shell->Respond(R"({"type":"user_answer","answer":"allow","duration":"once"})");
  req = shell->NextRequest();
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-2","duration":"once"})"));
  shell->Respond(Granted("r-2"));

  // A missing duration is "session" (docs/protocol.md).
  ExpectAskUser(Decide(*shell, {"r-3", "notes", "agent", "localhost://Users/self/c.txt", "read"}), "r-3");
  shell->Respond(R"({"type":"user_answer","answer":"allow"})");
  req = shell->NextRequest();
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(Str(*req, "duration"), "session");
  shell->Respond(Granted("r-3"));

  ExpectAskUser(Decide(*shell, {"r-4", "notes", "human", "localhost://Users/self/d.txt", "read"}), "r-4");
  shell->Respond(R"({"type":"user_answer","answer":"deny","duration":"session"})");
  ExpectDeny(shell->NextRequest(), "r-4", "denied by the user");
  shell->Respond(R"({"type":"ok"})");

  // The rule caps the answer: "always" under a session rule grants session and is not remembered.
  ExpectAskUser(Decide(*shell, {"r-5", "notes", "human", "localhost://Public/e.txt", "read"}), "r-5");
  shell->Respond(R"({"type":"user_answer","answer":"allow","duration":"always"})");
  req = shell->NextRequest();
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-5","duration":"session"})"));
  shell->Respond(Granted("r-5"));

  ExpectNextDecision(*shell, R"({"type":"no_decision"})");
  EXPECT_EQ(shell->CloseCarrierAndWait(), 0) << shell->Stderr();
  EXPECT_TRUE(Contains(shell->Stderr(), "by=rule[0] decision=ask answer=deny")) << shell->Stderr();
  EXPECT_FALSE(fs::exists(data_ / "always.json"));
}

TEST_F(ShellCapsule, AlwaysIsRememberedAndReGrantedWithoutAskingAfterARestart) {
  const std::string policy = R"({"default":"ask","rules":[
    {"resource":"localhost://Users/self/Secret/*","actions":["*"],"decision":"deny"}]})";
  {
    auto shell = Start(policy);
    ExpectAskUser(Decide(*shell, {"r-1", "notes", "human", "localhost://Users/self/Notes/*", "read"}), "r-1");
    shell->Respond(R"({"type":"user_answer","answer":"allow","duration":"always"})");
    auto req = shell->NextRequest();
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-1","duration":"always"})"));
    shell->Respond(Granted("r-1"));
    ExpectNextDecision(*shell, R"({"type":"no_decision"})");
    EXPECT_EQ(shell->CloseCarrierAndWait(), 0) << shell->Stderr();
    EXPECT_TRUE(Contains(shell->Stderr(), "answer=allow(always) remembered")) << shell->Stderr();
  }
  // What the shell wrote to its /data, read independently.
  ASSERT_TRUE(fs::exists(data_ / "always.json"));
  EXPECT_FALSE(fs::exists(data_ / "always.json.tmp"));
  const bj::object saved = bj::parse(Slurp(data_ / "always.json")).as_object();
  EXPECT_EQ(Str(saved, "schema"), "elastos.shell-always/v1");
  EXPECT_EQ(saved.at("always"), bj::parse(R"([{"capsule":"notes","actor":"human",
      "resource":"localhost://Users/self/Notes/*","action":"read"}])"));

  // A new shell over the same /data: the same key is granted (a fresh token for the new
  // instance, duration session on the wire) without asking.
  auto shell = Start(policy);
  auto req = Decide(*shell, {"r-2", "notes", "human", "localhost://Users/self/Notes/*", "read"});
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-2","duration":"session"})"));
  shell->Respond(Granted("r-2"));
  // A narrower resource under the remembered pattern too.
  req = Decide(*shell, {"r-3", "notes", "human", "localhost://Users/self/Notes/today.txt", "read"});
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(*req, Obj(R"({"type":"grant_capability","request_id":"r-3","duration":"session"})"));
  shell->Respond(Granted("r-3"));
  // Another actor, action or capsule is asked again.
  ExpectAskUser(Decide(*shell, {"r-4", "notes", "agent", "localhost://Users/self/Notes/*", "read"}), "r-4");
  shell->Respond(R"({"type":"error","code":"unavailable","reason":"no_one_to_ask","message":"nobody"})");
  ExpectDeny(shell->NextRequest(), "r-4", "nobody could be asked");
  shell->Respond(R"({"type":"ok"})");
  ExpectAskUser(Decide(*shell, {"r-5", "notes", "human", "localhost://Users/self/Notes/*", "write"}), "r-5");
  shell->Respond(R"({"type":"error","code":"unavailable","reason":"no_one_to_ask","message":"nobody"})");
  ExpectDeny(shell->NextRequest(), "r-5", "nobody could be asked");
  shell->Respond(R"({"type":"ok"})");
  ExpectNextDecision(*shell, R"({"type":"no_decision"})");
  EXPECT_EQ(shell->CloseCarrierAndWait(), 0) << shell->Stderr();
  EXPECT_TRUE(Contains(shell->Stderr(), "1 remembered \"always\" answer(s)")) << shell->Stderr();
  EXPECT_TRUE(Contains(shell->Stderr(), "request=r-2 capsule=notes actor=human action=read "
                                        "resource=localhost://Users/self/Notes/* by=remembered "
                                        "decision=allow"))
      << shell->Stderr();
}

TEST_F(ShellCapsule, WhenNobodyCanAnswerTheShellDenies) {
  auto shell = Start(R"({"default":"ask"})");
  ExpectAskUser(Decide(*shell, {"r-1", "notes", "human", "localhost://Users/self/a", "read"}), "r-1");
  shell->Respond(R"({"type":"error","code":"unavailable","reason":"no_one_to_ask","message":"no terminal, no prompt client"})");
  ExpectDeny(shell->NextRequest(), "r-1", "nobody could be asked");
  shell->Respond(R"({"type":"ok"})");

  ExpectAskUser(Decide(*shell, {"r-2", "notes", "human", "localhost://Users/self/b", "read"}), "r-2");
  shell->Respond(R"({"type":"error","code":"unavailable","reason":"prompt_timeout","message":"nobody answered"})");
  ExpectDeny(shell->NextRequest(), "r-2", "nobody could be asked");
  shell->Respond(R"({"type":"ok"})");

  // A runtime that does not know ask_user: fail closed.
  ExpectAskUser(Decide(*shell, {"r-3", "notes", "human", "localhost://Users/self/c", "read"}), "r-3");
  shell->Respond(R"({"type":"error","code":"invalid_argument","reason":"unknown_request","message":"ask_user?"})");
  ExpectDeny(shell->NextRequest(), "r-3", "nobody could be asked");
  shell->Respond(R"({"type":"ok"})");

  // The request was decided or expired meanwhile: nothing left to answer; back to waiting.
  ExpectAskUser(Decide(*shell, {"r-4", "notes", "human", "localhost://Users/self/d", "read"}), "r-4");
  shell->Respond(R"({"type":"error","code":"not_found","reason":"no_such_request","message":"gone"})");
  ExpectNextDecision(*shell, R"({"type":"no_decision"})");

  // An answer the runtime garbles is never read as consent.
  ExpectAskUser(Decide(*shell, {"r-5", "notes", "human", "localhost://Users/self/e", "read"}), "r-5");
  shell->Respond(R"({"type":"user_answer","answer":"yes please"})");
  ExpectDeny(shell->NextRequest(), "r-5", "nobody could be asked");
  shell->Respond(R"({"type":"ok"})");

  ExpectNextDecision(*shell, R"({"type":"no_decision"})");
  EXPECT_EQ(shell->CloseCarrierAndWait(), 0) << shell->Stderr();
  EXPECT_TRUE(Contains(shell->Stderr(), "answer=no_one_to_ask")) << shell->Stderr();
  EXPECT_TRUE(Contains(shell->Stderr(), "answer=prompt_timeout")) << shell->Stderr();
}

TEST_F(ShellCapsule, ABrokenPolicyIsReportedAndTheSafeDefaultRuns) {
  struct Broken {
    std::string policy;
    std::vector<std::string> in_stderr;
  };
  const std::vector<Broken> cases = {
      {R"({"default":"allow","rules":[{"resource":"localhost://*","actions":["*"],"decision":"allow"}]})",
       {"policy $.default", "grant-all"}},
      {R"({"rules":[{"resource":"localhost://*","actions":["*"],"decision":"allow","max_use":1}]})",
       {"policy $.rules[0].max_use", "unknown field 'max_use'"}},
      {R"({"rules":[{"resource":"localhost://A/*","actions":["read","fly"],"decision":"allow"}]})",
       {"policy $.rules[0].actions[1]", "'fly' is not an action"}},
      {R"({"schema":"elastos.policy/v9","rules":[]})", {"policy $.schema"}},
      {R"({"rules":[{"resource":"localhost://A/*","actions":["read"],"decision":"allow")",
       {"policy $: not valid JSON"}},
      {R"({"allow":["localhost://Users/*"]})", {"policy $.allow", "reference"}},
      {"", {"no policy on stdin"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("policy: " + cases[i].policy);
    auto shell = Start(cases[i].policy);
    // Whatever the broken policy tried to allow is asked instead, and denied when nobody answers.
    const std::string id = "r-" + std::to_string(i);
    ExpectAskUser(Decide(*shell, {id, "notes", "human", "localhost://A/x", "read"}), id);
    shell->Respond(R"({"type":"error","code":"unavailable","reason":"no_one_to_ask","message":"nobody"})");
    ExpectDeny(shell->NextRequest(), id, "nobody could be asked");
    shell->Respond(R"({"type":"ok"})");
    ExpectNextDecision(*shell, R"({"type":"no_decision"})");
    EXPECT_EQ(shell->CloseCarrierAndWait(), 0);
    const std::string log = shell->Stderr();
    for (const std::string& part : cases[i].in_stderr) {
      EXPECT_TRUE(Contains(log, part)) << part << "\n" << log;
    }
    EXPECT_TRUE(Contains(log, "safe default")) << log;
    EXPECT_TRUE(Contains(log, "by=default decision=ask answer=no_one_to_ask")) << log;
  }
}

TEST_F(ShellCapsule, RuntimeShuttingDownEndsTheShellWithZeroAndRefusalsWithOne) {
  {
    auto shell = Start(R"({"default":"ask"})");
    ExpectNextDecision(*shell, R"({"type":"error","code":"unavailable","reason":"runtime_closed","message":"shutting down"})");
    EXPECT_EQ(shell->Wait(), 0) << shell->Stderr();
  }
  {
    // A capsule that is not the runtime's shell cannot do a shell's work: exit 1, saying why.
    auto shell = Start(R"({"default":"ask"})");
    ExpectNextDecision(*shell, R"({"type":"error","code":"permission_denied","reason":"shell_only","message":"not the shell"})");
    EXPECT_EQ(shell->Wait(), 1) << shell->Stderr();
    EXPECT_TRUE(Contains(shell->Stderr(), "shell_only")) << shell->Stderr();
  }
  {
    // The carrier closing in the middle of a question is a shutdown too.
    auto shell = Start(R"({"default":"ask"})");
    ExpectAskUser(Decide(*shell, {"r-1", "notes", "human", "localhost://A/x", "read"}), "r-1");
    EXPECT_EQ(shell->CloseCarrierAndWait(), 0) << shell->Stderr();
  }
}

}  // namespace
}  // namespace elastos
