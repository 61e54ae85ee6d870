#include "runtime/audit/audit_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/encoding.h"
#include "common/testing/fault_env.h"
#include "runtime/audit/audit_test_util.h"
#include "runtime/audit/crc32c.h"
#include "runtime/audit/verify.h"

namespace elastos::audit {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

AuditRecord Rec(const std::string& subject, std::string type = "grant") {
  AuditRecord r;
  r.type = std::move(type);
  r.actor = "shell";
  r.actor_kind = ActorKind::kCapsule;
  r.subject = subject;
  r.resource = "localhost://Users/alice/Notes/*";
  r.action = "read";
  return r;
}

using testing::Quiet;

// Forwards to another Env and watches syncs of the files it opens for appending: how many bytes
// a completed sync covers (so a test can check that a record was on disk before Append
// returned). A test can also hold a sync at a gate, so that appenders queue up behind it, and
// make syncs fail from some point on.
class SyncWatchEnv final : public Env {
 public:
  explicit SyncWatchEnv(Env& base) : base_(base) {}

  // The file bytes, from the start, that a completed sync has made durable.
  std::uint64_t durable_bytes() const { return durable_.load(); }
  // The next sync, once it starts, waits for Release().
  void HoldNextSync() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void WaitUntilHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return held_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  // After `n` more successful syncs, every sync fails with EIO.
  void FailSyncsAfter(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    successes_left_ = n;
  }

  Result<std::unique_ptr<WritableFile>> OpenAppendable(const fs::path& path, mode_t mode) override {
    ELASTOS_ASSIGN_OR_RETURN(auto base, base_.OpenAppendable(path, mode));
    return std::unique_ptr<WritableFile>(new File(*this, std::move(base), path));
  }
  Result<std::unique_ptr<ReadableFile>> OpenReadable(const fs::path& path) override {
    return base_.OpenReadable(path);
  }
  Status WriteFileAtomic(const fs::path& path, ByteView data, mode_t mode) override {
    return base_.WriteFileAtomic(path, data, mode);
  }
  Result<Bytes> ReadFile(const fs::path& path, std::uint64_t max_size) override {
    return base_.ReadFile(path, max_size);
  }
  Status Truncate(const fs::path& path, std::uint64_t size) override {
    return base_.Truncate(path, size);
  }
  Status CreateDirectories(const fs::path& path, mode_t mode) override {
    return base_.CreateDirectories(path, mode);
  }
  Status SyncDirectory(const fs::path& path) override { return base_.SyncDirectory(path); }
  bool Exists(const fs::path& path) override { return base_.Exists(path); }
  std::int64_t NowUnixSeconds() override { return base_.NowUnixSeconds(); }
  std::uint64_t NowMonotonicNanos() override { return base_.NowMonotonicNanos(); }

 private:
  class File final : public WritableFile {
   public:
    File(SyncWatchEnv& env, std::unique_ptr<WritableFile> base, fs::path path)
        : env_(env), base_(std::move(base)), path_(std::move(path)) {}
    Status Append(ByteView data) override { return base_->Append(data); }
    Status Sync() override {
      // Everything in the file when the sync starts is durable once it succeeds.
      const std::uint64_t covered = fs::file_size(path_);
      ELASTOS_RETURN_IF_ERROR(env_.BeforeSync(path_));
      ELASTOS_RETURN_IF_ERROR(base_->Sync());
      std::uint64_t durable = env_.durable_.load();
      while (covered > durable && !env_.durable_.compare_exchange_weak(durable, covered)) {
      }
      return OkStatus();
    }
    Status Close() override { return base_->Close(); }

   private:
    SyncWatchEnv& env_;
    std::unique_ptr<WritableFile> base_;
    fs::path path_;
  };

  Status BeforeSync(const fs::path& path) {
    std::unique_lock<std::mutex> lock(mu_);
    if (hold_) {
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !hold_; });
    }
    if (successes_left_ == 0) return IoError("sync " + path.string() + " (injected)", EIO);
    if (successes_left_ > 0) --successes_left_;
    return OkStatus();
  }

  Env& base_;
  std::atomic<std::uint64_t> durable_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool held_ = false;
  int successes_left_ = -1;  // negative: syncs do not fail
};

class AuditLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLog> OpenLog(Env& env, const crypto::Ed25519PrivateKey& key,
                                    AuditLogOptions options = Quiet(),
                                    OpenReport* report = nullptr) {
    auto log = AuditLog::Open(env, dir_.path(), key, options, report);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }
  VerifyReport Verify(std::optional<crypto::Ed25519PublicKey> pin) {
    auto report = VerifyLog(*posix_, dir_.path(), pin);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : VerifyReport{};
  }
  std::vector<std::string> Subjects() {
    auto tail = ReadTail(*posix_, dir_.path(), 1'000'000);
    EXPECT_TRUE(tail.ok());
    std::vector<std::string> out;
    for (const StoredRecord& r : tail->records) out.push_back(AuditRecord::Parse(r.json)->subject);
    return out;
  }
  fs::path LogPath() const { return dir_.path() / "audit.log"; }

  TempDir dir_;
  std::unique_ptr<Env> posix_ = NewPosixEnv();
  crypto::Ed25519PrivateKey key_ = testing::TestKey(0x10);
};

