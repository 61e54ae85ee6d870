#include "runtime/audit/audit_log.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <climits>
#include <tuple>

#include "identity/did_key.h"
#include "runtime/audit/log_format.h"

namespace elastos::audit {
namespace {
namespace fs = std::filesystem;

std::string Did(const crypto::Ed25519PublicKey& key) { return identity::DidKeyEncode(key); }

Status Corrupt(const fs::path& path, std::uint64_t offset, const std::string& message) {
  return FailedPrecondition("audit_log_corrupt", path.string() + " offset " +
                                                     std::to_string(offset) + ": " + message +
                                                     " (inspect it with 'elastos audit verify')");
}

// Canonical JSON spells a record's type exactly so, and an escaped string value never contains
// this byte sequence: a cheap way to find the rare records recovery must parse.
constexpr std::string_view kRotationMarker = "\"type\":\"key_rotation\"";

// The top-level time of a stored record, without a full parse. In canonical JSON the top-level
// "time_seq" and "time_unix" keys come after "details" (keys are sorted) and only "type" and "v"
// follow them, so the last occurrence of each key is the top-level one.
std::pair<std::int64_t, std::uint64_t> PeekTime(std::string_view json) {
  auto number = [&](std::string_view key) -> std::uint64_t {
    const std::size_t at = json.rfind(key);
    std::uint64_t value = 0;
    if (at != std::string_view::npos) {
      const char* begin = json.data() + at + key.size();
      std::from_chars(begin, json.data() + json.size(), value);
    }
    return value;
  };
  return {static_cast<std::int64_t>(number("\"time_unix\":")), number("\"time_seq\":")};
}

// Returns when woken, at once if *word != expected, or spuriously (a signal, or a wake-up meant
// for an earlier user of the address): callers re-check their condition.
void FutexWait(std::atomic<std::uint32_t>& word, std::uint32_t expected) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
            nullptr, nullptr, 0);
}

// Names an address without touching the memory, so it may be called after the word's owner has
// gone (every waiter re-checks its condition, so a stray wake-up is harmless).
void FutexWake(std::atomic<std::uint32_t>* word, int count) {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr,
            nullptr, 0);
}

}  // namespace

