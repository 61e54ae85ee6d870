// Capability kernel benchmark. Prints, in one run:
//   - cached validation latency (p50/p99) with the audit append left out (a null sink), and the
//     same with AppendAsync into a real audit log, so the two costs are visible separately;
//   - cold validation (signature not cached) against a raw libsodium crypto_sign_verify_detached
//     of the same 32-byte digest, as a ratio (target ≤ 1.2×);
//   - grants per second (each one a durable SQLite commit and a durable audit record).
// Targets: cached validation ≤ 1 µs p99. Usage: build/bin/capability_bench
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "common/encoding.h"
#include "identity/key_file.h"
#include "runtime/audit/audit_log.h"
#include "runtime/capability/capability_manager.h"

using namespace elastos;
using namespace elastos::runtime;
using Clock = std::chrono::steady_clock;

namespace {

class NullSink final : public audit::AuditSink {
 public:
  Result<std::uint64_t> Append(const audit::AuditRecord&) override { return n_++; }
  Status AppendAsync(const audit::AuditRecord&) override { return OkStatus(); }

 private:
  std::uint64_t n_ = 0;
};

struct Percentiles {
  double p50, p99, mean;
};

template <typename F>
Percentiles Measure(std::size_t n, F&& op) {
  std::vector<double> ns(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    op(i);
    ns[i] = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  }
  double sum = 0;
  for (double v : ns) sum += v;
  std::sort(ns.begin(), ns.end());
  return {ns[n / 2], ns[n * 99 / 100], sum / static_cast<double>(n)};
}

void Die(const Status& s) {
  std::fprintf(stderr, "capability_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/elastos-capbench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  const std::filesystem::path dir = tmpl;
  auto env = NewPosixEnv();
  auto store = CapabilityStore::Open(*env, dir / "state.db");
  auto clock = SecureClock::Open(*env, dir / "clock");
  auto log = audit::AuditLog::Open(*env, dir / "audit", crypto::Ed25519PrivateKey::Generate());
  if (!store.ok() || !clock.ok() || !log.ok()) Die(!store.ok() ? store.status() : !clock.ok() ? clock.status() : log.status());
  NullSink null_sink;
  auto quiet = CapabilityManager::Open({env.get(), store->get(), clock->get(), &null_sink}, dir / "runtime.key");
  auto audited = CapabilityManager::Open({env.get(), store->get(), clock->get(), log->get()}, dir / "runtime.key");
  if (!quiet.ok() || !audited.ok()) Die(quiet.ok() ? audited.status() : quiet.status());
  const Actor shell{"shell", audit::ActorKind::kCapsule};

  GrantRequest g;
  g.holder = "notes#1";
  g.resource = "localhost://Users/self/Documents/Notes/*";
  g.action = Action::kRead;
  auto token = (*quiet)->Grant(g, shell);
  if (!token.ok()) Die(token.status());
  const AccessRequest access{"notes#1", Action::kRead, "localhost://Users/self/Documents/Notes/today.txt",
                             Classification::kPrivate};

  // Cached validation, no audit I/O.
  for (int i = 0; i < 10000; ++i) (void)(*quiet)->Validate(*token, access);
  const auto cached = Measure(1'000'000, [&](std::size_t) {
    if (!(*quiet)->Validate(*token, access).ok()) std::abort();
  });
  // Cached validation with its (group-committed) audit record.
  const auto cached_audited = Measure(200'000, [&](std::size_t) {
    if (!(*audited)->Validate(*token, access).ok()) std::abort();
  });

  // Cold validation: every token is new to the cache. Tokens are signed directly with the
  // runtime key (as Grant would) so the measurement is not dominated by grant fsyncs.
  auto key_hex = env->ReadFile(dir / "runtime.key", 256);
  auto key = identity::ParsePrivateKey(*key_hex);
  const std::size_t kCold = 20000;
  std::vector<Token> fresh;
  fresh.reserve(kCold);
  for (std::size_t i = 0; i < kCold; ++i) {
    TokenFields f = token->fields();
    crypto::RandomBytes(f.id);
    fresh.push_back(Token::Sign(f, *key));
  }
  const auto cold = Measure(kCold, [&](std::size_t i) {
    if (!(*quiet)->Validate(fresh[i], access).ok()) std::abort();
  });
  // Baseline: the raw libsodium verify of one 32-byte digest.
  const auto digest = crypto::DomainDigest(kTokenDomain, token->body());
  const auto raw = Measure(kCold, [&](std::size_t i) {
    const ByteView sig = fresh[i % 16].signature();
    const int rc = crypto_sign_verify_detached(sig.data(), digest.data(), digest.size(), key->public_key().bytes().data());
    (void)rc;  // the other tokens' signatures do not match this digest; the work is the same
  });

  // Grants per second: each is a durable SQLite commit plus a durable audit record.
  const int kGrants = 200;
  const auto t0 = Clock::now();
  for (int i = 0; i < kGrants; ++i) {
    if (!(*audited)->Grant(g, shell).ok()) Die(Internal("grant", "grant failed"));
  }
  const double grant_secs = std::chrono::duration<double>(Clock::now() - t0).count();

  std::printf("%-46s %9s %9s %9s\n", "", "p50 ns", "p99 ns", "mean ns");
  std::printf("%-46s %9.0f %9.0f %9.0f\n", "validate, cached signature, no audit", cached.p50, cached.p99, cached.mean);
  std::printf("%-46s %9.0f %9.0f %9.0f\n", "validate, cached signature, AppendAsync audit", cached_audited.p50,
              cached_audited.p99, cached_audited.mean);
  std::printf("%-46s %9.0f %9.0f %9.0f\n", "validate, cold (signature verified)", cold.p50, cold.p99, cold.mean);
  std::printf("%-46s %9.0f %9.0f %9.0f\n", "libsodium crypto_sign_verify_detached (raw)", raw.p50, raw.p99, raw.mean);
  std::printf("cold validation / raw verify: %.2fx (p50), target <= 1.2x\n", cold.p50 / raw.p50);
  std::printf("cached validation p99: %.0f ns, target <= 1000 ns\n", cached.p99);
  std::printf("grants/s (durable): %.0f\n", kGrants / grant_secs);
  (void)(*log)->Close();
  std::filesystem::remove_all(dir);
  return 0;
}
