#include "runtime/audit/verify.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/audit_test_util.h"

namespace elastos::audit {
namespace {
namespace fs = std::filesystem;
using testing::RawFrame;
using testing::TempDir;
using Where = VerifyProblem::Where;

AuditRecord Rec(const std::string& subject) {
  AuditRecord r;
  r.type = "validate";
  r.time_unix = 1700000000;
  r.actor = "cap-1";
  r.actor_kind = ActorKind::kCapsule;
  r.subject = subject;
  r.outcome = "ok";
  return r;
}

using testing::Quiet;

class VerifyTest : public ::testing::Test {
 protected:
  // A log as a crash leaves it: log_init + checkpoint(1), r1..r4, checkpoint(5), r5..r7,
  // checkpoint(8), then r8, r9 durable but not yet checkpointed.
  Bytes CrashedLog(const crypto::Ed25519PrivateKey& key) {
    TempDir dir;
    auto log = AuditLog::Open(*env_, dir.path(), key, Quiet());
    EXPECT_TRUE(log.ok());
    int n = 1;
    for (int batch : {4, 3}) {
      for (int i = 0; i < batch; ++i)
        EXPECT_TRUE((*log)->Append(Rec("r" + std::to_string(n++))).ok());
      EXPECT_TRUE((*log)->WriteCheckpoint().ok());
    }
    for (int i = 0; i < 2; ++i) EXPECT_TRUE((*log)->Append(Rec("r" + std::to_string(n++))).ok());
    Bytes bytes = testing::ReadBytes(dir.path() / "audit.log");
    EXPECT_TRUE((*log)->Close().ok());
    return bytes;
  }

  VerifyReport VerifyBytes(const Bytes& bytes, std::optional<crypto::Ed25519PublicKey> pin) {
    testing::WriteBytes(dir_.path() / "audit.log", bytes);
    auto report = VerifyLog(*env_, dir_.path(), pin);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : VerifyReport{};
  }

