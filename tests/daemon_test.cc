// `elastos serve` end to end: the real daemon process, the real shell capsule deciding by a real
// policy file, the real localhost provider in its sandboxed workers, real HTTP on loopback.
// Covers the seed's five-step flow (allow, deny, ask answered yes and no through the prompt
// API), token attacks at the HTTP API, traversal, restart and kill -9, and a hostile-request
// barrage.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/testing/temp_dir.h"
#include "tests/http_client.h"

extern char** environ;

namespace elastos {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using elastos::testing::HttpClient;
using elastos::testing::HttpReply;

fs::path Bin() {
  const char* b = std::getenv("ELASTOS_BIN");
  return b != nullptr ? fs::path(b) : fs::path(ELASTOS_BUILD_DIR) / "bin";
}

int RunElastos(const std::vector<std::string>& args) {
  std::string cmd = (Bin() / "elastos").string();
  for (const std::string& a : args) cmd += " '" + a + "'";
  return std::system((cmd + " >/dev/null 2>&1").c_str());
}

// The shell and provider compiled once per test binary; each daemon's data dir gets a copy, so a
// test does not pay two AOT compiles at boot.
const fs::path& SharedAotCache() {
  static const fs::path dir = [] {
    const fs::path shared = fs::path(ELASTOS_BUILD_DIR) / "tests" / "daemon-test-cache";
    const fs::path build = fs::path(ELASTOS_BUILD_DIR) / "capsules";
    RunElastos({"--data-dir", shared.string(), "capsule", "compile", "--quiet",
                (build / "shell" / "shell.wasm").string()});
    RunElastos({"--data-dir", shared.string(), "capsule", "compile", "--quiet",
                (build / "localhost-provider" / "localhost-provider.wasm").string()});
    return shared / "cache" / "aot";
  }();
  return dir;
}

json::value Json(const std::string& text) {
  std::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value() : v;
}

std::string Str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return "";
  const json::value* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : "";
}

// `{"error":{"code","reason","message"}}` → reason ("" if not that shape).
std::string Reason(const HttpReply& r) {
  json::value v = Json(r.body);
  if (!v.is_object() || !v.as_object().contains("error")) return "";
  return Str(v.as_object().at("error"), "reason");
}

class DaemonProcess {
 public:
  explicit DaemonProcess(fs::path data_dir) : data_dir_(std::move(data_dir)) {}
  ~DaemonProcess() { Stop(); }

  void Start() {
    std::error_code ec;
    fs::remove(data_dir_ / "runtime.json", ec);
    fs::create_directories(data_dir_ / "cache", ec);
    if (!fs::exists(data_dir_ / "cache" / "aot")) {
      fs::copy(SharedAotCache(), data_dir_ / "cache" / "aot", fs::copy_options::recursive, ec);
      ::chmod((data_dir_ / "cache" / "aot").c_str(), 0700);
    }
    const std::string exe = (Bin() / "elastos").string();
    const std::string data = data_dir_.string();
    const std::string log = (data_dir_.parent_path() / ("daemon-" + std::to_string(starts_++) + ".log")).string();
    std::vector<std::string> args = {exe, "--data-dir", data, "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    ASSERT_EQ(posix_spawn(&pid_, exe.c_str(), &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 1200 && !fs::exists(data_dir_ / "runtime.json"); ++i) {
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(fs::exists(data_dir_ / "runtime.json")) << "the daemon did not start; see " << log;
    std::ifstream in(data_dir_ / "runtime.json");
    std::stringstream text;
    text << in.rdbuf();
    json::value info = Json(text.str());
    const std::string url = Str(info, "api_url");
    port_ = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
    secret_ = Str(info, "attach_secret");
    // The shell and the provider are launched before runtime.json is written.
  }

  // SIGTERM and wait; returns the exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  void Kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    // Its workers die with their pidfd backstop or on their own; give them no say in the test.
    std::system("true");
  }
  bool Alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }
  void set_extra_args(std::vector<std::string> a) { extra_args_ = std::move(a); }

  std::uint16_t port() const { return port_; }
  const std::string& secret() const { return secret_; }
  const fs::path& data_dir() const { return data_dir_; }

 private:
  fs::path data_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::uint16_t port_ = 0;
  std::string secret_;
};

// One client session over its own keep-alive connection.
class Client {
 public:
  Client(const DaemonProcess& d, const std::string& owner, bool agent = false) : http_(d.port()) {
    json::object body{{"secret", d.secret()}, {"owner", owner}, {"agent", agent}};
    HttpReply r = http_.Request("POST", "/api/auth/attach", json::serialize(body));
    EXPECT_EQ(r.status, 200) << r.body;
    bearer_ = Str(Json(r.body), "token");
  }

  HttpReply Call(std::string_view method, const std::string& target, std::string_view body = "",
                 std::map<std::string, std::string> headers = {}) {
    headers["Authorization"] = "Bearer " + bearer_;
    return http_.Request(method, target, body, headers);
  }

  // Asks for a capability and waits for the shell's answer: (status, token or reason).
  std::pair<std::string, std::string> Ask(const std::string& resource, const std::string& action) {
    json::object body{{"resource", resource}, {"action", action}};
    HttpReply r = Call("POST", "/api/capability/request", json::serialize(body));
    EXPECT_EQ(r.status, 202) << r.body;
    const std::string id = Str(Json(r.body), "request_id");
    HttpReply s = Call("GET", "/api/capability/request/" + id + "?wait_ms=20000");
    json::value v = Json(s.body);
    const std::string state = Str(v, "status");
    return {state, state == "granted" ? Str(v, "token") : Str(v, "reason")};
  }
  std::string Grant(const std::string& resource, const std::string& action) {
    auto [state, token] = Ask(resource, action);
    EXPECT_EQ(state, "granted") << resource << " " << action << ": " << token;
    return token;
  }