// An appender waiting for its record to become durable, on its own stack.
//
// Waking sleeping threads is the main CPU cost of group commit, which wakes every appender of
// every batch, and on virtual machines every system call and wake-up is expensive (a FUTEX_WAKE
// costs 15-20 us of CPU on the build machines, a condition-variable round trip between two CPUs
// ~100 us). So appenders sleep on futex words rather than on a mutex and condition variable
// (which wakes a thread that then blocks on the mutex and needs a second wake-up), and two kinds
// of wake-up are kept apart:
//
//  - Completion wakes a whole batch, so the appenders of a batch sleep on one shared word, and
//    the leader wakes them all with one FUTEX_WAKE rather than one per appender. The word is
//    batch_words_[b % kBatchWords], where b is the batch the appender expects to join: the
//    count of batches taken when it queued (under mu_). The batch being written and those
//    gathering behind it then sleep on different words and are not woken with it. The guess
//    is only an optimisation: a record that misses its batch (max_batch_bytes) keeps its word,
//    and a signaller always wakes the word the waiter sleeps on, not "the batch's word".
//  - Leadership is handed to one appender, the oldest one waiting, and that wake-up is on the
//    critical path (nothing is written until the new leader runs), so it must wake that thread
//    alone. The oldest waiter is known when it queues: it is the one that finds no other
//    waiter queued. It sleeps on its own `state`, as a private futex word. (So at most one
//    waiter queued at a time sleeps alone. When a batch stops at max_batch_bytes, the oldest
//    waiter left sleeps on a shared word, and handing over to it wakes that word's sleepers
//    too: slower, not wrong, as they re-check their state and sleep again.)
//
// Shared word protocol (the futex value check is what rules out lost wake-ups):
//   signaller: w.status, w.index = ...; w.state.store(kDone or kLead, release);
//              word.fetch_add(1, release); FUTEX_WAKE(word, all)
//   waiter:    seen = word.load(acquire); if (w.state.load(acquire) != kWaiting) return;
//              FUTEX_WAIT(word, seen); repeat
// If the waiter's load of the word returns the signaller's increment (or a later one: later
// increments are read-modify-writes, so they continue its release sequence), it synchronises
// with the signaller and sees the new state. If it sees kWaiting, `seen` predates the
// increment, and FUTEX_WAIT either finds the word changed and returns at once, or queues the
// waiter before the increment, so that the FUTEX_WAKE after it wakes the waiter. (Only 2^32
// increments of one word between the waiter's load and its FUTEX_WAIT could fool the check.)
//
// Private word protocol, the same with `state` as the word:
//   signaller: w.state.store(kDone or kLead, release); FUTEX_WAKE(&w.state, 1)
//   waiter:    while (w.state.load(acquire) == kWaiting) FUTEX_WAIT(&w.state, kWaiting)
//
// Once its state changes, a waiter may return and its stack frame be gone: a signaller reads
// w.batch_word before storing the state and afterwards touches only the shared words (owned by
// the log) and the private word's address (FutexWake does not touch memory).
struct AuditLog::Waiter {
  enum State : std::uint32_t {
    kWaiting,  // queued, or in a batch being written
    kLead,     // the previous leader handed leadership to this waiter
    kDone,     // status and index are final
  };
  std::atomic<std::uint32_t> state{kWaiting};
  // Where it sleeps: one of batch_words_, or null for its own `state`. Set under mu_ when it
  // queues, then fixed.
  std::atomic<std::uint32_t>* batch_word = nullptr;
  Status status;  // written before state becomes kDone
  std::uint64_t index = 0;
};
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "futex needs a plain 32-bit word");

// The words of waiters just signalled, to wake once mu_ is released. A batch's waiters share at
// most kBatchWords words, and at most one sleeps on a private word (the oldest when it queued),
// so a batch fits; a longer list (failing a backlog) wakes what it holds each time it fills.
class AuditLog::WakeList {
 public:
  WakeList() = default;
  WakeList(const WakeList&) = delete;
  WakeList& operator=(const WakeList&) = delete;
  ~WakeList() { WakeAll(); }

  void Add(Waiter& w) {
    // Called before w's state changes, while w is alive.
    const Entry entry{w.batch_word != nullptr ? w.batch_word : &w.state, w.batch_word != nullptr};
    if (std::find(entries_.begin(), entries_.begin() + size_, entry) != entries_.begin() + size_) {
      return;
    }
    if (size_ == entries_.size()) WakeAll();
    entries_[size_++] = entry;
  }
  void WakeAll() {
    for (std::size_t i = 0; i < size_; ++i) {
      if (entries_[i].shared) {
        entries_[i].word->fetch_add(1, std::memory_order_release);
        FutexWake(entries_[i].word, INT_MAX);
      } else {
        FutexWake(entries_[i].word, 1);
      }
    }
    size_ = 0;
  }

 private:
  struct Entry {
    std::atomic<std::uint32_t>* word = nullptr;
    bool shared = false;
    bool operator==(const Entry&) const = default;
  };
  std::array<Entry, kBatchWords + 2> entries_{};
  std::size_t size_ = 0;
};

struct AuditLog::Pending {
  enum class Kind : std::uint8_t { kLeaf, kBarrier, kCheckpoint, kRotate };
  Kind kind = Kind::kLeaf;
  Bytes frame;  // kLeaf: the whole encoded frame
  Hash leaf_hash{};
  Waiter* waiter = nullptr;  // null for AppendAsync and the flusher's own requests
  Status refused;            // set by the leader for a request it turned down (not a write failure)
  std::shared_ptr<const crypto::Ed25519PrivateKey> new_key;  // kRotate
  std::uint64_t index = 0;                                   // set by the leader
};

