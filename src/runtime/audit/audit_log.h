// AuditLog: the runtime's tamper-evident, append-only audit trail (docs/formats/audit.md).
//
// Every record is a leaf of an RFC 6962 Merkle tree; every `checkpoint_every` records or
// `checkpoint_interval`, on WriteCheckpoint() and on Close(), the log appends a checkpoint (a
// C2SP signed note of origin, tree size and root) signed by the audit key. Changing, removing
// or reordering any record a checkpoint covers is then detectable offline (VerifyLog, verify.h)
// by anyone holding the audit public key.
//
// Durability: Append() returns only after its record is fdatasync'ed. Concurrent appenders are
// group-committed: the first waiting appender becomes the leader, writes every queued record
// with one write and one fdatasync, wakes the others and hands leadership to the oldest
// appender still waiting; while it syncs, the next batch gathers. AppendAsync() returns once
// the record is queued; the background flusher (or the next durable append, Flush() or
// Close()) makes it durable within about one fdatasync.
//
// Failure is sticky and closed: if a write or sync fails, that append and every later one
// fails (the runtime's state-changing operations must then refuse to proceed) until the log is
// reopened. The log tries to cut the unsynced bytes off the file at once, and again in Close(),
// so that records never reported durable do not reappear on reopen.
//
// Memory: the tree is kept as a compact range (at most 64 hashes); leaf hashes are not kept.
// Prove() re-reads the file up to the latest checkpoint (O(records) time, O(log records) memory).
//
// One process at a time may open a log directory; Env offers no file lock, so the caller (the
// runtime's single-instance guard) must ensure it.
//
// Thread-safety: all methods are safe to call concurrently. Close() must not race destruction.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "crypto/ed25519.h"
#include "runtime/audit/merkle.h"
#include "runtime/audit/note.h"
#include "runtime/audit/record.h"
#include "runtime/audit/signing_chain.h"
#include "runtime/audit/sink.h"
#include "runtime/audit/verify.h"

namespace elastos::audit {

struct AuditLogOptions {
  std::uint64_t checkpoint_every = 1000;  // records between checkpoints (at most)
  std::chrono::milliseconds checkpoint_interval{
      1000};                                // time between checkpoints while records arrive
  std::size_t max_batch_bytes = 4 << 20;    // one group-commit write
  std::size_t max_queued_bytes = 64 << 20;  // AppendAsync waits beyond this (back-pressure)
  // A thread that makes AppendAsync records durable and writes time-based checkpoints when no
  // appender is around to do it. Without it, both wait for the next Append, Flush or Close.
  bool background_flusher = true;
};

// What Open found and did.
struct OpenReport {
  bool created = false;
  std::uint64_t records = 0;       // leaves in the log after recovery
  std::uint64_t checkpointed = 0;  // leaves covered by the last checkpoint found in the file
  std::uint64_t truncated_at = 0;  // where a torn final frame began (when truncated_bytes > 0)
  std::uint64_t truncated_bytes = 0;
  std::string truncated_reason;  // what was wrong with it
  std::string ToString() const;  // one line for the runtime's log
};

// A snapshot of the durable state.
struct LogState {
  std::uint64_t size = 0;                       // durable records
  Hash root{};                                  // MTH of those records
  std::optional<audit::Checkpoint> checkpoint;  // the latest durable checkpoint
  std::string checkpoint_note;                  // and its signed note
  crypto::Ed25519PublicKey key;                 // the key signing new checkpoints
  std::uint64_t syncs = 0;  // fdatasyncs since Open: size / syncs is the group-commit batch size
};

class AuditLog final : public AuditSink {
 public:
  // Opens DIR/audit.log, creating DIR (0700) and the log (0600, with its log_init record) if
  // absent. Recovery scans every frame: a torn final frame is truncated (reported in *report),
  // any other damage fails with `audit_log_corrupt` naming the offset. Every checkpoint must
  // match the records before it; only the latest one's signature is verified (it vouches for
  // all of them), so reopening costs one signature check however long the log is. The log's current key
  // must be `key`'s public key (`audit_key_mismatch` otherwise). Records recovered after the
  // last checkpoint are sealed with a new checkpoint before Open returns.
  static Result<std::unique_ptr<AuditLog>> Open(Env& env, const std::filesystem::path& dir,
                                                const crypto::Ed25519PrivateKey& key,
                                                const AuditLogOptions& options = {},
                                                OpenReport* report = nullptr);

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog() override;  // Close()s if needed; a failure then is lost, so call Close() yourself

