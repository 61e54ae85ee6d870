#include "runtime/store/capability_store.h"

#include <sqlite3.h>

#include <cstring>
#include <limits>
#include <utility>

#include "common/encoding.h"
#include "runtime/store/env_vfs.h"

namespace elastos::runtime {
namespace {

// PRAGMA application_id of an ElastOS state database ("ELOS"): tells our file apart from any
// other SQLite database before we read a single table.
constexpr std::int32_t kApplicationId = 0x454c4f53;
// A second opener waits this long for the owner to let go before failing with state_locked.
constexpr int kBusyTimeoutMs = 1000;
// Bounds on the strings we index, so one call cannot grow the database or the caches without
// limit. Reasons are truncated, never refused: a revocation must not fail because of its reason.
constexpr std::size_t kMaxFieldBytes = 4096;
constexpr std::size_t kMaxReasonBytes = 1024;
constexpr std::uint64_t kMaxInt64 =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// Schema v1. STRICT: SQLite enforces the column types. Ids are 16-byte BLOBs.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE meta(
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE tokens(
  id          BLOB PRIMARY KEY CHECK(length(id) = 16),
  holder      TEXT NOT NULL,
  session     TEXT NOT NULL,
  resource    TEXT NOT NULL,
  action      TEXT NOT NULL,
  epoch       INTEGER NOT NULL CHECK(epoch >= 0),
  max_uses    INTEGER CHECK(max_uses BETWEEN 0 AND 4294967295),
  expiry_unix INTEGER CHECK(expiry_unix >= 0),
  parent      BLOB CHECK(parent IS NULL OR length(parent) = 16),
  issued_unix INTEGER NOT NULL CHECK(issued_unix >= 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX tokens_by_holder ON tokens(holder);
CREATE INDEX tokens_by_session ON tokens(session);
CREATE TABLE revocations(
  id           BLOB PRIMARY KEY CHECK(length(id) = 16),
  revoked_unix INTEGER NOT NULL,
  reason       TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE uses(
  id    BLOB PRIMARY KEY CHECK(length(id) = 16),
  count INTEGER NOT NULL CHECK(count BETWEEN 0 AND 4294967295)
) STRICT, WITHOUT ROWID;
CREATE TABLE ended_sessions(
  session    TEXT PRIMARY KEY,
  ended_unix INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES ('epoch', 0);
)sql";

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  std::string message = "state database " + std::string(file ? file : "") + ": " +
                        std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc) {  // the steps our fault tests and real disks fail at
    case SQLITE_IOERR_WRITE:
      message += " (write failed)";
      break;
    case SQLITE_IOERR_FSYNC:
      message += " (fsync failed)";
      break;
    case SQLITE_IOERR_TRUNCATE:
      message += " (truncate failed)";
      break;
    case SQLITE_IOERR_READ:
      message += " (read failed)";
      break;
    default:
      break;
  }
  message += " (SQLite code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("state_locked", message + "; another process has the state database open");
    case SQLITE_NOTADB:
      return FailedPrecondition("state_not_sqlite",
                                message + "; the file is not a SQLite database or is corrupted");
    case SQLITE_CORRUPT:
      return FailedPrecondition("state_corrupt",
                                message + "; restore the state database from a backup");
    case SQLITE_FULL:
      return ResourceExhausted("io_error", message);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Unavailable("io_error", message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDenied("io_error", message);
    default:
      return Internal("sqlite_error", message);
  }
}

Status CorruptValue(std::string_view what) {
  return FailedPrecondition("state_corrupt",
                            "state database holds an invalid " + std::string(what));
}

// Cuts `s` to at most `n` bytes without splitting a UTF-8 sequence.
std::string_view TruncateUtf8(std::string_view s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// A prepared statement kept for the store's lifetime.
class Statement {
 public:
  Statement() = default;
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  [[nodiscard]] Status Prepare(sqlite3* db, std::string_view sql) {
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare \"" + std::string(sql) + "\"");
    return OkStatus();
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// One use of a cached statement: binds (borrowing the bound data, which must outlive the use),
// steps, and resets on destruction so the statement releases its locks and bindings.
class Use {
 public:
  Use(sqlite3* db, const Statement& s) : db_(db), stmt_(s.get()) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  Use& Bind(int i, const TokenId& id) {
    Check(sqlite3_bind_blob(stmt_, i, id.data(), static_cast<int>(id.size()), SQLITE_STATIC));
    return *this;
  }
  Use& Bind(int i, std::string_view text) {
    Check(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
    return *this;
  }
  Use& Bind(int i, std::int64_t v) {
    Check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Use& BindNull(int i) {
    Check(sqlite3_bind_null(stmt_, i));
    return *this;
  }

  // true: a row is ready; false: done. Errors include any bind failure.
  Result<bool> Step(std::string_view what) {
    if (bind_rc_ != SQLITE_OK) return SqliteError(db_, bind_rc_, what);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, what);
  }
  // Steps to completion, ignoring rows.
  [[nodiscard]] Status Run(std::string_view what) {
    for (;;) {
      ELASTOS_ASSIGN_OR_RETURN(bool row, Step(what));
      if (!row) return OkStatus();
    }
  }

  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string_view Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
  std::optional<TokenId> Id(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    if (p == nullptr || sqlite3_column_bytes(stmt_, col) != 16) return std::nullopt;
    TokenId id;
    std::memcpy(id.data(), p, id.size());
    return id;
  }

 private:
  void Check(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// Steps `u` to its end, collecting the token id in column 0 of every row.
Result<std::vector<TokenId>> CollectIds(Use& u, const char* what) {
  std::vector<TokenId> ids;
  for (;;) {
    ELASTOS_ASSIGN_OR_RETURN(bool row, u.Step(what));
    if (!row) return ids;
    const auto id = u.Id(0);
    if (!id) return CorruptValue("token id");
    ids.push_back(*id);
  }
}

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};

// Which of holder / session a filter names: index into the per-shape statements.
int FilterShape(const TokenFilter& f) { return (f.holder ? 1 : 0) | (f.session ? 2 : 0); }

std::string FilterSql(int shape, std::string_view table_alias) {
  std::string where = " WHERE 1";
  if (shape & 1) where += " AND " + std::string(table_alias) + "holder = $holder";
  if (shape & 2) where += " AND " + std::string(table_alias) + "session = $session";
  return where;
}

}  // namespace

// The SQLite connection and its cached statements. Member order matters: statements are
// finalised before the connection closes, and the connection closes before its VFS goes away.
class CapabilityStore::Db {
 public:
  Env* env = nullptr;
  std::unique_ptr<EnvVfs> vfs;
  std::unique_ptr<sqlite3, ConnectionCloser> conn;

  Statement begin, commit, rollback;
  Statement advance_epoch, insert_token, insert_revocation, select_use, upsert_use,
      insert_ended_session, revoke_session_tokens;
  Statement list[4];          // by FilterShape
  Statement revoke_where[4];  // by FilterShape; [0] unused

  sqlite3* get() const { return conn.get(); }

  [[nodiscard]] Status Exec(const char* sql, std::string_view what = {}) {
    char* err = nullptr;
    const int rc = sqlite3_exec(get(), sql, nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return OkStatus();
    Status s = SqliteError(get(), rc, what.empty() ? std::string_view(sql) : what);
    sqlite3_free(err);
    return s;
  }

  Result<std::int64_t> QueryInt(const char* sql) {
    Statement s;
    ELASTOS_RETURN_IF_ERROR(s.Prepare(get(), sql));
    Use u(get(), s);
    ELASTOS_ASSIGN_OR_RETURN(bool row, u.Step(sql));
    if (!row) return Internal("sqlite_error", std::string("no result from ") + sql);
    return u.Int(0);
  }

  // Before the schema exists: what Transaction needs.
  [[nodiscard]] Status PrepareTransactions() {
    ELASTOS_RETURN_IF_ERROR(begin.Prepare(get(), "BEGIN IMMEDIATE"));
    ELASTOS_RETURN_IF_ERROR(commit.Prepare(get(), "COMMIT"));
    return rollback.Prepare(get(), "ROLLBACK");
  }

  // After the schema exists: everything else.
  [[nodiscard]] Status PrepareAll() {
    const auto p = [this](Statement& s, std::string_view sql) { return s.Prepare(get(), sql); };
    ELASTOS_RETURN_IF_ERROR(
        p(advance_epoch,
          "UPDATE meta SET value = value + 1 WHERE key = 'epoch' AND value < 9223372036854775807 "
          "RETURNING value"));
    ELASTOS_RETURN_IF_ERROR(
        p(insert_token,
          "INSERT INTO tokens(id, holder, session, resource, action, epoch, max_uses, "
          "expiry_unix, parent, issued_unix) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
    ELASTOS_RETURN_IF_ERROR(
        p(insert_revocation,
          "INSERT INTO revocations(id, revoked_unix, reason) VALUES (?1, ?2, ?3) "
          "ON CONFLICT(id) DO NOTHING"));
    ELASTOS_RETURN_IF_ERROR(p(select_use, "SELECT count FROM uses WHERE id = ?1"));
    ELASTOS_RETURN_IF_ERROR(p(upsert_use,
                              "INSERT INTO uses(id, count) VALUES (?1, 1) "
                              "ON CONFLICT(id) DO UPDATE SET count = count + 1 RETURNING count"));
    ELASTOS_RETURN_IF_ERROR(p(insert_ended_session,
                              "INSERT INTO ended_sessions(session, ended_unix) VALUES (?1, ?2) "
                              "ON CONFLICT(session) DO NOTHING"));
    // RETURNING reports only the rows actually inserted, i.e. the newly revoked ids.
    ELASTOS_RETURN_IF_ERROR(p(revoke_session_tokens,
                              "INSERT INTO revocations(id, revoked_unix, reason) "
                              "SELECT id, ?2, 'session_ended' FROM tokens WHERE session = ?1 "
                              "ON CONFLICT(id) DO NOTHING RETURNING id"));
    for (int shape = 0; shape < 4; ++shape) {
      ELASTOS_RETURN_IF_ERROR(
          p(list[shape],
            "SELECT t.id, t.holder, t.session, t.resource, t.action, t.epoch, t.max_uses, "
            "t.expiry_unix, t.parent, t.issued_unix FROM tokens t" +
                FilterSql(shape, "t.") +
                " AND ($revoked OR NOT EXISTS (SELECT 1 FROM revocations r WHERE r.id = t.id))"
                " ORDER BY t.issued_unix, t.id"));
      if (shape == 0) continue;
      ELASTOS_RETURN_IF_ERROR(p(revoke_where[shape],
                                "INSERT INTO revocations(id, revoked_unix, reason) "
                                "SELECT id, $now, $reason FROM tokens" +
                                    FilterSql(shape, "") +
                                    " ON CONFLICT(id) DO NOTHING RETURNING id"));
    }
    return OkStatus();
  }

  // BEGIN IMMEDIATE … COMMIT, rolled back unless committed. IMMEDIATE takes the write lock up
  // front, so a read-modify-write inside cannot be raced by another writer.
  class Transaction {
   public:
    explicit Transaction(Db& db) : db_(db) {}
    ~Transaction() {
      if (open_) db_.Rollback();
    }
    [[nodiscard]] Status Begin() {
      db_.Rollback();  // a commit that failed half-way may have left a transaction open
      Use u(db_.get(), db_.begin);
      ELASTOS_RETURN_IF_ERROR(u.Run("begin transaction"));
      open_ = true;
      return OkStatus();
    }
    // Durable on OK (synchronous=FULL: the WAL is fsynced before COMMIT returns).
    [[nodiscard]] Status Commit() {
      Use u(db_.get(), db_.commit);
      Status s = u.Run("commit");
      if (s.ok()) open_ = false;
      return s;  // on failure the destructor rolls back whatever SQLite left open
    }

   private:
    Db& db_;
    bool open_ = false;
  };

  void Rollback() {
    if (sqlite3_get_autocommit(get())) return;
    Use u(get(), rollback);
    u.Run("rollback").IgnoreError();  // nothing better to do; the next Begin retries
  }
};

std::string TokenIdHex(const TokenId& id) { return HexEncode(id); }

Result<TokenId> ParseTokenId(std::string_view hex) {
  if (hex.size() != 32) {
    return InvalidArgument("invalid_token_id",
                           "token id must be 32 hex characters, got " + std::to_string(hex.size()));
  }
  auto bytes = HexDecode(hex);
  if (!bytes.ok())
    return InvalidArgument("invalid_token_id", "token id is not hex: " + std::string(hex));
  TokenId id;
  std::memcpy(id.data(), bytes->data(), id.size());
  return id;
}

std::size_t TokenIdHash::operator()(const TokenId& id) const noexcept {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
}

CapabilityStore::CapabilityStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
CapabilityStore::~CapabilityStore() = default;

Result<std::unique_ptr<CapabilityStore>> CapabilityStore::Open(
    Env& env, const std::filesystem::path& db_path) {
  const std::string where = "state database " + db_path.string();
  auto db = std::make_unique<Db>();
  db->env = &env;
  ELASTOS_ASSIGN_OR_RETURN(db->vfs, EnvVfs::Register(env));

  // Create the file ourselves so it gets mode 0600 (SQLite's WAL file copies the mode).
  if (!env.Exists(db_path)) {
    ELASTOS_ASSIGN_OR_RETURN(auto file, env.OpenAppendable(db_path, 0600));
    ELASTOS_RETURN_IF_ERROR(file->Close());
  }

  sqlite3* raw = nullptr;
  // NOMUTEX: db_mu_ serialises every use of the connection. NOFOLLOW: never open the state
  // through a planted symlink. EXRESCODE: extended codes name the failing I/O step.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(db_path.c_str(), &raw, flags, db->vfs->name());
  db->conn.reset(raw);
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "open");
  sqlite3_busy_timeout(db->get(), kBusyTimeoutMs);
  sqlite3_db_config(db->get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db->get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);

  // EXCLUSIVE before WAL: one owner (see the header), and no shared-memory index file.
  ELASTOS_RETURN_IF_ERROR(db->Exec("PRAGMA locking_mode = EXCLUSIVE"));
  {
    Statement s;
    ELASTOS_RETURN_IF_ERROR(s.Prepare(db->get(), "PRAGMA journal_mode = WAL"));
    Use u(db->get(), s);
    ELASTOS_ASSIGN_OR_RETURN(bool row, u.Step("PRAGMA journal_mode"));
    if (!row || u.Text(0) != "wal") {
      return Internal("sqlite_error", where + ": cannot switch to WAL mode (got \"" +
                                          std::string(u.Text(0)) + "\")");
    }
  }
  // FULL, not NORMAL: in WAL mode NORMAL skips the fsync at commit, so power loss could undo
  // acknowledged revocations and use counts (docs/formats/state.md).
  ELASTOS_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL"));
  ELASTOS_RETURN_IF_ERROR(db->Exec("PRAGMA cell_size_check = ON"));

  ELASTOS_RETURN_IF_ERROR(db->PrepareTransactions());
  bool initialized = false;
  {
    Db::Transaction txn(*db);
    ELASTOS_RETURN_IF_ERROR(txn.Begin());
    ELASTOS_ASSIGN_OR_RETURN(const std::int64_t app_id, db->QueryInt("PRAGMA application_id"));
    ELASTOS_ASSIGN_OR_RETURN(const std::int64_t version, db->QueryInt("PRAGMA user_version"));
    ELASTOS_ASSIGN_OR_RETURN(const std::int64_t objects,
                             db->QueryInt("SELECT count(*) FROM sqlite_schema"));
    const bool fresh = app_id == 0 && version == 0 && objects == 0;
    if (!fresh && app_id != kApplicationId) {
      return FailedPrecondition("state_foreign_db",
                                where +
                                    " is a SQLite database of another application "
                                    "(application_id " +
                                    std::to_string(app_id) + ")");
    }
    if (version > kSchemaVersion) {
      return FailedPrecondition("state_schema_too_new",
                                where + " has schema version " + std::to_string(version) +
                                    "; this runtime understands up to " +
                                    std::to_string(kSchemaVersion) +
                                    ". Upgrade the runtime (the file is left untouched)");
    }
    if (fresh) {
      ELASTOS_RETURN_IF_ERROR(db->Exec(kSchemaV1, "create schema"));
      ELASTOS_RETURN_IF_ERROR(
          db->Exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str()));
      ELASTOS_RETURN_IF_ERROR(
          db->Exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str()));
    } else if (version < kSchemaVersion) {
      // Migrations from older versions go here, each step in this transaction. Version 1 is the
      // first, so an older version means a file we did not write completely.
      return FailedPrecondition("state_corrupt",
                                where + " has unknown schema version " + std::to_string(version));
    }
    ELASTOS_RETURN_IF_ERROR(txn.Commit());
    initialized = fresh;
  }
  // The schema is in: make the file's directory entry durable too (also when an earlier Open
  // created the empty file and died before getting here).
  if (initialized) {
    ELASTOS_RETURN_IF_ERROR(env.SyncDirectory(
        db_path.has_parent_path() ? db_path.parent_path() : std::filesystem::path(".")));
  }
  ELASTOS_RETURN_IF_ERROR(db->PrepareAll());

  std::unique_ptr<CapabilityStore> store(new CapabilityStore(std::move(db)));
  ELASTOS_RETURN_IF_ERROR(store->LoadCaches());
  return store;
}

Status CapabilityStore::LoadCaches() {
  Db& db = *db_;
  ELASTOS_ASSIGN_OR_RETURN(const std::int64_t epoch,
                           db.QueryInt("SELECT value FROM meta WHERE key = 'epoch'"));
  if (epoch < 0) return CorruptValue("epoch");
  epoch_.store(static_cast<std::uint64_t>(epoch), std::memory_order_release);

  const auto load = [&db](const char* sql, auto&& row_fn) -> Status {
    Statement s;
    ELASTOS_RETURN_IF_ERROR(s.Prepare(db.get(), sql));
    Use u(db.get(), s);
    for (;;) {
      ELASTOS_ASSIGN_OR_RETURN(bool row, u.Step(sql));
      if (!row) return OkStatus();
      ELASTOS_RETURN_IF_ERROR(row_fn(u));
    }
  };
  ELASTOS_RETURN_IF_ERROR(load("SELECT id FROM revocations", [this](Use& u) -> Status {
    const auto id = u.Id(0);
    if (!id) return CorruptValue("revoked token id");
    revoked_.insert(*id);
    return OkStatus();
  }));
  ELASTOS_RETURN_IF_ERROR(load("SELECT session FROM ended_sessions", [this](Use& u) -> Status {
    ended_sessions_.emplace(u.Text(0));
    return OkStatus();
  }));
  return load("SELECT id, count FROM uses", [this](Use& u) -> Status {
    const auto id = u.Id(0);
    const std::int64_t count = u.Int(1);
    if (!id || count < 0 || count > std::numeric_limits<std::uint32_t>::max())
      return CorruptValue("use count");
    use_counts_[*id] = static_cast<std::uint32_t>(count);
    return OkStatus();
  });
}

Result<std::uint64_t> CapabilityStore::AdvanceEpoch() {
  std::lock_guard lock(db_mu_);
  Db& db = *db_;
  Db::Transaction txn(db);
  ELASTOS_RETURN_IF_ERROR(txn.Begin());
  std::int64_t next = 0;
  {
    Use u(db.get(), db.advance_epoch);
    ELASTOS_ASSIGN_OR_RETURN(bool row, u.Step("advance epoch"));
    if (!row)
      return ResourceExhausted("epoch_exhausted",
                               "the capability epoch cannot advance any further");
    next = u.Int(0);
    ELASTOS_RETURN_IF_ERROR(u.Run("advance epoch"));
  }
  ELASTOS_RETURN_IF_ERROR(txn.Commit());
  epoch_.store(static_cast<std::uint64_t>(next), std::memory_order_release);
  return static_cast<std::uint64_t>(next);
}

Status CapabilityStore::RecordIssued(const IssuedToken& t) {
  const auto field_ok = [](std::string_view s) { return s.size() <= kMaxFieldBytes; };
  if (t.holder.empty() || t.resource.empty() || !field_ok(t.holder) || !field_ok(t.session) ||
      !field_ok(t.resource)) {
    return InvalidArgument("invalid_token",
                           "token " + TokenIdHex(t.id) + ": holder and resource must be 1.." +
                               std::to_string(kMaxFieldBytes) + " bytes, session at most that");
  }
  if (t.epoch > kMaxInt64 || t.issued_unix > kMaxInt64 ||
      (t.expiry_unix && *t.expiry_unix > kMaxInt64)) {
    return InvalidArgument("invalid_token",
                           "token " + TokenIdHex(t.id) + ": a number is out of range");
  }
  std::lock_guard lock(db_mu_);
  if (!t.session.empty() && IsSessionEnded(t.session)) {
    return FailedPrecondition(
        "session_ended", "session " + t.session + " has ended; no tokens can be issued into it");
  }
  Db& db = *db_;
  Db::Transaction txn(db);
  ELASTOS_RETURN_IF_ERROR(txn.Begin());
  {
    Use u(db.get(), db.insert_token);
    u.Bind(1, t.id)
        .Bind(2, t.holder)
        .Bind(3, t.session)
        .Bind(4, t.resource)
        .Bind(5, ActionName(t.action));
    u.Bind(6, static_cast<std::int64_t>(t.epoch));
    t.max_uses ? u.Bind(7, static_cast<std::int64_t>(*t.max_uses)) : u.BindNull(7);
    t.expiry_unix ? u.Bind(8, static_cast<std::int64_t>(*t.expiry_unix)) : u.BindNull(8);
    t.parent ? u.Bind(9, *t.parent) : u.BindNull(9);
    u.Bind(10, static_cast<std::int64_t>(t.issued_unix));
    Status s = u.Run("record issued token");
    if (!s.ok() && sqlite3_extended_errcode(db.get()) == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return InvalidArgument("duplicate_token_id",
                             "token id " + TokenIdHex(t.id) + " is already recorded");
    }
    ELASTOS_RETURN_IF_ERROR(s);
  }
  return txn.Commit();
}

Status CapabilityStore::Revoke(const TokenId& id, std::string_view reason) {
  std::lock_guard lock(db_mu_);
  if (IsRevoked(id)) return OkStatus();  // idempotent, and no I/O for a repeat
  Db& db = *db_;
  Db::Transaction txn(db);
  ELASTOS_RETURN_IF_ERROR(txn.Begin());
  {
    Use u(db.get(), db.insert_revocation);
    u.Bind(1, id).Bind(2, db.env->NowUnixSeconds()).Bind(3, TruncateUtf8(reason, kMaxReasonBytes));
    ELASTOS_RETURN_IF_ERROR(u.Run("revoke token"));
  }
  ELASTOS_RETURN_IF_ERROR(txn.Commit());
  std::unique_lock cache(cache_mu_);
  revoked_.insert(id);
  return OkStatus();
}

bool CapabilityStore::IsRevoked(const TokenId& id) const {
  std::shared_lock cache(cache_mu_);
  return revoked_.contains(id);
}

Result<std::uint32_t> CapabilityStore::ConsumeUse(const TokenId& id, std::uint32_t max_uses) {
  const auto exhausted = [&](std::uint32_t count) {
    return ResourceExhausted("use_limit_exceeded", "token " + TokenIdHex(id) + " has been used " +
                                                       std::to_string(count) + " of " +
                                                       std::to_string(max_uses) + " allowed times");
  };
  // db_mu_ makes check-and-increment atomic among our threads; BEGIN IMMEDIATE would make it
  // atomic against another connection too.
  std::lock_guard lock(db_mu_);
  if (const std::uint32_t cached = UseCount(id); cached >= max_uses)
    return exhausted(cached);  // no I/O
  Db& db = *db_;
  Db::Transaction txn(db);
  ELASTOS_RETURN_IF_ERROR(txn.Begin());
  {
    Use u(db.get(), db.select_use);
    u.Bind(1, id);
    ELASTOS_ASSIGN_OR_RETURN(bool row, u.Step("read use count"));
    const std::int64_t count = row ? u.Int(0) : 0;
    if (count < 0 || count > std::numeric_limits<std::uint32_t>::max())
      return CorruptValue("use count");
    if (count >= max_uses) return exhausted(static_cast<std::uint32_t>(count));
  }
  std::int64_t next = 0;
  {
    Use u(db.get(), db.upsert_use);
    u.Bind(1, id);
    ELASTOS_ASSIGN_OR_RETURN(bool row, u.Step("consume use"));
    if (!row) return Internal("sqlite_error", "consume use returned no count");
    next = u.Int(0);
    ELASTOS_RETURN_IF_ERROR(u.Run("consume use"));
  }
  ELASTOS_RETURN_IF_ERROR(txn.Commit());
  std::unique_lock cache(cache_mu_);
  use_counts_[id] = static_cast<std::uint32_t>(next);
  return static_cast<std::uint32_t>(next);
}

std::uint32_t CapabilityStore::UseCount(const TokenId& id) const {
  std::shared_lock cache(cache_mu_);
  const auto it = use_counts_.find(id);
  return it == use_counts_.end() ? 0 : it->second;
}

Result<std::vector<IssuedToken>> CapabilityStore::List(const TokenFilter& filter) const {
  std::lock_guard lock(db_mu_);
  Db& db = *db_;
  const Statement& s = db.list[FilterShape(filter)];
  Use u(db.get(), s);
  if (filter.holder) u.Bind(sqlite3_bind_parameter_index(s.get(), "$holder"), *filter.holder);
  if (filter.session) u.Bind(sqlite3_bind_parameter_index(s.get(), "$session"), *filter.session);
  u.Bind(sqlite3_bind_parameter_index(s.get(), "$revoked"), std::int64_t{filter.include_revoked});
  std::vector<IssuedToken> out;
  for (;;) {
    ELASTOS_ASSIGN_OR_RETURN(bool row, u.Step("list tokens"));
    if (!row) return out;
    IssuedToken t;
    const auto id = u.Id(0);
    auto action = ParseAction(u.Text(4));
    const std::int64_t epoch = u.Int(5), max_uses = u.Int(6), expiry = u.Int(7), issued = u.Int(9);
    const auto parent = u.Id(8);
    if (!id || !action.ok() || epoch < 0 || issued < 0 ||
        (!u.IsNull(6) && (max_uses < 0 || max_uses > std::numeric_limits<std::uint32_t>::max())) ||
        (!u.IsNull(7) && expiry < 0) || (!u.IsNull(8) && !parent)) {
      return CorruptValue("token record");
    }
    t.id = *id;
    t.holder = u.Text(1);
    t.session = u.Text(2);
    t.resource = u.Text(3);
    t.action = *action;
    t.epoch = static_cast<std::uint64_t>(epoch);
    if (!u.IsNull(6)) t.max_uses = static_cast<std::uint32_t>(max_uses);
    if (!u.IsNull(7)) t.expiry_unix = static_cast<std::uint64_t>(expiry);
    t.parent = parent;
    t.issued_unix = static_cast<std::uint64_t>(issued);
    out.push_back(std::move(t));
  }
}

Result<std::vector<TokenId>> CapabilityStore::RevokeWhere(const TokenFilter& filter,
                                                          std::string_view reason) {
  const int shape = FilterShape(filter);
  if (shape == 0) {
    return InvalidArgument(
        "filter_required",
        "RevokeWhere needs a holder or a session; use AdvanceEpoch to revoke all");
  }
  std::lock_guard lock(db_mu_);
  Db& db = *db_;
  Db::Transaction txn(db);
  ELASTOS_RETURN_IF_ERROR(txn.Begin());
  std::vector<TokenId> revoked;
  {
    const Statement& s = db.revoke_where[shape];
    Use u(db.get(), s);
    if (filter.holder) u.Bind(sqlite3_bind_parameter_index(s.get(), "$holder"), *filter.holder);
    if (filter.session) u.Bind(sqlite3_bind_parameter_index(s.get(), "$session"), *filter.session);
    u.Bind(sqlite3_bind_parameter_index(s.get(), "$now"), db.env->NowUnixSeconds());
    u.Bind(sqlite3_bind_parameter_index(s.get(), "$reason"), TruncateUtf8(reason, kMaxReasonBytes));
    ELASTOS_ASSIGN_OR_RETURN(revoked, CollectIds(u, "revoke tokens"));
  }
  ELASTOS_RETURN_IF_ERROR(txn.Commit());
  std::unique_lock cache(cache_mu_);
  revoked_.insert(revoked.begin(), revoked.end());
  return revoked;
}

Status CapabilityStore::EndSession(std::string_view session) {
  if (session.empty()) return InvalidArgument("invalid_session", "EndSession needs a session id");
  std::lock_guard lock(db_mu_);
  if (IsSessionEnded(session)) return OkStatus();
  Db& db = *db_;
  Db::Transaction txn(db);
  ELASTOS_RETURN_IF_ERROR(txn.Begin());
  const std::int64_t now = db.env->NowUnixSeconds();
  {
    Use u(db.get(), db.insert_ended_session);
    u.Bind(1, session).Bind(2, now);
    ELASTOS_RETURN_IF_ERROR(u.Run("end session"));
  }
  std::vector<TokenId> revoked;
  {
    Use u(db.get(), db.revoke_session_tokens);
    u.Bind(1, session).Bind(2, now);
    ELASTOS_ASSIGN_OR_RETURN(revoked, CollectIds(u, "revoke session tokens"));
  }
  ELASTOS_RETURN_IF_ERROR(txn.Commit());
  std::unique_lock cache(cache_mu_);
  ended_sessions_.emplace(session);
  revoked_.insert(revoked.begin(), revoked.end());
  return OkStatus();
}

bool CapabilityStore::IsSessionEnded(std::string_view session) const {
  std::shared_lock cache(cache_mu_);
  return ended_sessions_.contains(session);
}

}  // namespace elastos::runtime