struct AuditLog::BatchResult {
  std::optional<audit::Checkpoint> checkpoint;
  std::string note;
  std::uint64_t checkpoint_nanos = 0;
  bool key_changed = false;
  bool synced = false;
};

std::string OpenReport::ToString() const {
  std::string out = std::string(created ? "created" : "opened") +
                    " audit log: " + std::to_string(records) + " records, " +
                    std::to_string(checkpointed) + " checkpointed";
  if (truncated_bytes > 0) {
    out += "; truncated a torn final write of " + std::to_string(truncated_bytes) +
           " bytes at offset " + std::to_string(truncated_at) + " (" + truncated_reason + ")";
  }
  return out;
}

AuditLog::AuditLog(Env& env, fs::path dir, const AuditLogOptions& options,
                   const crypto::Ed25519PrivateKey& key)
    : env_(env),
      dir_(std::move(dir)),
      path_(dir_ / kLogFileName),
      options_(options),
      published_key_(key.public_key()),
      key_(std::make_unique<crypto::Ed25519PrivateKey>(key)) {}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(Env& env, const fs::path& dir,
                                                 const crypto::Ed25519PrivateKey& key,
                                                 const AuditLogOptions& options,
                                                 OpenReport* report) {
  OpenReport local;
  OpenReport& rep = report != nullptr ? *report : local;
  rep = OpenReport();
  ELASTOS_RETURN_IF_ERROR(env.CreateDirectories(dir, 0700));
  std::unique_ptr<AuditLog> log(new AuditLog(env, dir, options, key));
  ELASTOS_RETURN_IF_ERROR(log->Recover(rep));
  log->open_ok_ = true;
  if (options.background_flusher) {
    log->flusher_ = std::thread([p = log.get()] { p->FlusherLoop(); });
  }
  return log;
}