TEST_F(AuditLogTest, AppendCloseReopenVerify) {
  OpenReport report;
  auto log = OpenLog(*posix_, key_, Quiet(), &report);
  EXPECT_TRUE(report.created);
  EXPECT_EQ(report.records, 1u);  // log_init
  EXPECT_EQ(log->origin(), OriginForKey(key_.public_key()));
  for (int i = 1; i <= 10; ++i) {
    auto index = log->Append(Rec("tok-" + std::to_string(i)));
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    EXPECT_EQ(*index, static_cast<std::uint64_t>(i));
  }
  EXPECT_EQ(log->state().size, 11u);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(log->Append(Rec("late")).status().reason(), "audit_log_closed");
  EXPECT_TRUE(log->Close().ok());  // idempotent
  log.reset();

  log = OpenLog(*posix_, key_, Quiet(), &report);
  EXPECT_FALSE(report.created);
  EXPECT_EQ(report.records, 11u);
  EXPECT_EQ(report.checkpointed, 11u);
  EXPECT_EQ(report.truncated_bytes, 0u);
  ASSERT_TRUE(log->Append(Rec("tok-11")).ok());
  ASSERT_TRUE(log->Close().ok());

  const VerifyReport v = Verify(key_.public_key());
  ASSERT_TRUE(v.ok()) << v.problem->ToString();
  EXPECT_EQ(v.records, 12u);
  EXPECT_EQ(v.checkpointed, 12u);
  EXPECT_EQ(v.uncovered_tail, 0u);
  EXPECT_FALSE(v.torn);
  EXPECT_EQ(v.origin, OriginForKey(key_.public_key()));
  std::vector<std::string> want = {""};
  for (int i = 1; i <= 11; ++i) want.push_back("tok-" + std::to_string(i));
  EXPECT_EQ(Subjects(), want);
}

TEST_F(AuditLogTest, StampsTimeThatNeverGoesBack) {
  elastos::testing::FaultInjectionEnv env(posix_.get());
  env.SetUnixSeconds(1000);
  auto log = OpenLog(env, key_);
  ASSERT_TRUE(log->Append(Rec("a")).ok());
  env.SetUnixSeconds(900);  // the wall clock jumps back
  ASSERT_TRUE(log->Append(Rec("b")).ok());
  env.SetUnixSeconds(1001);
  ASSERT_TRUE(log->Append(Rec("c")).ok());
  AuditRecord given = Rec("d");
  given.time_unix = 42;  // a caller's own secure timestamp is kept
  given.time_seq = 7;
  ASSERT_TRUE(log->Append(given).ok());
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  env.SetUnixSeconds(950);
  log = OpenLog(env, key_);  // the clock restarts from the latest record, not from the wall clock
  ASSERT_TRUE(log->Append(Rec("e")).ok());
  given.time_unix = 5000;  // a caller's later time moves the clock on
  given.time_seq = 0;
  ASSERT_TRUE(log->Append(given).ok());
  ASSERT_TRUE(log->Append(Rec("f")).ok());
  ASSERT_TRUE(log->Close().ok());

  auto tail = ReadTail(*posix_, dir_.path(), 100);
  ASSERT_TRUE(tail.ok());
  std::vector<std::pair<std::int64_t, std::uint64_t>> times;
  for (const auto& r : tail->records) {
    auto rec = AuditRecord::Parse(r.json);
    times.emplace_back(rec->time_unix, rec->time_seq);
  }
  const std::vector<std::pair<std::int64_t, std::uint64_t>> want = {
      {1000, 0}, {1000, 1}, {1000, 2}, {1001, 0}, {42, 7}, {1001, 1}, {5000, 0}, {5000, 1}};
  EXPECT_EQ(times, want);
}

TEST_F(AuditLogTest, RefusesReservedAndInvalidRecords) {
  auto log = OpenLog(*posix_, key_);
  EXPECT_EQ(log->Append(Rec("x", "key_rotation")).status().reason(), "audit_reserved_type");
  EXPECT_EQ(log->Append(Rec("x", "log_init")).status().reason(), "audit_reserved_type");
  AuditRecord bad = Rec("x");
  bad.outcome = "perhaps";
  EXPECT_EQ(log->Append(bad).status().code(), Code::kInvalidArgument);
  bad = Rec("x");
  bad.details["f"] = 1.5;
  EXPECT_EQ(log->AppendAsync(bad).code(), Code::kInvalidArgument);
  // An invalid record does not fail the log.
  EXPECT_TRUE(log->health().ok());
  EXPECT_TRUE(log->Append(Rec("ok")).ok());
  EXPECT_TRUE(log->Close().ok());
}

