// The kernel's capability flow (seed 003's five steps) on a real data directory: SQLite state,
// the audit log, the runtime key — everything but the HTTP and carrier adapters.
#include "runtime/runtime.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/testing/temp_dir.h"
#include "runtime/audit/verify.h"

namespace elastos::runtime {
namespace {

using namespace std::chrono_literals;

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(DecisionQueueOptions decisions = {}) {
    rt_.reset();
    RuntimeOptions o;
    o.data_dir = dir_.path();
    o.decisions = decisions;
    o.prompt_presence = 2s;
    auto r = Runtime::Open(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    rt_ = std::move(*r);
  }

  Caller Start(SessionKind kind, const std::string& instance, const std::string& owner,
               bool agent = false) {
    auto s = rt_->StartSession(kind, instance, owner, agent);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return Caller{s->session};
  }

  // Steps 1, 3 and 4 with the shell granting: returns the token the requester receives.
  std::string RequestAndGrant(const Caller& who, const std::string& resource, Action action,
                              GrantDuration duration = GrantDuration::kSession,
                              GrantConstraints constraints = {}) {
    auto p = rt_->RequestCapability(who, resource, action, "test");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    auto next = rt_->decisions().Next(1s);
    EXPECT_TRUE(next.has_value());
    EXPECT_EQ(next->id, p->id);
    EXPECT_EQ(next->holder, who.holder());
    auto g = rt_->Grant(shell_, p->id, duration, constraints, "policy rule 1");
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    auto out = rt_->RequestStatus(who, p->id, 0ms);
    EXPECT_TRUE(out.ok());
    EXPECT_EQ(out->state, DecisionState::kGranted);
    EXPECT_EQ(out->token, g->token);
    return g->token;
  }

  elastos::testing::TempDir dir_;
  std::unique_ptr<Runtime> rt_;
  Caller shell_;
};

constexpr std::string_view kNotes = "localhost://Users/self/Documents/Notes/*";
constexpr std::string_view kNote = "localhost://Users/self/Documents/Notes/a.txt";

TEST_F(RuntimeTest, FiveStepFlowGrantsATokenBoundToTheInstance) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  const Caller notes = Start(SessionKind::kCapsule, "notes-aaaa", "notes");
  const Caller twin = Start(SessionKind::kCapsule, "notes-bbbb", "notes");  // same capsule, other instance
  const std::string token = RequestAndGrant(notes, std::string(kNotes), Action::kWrite);

  EXPECT_TRUE(rt_->Access(notes, token, Action::kWrite, kNote, Classification::kPrivate).ok());
  EXPECT_EQ(rt_->Access(twin, token, Action::kWrite, kNote, Classification::kPrivate).reason(),
            "wrong_holder");
  EXPECT_EQ(rt_->Access(notes, token, Action::kDelete, kNote, Classification::kPrivate).reason(),
            "wrong_action");
  EXPECT_EQ(rt_->Access(notes, token, Action::kWrite, "localhost://Users/self/secret.txt",
                        Classification::kPrivate)
                .reason(),
            "wrong_resource");
  auto held = rt_->Held(notes);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->size(), 1u);
  EXPECT_EQ(rt_->Held(twin)->size(), 0u);
}

TEST_F(RuntimeTest, OnlyTheShellDecides) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  const Caller human = Start(SessionKind::kClient, "", "cli");
  auto p = rt_->RequestCapability(app, std::string(kNotes), Action::kRead, "");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(rt_->Grant(app, p->id, GrantDuration::kSession, {}, "").status().reason(), "shell_only");
  EXPECT_EQ(rt_->Grant(human, p->id, GrantDuration::kSession, {}, "").status().reason(),
            "shell_only");
  EXPECT_EQ(rt_->Deny(app, p->id, "").reason(), "shell_only");
  EXPECT_EQ(rt_->RevokeAll(app, "").status().reason(), "shell_only");
  // Another capsule cannot read someone else's request either.
  EXPECT_EQ(rt_->RequestStatus(Start(SessionKind::kCapsule, "spy-1", "spy"), p->id, 0ms)
                .status()
                .reason(),
            "not_your_request");
  ASSERT_TRUE(rt_->Deny(shell_, p->id, "not today").ok());
  auto out = rt_->RequestStatus(app, p->id, 0ms);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->state, DecisionState::kDenied);
  EXPECT_EQ(out->reason, "not today");
  EXPECT_EQ(rt_->Grant(shell_, p->id, GrantDuration::kSession, {}, "").status().reason(),
            "already_decided");
}