  TempDir dir_;
  std::unique_ptr<Env> env_ = NewPosixEnv();
  crypto::Ed25519PrivateKey key_ = testing::TestKey(0x01);
};

TEST_F(VerifyTest, IntactCrashedLogReportsTheUncoveredTail) {
  const VerifyReport v = VerifyBytes(CrashedLog(key_), key_.public_key());
  ASSERT_TRUE(v.ok()) << v.problem->ToString();
  EXPECT_EQ(v.records, 10u);
  EXPECT_EQ(v.checkpoints, 3u);
  EXPECT_EQ(v.checkpointed, 8u);
  EXPECT_EQ(v.uncovered_tail, 2u);
  EXPECT_FALSE(v.torn);
  ASSERT_TRUE(v.latest);
  EXPECT_EQ(v.latest->size, 8u);
}

TEST_F(VerifyTest, MissingLogIsNotFound) {
  EXPECT_EQ(VerifyLog(*env_, dir_.path() / "nope", std::nullopt).status().code(), Code::kNotFound);
}

// Any one byte changed, anywhere up to the end of the latest checkpoint, fails verification and
// names the frame that holds it; bytes covered by a checkpoint are reported as covered damage.
TEST_F(VerifyTest, EverySingleByteFlipIsFoundAndPlaced) {
  const Bytes log = CrashedLog(key_);
  const auto frames = testing::SplitFrames(log);
  const RawFrame& last_checkpoint = frames[frames.size() - 3];
  ASSERT_EQ(last_checkpoint.kind, FrameKind::kCheckpoint);
  const std::uint64_t covered_end = last_checkpoint.offset;
  const std::uint64_t checkpoint_end =
      covered_end + kFrameHeaderSize + last_checkpoint.payload.size();
  auto frame_of = [&](std::uint64_t byte) -> const RawFrame* {
    for (const RawFrame& f : frames) {
      if (byte >= f.offset && byte < f.offset + kFrameHeaderSize + f.payload.size()) return &f;
    }
    return nullptr;
  };
  for (std::uint64_t i = 0; i < log.size(); ++i) {
    for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = log;
      bad[i] ^= mask;
      const VerifyReport v = VerifyBytes(bad, key_.public_key());
      const RawFrame* f = frame_of(i);
      if (i < checkpoint_end) {
        ASSERT_FALSE(v.ok()) << "byte " << i << " ^ " << int(mask) << " went unnoticed";
        EXPECT_EQ(v.problem->offset, f ? f->offset : 0) << "byte " << i;
        const Where want = i < kFileHeaderSize ? Where::kHeader
                           : i < covered_end   ? Where::kCovered
                                               : Where::kTail;
        EXPECT_EQ(v.problem->where, want) << "byte " << i << ": " << v.problem->ToString();
        if (f && f->kind == FrameKind::kLeaf && v.problem->record_index) {
          std::uint64_t index = 0;
          for (const RawFrame& g : frames) {
            if (&g == f) break;
            index += g.kind == FrameKind::kLeaf;
          }
          EXPECT_EQ(*v.problem->record_index, index) << "byte " << i;
        }
      } else {
        // In the uncovered tail: tail damage, or (in the final frame) indistinguishable from
        // a write a crash tore, which loses that record — never silently accepted.
        if (v.ok()) {
          ASSERT_TRUE(v.torn) << "byte " << i;
          EXPECT_EQ(v.torn->offset, frames.back().offset);
          EXPECT_EQ(v.records, 9u);
        } else {
          EXPECT_EQ(v.problem->where, Where::kTail) << "byte " << i;
          EXPECT_EQ(v.problem->offset, f->offset) << "byte " << i;
        }
      }
    }
  }
}

// On a cleanly closed log the file ends with a checkpoint; damage to it cannot be told from a
// cut-off file (which no file alone can show), but it never passes for full coverage.
TEST_F(VerifyTest, DamageToTheFinalCheckpointNeverClaimsFullCoverage) {
  TempDir dir;
  {
    auto log = AuditLog::Open(*env_, dir.path(), key_, Quiet());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->Append(Rec(std::to_string(i))).ok());
    ASSERT_TRUE((*log)->Close().ok());
  }
  const Bytes log = testing::ReadBytes(dir.path() / "audit.log");
  const auto frames = testing::SplitFrames(log);
  ASSERT_EQ(frames.back().kind, FrameKind::kCheckpoint);
  for (std::uint64_t i = frames.back().offset; i < log.size(); ++i) {
    Bytes bad = log;
    bad[i] ^= 0x04;
    const VerifyReport v = VerifyBytes(bad, key_.public_key());
    EXPECT_TRUE(!v.ok() || v.checkpointed < 4) << "byte " << i;
  }
}

TEST_F(VerifyTest, DeletedRecordIsCaughtByTheNextCheckpoint) {
  auto frames = testing::SplitFrames(CrashedLog(key_));
  frames.erase(frames.begin() + 3);  // r2, inside the first checkpointed range
  const VerifyReport v = VerifyBytes(testing::JoinFrames(frames), key_.public_key());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problem->reason, "checkpoint_size");
  EXPECT_TRUE(v.problem->checkpoint);
  EXPECT_EQ(v.problem->where, Where::kCovered);
  EXPECT_EQ(v.problem->covered_by, std::optional<std::uint64_t>(5));
}

TEST_F(VerifyTest, ReorderedRecordsAreCaughtByTheNextCheckpoint) {
  auto frames = testing::SplitFrames(CrashedLog(key_));
  std::swap(frames[7], frames[8]);  // r5 and r6
  ASSERT_EQ(frames[7].kind, FrameKind::kLeaf);
  ASSERT_EQ(frames[8].kind, FrameKind::kLeaf);
  const VerifyReport v = VerifyBytes(testing::JoinFrames(frames), key_.public_key());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problem->reason, "checkpoint_root");
  EXPECT_EQ(v.problem->where, Where::kCovered);
  EXPECT_EQ(v.checkpointed, 5u);  // the first checkpoint still vouches for records 0..4
}

TEST_F(VerifyTest, AlteredRecordWithRecomputedCrcIsCaught) {
  auto frames = testing::SplitFrames(CrashedLog(key_));
  AuditRecord r = *AuditRecord::Parse(frames[2].payload);
  r.outcome = "denied";  // rewrite history: this access was refused
  frames[2].payload = *r.ToCanonicalJson();
  const VerifyReport v = VerifyBytes(testing::JoinFrames(frames), key_.public_key());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problem->reason, "checkpoint_root");
  EXPECT_EQ(v.problem->where, Where::kCovered);
}