  HttpReply Read(const std::string& path, const std::string& token) {
    return Call("GET", "/api/localhost/" + path, "", {{"X-Capability-Token", token}});
  }
  HttpReply Write(const std::string& path, const std::string& token, const std::string& content) {
    return Call("PUT", "/api/localhost/" + path, content, {{"X-Capability-Token", token}});
  }

  const std::string& bearer() const { return bearer_; }

 private:
  HttpClient http_;
  std::string bearer_;
};

constexpr const char* kPolicy = R"({
  "default": "ask",
  "rules": [
    {"capsule": "alice", "resource": "localhost://Users/self/Documents/Notes/*",
     "actions": ["read", "write", "delete"], "decision": "allow"},
    {"capsule": "mallory", "resource": "localhost://Users/self/Documents/Notes/*",
     "actions": ["read"], "decision": "allow"},
    {"capsule": "probe", "resource": "localhost://Users/self/Documents/Notes/*",
     "actions": ["read"], "decision": "allow", "delegatable": true},
    {"capsule": "probe", "resource": "localhost://Users/self/Documents/Notes/*",
     "actions": ["write"], "decision": "allow"},
    {"capsule": "probe", "resource": "elastos://message/probe", "actions": ["message"],
     "decision": "allow"},
    {"resource": "localhost://Users/self/Documents/Notes/brief.txt", "actions": ["read"],
     "decision": "allow", "expires_in_s": 1},
    {"resource": "localhost://Users/*", "actions": ["*"], "decision": "deny"},
    {"capsule": "probe", "resource": "elastos://*", "actions": ["read"], "decision": "allow"}
  ]
})";