Status AuditLog::Recover(OpenReport& report) {
  bool write_header = !env_.Exists(path_);
  report.created = write_header;
  std::optional<Genesis> genesis;
  std::pair<std::int64_t, std::uint64_t> last_time{0, 0};
  if (!write_header) {
    ELASTOS_ASSIGN_OR_RETURN(auto file, env_.OpenReadable(path_));
    ELASTOS_ASSIGN_OR_RETURN(std::uint64_t size, file->Size());
    FrameReader reader(*file, size);
    ELASTOS_ASSIGN_OR_RETURN(FrameReader::HeaderResult header, reader.ReadHeader());
    std::uint64_t keep = size;
    std::optional<FrameProblem> torn;
    std::uint64_t latest_checkpoint_offset = 0;
    if (header.problem) {
      if (header.problem->reason != "header_truncated") {
        return Corrupt(path_, 0, header.problem->message);
      }
      torn = header.problem;
      keep = 0;
      write_header = true;
    }
    while (!torn) {
      ELASTOS_ASSIGN_OR_RETURN(FrameReader::NextResult next, reader.Next());
      if (next.problem) {
        // Only a final frame may be bad: that is a write the crash interrupted. Damage followed
        // by good data is corruption, and silently cutting it off would destroy history.
        ELASTOS_ASSIGN_OR_RETURN(std::optional<std::uint64_t> after,
                                 reader.FindNextFrame(next.problem->offset + 1));
        if (after) {
          return Corrupt(path_, next.problem->offset,
                         next.problem->message + ", and valid frames follow at offset " +
                             std::to_string(*after));
        }
        torn = next.problem;
        keep = next.problem->offset;
        break;
      }
      if (!next.frame) break;
      const Frame& f = *next.frame;
      const std::string_view text = AsChars(f.payload);
      if (f.kind == FrameKind::kCheckpoint) {
        if (!chain_) return Corrupt(path_, f.offset, "a checkpoint before the log_init record");
        // Size and root now; the signature only of the latest checkpoint, after the scan.
        auto cp = CheckCheckpoint(text, origin_, tree_.size(), tree_.Root(), *chain_,
                                  SignatureCheck::kSkip);
        if (!cp.ok()) return Corrupt(path_, f.offset, cp.status().message());
        published_checkpoint_ = *cp;
        published_note_ = std::string(text);
        checkpoint_size_ = cp->size;
        latest_checkpoint_offset = f.offset;
        continue;
      }
      const std::uint64_t index = tree_.size();
      if (index == 0) {
        auto record = AuditRecord::Parse(text);
        if (!record.ok()) return Corrupt(path_, f.offset, record.status().message());
        auto g = ParseInitRecord(*record);
        if (!g.ok()) return Corrupt(path_, f.offset, g.status().message());
        genesis = *g;
        origin_ = g->origin;
        chain_.emplace(g->key);
      } else if (text.find(kRotationMarker) != std::string_view::npos) {
        auto record = AuditRecord::Parse(text);
        if (!record.ok()) return Corrupt(path_, f.offset, record.status().message());
        auto rotation = ParseRotationRecord(*record);
        if (!rotation.ok()) return Corrupt(path_, f.offset, rotation.status().message());
        if (Status s = CheckRotation(*rotation, origin_, index, tree_.Root(), chain_->current());
            !s.ok()) {
          return Corrupt(path_, f.offset, s.message());
        }
        chain_->Rotate(rotation->new_key, index);
      }
      tree_.Append(LeafHash(f.payload));
      // The stamp clock restarts from the latest time any record carries, so it never goes back.
      last_time = std::max(last_time, PeekTime(text));
    }
    if (published_checkpoint_) {
      const Checkpoint& cp = *published_checkpoint_;
      auto signed_cp = CheckCheckpoint(published_note_, origin_, cp.size, cp.root, *chain_);
      if (!signed_cp.ok()) {
        return Corrupt(path_, latest_checkpoint_offset, signed_cp.status().message());
      }
    }
    if (torn) {
      report.truncated_at = keep;
      report.truncated_bytes = size - keep;
      report.truncated_reason = torn->message;
      ELASTOS_RETURN_IF_ERROR(env_.Truncate(path_, keep));
    }
    std::tie(last_unix_, last_seq_) = last_time;
    file_size_ = keep;
  }

  ELASTOS_ASSIGN_OR_RETURN(file_, env_.OpenAppendable(path_, 0600));
  Bytes init;
  if (write_header) {
    const auto header = EncodeFileHeader();
    init.assign(header.begin(), header.end());
  }
  if (tree_.size() == 0) {
    // A new log (or one whose first record never made it to disk): start it with our key.
    AuditRecord record = MakeInitRecord(key_->public_key(), 0);
    Stamp(record);
    ELASTOS_ASSIGN_OR_RETURN(std::string json, record.ToCanonicalJson());
    AppendFrame(init, FrameKind::kLeaf, AsBytes(json));
    tree_.Append(LeafHash(AsBytes(json)));
    origin_ = OriginForKey(key_->public_key());
    chain_.emplace(key_->public_key());
  } else if (chain_->current() != key_->public_key()) {
    return FailedPrecondition("audit_key_mismatch",
                              path_.string() + " is signed by " + Did(chain_->current()) +
                                  " but the audit key given is " + Did(key_->public_key()));
  }
  if (!init.empty()) {
    ELASTOS_RETURN_IF_ERROR(file_->Append(init));
    ELASTOS_RETURN_IF_ERROR(file_->Sync());
    file_size_ += init.size();
    if (report.created) ELASTOS_RETURN_IF_ERROR(env_.SyncDirectory(dir_));
  }
  published_size_ = tree_.size();
  published_root_ = tree_.Root();
  published_key_ = chain_->current();
  last_checkpoint_nanos_ = published_checkpoint_nanos_ = env_.NowMonotonicNanos();
  report.records = tree_.size();
  report.checkpointed = checkpoint_size_;
  // Seal what recovery found (or the new log_init) under a checkpoint right away.
  if (tree_.size() != checkpoint_size_) {
    Pending p;
    p.kind = Pending::Kind::kCheckpoint;
    ELASTOS_RETURN_IF_ERROR(SubmitAndWait(std::move(p), false).status());
  }
  return OkStatus();
}