TEST_F(RuntimeTest, TheShellCannotGrantToItself) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  auto p = rt_->RequestCapability(shell_, std::string(kNotes), Action::kRead, "");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(rt_->Grant(shell_, p->id, GrantDuration::kSession, {}, "").status().reason(), "self_grant");
  EXPECT_EQ(rt_->GrantDirect(shell_, "shell-1", kNotes, Action::kRead, GrantDuration::kSession, {})
                .status()
                .reason(),
            "self_grant");
  // It may still hand a token to a running capsule on its own initiative...
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  GrantConstraints delegatable;
  delegatable.delegatable = true;
  auto g = rt_->GrantDirect(shell_, "app-1", kNotes, Action::kRead, GrantDuration::kSession, delegatable);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  // ...but the capsule cannot pass it back to the shell.
  EXPECT_EQ(rt_->Delegate(app, g->token, "shell-1", std::nullopt, {}).status().reason(), "self_grant");
}

TEST_F(RuntimeTest, RequesterWaitsWithoutPollingUntilTheShellAnswers) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  auto p = rt_->RequestCapability(app, std::string(kNotes), Action::kRead, "");
  ASSERT_TRUE(p.ok());
  std::thread shell([&] {
    auto next = rt_->decisions().Next(10s);
    ASSERT_TRUE(next.has_value());
    ASSERT_TRUE(rt_->Grant(shell_, next->id, GrantDuration::kOnce, {}, "").ok());
  });
  auto out = rt_->RequestStatus(app, p->id, 20s);
  shell.join();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->state, DecisionState::kGranted);
  // `once`: one use, then use_limit_exceeded.
  EXPECT_TRUE(rt_->Access(app, out->token, Action::kRead, kNote, Classification::kPrivate).ok());
  EXPECT_EQ(rt_->Access(app, out->token, Action::kRead, kNote, Classification::kPrivate).reason(),
            "use_limit_exceeded");
}

TEST_F(RuntimeTest, RevokeAndRevokeAllTakeEffectAtTheNextAccess) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  const std::string a = RequestAndGrant(app, std::string(kNotes), Action::kRead);
  const std::string b = RequestAndGrant(app, "localhost://Public/*", Action::kRead);
  ASSERT_TRUE(rt_->Access(app, a, Action::kRead, kNote, Classification::kPrivate).ok());
  auto id = Token::FromWire(a);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(rt_->Revoke(shell_, TokenIdHex(id->fields().id), "test").ok());
  EXPECT_EQ(rt_->Access(app, a, Action::kRead, kNote, Classification::kPrivate).reason(),
            "token_revoked");
  ASSERT_TRUE(rt_->Access(app, b, Action::kRead, "localhost://Public/x", Classification::kPublic).ok());
  // The operator (a human client) may revoke everything; an agent may not.
  const Caller agent = Start(SessionKind::kClient, "", "bot", /*agent=*/true);
  EXPECT_EQ(rt_->RevokeAll(agent, "").status().reason(), "shell_only");
  auto epoch = rt_->RevokeAll(Start(SessionKind::kClient, "", "cli"), "incident");
  ASSERT_TRUE(epoch.ok());
  EXPECT_EQ(rt_->Access(app, b, Action::kRead, "localhost://Public/x", Classification::kPublic)
                .reason(),
            "epoch_revoked");
}

TEST_F(RuntimeTest, EndingASessionKillsItsTokensAndPendingRequests) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  const std::string token = RequestAndGrant(app, std::string(kNotes), Action::kRead);
  auto pending = rt_->RequestCapability(app, "localhost://Public/*", Action::kRead, "");
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(rt_->EndSession(app.session.id, "stopped").ok());
  EXPECT_EQ(rt_->Access(app, token, Action::kRead, kNote, Classification::kPrivate).reason(),
            "token_revoked");
  EXPECT_EQ(rt_->decisions().Outcome(pending->id)->state, DecisionState::kCancelled);
  EXPECT_FALSE(rt_->sessions().Get(app.session.id).has_value());
}

TEST_F(RuntimeTest, RestartForgetsSessionsAndTheirTokensButKeepsTheEpoch) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  const std::string token = RequestAndGrant(app, std::string(kNotes), Action::kRead);
  auto epoch = rt_->RevokeAll(shell_, "before restart");
  ASSERT_TRUE(epoch.ok());
  const std::string fresh = RequestAndGrant(app, std::string(kNotes), Action::kRead);
  // While it runs, nobody else may open the data directory.
  RuntimeOptions o;
  o.data_dir = dir_.path();
  EXPECT_EQ(Runtime::Open(o).status().reason(), "runtime_running");
  // (An orderly stop here; the kill -9 case, where the boot sweep ends the sessions, is driven
  // against the real daemon in tests/daemon_test.cc.)
  Reopen();
  EXPECT_EQ(rt_->store().epoch(), *epoch);
  // The same instance id, even: its session is gone, so its tokens are revoked.
  const Caller again = Start(SessionKind::kCapsule, "app-1", "app");
  EXPECT_EQ(rt_->Access(again, fresh, Action::kRead, kNote, Classification::kPrivate).reason(),
            "token_revoked");
  EXPECT_EQ(rt_->Access(again, token, Action::kRead, kNote, Classification::kPrivate).reason(),
            "token_revoked");
  EXPECT_TRUE(rt_->sessions().List().size() == 1u);
  // Every step is in a verifiable audit log.
  ASSERT_TRUE(rt_->audit_log().Flush().ok());
  auto v = audit::VerifyLog(rt_->env(), dir_.path() / "audit", std::nullopt);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok());
}

