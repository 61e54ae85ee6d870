#include "runtime/audit/verify.h"

#include <algorithm>
#include <deque>

#include "identity/did_key.h"
#include "runtime/audit/record.h"

namespace elastos::audit {
namespace {
namespace fs = std::filesystem;

std::string Did(const crypto::Ed25519PublicKey& key) { return identity::DidKeyEncode(key); }

Result<std::unique_ptr<ReadableFile>> OpenLogFile(Env& env, const fs::path& path) {
  if (!env.Exists(path)) return NotFound("audit_log_missing", "no audit log at " + path.string());
  return env.OpenReadable(path);
}

bool Contains(const std::vector<crypto::Ed25519PublicKey>& keys,
              const crypto::Ed25519PublicKey& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Verification state for one pass over the file.
class Verifier {
 public:
  Verifier(FrameReader& reader, std::optional<crypto::Ed25519PublicKey> pinned,
           VerifyReport& report)
      : r_(reader), pinned_(pinned), report_(report) {}

  Status Run() {
    for (;;) {
      ELASTOS_ASSIGN_OR_RETURN(FrameReader::NextResult next, r_.Next());
      if (next.problem) return FramingProblem(*next.problem);
      if (!next.frame) break;
      const Frame& f = *next.frame;
      const bool ok = f.kind == FrameKind::kLeaf ? Leaf(f) : CheckpointFrame(f);
      if (!ok) return Classify(f.end);
    }
    Finish();
    return OkStatus();
  }

 private:
  bool Problem(const Frame& f, std::string reason, std::string message, bool is_checkpoint) {
    VerifyProblem p;
    p.offset = f.offset;
    p.checkpoint = is_checkpoint;
    if (!is_checkpoint) p.record_index = tree_.size();
    p.reason = std::move(reason);
    p.message = std::move(message);
    report_.problem = std::move(p);
    return false;
  }

  bool Leaf(const Frame& f) {
    const std::uint64_t index = tree_.size();
    auto record = AuditRecord::Parse(AsChars(f.payload));
    if (!record.ok()) {
      const bool newer = record.status().reason() == "audit_record_newer";
      return Problem(f, newer ? "record_newer" : "record_invalid", record.status().message(),
                     false);
    }
    if (index == 0) {
      auto genesis = ParseInitRecord(*record);
      if (!genesis.ok()) return Problem(f, "record_invalid", genesis.status().message(), false);
      chain_.emplace(genesis->key);
      report_.origin = genesis->origin;
    } else if (record->type == kTypeLogInit) {
      return Problem(f, "record_invalid", "a second log_init record", false);
    } else if (record->type == kTypeKeyRotation) {
      auto rotation = ParseRotationRecord(*record);
      if (!rotation.ok()) return Problem(f, "record_invalid", rotation.status().message(), false);
      if (Status s =
              CheckRotation(*rotation, report_.origin, index, tree_.Root(), chain_->current());
          !s.ok()) {
        return Problem(f, s.reason(), s.message(), false);
      }
      chain_->Rotate(rotation->new_key, index);
    }
    tree_.Append(LeafHash(f.payload));
    return true;
  }

  bool CheckpointFrame(const Frame& f) {
    if (!chain_) {
      return Problem(f, "checkpoint_misplaced", "a checkpoint before the log_init record", true);
    }
    auto cp =
        CheckCheckpoint(AsChars(f.payload), report_.origin, tree_.size(), tree_.Root(), *chain_);
    if (!cp.ok()) {
      Problem(f, cp.status().reason(), cp.status().message(), true);
      // A validly signed checkpoint that disagrees with the records is itself the evidence that
      // signed history was altered.
      const std::string& reason = cp.status().reason();
      auto note = ParseSignedNote(AsChars(f.payload));
      auto body = note.ok() ? ParseCheckpointBody(note->text) : note.status();
      if ((reason == "checkpoint_size" || reason == "checkpoint_root") && body.ok()) {
        report_.problem->where = VerifyProblem::Where::kCovered;
        report_.problem->covered_by = body->size;
        report_.problem->message += " (the change is among records " +
                                    std::to_string(report_.checkpointed) + " to " +
                                    std::to_string(std::max(tree_.size(), body->size) - 1) +
                                    "; the previous checkpoint vouches for those before)";
        covered_decided_ = true;
      }
      return false;
    }
    ++report_.checkpoints;
    report_.checkpointed = cp->size;
    report_.latest = *cp;
    report_.latest_note = std::string(AsChars(f.payload));
    return true;
  }

  Status FramingProblem(const FrameProblem& fp) {
    // No valid frame after the bad one: an append that never completed (a crash, or a write
    // that failed part-way). That is what recovery truncates, not evidence of tampering.
    auto next = r_.FindNextFrame(fp.offset + 1);
    if (next.ok() && !next->has_value()) {
      report_.torn = TornTail{fp.offset, r_.size() - fp.offset, fp.message};
      Finish();
      return OkStatus();
    }
    VerifyProblem p;
    p.offset = fp.offset;
    p.checkpoint = fp.kind == static_cast<std::uint8_t>(FrameKind::kCheckpoint);
    if (!p.checkpoint) p.record_index = tree_.size();
    p.reason = fp.reason;
    p.message = fp.message;
    if (!next.ok()) {
      p.message += "; " + next.status().message();
    } else {
      p.message += "; valid frames follow at offset " + std::to_string(**next) +
                   ", so this is not a torn write";
    }
    report_.problem = std::move(p);
    return Classify(next.ok() ? **next : r_.size());
  }

  // Decides whether the first problem lies inside what a later, validly signed checkpoint
  // vouches for, by reading on from `resume` with only the keys known so far (plus rotations
  // they sign). Without the tree the later roots cannot be checked, but a genuine signature
  // over a larger size proves the damaged records were once signed for.
  Status Classify(std::uint64_t resume) {
    Finish();
    VerifyProblem& p = *report_.problem;
    if (covered_decided_) return OkStatus();
    p.where = VerifyProblem::Where::kTail;
    std::vector<crypto::Ed25519PublicKey> known;
    std::string origin = report_.origin;
    if (chain_) {
      for (const KeyEpoch& e : chain_->epochs()) known.push_back(e.key);
    } else if (pinned_) {
      known.push_back(*pinned_);
      origin = OriginForKey(*pinned_);
    }
    if (known.empty()) return OkStatus();
    const std::uint64_t damaged = tree_.size();
    r_.Seek(resume);
    for (;;) {
      ELASTOS_ASSIGN_OR_RETURN(FrameReader::NextResult next, r_.Next());
      if (next.problem) {
        auto y = r_.FindNextFrame(next.problem->offset + 1);
        if (!y.ok() || !y->has_value()) return OkStatus();
        r_.Seek(**y);
        continue;
      }
      if (!next.frame) return OkStatus();
      const std::string_view text = AsChars(next.frame->payload);
      if (next.frame->kind == FrameKind::kLeaf) {
        auto record = AuditRecord::Parse(text);
        if (!record.ok() || record->type != kTypeKeyRotation) continue;
        auto rot = ParseRotationRecord(*record);
        if (rot.ok() && Contains(known, rot->old_key) &&
            crypto::VerifyWithDomain(
                rot->old_key, kRotationDomain,
                AsBytes(RotationMessage(origin, rot->tree_size, rot->root, rot->new_key)),
                rot->signature)) {
          known.push_back(rot->new_key);
        }
        continue;
      }
      auto note = ParseSignedNote(text);
      if (!note.ok()) continue;
      auto cp = ParseCheckpointBody(note->text);
      if (!cp.ok() || cp->origin != origin || cp->size <= damaged) continue;
      for (const auto& key : known) {
        if (VerifyNote(*note, origin, key).ok()) {
          p.where = VerifyProblem::Where::kCovered;
          p.covered_by = cp->size;
          return OkStatus();
        }
      }
    }
  }

  void Finish() {
    report_.records = tree_.size();
    report_.uncovered_tail = report_.records - report_.checkpointed;
    if (chain_) report_.keys = chain_->epochs();
    if (report_.problem || !pinned_) return;
    const std::optional<KeyEpoch> epoch = chain_ ? chain_->Find(*pinned_) : std::nullopt;
    if (!chain_) return;  // an empty log: nothing is signed, nothing to contradict the pin
    if (!epoch) {
      VerifyProblem p;
      p.where = VerifyProblem::Where::kKey;
      p.offset = kFileHeaderSize;
      p.record_index = 0;
      p.reason = "audit_key_mismatch";
      p.message = "the log was started by " + Did(chain_->epochs().front().key) +
                  " and its signing chain never hands on to the pinned key " + Did(*pinned_);
      report_.problem = std::move(p);
    } else if (epoch->from_size > 0 && report_.checkpointed < epoch->from_size) {
      VerifyProblem p;
      p.where = VerifyProblem::Where::kTail;
      p.offset = r_.size();
      p.reason = "pinned_key_unused";
      p.message = "the pinned key takes over at record " + std::to_string(epoch->from_size - 1) +
                  " but no checkpoint it signed is in the log";
      report_.problem = std::move(p);
    }
  }

  FrameReader& r_;
  std::optional<crypto::Ed25519PublicKey> pinned_;
  VerifyReport& report_;
  CompactRange tree_;
  std::optional<KeyChain> chain_;
  bool covered_decided_ = false;
};

}  // namespace

std::string VerifyProblem::ToString() const {
  std::string out;
  if (checkpoint) {
    out = "checkpoint at offset " + std::to_string(offset);
  } else if (record_index) {
    out = "record " + std::to_string(*record_index) + " at offset " + std::to_string(offset);
  } else {
    out = "offset " + std::to_string(offset);
  }
  out += ": " + message;
  switch (where) {
    case Where::kHeader:
      out += " [file header]";
      break;
    case Where::kCovered:
      out += " [inside the checkpointed part" +
             (covered_by ? " (a checkpoint signed for " + std::to_string(*covered_by) +
                               " records covers it)"
                         : "") +
             ": signed history was altered]";
      break;
    case Where::kTail:
      out += " [in the uncovered tail: no valid checkpoint covers it]";
      break;
    case Where::kKey:
      out += " [wrong log or wrong key: nothing in it is vouched for by the pinned key]";
      break;
  }
  return out;
}

Result<VerifyReport> VerifyLog(Env& env, const fs::path& dir,
                               std::optional<crypto::Ed25519PublicKey> pinned_key) {
  const fs::path path = dir / kLogFileName;
  ELASTOS_ASSIGN_OR_RETURN(auto file, OpenLogFile(env, path));
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t size, file->Size());
  VerifyReport report;
  report.file_bytes = size;
  report.pinned = pinned_key.has_value();
  FrameReader reader(*file, size);
  ELASTOS_ASSIGN_OR_RETURN(FrameReader::HeaderResult header, reader.ReadHeader());
  if (header.problem) {
    if (header.problem->reason == "header_truncated") {
      report.torn = TornTail{0, size, header.problem->message};
      return report;
    }
    VerifyProblem p;
    p.where = VerifyProblem::Where::kHeader;
    p.reason = header.problem->reason;
    p.message = header.problem->message;
    report.problem = std::move(p);
    return report;
  }
  Verifier verifier(reader, pinned_key, report);
  ELASTOS_RETURN_IF_ERROR(verifier.Run());
  return report;
}

Result<RecordProof> ProveRecord(Env& env, const fs::path& log_file, std::uint64_t leaf_index,
                                const Checkpoint& checkpoint, std::string checkpoint_note) {
  if (leaf_index >= checkpoint.size) {
    return FailedPrecondition("audit_not_checkpointed",
                              "record " + std::to_string(leaf_index) +
                                  " is not covered by the checkpoint (it covers " +
                                  std::to_string(checkpoint.size) + " records)");
  }
  ELASTOS_ASSIGN_OR_RETURN(auto file, OpenLogFile(env, log_file));
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t size, file->Size());
  FrameReader reader(*file, size);
  ELASTOS_ASSIGN_OR_RETURN(FrameReader::HeaderResult header, reader.ReadHeader());
  if (header.problem) {
    return FailedPrecondition("audit_log_corrupt", "audit.log: " + header.problem->message);
  }
  RecordProof out;
  ProofBuilder builder(InclusionRanges(leaf_index, checkpoint.size));
  std::uint64_t index = 0;
  while (index < checkpoint.size) {
    ELASTOS_ASSIGN_OR_RETURN(FrameReader::NextResult next, reader.Next());
    if (next.problem) {
      return FailedPrecondition("audit_log_corrupt", "audit.log offset " +
                                                         std::to_string(next.problem->offset) +
                                                         ": " + next.problem->message);
    }
    if (!next.frame) break;
    if (next.frame->kind != FrameKind::kLeaf) continue;
    if (index == leaf_index) out.record = std::string(AsChars(next.frame->payload));
    builder.Add(index, LeafHash(next.frame->payload));
    ++index;
  }
  if (index < checkpoint.size || !builder.done()) {
    return FailedPrecondition("audit_log_corrupt", "audit.log holds " + std::to_string(index) +
                                                       " records, fewer than its checkpoint's " +
                                                       std::to_string(checkpoint.size));
  }
  out.proof = InclusionProof{leaf_index, checkpoint.size, builder.Take()};
  out.checkpoint = checkpoint;
  out.checkpoint_note = std::move(checkpoint_note);
  if (!VerifyInclusion(LeafHash(AsBytes(out.record)), out.proof, checkpoint.root)) {
    return FailedPrecondition("audit_log_corrupt",
                              "the records in audit.log do not match the checkpoint's root");
  }
  return out;
}

