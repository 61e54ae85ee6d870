#include "runtime/store/env_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <new>
#include <string>

namespace elastos::runtime {

// Handed to SQLite as pAppData: what our VFS methods need.
struct EnvVfsContext {
  Env* env;
  sqlite3_vfs* base;
};

namespace {

// Our sqlite3_file. SQLite allocates szOsFile bytes for it; the base VFS's own file object
// follows it in the same allocation (see BaseFile).
struct ShimFile {
  sqlite3_file header;  // must be first: SQLite sees a ShimFile* as a sqlite3_file*
  Env* env;
  std::filesystem::path* path;  // owned; null for nameless temporary files
};

constexpr std::size_t kBaseOffset = (sizeof(ShimFile) + alignof(std::max_align_t) - 1) /
                                    alignof(std::max_align_t) * alignof(std::max_align_t);

sqlite3_file* BaseFile(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kBaseOffset);
}
ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
const std::filesystem::path& PathOf(sqlite3_file* f) {
  static const std::filesystem::path kNone;
  return Shim(f)->path ? *Shim(f)->path : kNone;
}
EnvVfsContext* Context(sqlite3_vfs* vfs) { return static_cast<EnvVfsContext*>(vfs->pAppData); }
sqlite3_vfs* Base(sqlite3_vfs* vfs) { return Context(vfs)->base; }

// --- file methods -----------------------------------------------------------------------

int ShimClose(sqlite3_file* f) {
  sqlite3_file* base = BaseFile(f);
  const int rc = base->pMethods ? base->pMethods->xClose(base) : SQLITE_OK;
  delete Shim(f)->path;
  Shim(f)->path = nullptr;
  return rc;
}
int ShimRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return BaseFile(f)->pMethods->xRead(BaseFile(f), buf, n, off);
}
int ShimWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (!Shim(f)->env->InterceptWrite(PathOf(f)).ok()) return SQLITE_IOERR_WRITE;
  return BaseFile(f)->pMethods->xWrite(BaseFile(f), buf, n, off);
}
int ShimTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (!Shim(f)->env->InterceptWrite(PathOf(f)).ok()) return SQLITE_IOERR_TRUNCATE;
  return BaseFile(f)->pMethods->xTruncate(BaseFile(f), size);
}
int ShimSync(sqlite3_file* f, int flags) {
  if (!Shim(f)->env->InterceptSync(PathOf(f)).ok()) return SQLITE_IOERR_FSYNC;
  return BaseFile(f)->pMethods->xSync(BaseFile(f), flags);
}
int ShimFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return BaseFile(f)->pMethods->xFileSize(BaseFile(f), size);
}
int ShimLock(sqlite3_file* f, int level) {
  return BaseFile(f)->pMethods->xLock(BaseFile(f), level);
}
int ShimUnlock(sqlite3_file* f, int level) {
  return BaseFile(f)->pMethods->xUnlock(BaseFile(f), level);
}
int ShimCheckReservedLock(sqlite3_file* f, int* out) {
  return BaseFile(f)->pMethods->xCheckReservedLock(BaseFile(f), out);
}
int ShimFileControl(sqlite3_file* f, int op, void* arg) {
  return BaseFile(f)->pMethods->xFileControl(BaseFile(f), op, arg);
}
int ShimSectorSize(sqlite3_file* f) { return BaseFile(f)->pMethods->xSectorSize(BaseFile(f)); }
int ShimDeviceCharacteristics(sqlite3_file* f) {
  return BaseFile(f)->pMethods->xDeviceCharacteristics(BaseFile(f));
}
// Version 2: shared memory for the WAL index. Not file data, so not intercepted.
int ShimShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return BaseFile(f)->pMethods->xShmMap(BaseFile(f), page, size, extend, out);
}
int ShimShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return BaseFile(f)->pMethods->xShmLock(BaseFile(f), offset, n, flags);
}
void ShimShmBarrier(sqlite3_file* f) { BaseFile(f)->pMethods->xShmBarrier(BaseFile(f)); }
int ShimShmUnmap(sqlite3_file* f, int delete_flag) {
  return BaseFile(f)->pMethods->xShmUnmap(BaseFile(f), delete_flag);
}
// Version 3: memory-mapped reads (SQLite never writes through the map).
int ShimFetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return BaseFile(f)->pMethods->xFetch(BaseFile(f), off, n, out);
}
int ShimUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return BaseFile(f)->pMethods->xUnfetch(BaseFile(f), off, p);
}

// One method table per base iVersion, so SQLite never calls a method the base lacks.
sqlite3_io_methods MakeMethods(int version) {
  sqlite3_io_methods m{};
  m.iVersion = version;
  m.xClose = ShimClose;
  m.xRead = ShimRead;
  m.xWrite = ShimWrite;
  m.xTruncate = ShimTruncate;
  m.xSync = ShimSync;
  m.xFileSize = ShimFileSize;
  m.xLock = ShimLock;
  m.xUnlock = ShimUnlock;
  m.xCheckReservedLock = ShimCheckReservedLock;
  m.xFileControl = ShimFileControl;
  m.xSectorSize = ShimSectorSize;
  m.xDeviceCharacteristics = ShimDeviceCharacteristics;
  if (version >= 2) {
    m.xShmMap = ShimShmMap;
    m.xShmLock = ShimShmLock;
    m.xShmBarrier = ShimShmBarrier;
    m.xShmUnmap = ShimShmUnmap;
  }
  if (version >= 3) {
    m.xFetch = ShimFetch;
    m.xUnfetch = ShimUnfetch;
  }
  return m;
}
const sqlite3_io_methods kMethods[4] = {MakeMethods(1), MakeMethods(1), MakeMethods(2),
                                        MakeMethods(3)};