TEST_F(AuditLogTest, CheckpointsEveryNRecords) {
  AuditLogOptions options = Quiet();
  options.checkpoint_every = 5;
  auto log = OpenLog(*posix_, key_, options);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(log->Append(Rec(std::to_string(i))).ok());
  // Open sealed log_init (size 1); then every 5 records: sizes 6 and 11.
  EXPECT_EQ(log->state().checkpoint->size, 11u);
  const VerifyReport v = Verify(key_.public_key());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.checkpoints, 3u);
  EXPECT_EQ(v.records, 13u);
  EXPECT_EQ(v.checkpointed, 11u);
  EXPECT_EQ(v.uncovered_tail, 2u);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(Verify(key_.public_key()).uncovered_tail, 0u);
}

TEST_F(AuditLogTest, CheckpointsByTimeWithoutTraffic) {
  elastos::testing::FaultInjectionEnv env(posix_.get());
  AuditLogOptions options = Quiet();
  options.checkpoint_interval = std::chrono::milliseconds(20);
  options.background_flusher = true;
  auto log = OpenLog(env, key_, options);
  ASSERT_TRUE(log->Append(Rec("a")).ok());
  env.AdvanceMonotonicNanos(1'000'000'000);
  // No further appends: the flusher alone must notice the interval has passed.
  for (int i = 0; i < 500 && log->state().checkpoint->size != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(log->state().checkpoint->size, 2u);
  ASSERT_TRUE(log->Close().ok());
}

TEST_F(AuditLogTest, AppendAsyncBecomesDurableSoon) {
  AuditLogOptions options = Quiet();
  options.background_flusher = true;
  auto log = OpenLog(*posix_, key_, options);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->AppendAsync(Rec(std::to_string(i))).ok());
  for (int i = 0; i < 500 && log->state().size != 101; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(log->state().size, 101u);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(Subjects().size(), 101u);
}

TEST_F(AuditLogTest, AppendAsyncWithoutFlusherWaitsForFlush) {
  auto log = OpenLog(*posix_, key_);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->AppendAsync(Rec(std::to_string(i))).ok());
  EXPECT_EQ(log->state().size, 1u);
  ASSERT_TRUE(log->Flush().ok());
  EXPECT_EQ(log->state().size, 11u);
  // A durable append carries queued async records in its batch, ahead of it.
  ASSERT_TRUE(log->AppendAsync(Rec("async")).ok());
  EXPECT_EQ(*log->Append(Rec("durable")), 12u);
  ASSERT_TRUE(log->Close().ok());
}

TEST_F(AuditLogTest, TornFinalFrameAtEveryCutPointIsTruncated) {
  {
    auto log = OpenLog(*posix_, key_);
    ASSERT_TRUE(log->Append(Rec("one")).ok());
    ASSERT_TRUE(log->Append(Rec("two")).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  const Bytes full = testing::ReadBytes(LogPath());
  const auto frames = testing::SplitFrames(full);
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    TempDir dir;
    testing::WriteBytes(dir.path() / "audit.log", ByteView(full).first(cut));
    // Where the cut falls: inside the header, on a frame boundary, or inside a frame.
    std::uint64_t frame_start = cut;
    std::size_t leaves_before = 0;
    for (const auto& f : frames) {
      const std::uint64_t end = f.offset + kFrameHeaderSize + f.payload.size();
      if (end <= cut) {
        leaves_before += f.kind == FrameKind::kLeaf;
      } else if (f.offset < cut) {
        frame_start = f.offset;
      }
    }
    if (cut < kFileHeaderSize) frame_start = 0;
    OpenReport report;
    auto log = AuditLog::Open(*posix_, dir.path(), key_, Quiet(), &report);
    ASSERT_TRUE(log.ok()) << "cut " << cut << ": " << log.status().ToString();
    EXPECT_EQ(report.truncated_bytes, cut - frame_start) << "cut " << cut;
    if (cut != frame_start) {
      EXPECT_EQ(report.truncated_at, frame_start) << "cut " << cut;
    }
    // The log carries on: a new record, and everything verifies.
    ASSERT_TRUE((*log)->Append(Rec("after")).ok()) << "cut " << cut;
    ASSERT_TRUE((*log)->Close().ok());
    auto v = VerifyLog(*posix_, dir.path(), key_.public_key());
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE(v->ok()) << "cut " << cut << ": " << v->problem->ToString();
    EXPECT_FALSE(v->torn);
    // A cut inside the header (or an empty file) starts a new log with its log_init.
    EXPECT_EQ(v->records, std::max<std::size_t>(leaves_before, 1) + 1) << "cut " << cut;
    EXPECT_EQ(v->uncovered_tail, 0u);
  }
}

TEST_F(AuditLogTest, DamageFollowedByDataFailsOpen) {
  {
    auto log = OpenLog(*posix_, key_);
    ASSERT_TRUE(log->Append(Rec("one")).ok());
    ASSERT_TRUE(log->Append(Rec("two")).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  Bytes bytes = testing::ReadBytes(LogPath());
  const auto frames = testing::SplitFrames(bytes);
  const std::uint64_t victim = frames[2].offset;  // record "one"
  bytes[victim + kFrameHeaderSize + 5] ^= 0x20;
  testing::WriteBytes(LogPath(), bytes);
  auto log = AuditLog::Open(*posix_, dir_.path(), key_, Quiet());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().reason(), "audit_log_corrupt");
  EXPECT_NE(log.status().message().find("offset " + std::to_string(victim)), std::string::npos)
      << log.status().message();
  EXPECT_EQ(testing::ReadBytes(LogPath()), bytes);  // nothing was cut off
}

// Reopening checks every checkpoint against the records before it but verifies only the latest
// checkpoint's signature (so reopening a long log costs one signature check); a forged signature
// on an earlier checkpoint is left to VerifyLog, a forged latest one refuses the open.
TEST_F(AuditLogTest, RecoveryVerifiesTheLatestCheckpointSignature) {
  for (int round = 0; round < 3; ++round) {  // three opens: three checkpoints
    auto log = OpenLog(*posix_, key_);
    ASSERT_TRUE(log->Append(Rec("r" + std::to_string(round))).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  const auto mallory = testing::TestKey(0x66);
  const auto original = testing::SplitFrames(testing::ReadBytes(LogPath()));
  std::vector<std::size_t> checkpoints;
  for (std::size_t i = 0; i < original.size(); ++i) {
    if (original[i].kind == FrameKind::kCheckpoint) checkpoints.push_back(i);
  }
  ASSERT_GE(checkpoints.size(), 3u);
  auto forge = [&](std::size_t i) {
    auto frames = original;
    auto note = ParseSignedNote(frames[i].payload);
    EXPECT_TRUE(note.ok());
    frames[i].payload = SignNote(note->text, OriginForKey(key_.public_key()), mallory);
    const Bytes bytes = testing::JoinFrames(frames);
    testing::WriteBytes(LogPath(), bytes);
    return std::pair(bytes, frames[i].offset);
  };

  const auto [early, early_offset] = forge(checkpoints.front());
  {
    auto log = AuditLog::Open(*posix_, dir_.path(), key_, Quiet());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE((*log)->Close().ok());
  }
  auto v = VerifyLog(*posix_, dir_.path(), key_.public_key());
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(v->ok());
  EXPECT_EQ(v->problem->reason, "checkpoint_signature");
  EXPECT_EQ(v->problem->offset, early_offset);

  const auto [latest, latest_offset] = forge(checkpoints.back());
  auto log = AuditLog::Open(*posix_, dir_.path(), key_, Quiet());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().reason(), "audit_log_corrupt");
  EXPECT_NE(log.status().message().find("offset " + std::to_string(latest_offset)),
            std::string::npos)
      << log.status().message();
  EXPECT_NE(log.status().message().find("not validly signed"), std::string::npos);
  EXPECT_EQ(testing::ReadBytes(LogPath()), latest);  // nothing was cut off or appended
}

TEST_F(AuditLogTest, OpenRefusesNewerFormatAndWrongKey) {
  {
    auto log = OpenLog(*posix_, key_);
    ASSERT_TRUE(log->Close().ok());
  }
  auto other = AuditLog::Open(*posix_, dir_.path(), testing::TestKey(0x77), Quiet());
  EXPECT_EQ(other.status().reason(), "audit_key_mismatch");
  Bytes bytes = testing::ReadBytes(LogPath());
  bytes[8] = 2;
  const std::uint32_t crc = Crc32c(ByteView(bytes).first(12));
  for (int i = 0; i < 4; ++i) bytes[12 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  testing::WriteBytes(LogPath(), bytes);
  EXPECT_EQ(AuditLog::Open(*posix_, dir_.path(), key_, Quiet()).status().reason(),
            "audit_format_newer");
  EXPECT_EQ(VerifyLog(*posix_, dir_.path(), std::nullopt).status().reason(), "audit_format_newer");
}

TEST_F(AuditLogTest, FailedSyncFailsTheLogAndNothingUnsyncedSurvives) {
  elastos::testing::FaultInjectionEnv env(posix_.get());
  auto log = OpenLog(env, key_);
  ASSERT_TRUE(log->Append(Rec("durable")).ok());
  const std::uint64_t good_size = fs::file_size(LogPath());
  env.FailSyncs(true);
  auto failed = log->Append(Rec("never-durable"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().reason(), "io_error");
  EXPECT_FALSE(log->health().ok());
  env.FailSyncs(false);
  // Sticky: everything after fails too, though the disk works again.
  EXPECT_EQ(log->Append(Rec("later")).status().reason(), "audit_log_failed");
  EXPECT_EQ(log->AppendAsync(Rec("later")).reason(), "audit_log_failed");
  EXPECT_EQ(log->Flush().reason(), "audit_log_failed");
  EXPECT_EQ(log->RotateKey(testing::TestKey(0x20)).reason(), "audit_log_failed");
  EXPECT_FALSE(log->Close().ok());
  log.reset();
  // The truncation that failed with the sync was retried at Close.
  EXPECT_EQ(fs::file_size(LogPath()), good_size);

  OpenReport report;
  log = OpenLog(env, key_, Quiet(), &report);
  EXPECT_EQ(report.records, 2u);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(Subjects(), (std::vector<std::string>{"", "durable"}));
  EXPECT_TRUE(Verify(key_.public_key()).ok());
}

TEST_F(AuditLogTest, TornWriteFailsTheLogAtEveryCutPoint) {
  // Size of one record's frame, to tear it at every byte.
  std::size_t frame_size = 0;
  {
    Bytes frame;
    AuditRecord r = Rec("victim");
    r.time_unix = 1;
    AppendFrame(frame, FrameKind::kLeaf, AsBytes(*r.ToCanonicalJson()));
    frame_size = frame.size();
  }
  for (std::size_t budget = 0; budget < frame_size; budget += 7) {
    TempDir dir;
    elastos::testing::FaultInjectionEnv env(posix_.get());
    auto log = AuditLog::Open(env, dir.path(), key_, Quiet());
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(Rec("before")).ok());
    env.FailAppendsAfter(static_cast<std::int64_t>(budget));
    EXPECT_FALSE((*log)->Append(Rec("victim")).ok());
    env.FailAppendsAfter(-1);
    EXPECT_EQ((*log)->Append(Rec("after")).status().reason(), "audit_log_failed");
    EXPECT_FALSE((*log)->Close().ok());
    log->reset();
    OpenReport report;
    auto reopened = AuditLog::Open(env, dir.path(), key_, Quiet(), &report);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    EXPECT_EQ(report.truncated_bytes, 0u) << "the torn bytes were cut off when the write failed";
    EXPECT_EQ(report.records, 2u);
    ASSERT_TRUE((*reopened)->Close().ok());
    auto v = VerifyLog(*posix_, dir.path(), key_.public_key());
    ASSERT_TRUE(v.ok() && v->ok());
    EXPECT_EQ(v->records, 2u);
  }
}

TEST_F(AuditLogTest, TornWriteThatCannotBeCutIsRecoveredOnReopen) {
  elastos::testing::FaultInjectionEnv env(posix_.get());
  auto log = OpenLog(env, key_);
  ASSERT_TRUE(log->Append(Rec("before")).ok());
  // The write tears after 20 bytes and the disk then refuses syncs, so the log cannot cut the
  // torn bytes off (a crash at this point leaves the same file).
  env.FailAppendsAfter(20);
  env.FailSyncs(true);
  EXPECT_FALSE(log->Append(Rec("victim")).ok());
  EXPECT_FALSE(log->Close().ok());
  log.reset();
  env.FailAppendsAfter(-1);
  env.FailSyncs(false);
  auto v = VerifyLog(*posix_, dir_.path(), key_.public_key());
  ASSERT_TRUE(v.ok() && v->ok());
  ASSERT_TRUE(v->torn.has_value());
  EXPECT_EQ(v->torn->bytes, 20u);
  OpenReport report;
  log = OpenLog(env, key_, Quiet(), &report);
  EXPECT_EQ(report.truncated_bytes, 20u);
  EXPECT_EQ(report.records, 2u);
  EXPECT_NE(report.ToString().find("truncated a torn final write of 20 bytes"), std::string::npos);
  ASSERT_TRUE(log->Append(Rec("after")).ok());
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(Subjects(), (std::vector<std::string>{"", "before", "after"}));
}

TEST_F(AuditLogTest, ShortReadsDuringRecoveryVerificationAndProofs) {
  {
    AuditLogOptions options = Quiet();
    options.checkpoint_every = 50;
    auto log = OpenLog(*posix_, key_, options);
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(log->Append(Rec("r" + std::to_string(i))).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  elastos::testing::FaultInjectionEnv env(posix_.get());
  env.ShortReads(true);
  OpenReport report;
  auto log = OpenLog(env, key_, Quiet(), &report);
  EXPECT_EQ(report.records, 301u);
  EXPECT_EQ(report.checkpointed, 301u);
  auto proof = log->Prove(123);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_EQ(AuditRecord::Parse(proof->record)->subject, "r122");
  ASSERT_TRUE(log->Close().ok());
  auto v = VerifyLog(env, dir_.path(), key_.public_key());
  ASSERT_TRUE(v.ok() && v->ok());
  EXPECT_EQ(v->records, 301u);
  auto tail = ReadTail(env, dir_.path(), 3);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->records.size(), 3u);
  EXPECT_EQ(tail->records.back().index, 300u);
}

TEST_F(AuditLogTest, ConcurrentAppendersEachRecordExactlyOnce) {
  AuditLogOptions options;  // defaults: checkpoints every 1000 records or 1 s, flusher on
  auto log = OpenLog(*posix_, key_, options);
  constexpr int kThreads = 8, kPerThread = 1000;
  std::vector<std::vector<std::uint64_t>> indices(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string subject = std::to_string(t) + "-" + std::to_string(i);
        if (i % 10 == 9) {  // some asynchronous ones in the mix
          if (!log->AppendAsync(Rec(subject)).ok()) ++failures;
          continue;
        }
        auto index = log->Append(Rec(subject));
        if (!index.ok()) {
          ++failures;
          continue;
        }
        indices[t].push_back(*index);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(log->Close().ok());

  const VerifyReport v = Verify(key_.public_key());
  ASSERT_TRUE(v.ok()) << v.problem->ToString();
  EXPECT_EQ(v.records, 1u + kThreads * kPerThread);
  EXPECT_EQ(v.uncovered_tail, 0u);
  const auto subjects = Subjects();
  std::set<std::string> seen(subjects.begin() + 1, subjects.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    // Each thread's durable appends got increasing indices, and the record at each index is theirs.
    EXPECT_TRUE(std::is_sorted(indices[t].begin(), indices[t].end()));
    for (std::size_t k = 0; k < indices[t].size(); ++k) {
      EXPECT_EQ(subjects[indices[t][k]].substr(0, subjects[indices[t][k]].find('-')),
                std::to_string(t));
    }
  }
}

// The group-commit protocol under load: 64 appenders, with and without the flusher. Every
// record Append returned was covered by a completed sync before it returned, each appender's
// records got increasing indices, and the record at each index is the one appended.
TEST_F(AuditLogTest, SixtyFourAppendersEachDurableBeforeAppendReturns) {
  for (const bool flusher : {false, true}) {
    SCOPED_TRACE(flusher ? "with the background flusher" : "without the background flusher");
    TempDir dir;
    SyncWatchEnv env(*posix_);
    AuditLogOptions options = Quiet();
    options.background_flusher = flusher;
    options.checkpoint_every = 100;  // checkpoints in the middle of batches
    auto log = AuditLog::Open(env, dir.path(), key_, options);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    constexpr int kThreads = 64, kPerThread = 40;
    struct Returned {
      std::uint64_t index = 0;
      std::uint64_t durable_bytes = 0;  // read right after Append returned
    };
    std::vector<std::vector<Returned>> returned(kThreads);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto index = (*log)->Append(Rec(std::to_string(t) + "-" + std::to_string(i)));
          const std::uint64_t durable = env.durable_bytes();
          if (!index.ok()) {
            ++failures;
            return;
          }
          returned[t].push_back({*index, durable});
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    const LogState state = (*log)->state();
    EXPECT_EQ(state.size, 1u + kThreads * kPerThread);
    EXPECT_LT(state.syncs, state.size / 2) << "appenders should share syncs";
    ASSERT_TRUE((*log)->Close().ok());

    auto tail = ReadTail(*posix_, dir.path(), 1'000'000);
    ASSERT_TRUE(tail.ok());
    ASSERT_EQ(tail->records.size(), 1u + kThreads * kPerThread);
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_EQ(returned[t].size(), static_cast<std::size_t>(kPerThread));
      for (int i = 0; i < kPerThread; ++i) {
        const Returned& r = returned[t][i];
        if (i > 0) {
          EXPECT_GT(r.index, returned[t][i - 1].index);
        }
        const StoredRecord& stored = tail->records[r.index];
        EXPECT_EQ(AuditRecord::Parse(stored.json)->subject,
                  std::to_string(t) + "-" + std::to_string(i));
        EXPECT_LE(stored.offset + kFrameHeaderSize + stored.json.size(), r.durable_bytes)
            << "record " << r.index << " was not synced when Append returned";
      }
    }
    auto v = VerifyLog(*posix_, dir.path(), key_.public_key());
    ASSERT_TRUE(v.ok() && v->ok());
    EXPECT_EQ(v->uncovered_tail, 0u);
  }
}

// A sync that fails fails every appender of its batch and every one queued behind it, and the
// log refuses everything after, while the appenders queued behind a sync wait on shared words.
// Either the held sync fails (its leader fails, the appenders queued behind it are refused), or
// it succeeds and the queued appenders' own batch fails.
TEST_F(AuditLogTest, FailedSyncFailsItsWholeBatchAndEverythingQueuedAfter) {
  for (const int failing_sync : {0, 1}) {
    SCOPED_TRACE(failing_sync == 0 ? "the held sync fails" : "the next sync fails");
    TempDir dir;
    SyncWatchEnv env(*posix_);
    auto log = AuditLog::Open(env, dir.path(), key_, Quiet());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE((*log)->Append(Rec("before")).ok());

    env.HoldNextSync();
    env.FailSyncsAfter(failing_sync);
    Result<std::uint64_t> first = Internal("unset", "");
    std::thread leader([&] { first = (*log)->Append(Rec("first")); });
    env.WaitUntilHeld();
    constexpr int kQueued = 63;
    std::vector<Status> queued(kQueued);
    std::atomic<int> started{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kQueued; ++t) {
      threads.emplace_back([&, t] {
        ++started;
        queued[t] = (*log)->Append(Rec("queued-" + std::to_string(t))).status();
      });
    }
    while (started.load() < kQueued) std::this_thread::yield();
    // Let them queue behind the held sync. (The checks below hold whatever the timing.)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    env.Release();
    leader.join();
    for (auto& th : threads) th.join();

    if (failing_sync == 0) {
      EXPECT_EQ(first.status().reason(), "io_error");
    } else {
      ASSERT_TRUE(first.ok()) << first.status().ToString();
    }
    int io_errors = 0;
    for (const Status& s : queued) {
      EXPECT_TRUE(s.reason() == "io_error" || s.reason() == "audit_log_failed") << s.ToString();
      io_errors += s.reason() == "io_error";
    }
    if (failing_sync == 1) {
      EXPECT_GE(io_errors, 1);  // the batch whose sync failed
    }
    EXPECT_EQ((*log)->Append(Rec("later")).status().reason(), "audit_log_failed");
    EXPECT_EQ((*log)->AppendAsync(Rec("later")).reason(), "audit_log_failed");
    EXPECT_EQ((*log)->Flush().reason(), "audit_log_failed");
    EXPECT_FALSE((*log)->Close().ok());
    log->reset();

    // Exactly the records reported durable are in the log: the failed bytes were cut off.
    OpenReport report;
    auto reopened = AuditLog::Open(*posix_, dir.path(), key_, Quiet(), &report);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    EXPECT_EQ(report.truncated_bytes, 0u);
    ASSERT_TRUE((*reopened)->Close().ok());
    auto tail = ReadTail(*posix_, dir.path(), 100);
    ASSERT_TRUE(tail.ok());
    std::vector<std::string> subjects;
    for (const StoredRecord& r : tail->records) {
      subjects.push_back(AuditRecord::Parse(r.json)->subject);
    }
    std::vector<std::string> want = {"", "before"};
    if (failing_sync == 1) want.push_back("first");
    EXPECT_EQ(subjects, want);
  }
}

// With one record per batch, queued records miss batch after batch and leadership passes to
// appenders sleeping on a batch's shared word (and, when a batch did not reach the leader's own
// record, back to the leader): all must still complete, once each.
TEST_F(AuditLogTest, OneRecordBatchesUnderConcurrency) {
  AuditLogOptions options = Quiet();
  options.max_batch_bytes = 1;
  auto log = OpenLog(*posix_, key_, options);
  constexpr int kThreads = 16, kPerThread = 25;
  std::vector<std::vector<std::uint64_t>> indices(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (i % 5 == 4) {  // asynchronous ones queue without a waiter
          if (!log->AppendAsync(Rec(std::to_string(t) + "-" + std::to_string(i))).ok()) {
            ++failures;
          }
          continue;
        }
        auto index = log->Append(Rec(std::to_string(t) + "-" + std::to_string(i)));
        if (!index.ok()) {
          ++failures;
          continue;
        }
        indices[t].push_back(*index);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(log->Close().ok());
  const auto subjects = Subjects();
  ASSERT_EQ(subjects.size(), 1u + kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(std::is_sorted(indices[t].begin(), indices[t].end()));
    for (std::uint64_t index : indices[t]) {
      EXPECT_EQ(subjects[index].substr(0, subjects[index].find('-')), std::to_string(t));
    }
  }
  EXPECT_TRUE(Verify(key_.public_key()).ok());
}

// Closing while appenders keep appending: every append either succeeds and is in the log, or
// fails with audit_log_closed; nobody is left waiting.
TEST_F(AuditLogTest, CloseWhileAppendersWait) {
  AuditLogOptions options;  // flusher on
  auto log = OpenLog(*posix_, key_, options);
  constexpr int kThreads = 32;
  std::vector<std::vector<std::uint64_t>> indices(kThreads);
  std::atomic<int> wrong_failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        auto index = log->Append(Rec(std::to_string(t) + "-" + std::to_string(i)));
        if (!index.ok()) {
          if (index.status().reason() != "audit_log_closed") ++wrong_failures;
          return;
        }
        indices[t].push_back(*index);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(log->Close().ok());
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong_failures.load(), 0);
  const auto subjects = Subjects();
  std::size_t appended = 0;
  for (int t = 0; t < kThreads; ++t) {
    appended += indices[t].size();
    for (std::uint64_t index : indices[t]) {
      ASSERT_LT(index, subjects.size());
      EXPECT_EQ(subjects[index].substr(0, subjects[index].find('-')), std::to_string(t));
    }
  }
  EXPECT_EQ(subjects.size(), 1u + appended);
  const VerifyReport v = Verify(key_.public_key());
  ASSERT_TRUE(v.ok()) << v.problem->ToString();
  EXPECT_EQ(v.uncovered_tail, 0u);
}

TEST_F(AuditLogTest, ProveEveryRecord) {
  AuditLogOptions options = Quiet();
  options.checkpoint_every = 7;
  auto log = OpenLog(*posix_, key_, options);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->Append(Rec("r" + std::to_string(i))).ok());
  const LogState state = log->state();
  ASSERT_EQ(state.checkpoint->size, 15u);
  for (std::uint64_t i = 0; i < 15; ++i) {
    auto proof = log->Prove(i);
    ASSERT_TRUE(proof.ok()) << i << ": " << proof.status().ToString();
    EXPECT_EQ(proof->proof.leaf_index, i);
    EXPECT_EQ(proof->proof.tree_size, 15u);
    EXPECT_TRUE(CheckRecordProof(*proof, key_.public_key()).ok());
    EXPECT_FALSE(CheckRecordProof(*proof, testing::TestKey(0x55).public_key()).ok());
    RecordProof forged = *proof;
    forged.record[forged.record.size() / 2] ^= 1;
    EXPECT_FALSE(CheckRecordProof(forged, key_.public_key()).ok());
  }
  EXPECT_EQ(log->Prove(15).status().reason(), "audit_not_checkpointed");
  ASSERT_TRUE(log->WriteCheckpoint().ok());
  EXPECT_TRUE(log->Prove(20).ok());
  ASSERT_TRUE(log->Close().ok());
}

TEST_F(AuditLogTest, KeyRotationChainVerifies) {
  const auto key_b = testing::TestKey(0x20);
  const auto key_c = testing::TestKey(0x30);
  {
    auto log = OpenLog(*posix_, key_);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(Rec("a" + std::to_string(i))).ok());
    ASSERT_TRUE(log->RotateKey(key_b).ok());
    EXPECT_EQ(log->state().key, key_b.public_key());
    EXPECT_EQ(log->state().size, 5u);              // log_init, 3 records, the rotation
    EXPECT_EQ(log->state().checkpoint->size, 5u);  // already covered, under B
    // A key may serve once: going back, or "rotating" to the same key, is refused.
    EXPECT_EQ(log->RotateKey(key_b).reason(), "audit_rotation_key_reused");
    EXPECT_EQ(log->RotateKey(key_).reason(), "audit_rotation_key_reused");
    EXPECT_TRUE(log->health().ok());
    ASSERT_TRUE(log->Append(Rec("b0")).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  EXPECT_EQ(AuditLog::Open(*posix_, dir_.path(), key_, Quiet()).status().reason(),
            "audit_key_mismatch");
  {
    auto log = OpenLog(*posix_, key_b);
    ASSERT_TRUE(log->RotateKey(key_c).ok());
    ASSERT_TRUE(log->Append(Rec("c0")).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  for (const auto& pin : {key_.public_key(), key_b.public_key(), key_c.public_key()}) {
    const VerifyReport v = Verify(pin);
    ASSERT_TRUE(v.ok()) << v.problem->ToString();
    ASSERT_EQ(v.keys.size(), 3u);
    EXPECT_EQ(v.keys[0].key, key_.public_key());
    EXPECT_EQ(v.keys[0].from_size, 0u);
    EXPECT_EQ(v.keys[1].key, key_b.public_key());
    EXPECT_EQ(v.keys[1].from_size, 5u);
    EXPECT_EQ(v.keys[2].key, key_c.public_key());
    EXPECT_EQ(v.records, 8u);
    EXPECT_EQ(v.uncovered_tail, 0u);
  }
  EXPECT_TRUE(Verify(std::nullopt).ok());
  const VerifyReport stranger = Verify(testing::TestKey(0x40).public_key());
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.problem->reason, "audit_key_mismatch");
  // Rotation records parse back with what they promise.
  auto tail = ReadTail(*posix_, dir_.path(), 100);
  auto rotation = ParseRotationRecord(*AuditRecord::Parse(tail->records[4].json));
  ASSERT_TRUE(rotation.ok());
  EXPECT_EQ(rotation->old_key, key_.public_key());
  EXPECT_EQ(rotation->new_key, key_b.public_key());
  EXPECT_EQ(rotation->tree_size, 4u);
}

}  // namespace
}  // namespace elastos::audit