constexpr const char* kNotes = "localhost://Users/self/Documents/Notes/*";

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() / "data";
    fs::create_directories(data_);
    std::ofstream(data_ / "policy.json") << kPolicy;
    // The user's Notes folder exists on the host (a fresh localhost root has only the roots).
    fs::create_directories(data_ / "roots" / "Users" / "self" / "Documents" / "Notes");
    daemon_ = std::make_unique<DaemonProcess>(data_);
    daemon_->Start();
  }

  // Audit records of `type` (the daemon's own view through the API, as an operator).
  std::vector<json::object> AuditRecords(Client& op, const std::string& type) {
    HttpReply r = op.Call("GET", "/api/audit?limit=10000&type=" + type);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<json::object> out;
    json::value v = Json(r.body);
    if (!v.is_object()) return out;
    for (const json::value& rec : v.as_object().at("records").as_array()) out.push_back(rec.as_object());
    return out;
  }

  bool AuditVerifies(Client& op) {
    HttpReply r = op.Call("GET", "/api/audit/verify");
    json::value v = Json(r.body);
    return r.status == 200 && v.is_object() && v.as_object().at("ok").as_bool();
  }

  elastos::testing::TempDir dir_;
  fs::path data_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(DaemonTest, HealthNeedsNoSessionAndEverythingElseDoes) {
  HttpClient http(daemon_->port());
  HttpReply h = http.Request("GET", "/api/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(Str(Json(h.body), "status"), "ok");
  HttpReply s = http.Request("GET", "/api/session");
  EXPECT_EQ(s.status, 401);
  EXPECT_EQ(Reason(s), "missing_session");
  HttpReply bad = http.Request("POST", "/api/auth/attach", R"({"secret":"guess"})");
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(Reason(bad), "bad_attach_secret");
  // The runtime file is the user's alone.
  struct stat st;
  ASSERT_EQ(::stat((data_ / "runtime.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A second runtime on the same data directory is refused, and so is a standalone
  // `capsule run`, which would otherwise write the runtime's audit log behind its back.
  EXPECT_NE(RunElastos({"--data-dir", data_.string(), "serve", "--listen", "127.0.0.1:0"}), 0);
  const int run = RunElastos({"--data-dir", data_.string(), "capsule", "run", "--allow-unsigned",
                              (fs::path(ELASTOS_BUILD_DIR) / "capsules" / "exit42").string()});
  EXPECT_EQ(WEXITSTATUS(run), 125);
  Client op(*daemon_, "operator");
  EXPECT_TRUE(AuditVerifies(op));
}

TEST_F(DaemonTest, FiveStepFlowWithAllowDenyAndAsk) {
  Client alice(*daemon_, "alice");
  Client bob(*daemon_, "bob");
  Client carol(*daemon_, "carol");

  // allow (rule 0) → a token that works for exactly what it names.
  const std::string w = alice.Grant(kNotes, "write");
  HttpReply put = alice.Write("Users/self/Documents/Notes/first.txt", w, "hello notes");
  ASSERT_EQ(put.status, 200) << put.body;
  {
    std::ifstream in(data_ / "roots/Users/self/Documents/Notes/first.txt");
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "hello notes");
  }
  const std::string r = alice.Grant(kNotes, "read");
  HttpReply get = alice.Read("Users/self/Documents/Notes/first.txt", r);
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "hello notes");

  // deny (rule 6).
  auto [denied, why] = bob.Ask("localhost://Users/self/secret.txt", "read");
  EXPECT_EQ(denied, "denied");
  EXPECT_NE(why.find("rules[6]"), std::string::npos) << why;

  // ask, with nobody watching → denied at once.
  auto [unanswered, why2] = carol.Ask("localhost://Public/photos/*", "read");
  EXPECT_EQ(unanswered, "denied");
  EXPECT_NE(why2.find("nobody"), std::string::npos) << why2;

  // ask, with a person watching the prompt queue: yes, then no.
  Client person(*daemon_, "dashboard");
  for (const std::string answer : {"allow", "deny"}) {
    person.Call("GET", "/api/prompts?wait_ms=1");  // present
    json::object body{{"resource", "localhost://Public/" + answer + "/*"}, {"action", "read"},
                      {"reason", "show " + answer}};
    HttpReply req = carol.Call("POST", "/api/capability/request", json::serialize(body));
    ASSERT_EQ(req.status, 202);
    const std::string id = Str(Json(req.body), "request_id");
    HttpReply prompts = person.Call("GET", "/api/prompts?wait_ms=20000");
    json::value pv = Json(prompts.body);
    ASSERT_TRUE(pv.is_object()) << prompts.body;
    const json::array& list = pv.as_object().at("prompts").as_array();
    ASSERT_EQ(list.size(), 1u) << prompts.body;
    EXPECT_EQ(Str(list[0], "request_id"), id);
    EXPECT_EQ(Str(list[0], "holder_name"), "carol");
    EXPECT_EQ(Str(list[0], "reason"), "show " + answer);
    // Only a person answers: carol cannot approve her own request.
    HttpReply self_answer = carol.Call("POST", "/api/prompts/" + Str(list[0], "prompt_id"),
                                       R"({"answer":"allow"})");
    EXPECT_EQ(self_answer.status, 403) << self_answer.body;
    EXPECT_EQ(Reason(self_answer), "own_request");
    HttpReply a = person.Call("POST", "/api/prompts/" + Str(list[0], "prompt_id"),
                              json::serialize(json::object{{"answer", answer}}));
    EXPECT_EQ(a.status, 200) << a.body;
    HttpReply outcome = carol.Call("GET", "/api/capability/request/" + id + "?wait_ms=20000");
    EXPECT_EQ(Str(Json(outcome.body), "status"), answer == "allow" ? "granted" : "denied")
        << outcome.body;
  }

  Client op(*daemon_, "operator");
  EXPECT_GE(AuditRecords(op, "capability_decision").size(), 5u);
  EXPECT_GE(AuditRecords(op, "prompt").size(), 3u);
  EXPECT_TRUE(AuditVerifies(op));
}

TEST_F(DaemonTest, EveryBadTokenIsRefusedWithItsReasonAndAudited) {
  Client alice(*daemon_, "alice");
  Client mallory(*daemon_, "mallory");
  Client op(*daemon_, "operator");
  const std::string w = alice.Grant(kNotes, "write");
  const std::string r = alice.Grant(kNotes, "read");
  const std::string note = "Users/self/Documents/Notes/n.txt";
  ASSERT_EQ(alice.Write(note, w, "secret plans").status, 200);

  // forged: not a token at all; tampered: one character of a real one changed.
  HttpReply forged = alice.Read(note, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(forged.status, 401) << forged.body;
  std::string tampered = r;
  tampered[tampered.size() - 10] = tampered[tampered.size() - 10] == 'A' ? 'B' : 'A';
  HttpReply t = alice.Read(note, tampered);
  EXPECT_EQ(t.status, 401) << t.body;
  EXPECT_EQ(Reason(t), "invalid_signature");
  // wrong holder: mallory holds no such token; alice's is bound to alice's session.
  HttpReply stolen = mallory.Read(note, r);
  EXPECT_EQ(stolen.status, 403) << stolen.body;
  EXPECT_EQ(Reason(stolen), "wrong_holder");
  // wrong action: a read token cannot write.
  HttpReply wrong = alice.Write(note, r, "overwritten");
  EXPECT_EQ(Reason(wrong), "wrong_action");
  // missing: no token, not a byte.
  HttpReply none = alice.Read(note, "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(Reason(none), "missing_token");
  EXPECT_EQ(none.body.find("secret plans"), std::string::npos);
  // expired: the brief.txt rule grants for one second.
  std::ofstream(data_ / "roots/Users/self/Documents/Notes/brief.txt") << "brief";
  Client dave(*daemon_, "dave");  // no rule of his own: the one-second rule applies
  const std::string brief = dave.Grant("localhost://Users/self/Documents/Notes/brief.txt", "read");
  std::this_thread::sleep_for(2100ms);
  HttpReply expired = dave.Read("Users/self/Documents/Notes/brief.txt", brief);
  EXPECT_EQ(Reason(expired), "token_expired") << expired.body;
  // revoked: one token by id.
  const std::string w2 = alice.Grant(kNotes, "write");
  HttpReply list = alice.Call("GET", "/api/capability/list");
  json::value listed = Json(list.body);
  ASSERT_TRUE(listed.is_object()) << list.status << " " << list.body;
  std::string w2_id;
  for (const json::value& c : listed.as_object().at("capabilities").as_array()) {
    if (Str(c, "action") == "write") w2_id = Str(c, "token_id");  // the newest write token
  }
  ASSERT_FALSE(w2_id.empty());
  HttpReply rev = op.Call("DELETE", "/api/capability/" + w2_id);
  EXPECT_EQ(rev.status, 200) << rev.body;
  EXPECT_EQ(Reason(alice.Write(note, w2, "x")), "token_revoked");
  // A capsule or agent may not revoke; an agent may not revoke-all.
  Client agent(*daemon_, "bot", /*agent=*/true);
  EXPECT_EQ(agent.Call("POST", "/api/capability/revoke-all", "{}").status, 403);
  // epoch: revoke-all kills every token at its next use, mid-session.
  ASSERT_EQ(alice.Read(note, r).status, 200);
  HttpReply all = op.Call("POST", "/api/capability/revoke-all", R"({"reason":"incident"})");
  EXPECT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Reason(alice.Read(note, r)), "epoch_revoked");
  EXPECT_EQ(Reason(alice.Write(note, w, "x")), "epoch_revoked");

  // Every refusal is on record with its reason.
  std::set<std::string> reasons;
  for (const json::object& rec : AuditRecords(op, "validate")) {
    if (rec.at("outcome").as_string() == "denied") reasons.insert(std::string(rec.at("reason").as_string()));
  }
  for (const char* expected : {"invalid_signature", "wrong_holder", "wrong_action", "token_expired",
                               "token_revoked", "epoch_revoked"}) {
    EXPECT_TRUE(reasons.count(expected)) << expected;
  }
  EXPECT_TRUE(AuditVerifies(op));
}

TEST_F(DaemonTest, TraversalAndEscapesAreRefused) {
  Client alice(*daemon_, "alice");
  const std::string r = alice.Grant(kNotes, "read");
  const std::string w = alice.Grant(kNotes, "write");
  // A secret beside the roots that nothing may reach.
  std::ofstream(data_ / "roots" / "Users" / "self" / "private.txt") << "private";
  fs::create_symlink("/etc", data_ / "roots/Users/self/Documents/Notes/etc");
  fs::create_symlink("../../private.txt", data_ / "roots/Users/self/Documents/Notes/up.txt");
  for (const std::string path :
       {"Users/self/Documents/Notes/../../private.txt", "Users/self/Documents/Notes/%2e%2e/%2e%2e/private.txt",
        "Users/self/Documents/Notes/..%2f..%2fprivate.txt", "Users/self/Documents/Notes//etc/passwd",
        "Users/self/Documents/Notes/%252e%252e/private.txt", "Users/self/Documents/Notes/a%5c..%5c..%5cprivate.txt",
        "Users/self/Documents/Notes/etc/passwd", "Users/self/Documents/Notes/up.txt"}) {
    HttpReply got = alice.Read(path, r);
    EXPECT_GE(got.status, 400) << path << ": " << got.body;
    EXPECT_LT(got.status, 500) << path << ": " << got.body;
    EXPECT_EQ(got.body.find("root:"), std::string::npos) << path;
    EXPECT_EQ(got.body.find("private"), got.body.find("private.txt")) << path << ": " << got.body;
    HttpReply put = alice.Write(path, w, "pwned");
    EXPECT_GE(put.status, 400) << path;
  }
  std::ifstream in(data_ / "roots/Users/self/private.txt");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "private");
}

TEST_F(DaemonTest, RestartKeepsRevocationsAndEpochButNotSessions) {
  Client alice(*daemon_, "alice");
  Client op(*daemon_, "operator");
  const std::string r = alice.Grant(kNotes, "read");
  ASSERT_EQ(op.Call("POST", "/api/capability/revoke-all", "{}").status, 200);
  const std::string fresh = alice.Grant(kNotes, "read");
  std::ofstream(data_ / "roots/Users/self/Documents/Notes/a.txt") << "a";
  ASSERT_EQ(alice.Read("Users/self/Documents/Notes/a.txt", fresh).status, 200);
  const std::string bearer = alice.bearer();

  // kill -9: no orderly shutdown at all.
  daemon_->Kill9();
  daemon_->Start();
  Client op2(*daemon_, "operator");
  HttpReply metrics = op2.Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("elastos_capability_epoch 1"), std::string::npos) << metrics.body;
  // The old session is gone, and so is every token granted into it.
  HttpClient raw(daemon_->port());
  HttpReply old = raw.Request("GET", "/api/session", "", {{"Authorization", "Bearer " + bearer}});
  EXPECT_EQ(old.status, 401);
  Client alice2(*daemon_, "alice");
  HttpReply stale = alice2.Read("Users/self/Documents/Notes/a.txt", fresh);
  EXPECT_EQ(stale.status / 100, 4);
  EXPECT_TRUE(Reason(stale) == "wrong_holder" || Reason(stale) == "token_revoked") << stale.body;
  // The restarted runtime grants afresh, and its log verifies across the crash.
  const std::string again = alice2.Grant(kNotes, "read");
  EXPECT_EQ(alice2.Read("Users/self/Documents/Notes/a.txt", again).body, "a");
  EXPECT_TRUE(AuditVerifies(op2));
  EXPECT_EQ(daemon_->Stop(), 0);
  EXPECT_FALSE(fs::exists(data_ / "runtime.json"));
}

TEST_F(DaemonTest, AnAlwaysAnswerOutlivesTheRestart) {
  Client person(*daemon_, "dashboard");
  Client carol(*daemon_, "carol");
  person.Call("GET", "/api/prompts?wait_ms=1");
  HttpReply req = carol.Call("POST", "/api/capability/request",
                             R"({"resource":"localhost://Public/pics/*","action":"read"})");
  const std::string id = Str(Json(req.body), "request_id");
  HttpReply prompts = person.Call("GET", "/api/prompts?wait_ms=20000");
  const json::value pv = Json(prompts.body);
  ASSERT_TRUE(pv.is_object()) << prompts.body;
  const json::array& list = pv.as_object().at("prompts").as_array();
  ASSERT_EQ(list.size(), 1u);
  ASSERT_EQ(person.Call("POST", "/api/prompts/" + Str(list[0], "prompt_id"),
                        R"({"answer":"allow","duration":"always"})")
                .status,
            200);
  EXPECT_EQ(Str(Json(carol.Call("GET", "/api/capability/request/" + id + "?wait_ms=20000").body), "status"),
            "granted");
  ASSERT_EQ(daemon_->Stop(), 0);
  daemon_->Start();
  // Nobody is watching now, yet carol gets a fresh token: the shell remembered.
  Client carol2(*daemon_, "carol");
  auto [state, token] = carol2.Ask("localhost://Public/pics/*", "read");
  EXPECT_EQ(state, "granted") << token;
}

TEST_F(DaemonTest, SealedRootsAreCiphertextOnDiskAndBoundToTheirPath) {
  ASSERT_EQ(daemon_->Stop(), 0);
  daemon_->set_extra_args({"--seal", "Users"});
  daemon_->Start();
  Client alice(*daemon_, "alice");
  const std::string w = alice.Grant(kNotes, "write");
  const std::string r = alice.Grant(kNotes, "read");
  ASSERT_EQ(alice.Write("Users/self/Documents/Notes/s.txt", w, "top secret").status, 200);
  const fs::path on_disk = data_ / "roots/Users/self/Documents/Notes/s.txt";
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  const std::string sealed = slurp(on_disk);
  EXPECT_EQ(sealed.rfind("ELSEAL01", 0), 0u);
  EXPECT_EQ(sealed.find("top secret"), std::string::npos);
  EXPECT_EQ(alice.Read("Users/self/Documents/Notes/s.txt", r).body, "top secret");
  HttpReply head = alice.Call("HEAD", "/api/localhost/Users/self/Documents/Notes/s.txt", "",
                              {{"X-Capability-Token", r}});
  EXPECT_EQ(head.headers["x-size"], "10");
  // Appending re-seals the whole file.
  ASSERT_EQ(alice.Call("PUT", "/api/localhost/Users/self/Documents/Notes/s.txt?append=true", ", still",
                       {{"X-Capability-Token", w}})
                .status,
            200);
  EXPECT_EQ(alice.Read("Users/self/Documents/Notes/s.txt", r).body, "top secret, still");
  // A sealed file moved to another path, or changed by one bit, does not open.
  fs::copy_file(on_disk, on_disk.parent_path() / "moved.txt");
  HttpReply moved = alice.Read("Users/self/Documents/Notes/moved.txt", r);
  EXPECT_EQ(moved.status, 403);
  EXPECT_EQ(Reason(moved), "seal_broken");
  std::string bad = slurp(on_disk);
  bad[bad.size() - 3] ^= 1;
  std::ofstream(on_disk, std::ios::binary | std::ios::trunc) << bad;
  EXPECT_EQ(Reason(alice.Read("Users/self/Documents/Notes/s.txt", r)), "seal_broken");
  // Roots not sealed stay plain.
  fs::create_directories(data_ / "roots/Public");
  EXPECT_TRUE(fs::exists(data_ / "keys" / "storage.key"));
}

// A signed probe capsule installed into the daemon, driven through the carrier bridge: the same
// checks hold for capsules as for HTTP clients, and a token is bound to the *instance*.
class CapsuleBridgeTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    const fs::path keys = dir_.path() / "publisher";
    ASSERT_EQ(RunElastos({"keys", "generate", "--out", keys.string()}), 0);
    std::ifstream did(keys / "public.did");
    std::string line;
    std::getline(did, line);
    std::ofstream(data_ / "trust") << line << " root\n";
    const fs::path capsule = dir_.path() / "probe.capsule";
    ASSERT_EQ(RunElastos({"capsule", "pack", (fs::path(ELASTOS_BUILD_DIR) / "capsules" / "probe").string(),
                          "--key", (keys / "private.key").string(), "--out", capsule.string()}),
              0);
    std::ifstream in(capsule, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    op_ = std::make_unique<Client>(*daemon_, "operator");
    HttpReply r = op_->Call("POST", "/api/capsules", bytes);
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // Launches probe with `args` and returns (instance id, stdout lines) once it has exited.
  std::pair<std::string, std::vector<std::string>> Probe(const std::vector<std::string>& args,
                                                         const std::function<void()>& meanwhile = {}) {
    json::array a;
    for (const std::string& s : args) a.emplace_back(s);
    HttpReply r = op_->Call("POST", "/api/capsules/probe/launch", json::serialize(json::object{{"args", a}}));
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string id = Str(Json(r.body), "id");
    if (meanwhile) meanwhile();
    for (int i = 0; i < 60; ++i) {
      HttpReply w = op_->Call("GET", "/api/instances/" + id + "/wait?wait_ms=1000");
      if (Str(Json(w.body), "status") != "running") break;
    }
    HttpReply logs = op_->Call("GET", "/api/instances/" + id + "/logs?stream=stdout");
    std::vector<std::string> lines;
    std::stringstream ss(logs.body);
    for (std::string l; std::getline(ss, l);) lines.push_back(l);
    return {id, lines};
  }

  std::unique_ptr<Client> op_;
};

constexpr const char* kProbeNote = "localhost://Users/self/Documents/Notes/probe.txt";

TEST_F(CapsuleBridgeTest, TokensAreCheckedWithTheOperationsActionAndBoundToTheInstance) {
  auto [a_id, a] = Probe({"id", "request", kNotes, "read", "write", kProbeNote, "last", "x",
                          "request", kNotes, "write", "write", kProbeNote, "last", "from probe",
                          "read", kProbeNote, "-", "read", kProbeNote, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
  ASSERT_EQ(a.size(), 7u) << ::testing::PrintToString(a);
  EXPECT_EQ(a[0], "id " + a_id);
  ASSERT_EQ(a[1].rfind("token ", 0), 0u) << a[1];
  const std::string read_token = a[1].substr(6);
  EXPECT_EQ(a[2], "error permission_denied wrong_action");  // a read token cannot write
  EXPECT_EQ(a[3].rfind("token ", 0), 0u);
  EXPECT_EQ(a[4], "written");
  EXPECT_EQ(a[5], "error unauthenticated missing_token");
  EXPECT_EQ(a[6].rfind("error unauthenticated", 0), 0u) << a[6];

  // Another instance of the same capsule cannot use the first instance's token (and the first
  // instance's session has ended with it anyway).
  auto [b_id, b] = Probe({"read", kProbeNote, read_token});
  ASSERT_EQ(b.size(), 1u);
  // (Its session ended when it exited, so check 2, revocation, refuses before check 6, holder.)
  EXPECT_EQ(b[0], "error permission_denied token_revoked");
  EXPECT_NE(a_id, b_id);
  // A token of this instance with its signature changed.
  auto [c_id, c] = Probe({"request", kNotes, "read", "read", kProbeNote, "tampered"});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1], "error unauthenticated invalid_signature");
  // Each exit says what confined the instance.
  int exits = 0;
  for (const json::object& r : AuditRecords(*op_, "capsule_exit")) {
    if (Str(r.at("details"), "filesystem_enforcement").empty()) continue;
    ++exits;
    EXPECT_TRUE(Str(r.at("details"), "filesystem_enforcement") == "landlock" ||
                Str(r.at("details"), "filesystem_enforcement") == "none");
    EXPECT_FALSE(Str(r.at("details"), "memory_enforcement").empty());
  }
  EXPECT_GE(exits, 3);
}

TEST_F(CapsuleBridgeTest, AnotherInstanceOfTheSameCapsuleCannotUseALiveInstancesToken) {
  // Instance A gets a token and stays alive; instance B presents it.
  json::array a_args{"request", kNotes, "read", "sleep", "8000"};
  HttpReply la = op_->Call("POST", "/api/capsules/probe/launch", json::serialize(json::object{{"args", a_args}}));
  ASSERT_EQ(la.status, 201) << la.body;
  const std::string a_id = Str(Json(la.body), "id");
  std::string token;
  for (int i = 0; i < 100 && token.empty(); ++i) {
    HttpReply logs = op_->Call("GET", "/api/instances/" + a_id + "/logs?stream=stdout");
    if (logs.body.rfind("token ", 0) == 0) token = logs.body.substr(6, logs.body.find('\n') - 6);
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(token.empty());
  std::ofstream(data_ / "roots/Users/self/Documents/Notes/probe.txt") << "p";
  auto [b_id, b] = Probe({"read", kProbeNote, token});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0], "error permission_denied wrong_holder");
  EXPECT_EQ(op_->Call("POST", "/api/instances/" + a_id + "/stop").status, 200);
}

TEST_F(CapsuleBridgeTest, MessagesCarryADelegatedTokenToAnotherInstance) {
  std::ofstream(data_ / "roots/Users/self/Documents/Notes/probe.txt") << "shared note";
  // B waits for a message; A sends it a read token delegated from its own.
  json::array b_args{"id", "recv", "15000", "read", kProbeNote, "last", "read", kProbeNote, "-"};
  HttpReply lb = op_->Call("POST", "/api/capsules/probe/launch", json::serialize(json::object{{"args", b_args}}));
  ASSERT_EQ(lb.status, 201) << lb.body;
  const std::string b_id = Str(Json(lb.body), "id");
  auto [a_id, a] = Probe({"request", "elastos://message/probe", "message", "request", kNotes, "read",
                          "delegate", "#2", b_id, "send", b_id, "-", "no token", "send", b_id, "#1", "#3",
                          "send", b_id, "#2", "a read token is not a message token"});
  ASSERT_EQ(a.size(), 6u) << ::testing::PrintToString(a);
  EXPECT_EQ(a[2].rfind("token ", 0), 0u) << a[2];  // the delegated child
  EXPECT_EQ(a[3], "error unauthenticated missing_token");
  EXPECT_EQ(a[4].rfind("sent ", 0), 0u) << a[4];
  EXPECT_EQ(a[5], "error permission_denied wrong_action");
  for (int i = 0; i < 40; ++i) {
    HttpReply w = op_->Call("GET", "/api/instances/" + b_id + "/wait?wait_ms=1000");
    if (Str(Json(w.body), "status") != "running") break;
  }
  HttpReply logs = op_->Call("GET", "/api/instances/" + b_id + "/logs?stream=stdout");
  std::vector<std::string> b;
  std::stringstream ss(logs.body);
  for (std::string l; std::getline(ss, l);) b.push_back(l);
  ASSERT_EQ(b.size(), 4u) << logs.body;
  EXPECT_EQ(b[1].rfind("message probe ", 0), 0u) << b[1];  // from is the runtime's word, not A's
  EXPECT_EQ(b[2], "data shared note");                     // the delegated token works for B
  EXPECT_EQ(b[3], "error unauthenticated missing_token");
  // A's own token was never B's: the child is bound to B and recorded as delegated.
  Client op(*daemon_, "operator2");
  bool delegated = false;
  for (const json::object& r : AuditRecords(op, "delegate")) {
    delegated = delegated || (r.at("outcome").as_string() == "ok" &&
                              Str(r.at("details"), "holder") == b_id);
  }
  EXPECT_TRUE(delegated);
}

// https:// through the runtime's fetch provider, against a real TLS server on loopback (openssl
// s_server with a certificate made for the test): only the granted origin, verified TLS.
TEST_F(CapsuleBridgeTest, HttpsReadsNeedAGrantForExactlyThatOrigin) {
  const fs::path www = dir_.path() / "www";
  fs::create_directories(www);
  std::ofstream(www / "hello.txt") << "hello over tls";
  ASSERT_EQ(std::system(("cd '" + www.string() +
                         "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 "
                         "-subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1")
                            .c_str()),
            0);
  int port = 0;
  {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::close(s);
  }
  const pid_t server = ::fork();
  if (server == 0) {
    if (::chdir(www.c_str()) != 0) _exit(1);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0), ::dup2(null, 1), ::dup2(null, 2);
    ::execlp("openssl", "openssl", "s_server", "-quiet", "-accept", std::to_string(port).c_str(), "-cert",
             "cert.pem", "-key", "key.pem", "-WWW", static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{server};
  const std::string origin = "https://localhost:" + std::to_string(port);
  // The policy grants the probe that origin (and nothing else over https), and the runtime
  // trusts the test's certificate.
  std::string policy = kPolicy;
  policy.insert(policy.find("\"rules\": [") + 10,
                "\n    {\"capsule\": \"probe\", \"resource\": \"" + origin +
                    "/*\", \"actions\": [\"read\"], \"decision\": \"allow\"},");
  std::ofstream(data_ / "policy.json", std::ios::trunc) << policy;
  ASSERT_EQ(daemon_->Stop(), 0);
  daemon_->set_extra_args({"--fetch-ca", (www / "cert.pem").string()});
  daemon_->Start();
  op_ = std::make_unique<Client>(*daemon_, "operator");  // installed capsules survived the restart
  // Wait until the TLS server accepts connections.
  for (int i = 0; i < 100; ++i) {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool up = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    if (up) break;
    std::this_thread::sleep_for(100ms);
  }
  auto [id, out] = Probe({"request", origin + "/*", "read", "read", origin + "/hello.txt", "last",
                          "read", "https://127.0.0.1:" + std::to_string(port) + "/hello.txt", "last",
                          "request", "https://example.org/*", "read", "read", origin + "/hello.txt", "-"});
  ASSERT_EQ(out.size(), 5u) << ::testing::PrintToString(out);
  EXPECT_EQ(out[0].rfind("token ", 0), 0u) << out[0];
  EXPECT_EQ(out[1], "data hello over tls");
  EXPECT_EQ(out[2], "error permission_denied wrong_resource");  // another spelling of the origin
  EXPECT_EQ(out[3].rfind("error permission_denied", 0), 0u) << out[3];  // not in the policy: ask → nobody → denied
  EXPECT_EQ(out[4], "error unauthenticated missing_token");
}

TEST_F(CapsuleBridgeTest, FetchContentReadsTheVerifiedContentStoreWithAToken) {
  HttpReply put = op_->Call("PUT", "/api/content", "content by address");
  ASSERT_EQ(put.status, 201) << put.body;
  const std::string cid = Str(Json(put.body), "cid");
  const std::string uri = "elastos://" + cid;
  auto [id, out] = Probe({"raw", R"({"type":"fetch_content","uri":")" + uri + R"("})",
                          "request", uri, "read",
                          "raw", R"({"type":"fetch_content","uri":")" + uri + R"(","token":"#1"})"});
  ASSERT_EQ(out.size(), 3u) << ::testing::PrintToString(out);
  EXPECT_EQ(out[0], "error unauthenticated missing_token");
  // (raw sends the literal "#1": the probe substitutes tokens only in its own commands)
  EXPECT_EQ(out[2].rfind("error", 0), 0u) << out[2];
  const std::string token = out[1].substr(6);
  auto [id2, out2] = Probe({"raw", R"({"type":"fetch_content","uri":"ipfs://)" + cid + R"(","token":")" + token + R"("})"});
  ASSERT_EQ(out2.size(), 1u);
  // The token belongs to the first instance, which has exited: refused like any other holder's.
  EXPECT_EQ(out2[0], "error permission_denied token_revoked");
  auto [id3, out3] = Probe({"request", uri, "read", "fetch", uri, "last"});
  ASSERT_EQ(out3.size(), 2u) << ::testing::PrintToString(out3);
  EXPECT_EQ(out3[1], "data content by address");
}

TEST_F(CapsuleBridgeTest, RevokeAllTakesEffectMidSession) {
  auto [id, out] = Probe({"request", kNotes, "write", "write", kProbeNote, "last", "one", "sleep", "3000",
                          "write", kProbeNote, "last", "two"},
                         [&] {
                           std::this_thread::sleep_for(1500ms);
                           HttpReply r = op_->Call("POST", "/api/capability/revoke-all", R"({"reason":"test"})");
                           EXPECT_EQ(r.status, 200) << r.body;
                         });
  ASSERT_EQ(out.size(), 4u) << ::testing::PrintToString(out);
  EXPECT_EQ(out[1], "written");
  EXPECT_EQ(out[2], "slept");
  EXPECT_EQ(out[3], "error permission_denied epoch_revoked");
}

TEST_F(CapsuleBridgeTest, MalformedRequestsAreAnsweredAndShellRequestsRefused) {
  auto [id, out] = Probe({"raw", R"({"type":"request_capability","resource":"localhost://x","action":"read","bogus":1})",
                          "raw", R"({"type":"next_decision"})", "raw", R"({"type":"grant_capability","request_id":"r-1"})",
                          "raw", R"({"type":"provider_call"})", "raw", R"({"type":"ping"})"});
  ASSERT_EQ(out.size(), 5u) << ::testing::PrintToString(out);
  EXPECT_EQ(out[0], "error invalid_argument unknown_field");
  EXPECT_EQ(out[1], "error permission_denied shell_only");
  EXPECT_EQ(out[2], "error permission_denied shell_only");
  EXPECT_EQ(out[3], "error invalid_argument unknown_request");
  EXPECT_EQ(out[4], R"({"type":"pong"})");
}

// Long polls hold handler threads; one session gets at most two at a time, so it cannot starve
// the API. The third answers at once (still pending) while the first two wait.
TEST_F(DaemonTest, OneSessionCannotHoldMoreThanTwoLongPolls) {
  Client person(*daemon_, "dashboard");
  person.Call("GET", "/api/prompts?wait_ms=1");  // someone is present, so the shell asks and waits
  Client carol(*daemon_, "carol");
  HttpReply req = carol.Call("POST", "/api/capability/request",
                             R"({"resource":"localhost://Public/slow/*","action":"read"})");
  const std::string id = Str(Json(req.body), "request_id");
  std::atomic<int> order{0};
  std::vector<int> finished(3, -1);
  std::vector<std::string> states(3);
  std::vector<std::thread> polls;
  for (int i = 0; i < 3; ++i) {
    polls.emplace_back([&, i] {
      // Each on its own connection, all with carol's bearer.
      HttpClient http(daemon_->port());
      if (i == 2) std::this_thread::sleep_for(500ms);  // the first two are surely waiting
      HttpReply r = http.Request("GET", "/api/capability/request/" + id + "?wait_ms=4000", "",
                                 {{"Authorization", "Bearer " + carol.bearer()}});
      states[i] = Str(Json(r.body), "status");
      finished[i] = order++;
    });
  }
  for (auto& t : polls) t.join();
  EXPECT_EQ(finished[2], 0) << "the third poll should have been answered first, at once";
  EXPECT_EQ(states[2], "pending");
  EXPECT_EQ(states[0], "pending");  // waited out its 4 s
}

TEST_F(DaemonTest, TenThousandHostileRequestsGetJsonErrorsAndTheDaemonStaysUp) {
  Client alice(*daemon_, "alice");
  const std::string r = alice.Grant(kNotes, "read");
  std::mt19937 rng(42);
  HttpClient http(daemon_->port());
  const std::string auth = "Bearer " + alice.bearer();
  const std::vector<std::string> targets = {
      "/api/capability/request", "/api/capability/grant", "/api/capability/deny",
      "/api/capability/revoke-all", "/api/prompts/p-1", "/api/auth/attach",
      "/api/localhost/Users/self/Documents/Notes/x", "/api/localhost/%2e%2e/etc/passwd",
      "/api/localhost/Users//x", "/api/capability/request/r-nope", "/api/instances/x/stop",
      "/api/capsules/none/launch", "/api/audit/proof/999999999", "/nowhere", "/api/session"};
  const std::vector<std::string> bodies = {
      "", "{", "[]", "null", R"({"resource":1})", R"({"resource":"localhost://../x","action":"read"})",
      R"({"resource":"localhost://Users/x","action":"fly"})", R"({"request_id":"r-1","extra":1})",
      std::string(2000, '{'), std::string("{\"owner\":\"a\0b\"}", 15), "\xff\xfe\xfd",
      R"({"answer":"maybe"})", R"({"args":[1,2,3]})"};
  const std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};
  int answered = 0, json_errors = 0, server_errors = 0, ok = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::string& target = targets[rng() % targets.size()];
    const std::string& body = bodies[rng() % bodies.size()];
    const std::string& method = methods[rng() % methods.size()];
    std::map<std::string, std::string> headers;
    switch (rng() % 4) {
      case 0: headers["Authorization"] = auth; break;
      case 1: headers["Authorization"] = "Bearer forged" + std::to_string(i); break;
      case 2: headers["Authorization"] = auth; headers["X-Capability-Token"] = r.substr(0, rng() % r.size()); break;
      default: break;
    }
    HttpReply reply;
    if (i % 50 == 49) {
      // Now and then something that is not HTTP, or a body larger than any route takes.
      reply = http.Raw(i % 100 == 99 ? "GARBAGE\r\n\r\n"
                                     : "PUT /api/localhost/Users/x HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n");
      http.Close();
    } else {
      reply = http.Request(method, target, body, headers);
    }
    if (reply.status == 0) continue;
    ++answered;
    if (reply.status >= 500) ++server_errors;
    if (reply.status < 400) {
      ++ok;
      continue;
    }
    if (method == "HEAD" && i % 50 != 49) {
      ++json_errors;  // no body by definition
      continue;
    }
    if (!Reason(reply).empty()) ++json_errors;
  }
  EXPECT_GE(answered, 9900);
  EXPECT_EQ(server_errors, 0);
  EXPECT_EQ(json_errors, answered - ok);
  EXPECT_LE(ok, 50);  // a handful of well-formed GETs (e.g. GET /api/session) may succeed
  EXPECT_TRUE(daemon_->Alive());
  Client op(*daemon_, "operator");
  EXPECT_TRUE(AuditVerifies(op));
  EXPECT_EQ(HttpClient(daemon_->port()).Request("GET", "/api/health").status, 200);
}

}  // namespace
}  // namespace elastos