TEST_F(VerifyTest, CheckpointsSignedByAnotherKeyFail) {
  const auto mallory = testing::TestKey(0x66);
  auto frames = testing::SplitFrames(CrashedLog(key_));
  for (RawFrame& f : frames) {
    if (f.kind != FrameKind::kCheckpoint) continue;
    auto note = ParseSignedNote(f.payload);
    f.payload = SignNote(note->text, OriginForKey(key_.public_key()), mallory);
  }
  const Bytes bytes = testing::JoinFrames(frames);
  for (const auto& pin :
       {std::optional(key_.public_key()), std::optional<crypto::Ed25519PublicKey>()}) {
    const VerifyReport v = VerifyBytes(bytes, pin);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.problem->reason, "checkpoint_signature");
    EXPECT_EQ(v.problem->offset, frames[1].offset);
    EXPECT_TRUE(v.problem->checkpoint);
  }
}

TEST_F(VerifyTest, LogRewrittenEntirelyByAnotherKeyFailsWhenPinned) {
  const auto mallory = testing::TestKey(0x66);
  const Bytes forged = CrashedLog(mallory);  // the same records, signed throughout by another key
  const VerifyReport pinned = VerifyBytes(forged, key_.public_key());
  ASSERT_FALSE(pinned.ok());
  EXPECT_EQ(pinned.problem->reason, "audit_key_mismatch");
  EXPECT_EQ(pinned.problem->where, Where::kKey);
  EXPECT_EQ(pinned.problem->record_index, std::optional<std::uint64_t>(0));
  // Unpinned, a consistent forgery is indistinguishable: that is what pinning is for.
  EXPECT_TRUE(VerifyBytes(forged, std::nullopt).ok());
}

TEST_F(VerifyTest, TailDamageIsReportedAsTail) {
  Bytes log = CrashedLog(key_);
  const auto frames = testing::SplitFrames(log);
  const RawFrame& r8 = frames[frames.size() - 2];
  log[r8.offset + kFrameHeaderSize + 3] ^= 0x10;
  const VerifyReport v = VerifyBytes(log, key_.public_key());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problem->where, Where::kTail);
  EXPECT_EQ(v.problem->record_index, std::optional<std::uint64_t>(8));
  EXPECT_EQ(v.problem->reason, "frame_crc");
  EXPECT_EQ(v.checkpointed, 8u);
  EXPECT_NE(v.problem->ToString().find("uncovered tail"), std::string::npos);
}

TEST_F(VerifyTest, TornFinalFrameIsReportedNotFailed) {
  const Bytes log = CrashedLog(key_);
  const auto frames = testing::SplitFrames(log);
  const std::uint64_t cut = frames.back().offset + 12;
  const VerifyReport v = VerifyBytes(Bytes(log.begin(), log.begin() + cut), key_.public_key());
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v.torn);
  EXPECT_EQ(v.torn->offset, frames.back().offset);
  EXPECT_EQ(v.torn->bytes, 12u);
  EXPECT_EQ(v.records, 9u);
  EXPECT_EQ(v.uncovered_tail, 1u);
  // A zero-filled tail (what some file systems leave after a crash) is the same.
  Bytes zeros = log;
  zeros.resize(log.size() + 4096, 0);
  const VerifyReport z = VerifyBytes(zeros, key_.public_key());
  ASSERT_TRUE(z.ok());
  ASSERT_TRUE(z.torn);
  EXPECT_EQ(z.torn->offset, log.size());
  EXPECT_EQ(z.records, 10u);
}

class RotationForgeryTest : public VerifyTest {
 protected:
  // log_init, r1..r3 under A; checkpoint(4) by A; rotation A→B at leaf 4; checkpoint(5) by B;
  // r5, r6; checkpoint(7) by B.
  std::vector<RawFrame> RotatedLog() {
    TempDir dir;
    auto log = AuditLog::Open(*env_, dir.path(), key_, Quiet());
    for (int i = 1; i <= 3; ++i) EXPECT_TRUE((*log)->Append(Rec("r" + std::to_string(i))).ok());
    EXPECT_TRUE((*log)->RotateKey(key_b_).ok());
    for (int i = 5; i <= 6; ++i) EXPECT_TRUE((*log)->Append(Rec("r" + std::to_string(i))).ok());
    EXPECT_TRUE((*log)->Close().ok());
    auto frames = testing::SplitFrames(testing::ReadBytes(dir.path() / "audit.log"));
    // [0] log_init [1] cp(1) A [2..4] r1..r3 [5] cp(4) A [6] rotation [7] cp(5) B [8,9] r5,r6 [10]
    // cp(7) B
    EXPECT_EQ(frames.size(), 11u);
    return frames;
  }
  const std::string origin_ = OriginForKey(key_.public_key());
  crypto::Ed25519PrivateKey key_b_ = testing::TestKey(0x02);
};