AuditLog::~AuditLog() { Close().IgnoreError(); }

void AuditLog::Stamp(AuditRecord& record) {
  std::lock_guard<std::mutex> lock(clock_mu_);
  if (record.time_unix != 0) {
    // A caller's own timestamp is kept, and a later one moves the clock on, so that a record
    // the log stamps is never earlier than any record before it.
    if (std::pair(record.time_unix, record.time_seq) > std::pair(last_unix_, last_seq_)) {
      last_unix_ = record.time_unix;
      last_seq_ = record.time_seq;
    }
    return;
  }
  const std::int64_t now = env_.NowUnixSeconds();
  if (now > last_unix_) {
    last_unix_ = now;
    last_seq_ = 0;
  } else {
    ++last_seq_;
  }
  record.time_unix = last_unix_;
  record.time_seq = last_seq_;
}

Result<AuditLog::Pending> AuditLog::Prepare(AuditRecord record) {
  if (record.type == kTypeLogInit || record.type == kTypeKeyRotation) {
    return InvalidArgument("audit_reserved_type",
                           "audit record type '" + record.type + "' is written by the log itself");
  }
  ELASTOS_RETURN_IF_ERROR(record.Validate());
  Stamp(record);
  ELASTOS_ASSIGN_OR_RETURN(std::string json, record.ToCanonicalJson());
  Pending p;
  p.frame.reserve(kFrameHeaderSize + json.size());
  AppendFrame(p.frame, FrameKind::kLeaf, AsBytes(json));
  p.leaf_hash = LeafHash(AsBytes(json));
  return p;
}

Status AuditLog::WritableLocked(bool closing_ok) const {
  if (!failed_.ok()) {
    return FailedPrecondition(
        "audit_log_failed",
        "the audit log refuses writes until it is reopened, after: " + failed_.ToString());
  }
  if (closed_ || (closing_ && !closing_ok)) {
    return FailedPrecondition("audit_log_closed", "the audit log is closed");
  }
  return OkStatus();
}

Result<std::uint64_t> AuditLog::Append(const AuditRecord& record) {
  ELASTOS_ASSIGN_OR_RETURN(Pending p, Prepare(record));
  return SubmitAndWait(std::move(p), false);
}

Status AuditLog::AppendAsync(const AuditRecord& record) {
  ELASTOS_ASSIGN_OR_RETURN(Pending p, Prepare(record));
  std::unique_lock<std::mutex> lock(mu_);
  space_cv_.wait(lock, [this] {
    return queued_bytes_ < options_.max_queued_bytes || !WritableLocked(false).ok();
  });
  ELASTOS_RETURN_IF_ERROR(WritableLocked(false));
  queued_bytes_ += p.frame.size();
  queue_.push_back(std::move(p));
  if (!leader_active_) flusher_cv_.notify_one();
  return OkStatus();
}

Status AuditLog::Flush() {
  Pending p;
  p.kind = Pending::Kind::kBarrier;
  return SubmitAndWait(std::move(p), false).status();
}

Status AuditLog::WriteCheckpoint() {
  Pending p;
  p.kind = Pending::Kind::kCheckpoint;
  return SubmitAndWait(std::move(p), false).status();
}

Status AuditLog::RotateKey(const crypto::Ed25519PrivateKey& new_key) {
  Pending p;
  p.kind = Pending::Kind::kRotate;
  p.new_key = std::make_shared<const crypto::Ed25519PrivateKey>(new_key);
  return SubmitAndWait(std::move(p), false).status();
}