Status CheckRecordProof(const RecordProof& proof, const crypto::Ed25519PublicKey& signer) {
  auto note = ParseSignedNote(proof.checkpoint_note);
  if (!note.ok()) return note.status();
  ELASTOS_RETURN_IF_ERROR(VerifyNote(*note, proof.checkpoint.origin, signer));
  auto body = ParseCheckpointBody(note->text);
  if (!body.ok()) return body.status();
  if (!(*body == proof.checkpoint) || proof.proof.tree_size != body->size) {
    return Unauthenticated("proof_checkpoint_mismatch",
                           "the proof is not for the signed checkpoint");
  }
  if (!VerifyInclusion(LeafHash(AsBytes(proof.record)), proof.proof, body->root)) {
    return Unauthenticated("proof_invalid",
                           "the inclusion proof does not lead to the checkpoint's root");
  }
  return OkStatus();
}

Result<TailResult> ReadTail(Env& env, const fs::path& dir, std::uint64_t count) {
  ELASTOS_ASSIGN_OR_RETURN(auto file, OpenLogFile(env, dir / kLogFileName));
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t size, file->Size());
  FrameReader reader(*file, size);
  ELASTOS_ASSIGN_OR_RETURN(FrameReader::HeaderResult header, reader.ReadHeader());
  TailResult out;
  if (header.problem) {
    out.stopped_at = header.problem;
    return out;
  }
  std::deque<StoredRecord> last;
  for (;;) {
    ELASTOS_ASSIGN_OR_RETURN(FrameReader::NextResult next, reader.Next());
    if (next.problem) {
      out.stopped_at = next.problem;
      break;
    }
    if (!next.frame) break;
    if (next.frame->kind != FrameKind::kLeaf) continue;
    if (count > 0) {
      if (last.size() == count) last.pop_front();
      last.push_back({out.total, next.frame->offset, std::string(AsChars(next.frame->payload))});
    }
    ++out.total;
  }
  out.records.assign(std::make_move_iterator(last.begin()), std::make_move_iterator(last.end()));
  return out;
}

}  // namespace elastos::audit