// --- VFS methods ------------------------------------------------------------------------

int ShimOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  ShimFile* shim = Shim(f);
  shim->header.pMethods = nullptr;
  shim->env = Context(vfs)->env;
  shim->path = nullptr;
  sqlite3_file* base = BaseFile(f);
  base->pMethods = nullptr;
  const int rc = Base(vfs)->xOpen(Base(vfs), name, base, flags, out_flags);
  // SQLite calls xClose exactly when pMethods is set, so mirror the base's choice.
  if (base->pMethods == nullptr) return rc;
  if (name != nullptr) shim->path = new (std::nothrow) std::filesystem::path(name);
  if (name != nullptr && shim->path == nullptr) {
    base->pMethods->xClose(base);
    return SQLITE_NOMEM;
  }
  const int version = base->pMethods->iVersion;
  shim->header.pMethods = &kMethods[version < 1 ? 1 : version > 3 ? 3 : version];
  return rc;
}
int ShimDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Base(vfs)->xDelete(Base(vfs), name, sync_dir);
}
int ShimAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int ShimFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, n, out);
}
void* ShimDlOpen(sqlite3_vfs* vfs, const char* name) { return Base(vfs)->xDlOpen(Base(vfs), name); }
void ShimDlError(sqlite3_vfs* vfs, int n, char* out) { Base(vfs)->xDlError(Base(vfs), n, out); }
void (*ShimDlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Base(vfs)->xDlSym(Base(vfs), handle, symbol);
}
void ShimDlClose(sqlite3_vfs* vfs, void* handle) { Base(vfs)->xDlClose(Base(vfs), handle); }
int ShimRandomness(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xRandomness(Base(vfs), n, out);
}
int ShimSleep(sqlite3_vfs* vfs, int micros) { return Base(vfs)->xSleep(Base(vfs), micros); }
int ShimCurrentTime(sqlite3_vfs* vfs, double* out) {
  return Base(vfs)->xCurrentTime(Base(vfs), out);
}
int ShimGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xGetLastError ? Base(vfs)->xGetLastError(Base(vfs), n, out) : 0;
}
int ShimCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}
int ShimSetSystemCall(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr p) {
  return Base(vfs)->xSetSystemCall(Base(vfs), name, p);
}
sqlite3_syscall_ptr ShimGetSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xGetSystemCall(Base(vfs), name);
}
const char* ShimNextSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xNextSystemCall(Base(vfs), name);
}

std::atomic<std::uint64_t> next_vfs_id{0};

}  // namespace

Result<std::unique_ptr<EnvVfs>> EnvVfs::Register(Env& env) {
  if (sqlite3_initialize() != SQLITE_OK)
    return Internal("sqlite_init", "SQLite failed to initialise");
  sqlite3_vfs* base = sqlite3_vfs_find("unix");
  if (base == nullptr) return Internal("sqlite_no_unix_vfs", "SQLite has no \"unix\" VFS");

  std::unique_ptr<EnvVfs> self(new EnvVfs());
  self->name_ = "elastos-env-" + std::to_string(next_vfs_id.fetch_add(1));
  self->vfs_ = std::make_unique<sqlite3_vfs>();
  self->context_ = std::make_unique<EnvVfsContext>(EnvVfsContext{&env, base});
  sqlite3_vfs& v = *self->vfs_;
  v.iVersion = base->iVersion < 3 ? base->iVersion : 3;
  v.szOsFile = static_cast<int>(kBaseOffset) + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = self->name_.c_str();
  v.pAppData = self->context_.get();
  v.xOpen = ShimOpen;
  v.xDelete = ShimDelete;
  v.xAccess = ShimAccess;
  v.xFullPathname = ShimFullPathname;
  v.xDlOpen = ShimDlOpen;
  v.xDlError = ShimDlError;
  v.xDlSym = ShimDlSym;
  v.xDlClose = ShimDlClose;
  v.xRandomness = ShimRandomness;
  v.xSleep = ShimSleep;
  v.xCurrentTime = ShimCurrentTime;
  v.xGetLastError = ShimGetLastError;
  if (v.iVersion >= 2) v.xCurrentTimeInt64 = ShimCurrentTimeInt64;
  if (v.iVersion >= 3) {
    v.xSetSystemCall = ShimSetSystemCall;
    v.xGetSystemCall = ShimGetSystemCall;
    v.xNextSystemCall = ShimNextSystemCall;
  }
  if (const int rc = sqlite3_vfs_register(self->vfs_.get(), /*makeDflt=*/0); rc != SQLITE_OK) {
    return Internal("sqlite_vfs_register",
                    std::string("cannot register SQLite VFS: ") + sqlite3_errstr(rc));
  }
  self->registered_ = true;
  return self;
}

EnvVfs::~EnvVfs() {
  if (registered_) sqlite3_vfs_unregister(vfs_.get());
}

}  // namespace elastos::runtime