Result<std::uint64_t> AuditLog::SubmitAndWait(Pending p, bool closing_ok) {
  Waiter w;
  p.waiter = &w;
  std::unique_lock<std::mutex> lock(mu_);
  ELASTOS_RETURN_IF_ERROR(WritableLocked(closing_ok));
  // The oldest waiter is the next leader: it sleeps alone (see Waiter).
  if (!waiters_.empty()) w.batch_word = &batch_words_[batches_taken_ % kBatchWords];
  queued_bytes_ += p.frame.size();
  queue_.push_back(std::move(p));
  waiters_.push_back(&w);
  // Lead if nobody does; otherwise wait, unless the leader hands leadership to us. It keeps
  // leader_active_ set when it does, so that nobody else leads, takes our record or signals us
  // before we lead.
  bool lead = !leader_active_;
  for (;;) {
    if (lead) {
      Lead(lock, &w);
    } else {
      lock.unlock();
    }
    if (Await(w) == Waiter::kDone) break;
    // Handed leadership (again, if the batch we led did not reach our record: max_batch_bytes).
    w.state.store(Waiter::kWaiting, std::memory_order_relaxed);
    lock.lock();
    lead = true;
  }
  if (!w.status.ok()) return w.status;
  return w.index;
}

std::uint32_t AuditLog::Await(Waiter& w) {
  if (w.batch_word == nullptr) {
    for (;;) {
      const std::uint32_t s = w.state.load(std::memory_order_acquire);
      if (s != Waiter::kWaiting) return s;
      FutexWait(w.state, Waiter::kWaiting);
    }
  }
  std::atomic<std::uint32_t>& word = *w.batch_word;
  for (;;) {
    // The word first, then the state: see Waiter for why this order rules out lost wake-ups.
    const std::uint32_t seen = word.load(std::memory_order_acquire);
    const std::uint32_t s = w.state.load(std::memory_order_acquire);
    if (s != Waiter::kWaiting) return s;
    FutexWait(word, seen);
  }
}

void AuditLog::Signal(Waiter& w, std::uint32_t target, WakeList* wake) {
  // Before the store: once the state changes, the waiter may return and be gone.
  if (wake != nullptr) wake->Add(w);
  w.state.store(target, std::memory_order_release);
}

void AuditLog::Complete(Waiter& w, const Status& status, std::uint64_t index, WakeList* wake) {
  w.status = status;
  w.index = index;
  Signal(w, Waiter::kDone, wake);
}