  // Appends `record` and returns its leaf index once it is durable. A record with time_unix 0
  // is stamped from the Env clock, never going backwards, with time_seq counting records within
  // the same second. Refuses the log's own record types (log_init, key_rotation).
  Result<std::uint64_t> Append(const AuditRecord& record) override;
  // Queues `record`; it is durable within about one fdatasync. Fails only if the record is
  // invalid or the log has failed or closed; a later write failure shows in health().
  [[nodiscard]] Status AppendAsync(const AuditRecord& record) override;
  // Returns once every record queued before the call is durable.
  [[nodiscard]] Status Flush();
  // Writes a checkpoint covering every record queued before the call (if the latest does not).
  [[nodiscard]] Status WriteCheckpoint();
  // Hands signing on to `new_key`: checkpoints the tree under the old key, appends a
  // key_rotation record signed by the old key over the tree size and root, and checkpoints it
  // under the new key. Persist the new private key before calling this.
  [[nodiscard]] Status RotateKey(const crypto::Ed25519PrivateKey& new_key);
  // Makes everything durable, writes a final checkpoint and closes the file. Later appends fail
  // with failed_precondition. Returns the sticky failure if the log had failed. Idempotent.
  [[nodiscard]] Status Close();

  // An inclusion proof of record `leaf_index` against the latest durable checkpoint, verified
  // before it is returned.
  Result<RecordProof> Prove(std::uint64_t leaf_index);

  LogState state() const;
  // OK, or the error that put the log into its failed state.
  Status health() const;
  const std::string& origin() const { return origin_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Waiter;
  struct Pending;
  struct BatchResult;
  class WakeList;
  // Futex words the appenders of a batch sleep on together (see Waiter): batches use them in
  // turn, so waking one batch does not disturb the next ones.
  static constexpr std::size_t kBatchWords = 4;

  AuditLog(Env& env, std::filesystem::path dir, const AuditLogOptions& options,
           const crypto::Ed25519PrivateKey& key);
  Status Recover(OpenReport& report);
  Result<Pending> Prepare(AuditRecord record);
  void Stamp(AuditRecord& record);
  // Queues `p` and waits until it is durable, leading batches when nobody else is.
  Result<std::uint64_t> SubmitAndWait(Pending p, bool closing_ok);
  Status WritableLocked(bool closing_ok) const;
  // Called with mu_ held when nobody else leads (leader_active_ unset, or kept set by the
  // leader that handed over to the caller): writes one batch as the leader, hands leadership
  // on, and returns with mu_ released. `self` is the calling appender's waiter (null for the
  // flusher): it needs no wake-up.
  void Lead(std::unique_lock<std::mutex>& lock, Waiter* self);
  // Takes the next batch off queue_ (mu_ held).
  std::vector<Pending> TakeBatchLocked();
  // Sleeps until `w` is signalled (see Waiter); returns kLead or kDone.
  static std::uint32_t Await(Waiter& w);
  // Sets w's state to `target`, after which w may be gone; `wake` wakes it later (null: w is
  // the calling thread's own waiter, which is not asleep).
  static void Signal(Waiter& w, std::uint32_t target, WakeList* wake);
  static void Complete(Waiter& w, const Status& status, std::uint64_t index, WakeList* wake);
  // The leader's work, without mu_: frames, tree, checkpoints, one write, one sync.
  Status WriteBatch(std::vector<Pending>& batch, BatchResult& result);
  void AppendCheckpointFrame(BatchResult& result);
  void FlusherLoop();

  Env& env_;
  const std::filesystem::path dir_;
  const std::filesystem::path path_;
  const AuditLogOptions options_;
  std::string origin_;  // set by Recover, then immutable

  // Time stamping.
  std::mutex clock_mu_;
  std::int64_t last_unix_ = 0;
  std::uint64_t last_seq_ = 0;

  // Queue and published state.
  mutable std::mutex mu_;
  std::deque<Pending> queue_;
  std::deque<Waiter*> waiters_;  // the waiters of queue_'s entries, in queue order
  std::size_t queued_bytes_ = 0;
  std::condition_variable space_cv_;  // AppendAsync back-pressure
  std::condition_variable flusher_cv_;
  // Someone leads, or leadership was handed to a waiting appender: unset only while no
  // durable appender waits (waiters_ is empty).
  bool leader_active_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool stop_flusher_ = false;
  bool open_ok_ = false;           // Open succeeded; until then Close writes nothing
  bool truncate_pending_ = false;  // a failed batch's bytes are still in the file
  Status failed_;
  Status close_status_;
  std::uint64_t published_size_ = 0;
  Hash published_root_{};
  std::optional<audit::Checkpoint> published_checkpoint_;
  std::string published_note_;
  std::uint64_t published_checkpoint_nanos_ = 0;
  std::uint64_t syncs_ = 0;
  crypto::Ed25519PublicKey published_key_;
  std::thread flusher_;
  std::uint64_t batches_taken_ = 0;  // an appender queueing now expects this batch
  std::array<std::atomic<std::uint32_t>, kBatchWords> batch_words_{};  // see Waiter

  // Leader-only state: touched only by the thread holding leadership (handed over under mu_).
  std::unique_ptr<WritableFile> file_;
  std::uint64_t file_size_ = 0;  // bytes known durable
  CompactRange tree_;
  std::unique_ptr<crypto::Ed25519PrivateKey> key_;
  std::optional<KeyChain> chain_;
  std::uint64_t checkpoint_size_ = 0;
  std::uint64_t last_checkpoint_nanos_ = 0;
  Bytes buffer_;
};

}  // namespace elastos::audit
