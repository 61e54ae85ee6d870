// Offline checks of an audit log directory: full verification, inclusion proofs, and reading
// records back. None of this needs the private key or a running runtime, and all of it is
// safe to run while a runtime appends to the log (a half-written final batch shows as a torn
// tail).
//
// What verification establishes. With the audit public key pinned, a log that verifies has,
// for every checkpoint, exactly the records the key holder signed for, in order. Records after
// the latest checkpoint (the uncovered tail) are framed and well-formed but nothing signed
// vouches for them: a crash may legitimately lose them. What no single file can show: that it
// was not cut back to an earlier checkpoint. Keep the latest checkpoint somewhere else (a
// witness) to detect that. Unpinned, the key is taken from the log's own first record, which
// anyone able to rewrite the whole file can replace; pin it for a real guarantee.
//
// Thread-safety: free functions, safe to call concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "crypto/ed25519.h"
#include "runtime/audit/log_format.h"
#include "runtime/audit/merkle.h"
#include "runtime/audit/note.h"
#include "runtime/audit/signing_chain.h"

namespace elastos::audit {

// The first thing wrong with a log.
struct VerifyProblem {
  enum class Where {
    kHeader,   // the file header: nothing can be trusted
    kCovered,  // inside what a validly signed checkpoint vouches for: history was altered
    kTail,     // after the latest valid checkpoint: damage no signature contradicts
    kKey,      // the log is not signed by the pinned key at all
  };
  Where where = Where::kCovered;
  std::uint64_t offset = 0;  // byte offset of the bad frame
  std::optional<std::uint64_t>
      record_index;         // the bad record's leaf index, when one record is to blame
  bool checkpoint = false;  // the bad frame is a checkpoint
  std::string reason;       // stable word: frame_crc, record_invalid, checkpoint_root, …
  std::string message;
  std::optional<std::uint64_t>
      covered_by;  // size of the signed checkpoint that vouches for the damaged part
  std::string ToString() const;
};

// A torn final write: what a crash during an append leaves, and what AuditLog::Open truncates.
struct TornTail {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::string reason;
};

struct VerifyReport {
  std::uint64_t file_bytes = 0;
  std::string origin;
  std::vector<KeyEpoch> keys;  // the signing chain, genesis first
  bool pinned = false;
  std::uint64_t records = 0;         // intact records (before the first problem, if any)
  std::uint64_t checkpoints = 0;     // valid checkpoints
  std::uint64_t checkpointed = 0;    // records covered by the latest valid checkpoint
  std::uint64_t uncovered_tail = 0;  // records - checkpointed
  std::optional<Checkpoint> latest;  // the latest valid checkpoint
  std::string latest_note;           // and its signed note
  std::optional<TornTail> torn;
  std::optional<VerifyProblem> problem;
  bool ok() const { return !problem.has_value(); }
};

// Checks DIR/audit.log: the header; every frame's framing and CRC; every record (canonical
// JSON, schema version, log_init first, rotations signed by the key they hand over from and
// bound to the tree before them); every checkpoint (origin, signature by the key in force at
// its size, size and root against the tree recomputed from the records). With `pinned_key`, that
// key must be in the log's signing chain and the latest checkpoint must be signed by it or a
// key it handed on to. Damage is reported, not returned as an error: the Status is an error
// only when the log cannot be read (not_found, I/O) or is of a newer format.
Result<VerifyReport> VerifyLog(Env& env, const std::filesystem::path& dir,
                               std::optional<crypto::Ed25519PublicKey> pinned_key);

// A record with the proof that it is in a checkpointed tree.
struct RecordProof {
  std::string record;  // the record's canonical JSON (the leaf)
  InclusionProof proof;
  Checkpoint checkpoint;
  std::string checkpoint_note;
};

// Builds the inclusion proof of leaf `leaf_index` in the tree `checkpoint` describes, reading
// `log_file`, and verifies it against the checkpoint's root before returning it. The caller
// vouches for the checkpoint (from VerifyLog, or the log that wrote it).
Result<RecordProof> ProveRecord(Env& env, const std::filesystem::path& log_file,
                                std::uint64_t leaf_index, const Checkpoint& checkpoint,
                                std::string checkpoint_note);

// Checks a RecordProof on its own: the checkpoint note is signed by `signer` and says what
// `proof.checkpoint` says, and the record's leaf hash is included under its root.
[[nodiscard]] Status CheckRecordProof(const RecordProof& proof,
                                      const crypto::Ed25519PublicKey& signer);

struct StoredRecord {
  std::uint64_t index = 0;   // leaf index
  std::uint64_t offset = 0;  // of its frame
  std::string json;          // canonical JSON as stored
};

struct TailResult {
  std::uint64_t total = 0;                 // records read
  std::vector<StoredRecord> records;       // the last ones, oldest first
  std::optional<FrameProblem> stopped_at;  // reading stopped at this damaged frame, if any
};

// The last `count` records of DIR/audit.log (framing and CRCs checked; nothing else).
Result<TailResult> ReadTail(Env& env, const std::filesystem::path& dir, std::uint64_t count);

}  // namespace elastos::audit