std::vector<AuditLog::Pending> AuditLog::TakeBatchLocked() {
  std::vector<Pending> batch;
  std::size_t bytes = 0;
  while (!queue_.empty() &&
         (batch.empty() || bytes + queue_.front().frame.size() <= options_.max_batch_bytes)) {
    bytes += queue_.front().frame.size();
    // waiters_ lists queue_'s waiters in queue order, so the ones taken are at its front.
    if (queue_.front().waiter != nullptr) waiters_.pop_front();
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_bytes_ -= bytes;
  // Appenders queueing from now on wait for a later batch, so they sleep on another word.
  ++batches_taken_;
  space_cv_.notify_all();
  return batch;
}

void AuditLog::Lead(std::unique_lock<std::mutex>& lock, Waiter* self) {
  leader_active_ = true;
  std::vector<Pending> batch = TakeBatchLocked();
  lock.unlock();

  BatchResult result;
  const Status status = WriteBatch(batch, result);

  lock.lock();
  std::deque<Waiter*> refused;
  if (status.ok()) {
    if (result.synced) ++syncs_;
    published_size_ = tree_.size();
    published_root_ = tree_.Root();
    if (result.checkpoint) {
      published_checkpoint_ = std::move(result.checkpoint);
      published_note_ = std::move(result.note);
      published_checkpoint_nanos_ = result.checkpoint_nanos;
    }
    if (result.key_changed) published_key_ = key_->public_key();
  } else {
    if (failed_.ok()) failed_ = status;
    // Nothing queued behind a failed write may be written after it: fail it all now.
    refused.swap(waiters_);
    queue_.clear();
    queued_bytes_ = 0;
    space_cv_.notify_all();
  }
  // Hand leadership straight to the oldest durable appender still waiting (ourselves, if the
  // batch did not reach our record). leader_active_ stays set, so nobody else can lead, take
  // its record or signal it before it leads: it stays alive until then, and can be woken
  // after mu_ is released. (So leader_active_ is unset only while no appender waits.)
  WakeList next_leader;
  bool wake_flusher = false;
  if (!waiters_.empty()) {
    Waiter& next = *waiters_.front();
    Signal(next, Waiter::kLead, &next == self ? nullptr : &next_leader);
  } else {
    leader_active_ = false;
    wake_flusher = !queue_.empty();
  }
  const Status refusal = refused.empty() ? Status() : WritableLocked(true);
  lock.unlock();

  // Wake this batch's appenders (one FUTEX_WAKE per word), and only then the next leader.
  // Waking them usually costs this thread its CPU: the kernel runs the woken appenders first,
  // and most come straight back with another record. A leader woken after them takes those
  // records into its batch rather than leaving them for the batch after: with 64 appenders,
  // ~40-45 records per fdatasync instead of ~31 (half syncing while the other half queues).
  WakeList wake;
  for (Pending& p : batch) {
    if (p.waiter != nullptr) {
      // Our own waiter is not asleep: it needs no wake-up.
      Complete(*p.waiter, status.ok() ? p.refused : status, p.index,
               p.waiter == self ? nullptr : &wake);
    }
  }
  for (Waiter* w : refused) Complete(*w, refusal, 0, w == self ? nullptr : &wake);
  wake.WakeAll();
  next_leader.WakeAll();
  if (wake_flusher) flusher_cv_.notify_one();
}

void AuditLog::AppendCheckpointFrame(BatchResult& result) {
  audit::Checkpoint cp{origin_, tree_.size(), tree_.Root()};
  std::string note = MakeCheckpointNote(cp, *key_);
  AppendFrame(buffer_, FrameKind::kCheckpoint, AsBytes(note));
  checkpoint_size_ = cp.size;
  last_checkpoint_nanos_ = env_.NowMonotonicNanos();
  result.checkpoint = std::move(cp);
  result.note = std::move(note);
  result.checkpoint_nanos = last_checkpoint_nanos_;
}

Status AuditLog::WriteBatch(std::vector<Pending>& batch, BatchResult& result) {
  buffer_.clear();
  bool force_checkpoint = false;
  for (Pending& p : batch) {
    switch (p.kind) {
      case Pending::Kind::kLeaf:
        buffer_.insert(buffer_.end(), p.frame.begin(), p.frame.end());
        p.index = tree_.size();
        tree_.Append(p.leaf_hash);
        break;
      case Pending::Kind::kBarrier:
        break;
      case Pending::Kind::kCheckpoint:
        force_checkpoint = true;
        break;
      case Pending::Kind::kRotate: {
        // A key serves one stretch of the log: going back to an earlier key would make "the
        // key in force" ambiguous, and the same key would rotate to itself.
        if (chain_->Find(p.new_key->public_key())) {
          p.refused = InvalidArgument("audit_rotation_key_reused",
                                      "the audit log was already signed by " +
                                          Did(p.new_key->public_key()) + "; rotate to a new key");
          break;
        }
        // The old key first vouches for everything before the rotation, then signs the hand-over
        // bound to that exact tree; the new key's first checkpoint (below) covers the rotation.
        if (checkpoint_size_ != tree_.size()) AppendCheckpointFrame(result);
        const std::uint64_t n = tree_.size();
        // The stamp is outside what the old key signs (the tree and the new key), so it is
        // filled in after signing.
        AuditRecord record =
            MakeRotationRecord(origin_, n, tree_.Root(), *key_, p.new_key->public_key(), 0, 0);
        Stamp(record);
        auto json = record.ToCanonicalJson();
        if (!json.ok()) return json.status();
        AppendFrame(buffer_, FrameKind::kLeaf, AsBytes(*json));
        p.index = n;
        tree_.Append(LeafHash(AsBytes(*json)));
        chain_->Rotate(p.new_key->public_key(), n);
        *key_ = *p.new_key;
        result.key_changed = true;
        force_checkpoint = true;
        break;
      }
    }
  }
  const std::uint64_t uncovered = tree_.size() - checkpoint_size_;
  const bool due = force_checkpoint || uncovered >= options_.checkpoint_every ||
                   env_.NowMonotonicNanos() - last_checkpoint_nanos_ >=
                       static_cast<std::uint64_t>(
                           std::chrono::nanoseconds(options_.checkpoint_interval).count());
  if (uncovered > 0 && due) AppendCheckpointFrame(result);
  if (buffer_.empty()) return OkStatus();

  Status s = file_->Append(buffer_);
  if (s.ok()) s = file_->Sync();
  if (s.ok()) {
    file_size_ += buffer_.size();
    result.synced = true;
    return OkStatus();
  }
  // Cut the unsynced bytes off now, so records we are about to report as failed cannot
  // reappear when the log is reopened. If even that fails, Close() tries again.
  if (!env_.Truncate(path_, file_size_).ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    truncate_pending_ = true;
  }
  return s.WithContext("audit log " + path_.string());
}

void AuditLog::FlusherLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto interval = std::chrono::nanoseconds(options_.checkpoint_interval);
  while (!stop_flusher_) {
    if (!leader_active_ && !queue_.empty()) {
      Lead(lock, nullptr);
      lock.lock();
      continue;
    }
    auto wait = interval;
    const std::uint64_t covered = published_checkpoint_ ? published_checkpoint_->size : 0;
    if (!leader_active_ && failed_.ok() && !closing_ && published_size_ > covered) {
      const std::uint64_t since = env_.NowMonotonicNanos() - published_checkpoint_nanos_;
      if (since >= static_cast<std::uint64_t>(interval.count())) {
        Pending p;
        p.kind = Pending::Kind::kCheckpoint;
        queue_.push_back(std::move(p));
        Lead(lock, nullptr);
        lock.lock();
        continue;
      }
      wait = interval - std::chrono::nanoseconds(since);
    }
    flusher_cv_.wait_for(lock, wait,
                         [this] { return stop_flusher_ || (!leader_active_ && !queue_.empty()); });
  }
}