TEST_F(RuntimeTest, BadRequestsAreRefusedAndAudited) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  EXPECT_EQ(rt_->RequestCapability(app, "localhost://Users/../etc/*", Action::kRead, "").status().reason(),
            "bad_resource");
  EXPECT_EQ(rt_->RequestCapability(app, std::string(kNotes), Action::kRead, std::string(300, 'x'))
                .status()
                .reason(),
            "bad_field");
  EXPECT_EQ(rt_->Grant(shell_, "r-nope", GrantDuration::kSession, {}, "").status().reason(),
            "no_such_request");
  EXPECT_EQ(rt_->Access(app, "AAAA", Action::kRead, kNote, Classification::kPrivate).code(),
            Code::kUnauthenticated);
  ASSERT_TRUE(rt_->audit_log().Flush().ok());
  auto tail = audit::ReadTail(rt_->env(), dir_.path() / "audit", 50);
  ASSERT_TRUE(tail.ok());
  int refused_requests = 0;
  for (const auto& r : tail->records) {
    if (r.json.find("\"type\":\"capability_request\"") != std::string::npos &&
        r.json.find("\"outcome\":\"denied\"") != std::string::npos) {
      ++refused_requests;
    }
  }
  EXPECT_EQ(refused_requests, 2);
}

TEST_F(RuntimeTest, PendingRequestsAreBoundedPerHolder) {
  DecisionQueueOptions small;
  small.max_pending_per_holder = 2;
  Reopen(small);
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  ASSERT_TRUE(rt_->RequestCapability(app, "localhost://Public/a", Action::kRead, "").ok());
  ASSERT_TRUE(rt_->RequestCapability(app, "localhost://Public/b", Action::kRead, "").ok());
  EXPECT_EQ(rt_->RequestCapability(app, "localhost://Public/c", Action::kRead, "").status().reason(),
            "too_many_pending");
  // Another capsule is not starved by the first one's flood.
  EXPECT_TRUE(rt_->RequestCapability(Start(SessionKind::kCapsule, "b-1", "b"),
                                     "localhost://Public/c", Action::kRead, "")
                  .ok());
}

TEST_F(RuntimeTest, UndecidedRequestsExpire) {
  DecisionQueueOptions quick;
  quick.ttl = 1s;
  Reopen(quick);
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  auto p = rt_->RequestCapability(app, std::string(kNotes), Action::kRead, "");
  ASSERT_TRUE(p.ok());
  auto out = rt_->RequestStatus(app, p->id, 10s);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->state, DecisionState::kExpired);
}

TEST_F(RuntimeTest, AskUserNeedsSomeoneWatching) {
  shell_ = Start(SessionKind::kShell, "shell-1", "shell");
  const Caller app = Start(SessionKind::kCapsule, "app-1", "app");
  const Caller human = Start(SessionKind::kClient, "", "dashboard");
  auto p = rt_->RequestCapability(app, std::string(kNotes), Action::kWrite, "save notes");
  ASSERT_TRUE(p.ok());
  // Nobody watches: the shell hears at once that nobody can answer (and must deny).
  EXPECT_EQ(rt_->AskUser(shell_, p->id, 5s).status().reason(), "no_one_to_ask");

  std::thread person([&] {
    std::vector<Prompt> prompts;
    for (int i = 0; i < 100 && prompts.empty(); ++i) {
      prompts = rt_->prompts().Watch(human.session.id, 200ms);
    }
    ASSERT_EQ(prompts.size(), 1u);
    EXPECT_EQ(prompts[0].request.resource, kNotes);
    EXPECT_EQ(prompts[0].request.reason, "save notes");
    // The capsule (or the shell) cannot answer on the person's behalf.
    EXPECT_EQ(rt_->AnswerPrompt(app, prompts[0].id, true, GrantDuration::kAlways).reason(),
              "humans_only");
    EXPECT_TRUE(rt_->AnswerPrompt(human, prompts[0].id, true, GrantDuration::kAlways).ok());
  });
  rt_->prompts().Watch(human.session.id, 0ms);  // the person is now present
  auto answer = rt_->AskUser(shell_, p->id, 20s);
  person.join();
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_TRUE(answer->allow);
  EXPECT_EQ(answer->duration, GrantDuration::kAlways);
  EXPECT_EQ(answer->answered_by, human.session.id);
}

}  // namespace
}  // namespace elastos::runtime