TEST_F(RotationForgeryTest, HonestRotationVerifies) {
  const VerifyReport v = VerifyBytes(testing::JoinFrames(RotatedLog()), key_.public_key());
  ASSERT_TRUE(v.ok()) << v.problem->ToString();
  EXPECT_EQ(v.keys.size(), 2u);
  EXPECT_EQ(v.checkpointed, 7u);
}

// A checkpoint signed by the new key for a size before the rotation: that key was not in force.
TEST_F(RotationForgeryTest, NewKeyCannotSignForSizesBeforeItsRotation) {
  auto frames = RotatedLog();
  auto note = ParseSignedNote(frames[5].payload);
  frames[5].payload = SignNote(note->text, origin_, key_b_);
  const VerifyReport v = VerifyBytes(testing::JoinFrames(frames), key_.public_key());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problem->reason, "checkpoint_signature");
  EXPECT_EQ(v.problem->offset, frames[5].offset);
  EXPECT_EQ(v.problem->where, Where::kCovered);  // B's genuine later checkpoints cover it
}

// CVE-2023-31439's attack: holding only the current key B, rewrite a record from before the
// rotation, drop the old key's checkpoints and re-sign everything after the rotation with B.
TEST_F(RotationForgeryTest, NewKeyCannotResealEarlierHistory) {
  for (bool fix_rotation_root : {false, true}) {
    auto frames = RotatedLog();
    AuditRecord r2 = *AuditRecord::Parse(frames[3].payload);
    r2.outcome = "denied";
    frames[3].payload = *r2.ToCanonicalJson();
    std::vector<RawFrame> forged;
    CompactRange tree;
    for (RawFrame f : frames) {
      if (f.kind == FrameKind::kCheckpoint) {
        if (tree.size() <= 4) continue;  // the old key's checkpoints would give it away
        f.payload = MakeCheckpointNote(Checkpoint{origin_, tree.size(), tree.Root()}, key_b_);
      } else if (tree.size() == 4 && fix_rotation_root) {
        AuditRecord rot = *AuditRecord::Parse(f.payload);
        rot.details["root"] = Base64Encode(tree.Root());
        f.payload = *rot.ToCanonicalJson();
      }
      if (f.kind == FrameKind::kLeaf) tree.Append(LeafHash(AsBytes(f.payload)));
      forged.push_back(f);
    }
    for (const auto& pin : {key_.public_key(), key_b_.public_key()}) {
      const VerifyReport v = VerifyBytes(testing::JoinFrames(forged), pin);
      ASSERT_FALSE(v.ok());
      EXPECT_EQ(v.problem->reason,
                fix_rotation_root ? "rotation_signature" : "rotation_wrong_root");
      EXPECT_EQ(v.problem->record_index, std::optional<std::uint64_t>(4));
    }
  }
}

// A rotation "signed" by a key that is not in force hands nothing over.
TEST_F(RotationForgeryTest, RotationByAKeyNotInForceFails) {
  const auto mallory = testing::TestKey(0x66);
  auto frames = RotatedLog();
  CompactRange tree;
  for (int i : {0, 2, 3, 4}) tree.Append(LeafHash(AsBytes(frames[i].payload)));
  const AuditRecord forged =
      MakeRotationRecord(origin_, 4, tree.Root(), mallory, mallory.public_key(), 1, 0);
  frames[6].payload = *forged.ToCanonicalJson();
  const VerifyReport v = VerifyBytes(testing::JoinFrames(frames), key_.public_key());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problem->reason, "rotation_wrong_key");
  EXPECT_EQ(v.problem->record_index, std::optional<std::uint64_t>(4));
}

}  // namespace
}  // namespace elastos::audit