Status AuditLog::Close() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return close_status_;
    if (closing_) {
      // Another thread is closing: wait for it by waiting for the queue to drain.
      space_cv_.wait(lock, [this] { return closed_; });
      return close_status_;
    }
    closing_ = true;
    stop_flusher_ = true;
    flusher_cv_.notify_all();
    if (!open_ok_) {
      // Open failed: write nothing to a log we refused.
      if (file_) file_->Close().IgnoreError();
      closed_ = true;
      return close_status_;
    }
  }
  if (flusher_.joinable()) flusher_.join();
  Pending p;
  p.kind = Pending::Kind::kCheckpoint;
  Status status = SubmitAndWait(std::move(p), true).status();
  std::unique_lock<std::mutex> lock(mu_);
  if (!failed_.ok()) {
    status = WritableLocked(true);
    if (truncate_pending_ && env_.Truncate(path_, file_size_).ok()) truncate_pending_ = false;
  }
  if (Status s = file_->Close(); status.ok()) status = s;
  closed_ = true;
  close_status_ = status;
  space_cv_.notify_all();
  return status;
}

Result<RecordProof> AuditLog::Prove(std::uint64_t leaf_index) {
  std::optional<audit::Checkpoint> cp;
  std::string note;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cp = published_checkpoint_;
    note = published_note_;
  }
  if (!cp) {
    return FailedPrecondition("audit_not_checkpointed", "the audit log has no checkpoint yet");
  }
  return ProveRecord(env_, path_, leaf_index, *cp, std::move(note));
}

LogState AuditLog::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return LogState{published_size_, published_root_, published_checkpoint_,
                  published_note_, published_key_,  syncs_};
}

Status AuditLog::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

}  // namespace elastos::audit
