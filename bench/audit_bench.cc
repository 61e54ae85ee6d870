// Audit log throughput: durable appends with many concurrent appenders (group commit) against
// one appender paying one fdatasync per record, the cost of AppendAsync, and offline
// verification speed.
//
//   build/bin/audit_bench [--benchmark_filter=…]
//
// The log lives in $ELASTOS_BENCH_DIR (default: a fresh directory under /tmp), so point it at
// the disk you care about: fdatasync cost is the whole story.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/env.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/verify.h"

namespace elastos::audit {
namespace {
namespace fs = std::filesystem;

bool g_own_root = false;  // the root was made here, so it is removed at exit

fs::path BenchRoot() {
  static const fs::path root = [] {
    if (const char* dir = std::getenv("ELASTOS_BENCH_DIR"); dir && *dir) return fs::path(dir);
    char tmpl[] = "/tmp/elastos-audit-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    g_own_root = true;
    return fs::path(tmpl);
  }();
  return root;
}

fs::path FreshDir(const std::string& name) {
  const fs::path dir = BenchRoot() / name;
  fs::remove_all(dir);
  return dir;
}

// A typical validation record: ~250 bytes of canonical JSON.
AuditRecord Sample(std::uint64_t i) {
  AuditRecord r;
  r.type = "validate";
  r.actor = "cap-7f3a9c21";
  r.actor_kind = ActorKind::kCapsule;
  r.subject = "tok-" + std::to_string(i);
  r.resource = "localhost://Users/alice/Documents/Notes/*";
  r.action = "read";
  r.outcome = "ok";
  r.details["epoch"] = 3;
  r.details["uses_left"] = 17;
  return r;
}

const crypto::Ed25519PrivateKey& Key() {
  static const crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  return key;
}

Env& PosixEnv() {
  static const std::unique_ptr<Env> env = NewPosixEnv();
  return *env;
}

std::unique_ptr<AuditLog> g_log;
std::atomic<std::uint64_t> g_counter{0};

// Every thread appends durably to one shared log. With one thread this is the baseline: one
// write and one fdatasync per record. With more, group commit shares each fdatasync.
void BM_DurableAppend(benchmark::State& state) {
  if (state.thread_index() == 0) {
    auto log = AuditLog::Open(PosixEnv(), FreshDir("durable"), Key());
    if (!log.ok()) {
      state.SkipWithError(log.status().ToString().c_str());
      return;
    }
    g_log = std::move(*log);
  }
  for (auto _ : state) {
    auto index = g_log->Append(Sample(g_counter.fetch_add(1, std::memory_order_relaxed)));
    if (!index.ok()) {
      state.SkipWithError(index.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const LogState end = g_log->state();
    state.counters["records_per_sync"] =
        static_cast<double>(end.size) / static_cast<double>(std::max<std::uint64_t>(end.syncs, 1));
    if (!g_log->Close().ok()) state.SkipWithError("close failed");
    g_log.reset();
  }
}
BENCHMARK(BM_DurableAppend)->UseRealTime()->Threads(1)->Threads(8)->Threads(64);

// The floor under all of it: one 256-byte append and fdatasync through Env, no audit log.
void BM_RawAppendSync(benchmark::State& state) {
  const fs::path dir = FreshDir("raw");
  fs::create_directories(dir);
  auto file = PosixEnv().OpenAppendable(dir / "raw.log", 0600);
  if (!file.ok()) {
    state.SkipWithError(file.status().ToString().c_str());
    return;
  }
  const Bytes data(256, 'x');
  for (auto _ : state) {
    if (!(*file)->Append(data).ok() || !(*file)->Sync().ok()) {
      state.SkipWithError("write failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawAppendSync)->UseRealTime();

// The caller's cost of AppendAsync (serialise, hash, queue); the flusher syncs behind it. The
// queue's back-pressure bounds the backlog, so this is also the sustained asynchronous rate.
void BM_AppendAsync(benchmark::State& state) {
  auto log = AuditLog::Open(PosixEnv(), FreshDir("async"), Key());
  if (!log.ok()) {
    state.SkipWithError(log.status().ToString().c_str());
    return;
  }
  std::uint64_t i = 0;
  for (auto _ : state) {
    if (!(*log)->AppendAsync(Sample(i++)).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  // The timer stopped with the loop: closing (the final sync) is not counted.
  if (!(*log)->Close().ok()) state.SkipWithError("close failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendAsync)->UseRealTime();

// Offline verification (framing, canonical JSON, tree, signatures) of a 100,000-record log.
void BM_VerifyLog(benchmark::State& state) {
  const fs::path dir = FreshDir("verify");
  {
    auto log = AuditLog::Open(PosixEnv(), dir, Key());
    if (!log.ok()) {
      state.SkipWithError(log.status().ToString().c_str());
      return;
    }
    for (std::uint64_t i = 0; i < 100'000; ++i) {
      if (!(*log)->AppendAsync(Sample(i)).ok()) state.SkipWithError("append failed");
    }
    if (!(*log)->Close().ok()) state.SkipWithError("close failed");
  }
  for (auto _ : state) {
    auto report = VerifyLog(PosixEnv(), dir, Key().public_key());
    if (!report.ok() || !report->ok()) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(report);
  }
  state.SetItemsProcessed(state.iterations() * 100'001);
}
BENCHMARK(BM_VerifyLog)->Unit(benchmark::kMillisecond)->UseRealTime();

// Remembers each run's rate so main() can print the group-commit speed-up.
class RateReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (auto it = run.counters.find("items_per_second"); it != run.counters.end()) {
        rates[run.benchmark_name()] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> rates;
};

}  // namespace
}  // namespace elastos::audit

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  elastos::audit::RateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const auto& rates = reporter.rates;
  const auto one = rates.find("BM_DurableAppend/real_time/threads:1");
  const auto many = rates.find("BM_DurableAppend/real_time/threads:64");
  if (one != rates.end() && many != rates.end() && one->second > 0) {
    std::printf(
        "\ngroup commit: 64 durable appenders %.0f records/s vs 1 appender (fdatasync per record) "
        "%.0f "
        "records/s: %.1fx\n",
        many->second, one->second, many->second / one->second);
  }
  for (const char* dir : {"raw", "durable", "async", "verify"})
    std::filesystem::remove_all(elastos::audit::BenchRoot() / dir);
  if (elastos::audit::g_own_root) std::filesystem::remove_all(elastos::audit::BenchRoot());
  benchmark::Shutdown();
  return 0;
}
